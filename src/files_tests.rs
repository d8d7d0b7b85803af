//! The helpers on files found with looser modes; what they do under
//! `umask 000` is tested on the real workflows in `ops::modes_tests`.

use std::os::unix::fs::PermissionsExt;

use super::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

#[test]
fn open_and_write_atomic_give_found_files_the_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("lock");
    std::fs::write(&p, "old").unwrap();
    chmod(&p, 0o666);
    let mut f = open(&p, PRIVATE_FILE, Content::Keep).unwrap();
    assert_eq!(mode(&p), 0o600);
    f.write_all(b"n").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "nld", "kept");
    drop(open(&p, PRIVATE_FILE, Content::Truncate).unwrap());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "");

    chmod(&p, 0o666);
    write_atomic(&p, b"new", PUBLIC_FILE).unwrap();
    assert_eq!(
        (mode(&p), std::fs::read_to_string(&p).unwrap().as_str()),
        (0o644, "new")
    );
}

#[test]
fn dirs_get_the_mode_when_made_and_private_ones_also_when_found() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = tmp.path().join("a/b/c");
    create_dir(&deep, 0o755).unwrap();
    for d in ["a", "a/b", "a/b/c"] {
        assert_eq!(mode(&tmp.path().join(d)), 0o755, "{d}");
    }
    chmod(&deep, 0o777);
    create_dir(&deep, 0o755).unwrap();
    assert_eq!(mode(&deep), 0o777, "an existing directory is left alone");
    private_dir(&deep).unwrap();
    assert_eq!(mode(&deep), 0o700);
    assert_eq!(
        mode(&tmp.path().join("a/b")),
        0o755,
        "existing parents are left alone"
    );
}

#[test]
fn a_key_of_another_user_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("id");
    std::fs::write(&key, "k").unwrap();
    chmod(&key, 0o600);
    check_key(&key, 0o077, "the SSH key").unwrap();
    if euid() != 0 {
        eprintln!("not root: cannot give a file to another user; ownership check not exercised");
        return;
    }
    std::os::unix::fs::chown(&key, Some(65534), None).unwrap();
    let msg = check_key(&key, 0o077, "the SSH key")
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        format!(
            "the SSH key {} belongs to user id 65534, not to you (user id 0), so lab will not use it; run lab as that user, or remove the lab with `lab destroy` as that user and bring it up again",
            key.display()
        )
    );
}

#[test]
fn errors_name_the_action_and_path() {
    let msg = open(Path::new("/nonexistent/dir/f"), PRIVATE_FILE, Content::Keep)
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("cannot open /nonexistent/dir/f: "), "{msg}");
}
