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
            "the SSH key {} belongs to user id 65534, not to you (user id 0), so lab will not use it; run lab as that user, or remove the lab with `lab destroy` and bring it up again (lab makes a new key)",
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

/// A file outside the directory under test, and a link to it at `link`.
fn victim_behind(link: &Path) -> (tempfile::TempDir, PathBuf) {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    chmod(&victim, 0o644);
    std::os::unix::fs::symlink(&victim, link).unwrap();
    (outside, victim)
}

fn untouched(victim: &Path) {
    assert_eq!(std::fs::read_to_string(victim).unwrap(), "precious");
    assert_eq!(mode(victim), 0o644);
}

#[test]
fn a_symbolic_link_is_never_written_through_or_chmodded() {
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join("lock");
    let (_outside, victim) = victim_behind(&link);
    let sentence = format!(
        "{} is a symbolic link (to {}); lab never writes through a link, which would overwrite what it points to: remove the link and run the command again",
        link.display(),
        victim.display()
    );
    for content in [Content::Keep, Content::Truncate, Content::Append] {
        let err = open(&link, PRIVATE_FILE, content).unwrap_err();
        assert_eq!(err.to_string(), sentence);
        untouched(&victim);
    }
    assert_eq!(
        write_atomic(&link, b"new", PRIVATE_FILE)
            .unwrap_err()
            .to_string(),
        sentence
    );
    untouched(&victim);
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
    assert_eq!(
        set_mode(&link, PRIVATE_FILE).unwrap_err().to_string(),
        sentence
    );
    untouched(&victim);
    // A link that points nowhere is not created through either.
    let dangling = tmp.path().join("state.json");
    std::os::unix::fs::symlink(tmp.path().join("nowhere"), &dangling).unwrap();
    assert!(open(&dangling, PRIVATE_FILE, Content::Keep).is_err());
    assert!(!tmp.path().join("nowhere").exists());
}

#[test]
fn a_fifo_or_another_users_file_is_refused_not_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("forwards.log");
    crate::limits::tests::mkfifo(&fifo);
    let path = fifo.clone();
    let err = crate::limits::tests::within_5s(move || {
        open(&path, PRIVATE_FILE, Content::Append).map(drop)
    })
    .expect("opening a FIFO blocked")
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is a FIFO (named pipe), not a regular file; lab keeps its own files only as regular files: remove it and run the command again",
            fifo.display()
        )
    );
    if euid() != 0 {
        eprintln!("not root: cannot give a file to another user; ownership check not exercised");
        return;
    }
    let theirs = tmp.path().join("lock");
    std::fs::write(&theirs, "x").unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
    assert_eq!(
        open(&theirs, PRIVATE_FILE, Content::Keep)
            .unwrap_err()
            .to_string(),
        format!(
            "{} belongs to user id 65534, not to you (user id 0), so lab will not use it; run lab as that user, or remove it",
            theirs.display()
        )
    );
}

#[test]
fn a_private_dir_may_be_a_link_only_between_dirs_of_this_user() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("elsewhere");
    std::fs::create_dir(&mine).unwrap();
    chmod(&mine, 0o755);
    let link = tmp.path().join(".lab");
    std::os::unix::fs::symlink(&mine, &link).unwrap();
    private_dir(&link).unwrap();
    assert_eq!(
        mode(&mine),
        0o700,
        "the directory pointed to is made private"
    );

    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    assert!(
        private_dir(&file)
            .unwrap_err()
            .to_string()
            .ends_with("file is a regular file, not a directory; lab keeps its files there: remove it and run the command again")
    );
    if euid() != 0 {
        eprintln!(
            "not root: cannot give a directory to another user; ownership checks not exercised"
        );
        return;
    }
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    chmod(&theirs, 0o777);
    std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
    assert_eq!(
        private_dir(&theirs).unwrap_err().to_string(),
        format!(
            "{} is a directory of user id 65534, not yours (user id 0); lab keeps its keys and state only in a directory of its own: run lab as that user, or remove it",
            theirs.display()
        )
    );
    assert_eq!(mode(&theirs), 0o777, "left as found");
    let to_theirs = tmp.path().join("state");
    std::os::unix::fs::symlink(&theirs, &to_theirs).unwrap();
    assert!(
        private_dir(&to_theirs)
            .unwrap_err()
            .to_string()
            .contains("state (where the symbolic link points) is a directory of user id 65534"),
    );
    let planted = tmp.path().join("planted");
    std::os::unix::fs::symlink(&mine, &planted).unwrap();
    std::os::unix::fs::lchown(&planted, Some(65534), None).unwrap();
    assert_eq!(
        private_dir(&planted).unwrap_err().to_string(),
        format!(
            "{} is a symbolic link to {} made by user id 65534, not by you (user id 0); lab keeps its keys and state only in a directory of its own: remove the link",
            planted.display(),
            mine.display()
        )
    );
}

#[test]
fn a_failed_atomic_write_names_the_file_asked_for_not_its_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("missing/lab.yaml");
    let msg = write_atomic(&path, b"x", 0o644).unwrap_err().to_string();
    assert_eq!(
        msg,
        format!(
            "cannot write {}: No such file or directory (os error 2)",
            path.display()
        )
    );
}
