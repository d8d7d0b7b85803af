//! The errors users meet, from the real binary, as snapshots: one sentence
//! and a hint each. None of these boots a VM or needs a running libvirtd.

use std::path::Path;

use assert_cmd::Command;

/// A temp dir holding a copy of labs/smoke, with hermetic box lookup.
struct Env {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
    std::fs::copy(src, dir.path().join("lab.yaml")).unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("recipes/debian-12")).unwrap();
    std::fs::write(home.path().join("recipes/debian-12/box.yaml"), "").unwrap();
    Env { dir, home }
}

impl Env {
    fn lab(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("lab").unwrap();
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("LAB_HOME", self.home.path())
            .env("LAB_BOXES_PATH", self.home.path().join("recipes"))
            .env_remove("LAB_FILE")
            .env_remove("LAB_LIBVIRT_URI")
            .env("NO_COLOR", "1");
        cmd
    }

    /// stderr with the temp paths replaced, and the exit code.
    fn fails(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        let mut cmd = self.lab(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.write_stdin("").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr)
            .replace(&self.dir.path().display().to_string(), "[LAB_DIR]")
            .replace(&self.home.path().display().to_string(), "[LAB_HOME]");
        assert!(!out.status.success(), "lab {args:?} succeeded: {stderr}");
        (out.status.code().unwrap_or(-1), stderr)
    }
}

#[test]
fn libvirt_not_reachable() {
    let e = env();
    let (code, err) = e.fails(
        &["status"],
        &[(
            "LAB_LIBVIRT_URI",
            "qemu+unix:///system?socket=/nonexistent/lab.sock",
        )],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(err);
}

#[test]
fn ssh_before_up() {
    let e = env();
    let (code, err) = e.fails(&["ssh", "node1"], &[]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(err);
}

#[test]
fn unknown_node() {
    let e = env();
    let (code, err) = e.fails(&["up", "node9"], &[("LAB_LIBVIRT_URI", "test:///default")]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(err);
}

#[test]
fn destroy_without_confirmation_off_a_terminal() {
    let e = env();
    let (code, err) = e.fails(&["destroy"], &[("LAB_LIBVIRT_URI", "test:///default")]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(err);
}

#[test]
fn console_of_a_node_never_started() {
    let e = env();
    let (code, err) = e.fails(&["console", "node1"], &[]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(err);
}

#[test]
fn invalid_lab_file_creates_nothing() {
    let e = env();
    std::fs::write(
        e.dir.path().join("lab.yaml"),
        "name: Bad_Name\nbox: debian-12\n",
    )
    .unwrap();
    let (code, err) = e.fails(&["up"], &[("LAB_LIBVIRT_URI", "test:///default")]);
    assert_eq!(code, 2);
    assert!(err.contains("lab.yaml:1:7"), "{err}");
    assert!(
        !e.dir.path().join(".lab").exists(),
        "state dir created for an invalid lab"
    );
}

#[test]
fn unknown_box_is_refused_before_anything_is_created() {
    let e = env();
    let text = std::fs::read_to_string(e.dir.path().join("lab.yaml")).unwrap();
    std::fs::write(
        e.dir.path().join("lab.yaml"),
        text.replace("box: debian-12", "box: nosuchbox"),
    )
    .unwrap();
    let (code, err) = e.fails(&["up"], &[("LAB_LIBVIRT_URI", "test:///default")]);
    assert_eq!(code, 2);
    assert!(!e.dir.path().join(".lab").exists());
    insta::assert_snapshot!(err);
}

#[test]
fn help_lists_every_command() {
    let e = env();
    let out = e.lab(&["--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "validate",
        "schema",
        "box",
        "up",
        "status",
        "ssh",
        "ssh-config",
        "console",
        "halt",
        "destroy",
    ] {
        assert!(
            help.contains(&format!("\n  {cmd} ")),
            "{cmd} missing from --help:\n{help}"
        );
    }
    assert!(!help.contains("__probe"), "hidden command shown");
}

#[test]
fn snapshot_of_a_lab_never_up_creates_nothing() {
    let e = env();
    let t = &[("LAB_LIBVIRT_URI", "test:///default")];
    let (code, err) = e.fails(&["snapshot", "save", "provisioned"], t);
    assert_eq!(code, 1);
    insta::assert_snapshot!(err);
    let (code, err) = e.fails(&["snapshot", "restore", "provisioned"], t);
    assert_eq!(code, 1);
    assert!(err.contains("is not up"), "{err}");
    assert!(!e.dir.path().join(".lab").exists(), "no state dir made");
    let out = e.lab(&["snapshot", "list"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "lab smoke has no snapshots; `lab snapshot save NAME` takes one\n"
    );
    let out = e.lab(&["snapshot", "list", "--json"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

#[test]
fn snapshot_names_are_checked_like_node_names() {
    let e = env();
    let t = &[("LAB_LIBVIRT_URI", "test:///default")];
    for (args, _) in [
        (["snapshot", "save", "Before Upgrade"], ()),
        (["snapshot", "restore", "../x"], ()),
        (["snapshot", "delete", "x_y"], ()),
    ] {
        let (code, err) = e.fails(&args, t);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("snapshot name"), "{args:?}: {err}");
    }
    let (_, err) = e.fails(&["snapshot", "save", "Before Upgrade"], t);
    insta::assert_snapshot!(err);
}
