//! What `lab init` says through the real binary: the templates, what it
//! wrote and what to run next, and each refusal (an unknown template,
//! files that exist, a link where a file goes), with nothing written.

use std::path::PathBuf;

mod common;

/// `lab ARGS` in `dir`: exit code, stdout, stderr.
fn lab(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = common::isolated_lab(dir, dir, &dir.join("labhome"))
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

#[test]
fn the_templates_are_listed_one_line_each() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = lab(tmp.path(), &["init", "--list"]);
    assert_eq!((code, err.as_str()), (0, ""));
    insta::assert_snapshot!("list", out);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    // --list takes no template (nor directory): refused, not ignored.
    for args in [
        &["init", "--list", "nosuch"][..],
        &["init", "smoke", "d", "--list"],
    ] {
        let (code, out, err) = lab(tmp.path(), args);
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
        assert!(err.contains("cannot be used with"), "{err}");
    }
}

#[test]
fn init_says_what_it_wrote_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = lab(tmp.path(), &["init", "django-ha", "my lab"]);
    assert_eq!((code, err.as_str()), (0, ""));
    insta::assert_snapshot!("written", out);
    let (code, out, err) = lab(tmp.path(), &["init", "django-ha", "my lab"]);
    assert_eq!((code, out.as_str()), (1, ""));
    insta::assert_snapshot!("exists", err);
    // --force replaces them; the report says so.
    let (code, out, _) = lab(tmp.path(), &["init", "smoke", "my lab", "--force"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("\nreplaced 1 file that existed (--force)\n"),
        "{out}"
    );
}

#[test]
fn an_unknown_template_is_invalid_input_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = lab(tmp.path(), &["init", "mylab"]);
    assert_eq!((code, out.as_str()), (2, ""));
    insta::assert_snapshot!("unknown", err);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn a_link_where_a_file_goes_is_refused_even_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let target: PathBuf = tmp.path().join("elsewhere");
    std::fs::write(&target, "keep me").unwrap();
    std::fs::create_dir(tmp.path().join("x")).unwrap();
    std::os::unix::fs::symlink(&target, tmp.path().join("x/lab.yaml")).unwrap();
    let (code, out, err) = lab(tmp.path(), &["init", "smoke", "x", "--force"]);
    assert_eq!((code, out.as_str()), (1, ""));
    insta::assert_snapshot!("link", err);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
}

/// `lab init` as a user who cannot write into a directory the template
/// writes into (`provision/`, read-only): named before anything is
/// written, so that a second run is not refused for the first one's files.
/// As root, the run is made as `nobody`, for whom access is checked.
#[test]
fn a_directory_that_cannot_be_written_into_is_named_before_anything_is_written() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = unsafe { libc::geteuid() } == 0;
    let nobody = 65534;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let h2 = tmp.path().join("h2");
    std::fs::create_dir_all(h2.join("provision")).unwrap();
    if root {
        std::os::unix::fs::chown(&h2, Some(nobody), Some(nobody)).unwrap();
    }
    std::fs::set_permissions(h2.join("provision"), std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("lab"));
    cmd.args(["init", "django-ha", "h2"])
        .current_dir(tmp.path())
        .env("HOME", tmp.path())
        .env("LAB_HOME", tmp.path().join("labhome"))
        .env_remove("LAB_FILE");
    if root {
        cmd.uid(nobody).gid(nobody);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "error: you cannot write into h2/provision (permission denied); nothing was written: make it writable, or choose another directory\n"
    );
    let left: Vec<_> = std::fs::read_dir(&h2)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["provision"]);
}
