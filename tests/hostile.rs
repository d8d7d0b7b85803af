//! Hostile files where `lab` keeps its state and boxes, through the real
//! binary: FIFOs that would block a read forever, symbolic links planted
//! where lab writes, values edited into `.lab/state.json`, box names that
//! climb out of the store. Each is refused with one sentence, quickly
//! (every run has a deadline, so a hang fails the test), and nothing
//! outside the lab's own files is touched. No VM is booted; libvirt is its
//! `test:///default` driver.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// A copy of labs/smoke in a temp dir, a private `LAB_HOME` and recipes.
struct Env {
    dir: tempfile::TempDir,
    home: PathBuf,
    recipes: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
    std::fs::copy(src, dir.path().join("lab.yaml")).unwrap();
    let home = dir.path().join("home");
    let recipes = dir.path().join("recipes");
    std::fs::create_dir_all(recipes.join("debian-12")).unwrap();
    std::fs::write(recipes.join("debian-12/box.yaml"), "# test recipe\n").unwrap();
    std::fs::create_dir_all(&home).unwrap();
    Env { dir, home, recipes }
}

/// How a run ended: exit code, stdout, stderr (temp paths replaced).
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Env {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `.lab/` made as `lab` makes it (0700).
    fn state_dir(&self) -> PathBuf {
        let sd = self.path().join(".lab");
        std::fs::create_dir_all(&sd).unwrap();
        std::fs::set_permissions(&sd, std::fs::Permissions::from_mode(0o700)).unwrap();
        sd
    }

    /// Writes `text` at `rel` (under the lab directory) with mode 0600.
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// A state for the smoke lab whose node1 has `user` (node up, host key
    /// pinned), as `lab up` writes it but for that value.
    fn state_with_user(&self, user: &str) {
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
    fn lab(&self, args: &[&str]) -> Run {
        let out = Command::cargo_bin("lab")
            .unwrap()
            .args(args)
            .current_dir(self.path())
            .env("LAB_HOME", &self.home)
            .env("LAB_BOXES_PATH", &self.recipes)
            .env("LAB_LIBVIRT_URI", "test:///default")
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

/// Makes a FIFO (named pipe) at `path`.
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo(3) only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

const FIFO: &str = "it is a FIFO (named pipe), not a regular file; lab reads only regular files, so put the file itself there";

#[test]
fn a_fifo_as_lab_file_is_refused_without_blocking() {
    let e = env();
    mkfifo(&e.path().join("fifo.yaml"));
    let run = e.lab(&["validate", "-f", "fifo.yaml"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!("error: cannot read the lab file fifo.yaml: {FIFO}\n")
    );
}

#[test]
fn a_fifo_as_state_or_secrets_is_refused_without_blocking() {
    let e = env();
    e.state_dir();
    mkfifo(&e.path().join(".lab/state.json"));
    for args in [&["status"][..], &["destroy", "-f"]] {
        let run = e.lab(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("[LAB_DIR]/.lab/state.json is a FIFO (named pipe), not a regular file"),
            "{args:?}: {}",
            run.stderr
        );
    }
    std::fs::remove_file(e.path().join(".lab/state.json")).unwrap();
    mkfifo(&e.path().join(".lab/secrets.json"));
    let run = e.lab(&["secrets"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("[LAB_DIR]/.lab/secrets.json"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("FIFO"), "{}", run.stderr);
}

#[test]
fn a_fifo_in_the_box_store_or_a_recipe_is_refused_without_blocking() {
    let e = env();
    mkfifo(&e.home.join("boxes/piped/box.json"));
    let run = e.lab(&["box", "list"]);
    assert!(
        run.stderr.contains("FIFO") || run.stdout.contains("FIFO"),
        "{}{}",
        run.stdout,
        run.stderr
    );

    mkfifo(&e.recipes.join("fifo/box.yaml"));
    let run = e.lab(&["box", "build", "fifo"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains(FIFO), "{}", run.stderr);

    let overlay = e.recipes.join("overlay");
    std::fs::create_dir_all(overlay.join("files/etc")).unwrap();
    std::fs::write(overlay.join("box.yaml"), "version: '1'\nsuite: bookworm\nmirror: http://deb.debian.org/debian\npackages: [x]\ndisk_gib: 8\ncmdline: x\nuser: lab\n").unwrap();
    mkfifo(&overlay.join("files/etc/pipe"));
    let run = e.lab(&["box", "build", "overlay"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains(&format!(
            "cannot read [LAB_DIR]/recipes/overlay/files/etc/pipe: {FIFO}"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_fifo_as_console_log_is_refused_without_blocking() {
    let e = env();
    mkfifo(&e.path().join(".lab/console/node1.log"));
    let run = e.lab(&["console", "node1"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!("error: cannot read the console log [LAB_DIR]/.lab/console/node1.log: {FIFO}\n")
    );
}

#[test]
fn a_link_planted_at_the_lock_never_has_its_target_overwritten() {
    let e = env();
    let sd = e.state_dir();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&victim, sd.join("lock")).unwrap();
    for args in [&["halt"][..], &["up"], &["destroy", "-f"], &["provision"]] {
        let run = e.lab(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "[LAB_DIR]/.lab/lock is a symbolic link (to {}); lab never writes through a link",
                victim.display()
            )),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let mode = std::fs::metadata(&victim).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{args:?} changed the mode");
    }
}

#[test]
fn a_state_dir_linked_to_another_users_directory_is_refused() {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot make a directory of another user; not exercised");
        return;
    }
    let e = env();
    let theirs = tempfile::tempdir().unwrap();
    std::fs::set_permissions(theirs.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(theirs.path(), Some(65534), None).unwrap();
    std::os::unix::fs::symlink(theirs.path(), e.path().join(".lab")).unwrap();
    let run = e.lab(&["up"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("[LAB_DIR]/.lab (where the symbolic link points) is a directory of user id 65534, not yours (user id 0)"),
        "{}",
        run.stderr
    );
    let mode = std::fs::metadata(theirs.path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "left as found");
    assert_eq!(std::fs::read_dir(theirs.path()).unwrap().count(), 0);
}

#[test]
fn a_user_edited_into_the_state_never_reaches_ssh_as_an_option() {
    let e = env();
    let pwned = e.path().join("pwned");
    e.state_with_user(&format!("-oProxyCommand=touch {}", pwned.display()));
    let run = e.lab(&["ssh", "node1", "--", "echo", "hi"]);
    assert!(!pwned.exists(), "ssh ran the ProxyCommand");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: [LAB_DIR]/.lab/state.json: `nodes.node1.user` is \"-oProxyCommand=touch [LAB_DIR]/pwned\", which starts with '-'; a login name starts with a lowercase letter or '_'; lab never writes such a value, so the file was changed by hand: put back the value lab wrote\n"
    );

    e.state_with_user("lab\nProxyCommand touch /tmp/lab-test-pwned");
    let run = e.lab(&["ssh-config"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stdout.contains("ProxyCommand"), "{}", run.stdout);
    assert!(
        run.stderr.contains("`nodes.node1.user` is \"lab\\nProxyCommand touch /tmp/lab-test-pwned\", which contains '\\n'"),
        "{}",
        run.stderr
    );

    e.state_with_user("lab");
    let run = e.lab(&["ssh-config"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Host node1\n  HostName 10.77.10.21\n  User lab\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn secrets_or_host_keys_others_could_change_are_refused() {
    let e = env();
    e.state_with_user("lab");
    let secrets = e.write(".lab/secrets.json", r#"{"db_root_password": "x"}"#);
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = e.lab(&["secrets"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("error: the lab's secrets file [LAB_DIR]/.lab/secrets.json can be read or changed by other users (mode 0666), so lab will not use it; if nobody else could have read or changed it, run `chmod 600 [LAB_DIR]/.lab/secrets.json`"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("\"x\""), "{}", run.stdout);
    let mode = std::fs::metadata(&secrets).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o666, "left as found");

    let kh = e.write(".lab/known_hosts", "10.77.10.21 ssh-ed25519 AAAA\n");
    std::fs::set_permissions(&kh, std::fs::Permissions::from_mode(0o664)).unwrap();
    for args in [&["ssh", "node1"][..], &["ssh-config"]] {
        let run = e.lab(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("the pinned host keys [LAB_DIR]/.lab/known_hosts can be changed by other users (mode 0664), so lab will not use it"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn box_names_never_lead_out_of_the_recipes_or_the_store() {
    let e = env();
    let victim = e.home.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("box.json"), "{}").unwrap();
    std::fs::create_dir_all(e.path().join("x")).unwrap();
    std::fs::write(e.path().join("x/box.yaml"), "version: '1'\n").unwrap();
    let said = |name: &str| {
        format!(
            "error: box name {name:?} contains '/'; only lowercase letters, digits, '-', '.' and '_' are allowed\n"
        )
    };
    let run = e.lab(&["box", "remove", "../victim"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, said("../victim").as_str())
    );
    assert!(
        victim.join("box.json").exists(),
        "removed outside the store"
    );
    for name in ["../x", "/abs/x"] {
        let run = e.lab(&["box", "build", name]);
        assert_eq!((run.code, run.stderr.as_str()), (2, said(name).as_str()));
    }
    let run = e.lab(&["box", "build", ".."]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("must start with a letter or digit"),
        "{}",
        run.stderr
    );

    // A recipe may not extend one outside the recipe directories.
    std::fs::create_dir_all(e.recipes.join("child")).unwrap();
    std::fs::write(
        e.recipes.join("child/box.yaml"),
        "extends: ../../x\nversion: '2'\n",
    )
    .unwrap();
    let run = e.lab(&["box", "build", "child"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: [LAB_DIR]/recipes/child/box.yaml:1:10: extends: \"../../x\" is not a box name: it contains '/'; only lowercase letters, digits, '-', '.' and '_' are allowed\n"
    );
}

#[test]
fn an_invalid_recipe_is_invalid_input_with_its_position_and_field() {
    let e = env();
    let recipe = "version: '1'\nsuite: bookworm\nmirror: http://deb.debian.org/debian\npackages: [x]\ndisk_gib: 5000\ncmdline: x\nuser: lab\n";
    std::fs::write(e.recipes.join("debian-12/box.yaml"), recipe).unwrap();
    let said = "error: [LAB_DIR]/recipes/debian-12/box.yaml:5:11: disk_gib: 5000 GiB is out of range; a box's disk is 2 to 1024 GiB\n";
    let run = e.lab(&["box", "build", "debian-12"]);
    assert_eq!((run.code, run.stderr.as_str()), (2, said));
    // `lab up` refuses it before anything is created, even with a stored
    // copy of the box to fall back on.
    let stored = e.home.join("boxes/debian-12");
    std::fs::create_dir_all(&stored).unwrap();
    for f in ["disk.qcow2", "vmlinuz", "initrd.img"] {
        std::fs::write(stored.join(f), "x").unwrap();
    }
    let meta = serde_json::json!({
        "name": "debian-12", "version": "1", "format": "disk", "recipe_hash": "old",
        "disk_sha256": "00", "disk_gib": 8, "cmdline": "", "user": "lab",
        "built_at": 0, "build_seconds": 1, "suite": "bookworm", "packages": [],
        "installed_packages": 1
    });
    std::fs::write(stored.join("box.json"), meta.to_string()).unwrap();
    let run = e.lab(&["up"]);
    assert_eq!((run.code, run.stderr.as_str()), (2, said));
    assert!(!e.path().join(".lab").exists(), "state created");
}
