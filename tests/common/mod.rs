//! The harness of the tests of hostile inputs (`tests/hostile.rs`,
//! `tests/hostile_boxes.rs`): a copy of labs/smoke in a temp dir with its
//! own `LAB_HOME` and recipes, `lab` run with a deadline, FIFOs and stored
//! boxes made to order. No VM is booted; libvirt is its `test:///default`
//! driver, and a stand-in `mmdebstrap` that fails makes sure no box is
//! ever built.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// A copy of labs/smoke in a temp dir, a private `LAB_HOME` and recipes.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub recipes: PathBuf,
}

pub fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
    std::fs::copy(src, dir.path().join("lab.yaml")).unwrap();
    let home = dir.path().join("home");
    let recipes = dir.path().join("recipes");
    std::fs::create_dir_all(recipes.join("debian-12")).unwrap();
    std::fs::write(recipes.join("debian-12/box.yaml"), "# test recipe\n").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    // Whatever goes wrong, no test builds a box: this mmdebstrap fails.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("mmdebstrap"), "#!/bin/sh\nexit 97\n").unwrap();
    std::fs::set_permissions(
        bin.join("mmdebstrap"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    Env { dir, home, recipes }
}

/// How a run ended: exit code, stdout, stderr (temp paths replaced).
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Env {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `.lab/` made as `lab` makes it (0700).
    pub fn state_dir(&self) -> PathBuf {
        let sd = self.path().join(".lab");
        std::fs::create_dir_all(&sd).unwrap();
        std::fs::set_permissions(&sd, std::fs::Permissions::from_mode(0o700)).unwrap();
        sd
    }

    /// Writes `text` at `rel` (under the lab directory) with mode 0600.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// A state for the smoke lab whose node1 has `user` (node up, host key
    /// pinned), as `lab up` writes it but for that value.
    pub fn state_with_user(&self, user: &str) {
        self.state_dir();
        let node = serde_json::json!({
            "domain": "smoke.node1", "ip": "10.77.10.21", "mac": "52:54:00:12:34:56",
            "user": user, "box_name": "debian-12", "volumes": [], "ready": true,
            "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxh",
            "boot_seconds": null, "ready_seconds": null
        });
        let st = serde_json::json!({
            "format": 2, "lab": "smoke", "instance": "0a1b2c3d4e5f", "file": "",
            "uri": "test:///default", "pool": "lab", "network": null, "accel": null,
            "accel_reason": null, "nodes": {"node1": node}
        });
        self.write(".lab/state.json", &st.to_string());
    }

    /// `lab ARGS` in the lab directory; a run over 20 s fails the test.
    pub fn lab(&self, args: &[&str]) -> Run {
        let out = Command::cargo_bin("lab")
            .unwrap()
            .args(args)
            .current_dir(self.path())
            .env("LAB_HOME", &self.home)
            .env("LAB_BOXES_PATH", &self.recipes)
            .env("LAB_LIBVIRT_URI", "test:///default")
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.path().join("bin").display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("NO_COLOR", "1")
            .env_remove("LAB_FILE")
            .env_remove("LAB_LOG")
            .timeout(Duration::from_secs(20))
            .write_stdin("")
            .output()
            .unwrap();
        let clean = |b: &[u8]| {
            String::from_utf8_lossy(b).replace(&self.path().display().to_string(), "[LAB_DIR]")
        };
        Run {
            // A timeout kills the child: no exit code.
            code: out.status.code().unwrap_or_else(|| {
                panic!(
                    "lab {args:?} did not finish within 20 s (blocked?); stderr: {}",
                    clean(&out.stderr)
                )
            }),
            stdout: clean(&out.stdout),
            stderr: clean(&out.stderr),
        }
    }
}

/// `lab` run in `cwd` the way a user of its own would run it: `HOME` and
/// `LAB_HOME` as given, no colour, and nothing of the caller's `LAB_FILE`,
/// `LAB_BOXES_PATH` or `LAB_LOG` (the tests of `lab init` and of recipe
/// lookup must see only what they set up).
pub fn isolated_lab(cwd: &Path, home: &Path, lab_home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("lab").unwrap();
    cmd.current_dir(cwd)
        .env("HOME", home)
        .env("LAB_HOME", lab_home)
        .env("NO_COLOR", "1")
        .env_remove("LAB_FILE")
        .env_remove("LAB_BOXES_PATH")
        .env_remove("LAB_LOG");
    cmd
}

/// Makes a FIFO (named pipe) at `path`.
pub fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo(3) only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

pub const FIFO: &str = "it is a FIFO (named pipe), not a regular file; lab reads only regular files, so put the file itself there";

/// A box in the store as `lab box build` leaves it, with `files`.
pub fn stored_box(e: &Env, name: &str, files: &[&str]) {
    let dir = e.home.join("boxes").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in files {
        std::fs::write(dir.join(f), "x").unwrap();
    }
    let meta = serde_json::json!({
        "name": name, "version": "1", "format": "disk", "recipe_hash": "h",
        "disk_sha256": "00", "disk_gib": 8, "cmdline": "", "user": "lab",
        "built_at": 0, "build_seconds": 1, "suite": "bookworm", "packages": [],
        "installed_packages": 1
    });
    std::fs::write(dir.join("box.json"), meta.to_string()).unwrap();
}
