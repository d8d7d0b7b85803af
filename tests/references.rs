//! Files a lab refers to, through the real binary: `lab validate` (and so
//! `lab up`, before it creates anything) reports every script or playbook
//! that is missing, not a file, unreadable or outside the copied lab
//! directory, and a lab directory that cannot be copied; commands that only
//! manage existing VMs (`status`, `destroy`, ...) keep working when the
//! files and the box are gone. libvirt is `test:///default`; nothing boots.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A lab directory (`lab/`) and a recipe directory knowing `mybox`, in one
/// temp dir that other users may enter.
struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new(lab_yaml: &str, files: &[&str]) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env { tmp };
        for d in ["", "lab", "recipes/mybox", "home"] {
            std::fs::create_dir_all(env.path(d)).unwrap();
            std::fs::set_permissions(env.path(d), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(env.path("recipes/mybox/box.yaml"), "").unwrap();
        std::fs::write(env.path("lab/lab.yaml"), lab_yaml).unwrap();
        for f in files {
            let path = env.path(&format!("lab/{f}"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "true\n").unwrap();
        }
        env
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().canonicalize().unwrap().join(rel)
    }

    /// `lab ARGS` in the lab directory.
    fn lab(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("lab").unwrap();
        self.setup(&mut cmd).args(args);
        cmd
    }

    fn setup<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.current_dir(self.path("lab"))
            .env("LAB_BOXES_PATH", self.path("recipes"))
            .env("LAB_HOME", self.path("home"))
            .env("LAB_LIBVIRT_URI", "test:///default")
            .env("NO_COLOR", "1")
            .env_remove("LAB_FILE")
            .env_remove("LAB_LOG")
    }

    /// stdout, stderr (the temp dir replaced by `[TMP]`) and the exit code.
    fn run(&self, cmd: &mut Command) -> (String, String, i32) {
        let out = cmd.write_stdin("").output().unwrap();
        let root = self.path("").display().to_string();
        let clean =
            |b: &[u8]| String::from_utf8_lossy(b).replace(root.trim_end_matches('/'), "[TMP]");
        (
            clean(&out.stdout),
            clean(&out.stderr),
            out.status.code().unwrap_or(-1),
        )
    }
}

const HEAD: &str = "name: refs\nbox: mybox\nnetwork:\n  subnet: 10.77.10.0/24\nnodes:\n  control1: {ip: 10.77.10.10}\n  node1: {ip: 10.77.10.21}\n";

#[test]
fn missing_scripts_are_all_reported_with_locations() {
    let yaml = format!(
        "{HEAD}provision:\n  type: shell\n  scripts:\n    - on: [node1]\n      script: scripts/setpu.sh\n    - on: [node1]\n      script: scripts/setup.sh\n    - on: [node1]\n      script: scripts\n    - on: [control1]\n      script: ../outside.sh\n"
    );
    let env = Env::new(&yaml, &["scripts/setup.sh", "../outside.sh"]);
    let (out, err, code) = env.run(&mut env.lab(&["validate"]));
    assert_eq!((code, out.as_str()), (2, ""));
    insta::assert_snapshot!(err);
}

#[test]
fn a_missing_playbook_is_reported_and_up_creates_nothing() {
    let yaml = format!("{HEAD}provision:\n  type: ansible\n  playbook: provision/site.yml\n");
    let env = Env::new(&yaml, &["provision/sites.yml"]);
    let (_, err, code) = env.run(&mut env.lab(&["validate"]));
    assert_eq!(code, 2);
    insta::assert_snapshot!(err);
    let (_, up_err, code) = env.run(&mut env.lab(&["up"]));
    assert_eq!(code, 2);
    assert_eq!(up_err, err);
    assert!(
        !env.path("lab/.lab").exists(),
        "lab up created its state dir"
    );
}

/// `lab ARGS` as a user whom file permissions stop: this user when not
/// root, else `nobody` (through setpriv, from util-linux), running a copy
/// of the binary in the temp dir (the build directory may be private).
fn unprivileged(env: &Env, args: &[&str]) -> Command {
    let lab = assert_cmd::cargo::cargo_bin("lab");
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let copy = env.path("lab-bin");
        if !copy.exists() {
            std::fs::hard_link(&lab, &copy)
                .or_else(|_| std::fs::copy(&lab, &copy).map(drop))
                .unwrap();
        }
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(copy);
        cmd
    } else {
        Command::new(lab)
    };
    env.setup(&mut cmd).args(args);
    cmd
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn unreadable_scripts_and_lab_directories_are_reported() {
    let yaml = format!(
        "{HEAD}provision:\n  type: shell\n  scripts:\n    - on: [node1]\n      script: scripts/setup.sh\n"
    );
    let env = Env::new(
        &yaml,
        &["scripts/setup.sh", "private/notes.txt", ".git/config"],
    );
    for d in ["lab", "lab/scripts"] {
        chmod(&env.path(d), 0o755);
    }
    chmod(&env.path("lab/lab.yaml"), 0o644);
    let (_, err, code) = env.run(&mut unprivileged(&env, &["validate"]));
    assert_eq!(code, 0, "readable as it is: {err}");
    // The upload skips .git/: it may be private.
    chmod(&env.path("lab/.git"), 0o700);
    let (_, err, code) = env.run(&mut unprivileged(&env, &["validate"]));
    assert_eq!(code, 0, "{err}");
    chmod(&env.path("lab/scripts/setup.sh"), 0o600);
    chmod(&env.path("lab/private"), 0o700);
    let (_, err, code) = env.run(&mut unprivileged(&env, &["validate"]));
    assert_eq!(code, 2);
    insta::assert_snapshot!("unreadable_script_and_subdirectory", err);
    // A lab directory that can be entered but not listed.
    chmod(&env.path("lab/scripts/setup.sh"), 0o644);
    chmod(&env.path("lab/private"), 0o755);
    chmod(&env.path("lab"), 0o711);
    let (_, err, code) = env.run(&mut unprivileged(&env, &["validate"]));
    chmod(&env.path("lab"), 0o755);
    assert_eq!(code, 2);
    insta::assert_snapshot!("unlistable_lab_directory", err);
}

#[test]
fn managing_commands_work_when_the_script_and_the_box_are_gone() {
    let yaml = format!(
        "{HEAD}provision:\n  type: shell\n  scripts:\n    - on: [node1]\n      script: scripts/setup.sh\n"
    );
    let env = Env::new(&yaml, &["scripts/setup.sh"]);
    let (_, err, code) = env.run(&mut env.lab(&["validate"]));
    assert_eq!(code, 0, "{err}");
    std::fs::remove_file(env.path("lab/scripts/setup.sh")).unwrap();
    std::fs::remove_dir_all(env.path("recipes/mybox")).unwrap();
    // What creates or provisions refuses, naming both, before anything exists.
    let (_, err, code) = env.run(&mut env.lab(&["up"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("box: unknown box `mybox`") && err.contains("scripts/setup.sh does not exist"),
        "{err}"
    );
    assert!(
        !env.path("lab/.lab").exists(),
        "lab up created its state dir"
    );
    let (_, err, code) = env.run(&mut env.lab(&["provision"]));
    assert_eq!(code, 2, "{err}");
    // What manages existing VMs still works.
    let (out, err, code) = env.run(&mut env.lab(&["status"]));
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "lab refs: network lab-refs not created\nNODE      STATE        IP           BOX    ACCEL\ncontrol1  not created  10.77.10.10  mybox  -\nnode1     not created  10.77.10.21  mybox  -\n"
    );
    let (out, err, code) = env.run(&mut env.lab(&["info"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("lab refs is not up"), "{out}");
    for args in [&["verify"][..], &["halt"]] {
        let (_, err, code) = env.run(&mut env.lab(args));
        assert_eq!(code, 0, "lab {args:?}: {err}");
    }
    // ssh-config runs, and says there is no node to log in to yet.
    let (_, err, code) = env.run(&mut env.lab(&["ssh-config"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no node of lab refs has been up yet"), "{err}");
    let (out, err, code) = env.run(&mut env.lab(&["destroy", "-f"]));
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "destroyed lab refs: 0 VM(s), 0 volume(s), network (none); state removed\n"
    );
    // Their lab file is still checked.
    std::fs::write(
        env.path("lab/lab.yaml"),
        yaml.replace("10.77.10.21", "10.77.10.1"),
    )
    .unwrap();
    let (_, err, code) = env.run(&mut env.lab(&["status"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("nodes.node1.ip: 10.77.10.1 is the gateway"),
        "{err}"
    );
}
