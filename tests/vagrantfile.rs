//! `lab init --from-vagrantfile` through the real binary: every fixture
//! of tests/fixtures/vagrantfiles converted (its lab.yaml and its notes on
//! stderr kept as snapshots), `lab validate` passing on the result, and
//! each hostile Vagrantfile (a syntax error, an endless loop, megabytes of
//! output, no machines, a missing file, a directory) refused with one
//! sentence and nothing written. These need `ruby` (scripts/setup-host
//! --dev installs it): they fail, not skip, without it.

use std::path::{Path, PathBuf};

mod common;

const FIXTURES: &[&str] = &[
    "define-blocks",
    "hash-loop",
    "provider-overrides",
    "ansible-limit-all",
    "shell-provisioners",
    "forwarded-ports",
    "hostnames-domain",
    "yaml-servers",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vagrantfiles")
}

fn need_ruby() {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("ruby").is_file()));
    assert!(
        found,
        "these tests run Vagrantfiles with ruby, which is not installed: apt-get install ruby (or scripts/setup-host --dev)"
    );
}

/// `lab ARGS` in `cwd`: exit code, stdout, stderr.
fn lab(cwd: &Path, home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = common::isolated_lab(cwd, home, &home.join("labhome"))
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap(),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// A copy of the fixture directory `name` (from `root`) under `tmp`.
fn copy_fixture(root: &Path, name: &str, tmp: &Path) -> PathBuf {
    let to = tmp.join(name);
    copy_dir(&root.join(name), &to);
    to
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn every_fixture_converts_into_a_lab_that_validates() {
    need_ruby();
    for name in FIXTURES {
        let tmp = tempfile::tempdir().unwrap();
        let dir = copy_fixture(&fixtures(), name, tmp.path());
        // Into a new directory beside the Vagrantfile: scripts are copied,
        // a playbook referenced from there.
        let (code, out, err) = lab(
            &dir,
            tmp.path(),
            &["init", "--from-vagrantfile", "Vagrantfile", "lab"],
        );
        assert_eq!(code, 0, "{name}: {err}");
        assert!(
            out.starts_with("converted Vagrantfile into lab ("),
            "{name}: {out}"
        );
        let yaml = std::fs::read_to_string(dir.join("lab/lab.yaml")).unwrap();
        insta::assert_snapshot!(format!("{name}-lab.yaml"), yaml);
        insta::assert_snapshot!(format!("{name}-notes"), err);
        let (code, out, err) = lab(&dir.join("lab"), tmp.path(), &["validate"]);
        assert_eq!(code, 0, "{name}: lab validate: {out}{err}");
    }
}

#[test]
fn a_lab_converted_beside_the_vagrantfile_uses_its_files_in_place() {
    need_ruby();
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(&fixtures(), "shell-provisioners", tmp.path());
    let (code, out, err) = lab(
        &dir,
        tmp.path(),
        &["init", "--from-vagrantfile", "Vagrantfile"],
    );
    assert_eq!(code, 0, "{err}");
    // Only lab.yaml: the script is referenced where it is.
    assert!(
        out.starts_with("converted Vagrantfile into the current directory (1 file): lab.yaml\n"),
        "{out}"
    );
    let yaml = std::fs::read_to_string(dir.join("lab.yaml")).unwrap();
    assert!(
        yaml.contains("      script: scripts/bootstrap.sh\n"),
        "{yaml}"
    );
    let (code, out, err) = lab(&dir, tmp.path(), &["validate"]);
    assert_eq!(code, 0, "{out}{err}");
    // Again: refused, lab.yaml kept; --force replaces it.
    std::fs::write(dir.join("lab.yaml"), "mine\n").unwrap();
    let (code, out, err) = lab(
        &dir,
        tmp.path(),
        &["init", "--from-vagrantfile", "Vagrantfile"],
    );
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("1 file of the converted lab exists already in .: lab.yaml; nothing was written: pass --force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("lab.yaml")).unwrap(),
        "mine\n"
    );
    let (code, _, err) = lab(
        &dir,
        tmp.path(),
        &["init", "--from-vagrantfile", "Vagrantfile", ".", "--force"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("lab.yaml")).unwrap(), yaml);
}

#[test]
fn hostile_vagrantfiles_are_refused_with_one_sentence_and_nothing_written() {
    need_ruby();
    let tmp = tempfile::tempdir().unwrap();
    let root = fixtures().join("hostile");
    for (name, code, wanted) in [
        (
            "syntax-error",
            2,
            "error: syntax-error/Vagrantfile:6: Ruby cannot read the Vagrantfile: syntax error, unexpected end-of-input, expecting `end'; nothing was written\n",
        ),
        (
            "endless-loop",
            1,
            "error: endless-loop/Vagrantfile was still running after 10 s and was stopped; nothing was written: a Vagrantfile that loops or waits cannot be converted\n",
        ),
        (
            "megabytes",
            1,
            "error: megabytes/Vagrantfile printed more than 4 MiB on its standard error and was stopped; nothing was written: make it print less\n",
        ),
        (
            "no-machines",
            2,
            "error: no-machines/Vagrantfile defines no machine: it never calls Vagrant.configure, so there is nothing to convert; name a Vagrantfile that configures machines\n",
        ),
        (
            "missing",
            2,
            "error: missing/Vagrantfile does not exist; name a Vagrantfile, e.g. lab init --from-vagrantfile path/to/Vagrantfile\n",
        ),
    ] {
        if name != "missing" {
            copy_fixture(&root, name, tmp.path());
        }
        let vf = format!("{name}/Vagrantfile");
        let (got, out, err) = lab(
            tmp.path(),
            tmp.path(),
            &["init", "--from-vagrantfile", &vf, "out"],
        );
        assert_eq!(
            (got, out.as_str(), err.as_str()),
            (code, "", wanted),
            "{name}"
        );
        assert!(
            !tmp.path().join("out").exists(),
            "{name}: something was written"
        );
    }
    // A directory where the Vagrantfile should be.
    std::fs::create_dir(tmp.path().join("project")).unwrap();
    let (got, out, err) = lab(
        tmp.path(),
        tmp.path(),
        &["init", "--from-vagrantfile", "project", "out"],
    );
    assert_eq!(
        (got, out.as_str(), err.as_str()),
        (
            2,
            "",
            "error: project is a directory; name the Vagrantfile in it, e.g. project/Vagrantfile\n"
        )
    );
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn two_directories_with_a_vagrantfile_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = lab(
        tmp.path(),
        tmp.path(),
        &["init", "--from-vagrantfile", "Vagrantfile", "a", "b"],
    );
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains("with --from-vagrantfile, lab init takes one directory, not two (a and b)"),
        "{err}"
    );
}

#[test]
fn a_link_where_lab_yaml_goes_is_refused_in_the_words_of_a_conversion() {
    need_ruby();
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_fixture(&fixtures(), "define-blocks", tmp.path());
    std::os::unix::fs::symlink("/etc/hostname", dir.join("lab.yaml")).unwrap();
    let (code, out, err) = lab(
        &dir,
        tmp.path(),
        &["init", "--from-vagrantfile", "Vagrantfile", "--force"],
    );
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.contains(
            "lab.yaml is a symbolic link, where the converted lab has a file; nothing was written"
        ),
        "{err}"
    );
}

#[test]
fn the_help_says_that_converting_runs_the_vagrantfile() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, _) = lab(tmp.path(), tmp.path(), &["init", "--help"]);
    assert_eq!(code, 0);
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.contains("This RUNS THE VAGRANTFILE'S RUBY CODE (with `ruby`, against a stand-in for Vagrant's API), as Vagrant does"),
        "{out}"
    );
}
