//! `lab init` on a temp dir: the template's files with plain modes, every
//! conflict found before anything is written, `--force` replacing only
//! regular files.

use std::os::unix::fs::PermissionsExt;

use super::*;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// The labs of the repository's `labs/` (directories with a lab.yaml),
/// sorted: what the binary must carry as templates.
fn repository_labs() -> Vec<String> {
    let labs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut names: Vec<String> = std::fs::read_dir(labs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("lab.yaml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_lab_of_the_repository_is_a_template_with_a_summary() {
    let t = templates();
    let names: Vec<&str> = t.iter().map(|t| t.name).collect();
    assert_eq!(names, repository_labs());
    let summary = |name: &str| t.iter().find(|t| t.name == name).unwrap().summary.clone();
    assert_eq!(
        summary("django-ha"),
        "A highly available Django app with its operations stack"
    );
    // No README: the first sentence of the comment atop lab.yaml.
    let smoke = summary("smoke");
    assert!(
        smoke.starts_with("The smallest useful lab: two Debian nodes"),
        "{smoke}"
    );
    assert!(smoke.ends_with('.'), "{smoke}");
    for t in &t {
        assert!(!t.summary.is_empty(), "template {} has no summary", t.name);
    }
}

#[test]
fn a_template_is_written_with_plain_modes_into_a_new_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/mylab");
    let w = init("django-ha", &dir, false).unwrap();
    assert_eq!(w.files.len(), builtin::under("labs/django-ha").count());
    assert!(w.replaced.is_empty());
    for (rel, f) in builtin::under("labs/django-ha") {
        let path = dir.join(rel);
        assert_eq!(std::fs::read(&path).unwrap(), f.data, "{rel}");
        let want = if f.executable() { 0o755 } else { 0o644 };
        assert_eq!(mode(&path), want, "{rel}");
    }
    assert_eq!(mode(&dir.join("tests/haproxy-retry")), 0o755);
    assert_eq!(mode(&dir.join("lab.yaml")), 0o644);
    for d in ["a", "a/b", "a/b/mylab", "a/b/mylab/provision/roles/app"] {
        assert_eq!(mode(&tmp.path().join(d)), 0o755, "{d}");
    }
}

#[test]
fn existing_files_are_named_and_kept_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("provision")).unwrap();
    std::fs::write(dir.join("lab.yaml"), "mine").unwrap();
    std::fs::write(dir.join("provision/site.yml"), "mine too").unwrap();
    std::fs::write(dir.join("notes.txt"), "not the template's").unwrap();
    let err = init("django-ha", dir, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "2 files of template django-ha exist already in {}: lab.yaml, provision/site.yml; nothing was written: pass --force to replace them, or choose another directory",
            dir.display()
        )
    );
    // Nothing written: not even the files that were missing.
    assert_eq!(
        std::fs::read_to_string(dir.join("lab.yaml")).unwrap(),
        "mine"
    );
    assert!(!dir.join("ansible.cfg").exists());
    let w = init("django-ha", dir, true).unwrap();
    assert_eq!(
        w.replaced,
        [
            PathBuf::from("lab.yaml"),
            PathBuf::from("provision/site.yml")
        ]
    );
    assert_eq!(
        std::fs::read(dir.join("lab.yaml")).unwrap(),
        builtin::file("labs/django-ha/lab.yaml").unwrap().data
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "not the template's"
    );
    // Many files: the first ten, then how many more.
    let msg = init("django-ha", dir, false).unwrap_err().to_string();
    assert!(msg.contains(&format!("files of template django-ha exist already in {}: README.md, ansible.cfg, app/.dockerignore,", dir.display())), "{msg}");
    assert!(
        msg.contains(&format!(", and {} more;", w.files.len() - 10)),
        "{msg}"
    );
}

#[test]
fn what_is_not_a_regular_file_or_directory_is_never_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lab");
    std::fs::create_dir_all(dir.join("lab.yaml")).unwrap();
    std::fs::write(dir.join("provision"), "a file").unwrap();
    std::fs::write(tmp.path().join("target"), "outside").unwrap();
    std::fs::create_dir_all(dir.join("checks")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("target"), dir.join("checks/common.sh")).unwrap();
    for force in [false, true] {
        let msg = init("django-ha", &dir, force).unwrap_err().to_string();
        let d = dir.display();
        assert_eq!(
            msg,
            format!(
                "{d}/checks/common.sh is a symbolic link, where the template has a file; {d}/lab.yaml is a directory, where the template has a file; {d}/provision is a regular file, where the template has a directory; nothing was written: move them out of the way, or choose another directory"
            )
        );
    }
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("target")).unwrap(),
        "outside"
    );
    assert!(!dir.join("README.md").exists());
    // DIR itself a file.
    let msg = init("smoke", &tmp.path().join("target"), true)
        .unwrap_err()
        .to_string();
    assert!(msg.ends_with("/target is a regular file, not a directory; nothing was written: move it out of the way, or choose another directory"), "{msg}");
}

#[test]
fn an_unknown_template_lists_the_known_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let msg = init("mylab", tmp.path(), false).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "there is no lab template `mylab`; the templates are {}; `lab init --list` says what each is (to write the default one into a directory: `lab init smoke DIR`)",
            repository_labs().join(", ")
        )
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// A writer that fails at the `n`th file, as a full disk would.
fn failing_at(n: usize) -> impl FnMut(&Path, &[u8], u32) -> Result<(), FileError> {
    let mut count = 0;
    move |path, data, mode| {
        count += 1;
        if count == n {
            return Err(FileError::Io {
                action: "cannot write",
                path: path.to_owned(),
                source: std::io::Error::from_raw_os_error(libc::ENOSPC),
            });
        }
        crate::files::write_atomic(path, data, mode)
    }
}

/// Every path below `dir` with its content (None for a directory).
fn tree(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out: Vec<_> = walk(dir).collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Box<dyn Iterator<Item = (PathBuf, Option<Vec<u8>>)>> {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    Box::new(entries.into_iter().flat_map(|p| {
        if p.is_dir() {
            Box::new(std::iter::once((p.clone(), None)).chain(walk(&p)))
                as Box<dyn Iterator<Item = _>>
        } else {
            let data = std::fs::read(&p).unwrap();
            Box::new(std::iter::once((p, Some(data))))
        }
    }))
}

#[test]
fn a_write_failing_midway_takes_back_what_was_written() {
    let tmp = tempfile::tempdir().unwrap();
    // Into a new directory (and parent): nothing is left.
    let dir = tmp.path().join("new/h2");
    let msg = init_with("django-ha", &dir, false, failing_at(31))
        .unwrap_err()
        .to_string();
    assert!(!tmp.path().join("new").exists(), "{:?}", tree(tmp.path()));
    assert!(
        msg.starts_with(&format!("cannot write {}/", dir.display())),
        "{msg}"
    );
    assert!(
        msg.ends_with(&format!(
            ": No space left on device (os error 28); lab init took back the 30 files it had written, so {} is as it was",
            dir.display()
        )),
        "{msg}"
    );
    // Into an existing directory with --force: replaced files get their
    // old content back, new ones and new directories go, others stay.
    let dir = tmp.path().join("h2");
    std::fs::create_dir_all(dir.join("provision")).unwrap();
    std::fs::write(dir.join("lab.yaml"), "mine").unwrap();
    std::fs::write(dir.join("notes"), "not the template's").unwrap();
    let before = tree(&dir);
    let msg = init_with("django-ha", &dir, true, failing_at(40))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("lab init took back the 39 files it had written"),
        "{msg}"
    );
    assert_eq!(tree(&dir), before);
    // The first file failing: nothing was written.
    let msg = init_with("smoke", &dir, true, failing_at(1))
        .unwrap_err()
        .to_string();
    assert!(msg.ends_with("(os error 28); nothing was written"), "{msg}");
    assert_eq!(tree(&dir), before);
}

#[test]
fn one_file_that_exists_already_exists() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("lab.yaml"), "mine").unwrap();
    let msg = init("smoke", tmp.path(), false).unwrap_err().to_string();
    assert!(
        msg.starts_with("1 file of template smoke exists already in "),
        "{msg}"
    );
}
