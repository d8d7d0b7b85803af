//! Hostile files where `lab` keeps its state, through the real binary:
//! FIFOs that would block a read forever, symbolic links planted where lab
//! writes, values edited into `.lab/state.json`, secrets and pinned host
//! keys others could change. Each is refused with one sentence, quickly
//! (every run has a deadline, so a hang fails the test), and nothing
//! outside the lab's own files is touched. Boxes: `tests/hostile_boxes.rs`.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{FIFO, env, mkfifo};

#[test]
fn a_fifo_as_lab_file_is_refused_without_blocking() {
    let e = env();
    mkfifo(&e.path().join("fifo.yaml"));
    let run = e.lab(&["validate", "-f", "fifo.yaml"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
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
