//! `--json` outputs of the real binary in the cases that need no VM: what
//! scripts read must be JSON on stdout whatever the lab holds.

use std::path::Path;

use assert_cmd::Command;

/// `lab ARGS` on a copy of labs/smoke, with hermetic box lookup and
/// libvirt's test driver.
fn lab(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("lab").unwrap();
    std::fs::create_dir_all(dir.join("recipes/debian-12")).unwrap();
    std::fs::write(dir.join("recipes/debian-12/box.yaml"), "").unwrap();
    cmd.args(args)
        .current_dir(dir)
        .env("LAB_HOME", dir.join("home"))
        .env("LAB_BOXES_PATH", dir.join("recipes"))
        .env("LAB_LIBVIRT_URI", "test:///default")
        .env_remove("LAB_FILE")
        .env("NO_COLOR", "1");
    cmd
}

#[test]
fn verify_json_of_a_lab_without_checks_is_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
    std::fs::copy(smoke, dir.path().join("lab.yaml")).unwrap();
    let out = lab(dir.path(), &["verify", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
}
