//! What `lab init` says through the real binary: the templates, what it
//! wrote and what to run next, and each refusal (an unknown template,
//! files that exist, a link where a file goes), with nothing written.

use std::path::PathBuf;

use assert_cmd::Command;

/// `lab ARGS` in `dir`: exit code, stdout, stderr.
fn lab(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("lab")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("LAB_HOME", dir.join("labhome"))
        .env("NO_COLOR", "1")
        .env_remove("LAB_FILE")
        .env_remove("LAB_BOXES_PATH")
        .env_remove("LAB_LOG")
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
