//! Tests of the vagrant user: the account files edited as text, and the
//! whole change on a small ext4 image made with `mkfs.ext4 -d` (no mount).

use std::path::Path;

use super::*;
use crate::ssh::vagrant_keys::{INSECURE_PUBLIC_KEY_ED25519, INSECURE_PUBLIC_KEY_RSA};

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                      nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
                      lab:x:1000:1000::/home/lab:/bin/bash\n";
const GROUP: &str = "root:x:0:\nshadow:x:42:\nusers:x:100:\nlab:x:1001:\n";

#[test]
fn accounts_are_found_by_name_only_in_valid_lines() {
    assert_eq!(
        find_user(PASSWD, "lab"),
        Some(Account {
            uid: 1000,
            gid: 1000,
            home: "/home/lab".into()
        })
    );
    assert_eq!(find_user(PASSWD, "la"), None);
    assert_eq!(
        find_user("vagrant:x:1:1\n", "vagrant"),
        None,
        "too few fields"
    );
    assert_eq!(find_group(GROUP, "shadow"), Some(42));
    assert_eq!(find_group(GROUP, "vagrant"), None);
}

#[test]
fn the_new_id_is_free_as_uid_and_as_gid() {
    // 1000 is lab's uid, 1001 lab's gid.
    assert_eq!(free_id(PASSWD, GROUP).unwrap(), 1002);
    assert_eq!(free_id("", "").unwrap(), 1000);
    let full: String = (1000..=59999)
        .map(|i| format!("u{i}:x:{i}:{i}::/:/bin/sh\n"))
        .collect();
    let msg = free_id(&full, "").unwrap_err().to_string();
    assert_eq!(
        msg,
        "no id from 1000 to 59999 is free in the box's /etc/passwd and /etc/group for the vagrant user"
    );
}

#[test]
fn lines_are_added_at_the_end_of_a_file_without_a_last_newline_too() {
    assert_eq!(append_line("a\n", "b"), "a\nb\n");
    assert_eq!(append_line("a", "b"), "a\nb\n");
    assert_eq!(append_line("", "b"), "b\n");
    assert_eq!(
        account_lines(1002, 1002, "/bin/bash", 20786),
        [
            "vagrant:x:1002:1002:Vagrant:/home/vagrant:/bin/bash",
            "vagrant:x:1002:",
            "vagrant:*:20786:0:99999:7:::",
            "vagrant:!::",
        ]
    );
}

#[test]
fn both_insecure_keys_are_authorized_once() {
    let fresh = authorized_keys("");
    assert_eq!(
        fresh,
        format!("{INSECURE_PUBLIC_KEY_RSA}\n{INSECURE_PUBLIC_KEY_ED25519}\n")
    );
    assert_eq!(authorized_keys(&fresh), fresh);
    let own = "ssh-ed25519 AAAAown me@host";
    assert_eq!(
        authorized_keys(&format!("{own}\n{INSECURE_PUBLIC_KEY_ED25519}")),
        format!("{own}\n{INSECURE_PUBLIC_KEY_ED25519}\n{INSECURE_PUBLIC_KEY_RSA}\n")
    );
}

/// A 16 MiB ext4 image of `root` (as mkfs.ext4 -d makes a box), owners
/// and modes of some files set as a Debian image has them.
fn image(dir: &Path, root: &Path) -> std::path::PathBuf {
    let img = dir.join("root.img");
    crate::process::Cmd::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "labroot", "-d"])
        .arg(root)
        .arg(&img)
        .arg("16M")
        .run()
        .unwrap();
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let mut e = Edits::default();
    for (path, mode, gid) in [("/etc/shadow", 0o640, 42), ("/etc/passwd", 0o644, 0)] {
        if !root.join(&path[1..]).exists() {
            continue;
        }
        e.set_file_owner(path, (mode, 0, gid));
    }
    Image::new(&img, &scratch, &dir.join("log"))
        .apply(&e)
        .unwrap();
    img
}

fn tree(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn the_user_its_keys_and_sudo_are_written_with_their_owners_and_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    tree(
        &root,
        &[
            ("etc/passwd", PASSWD),
            ("etc/group", GROUP),
            ("etc/shadow", "root:*:20000:0:99999:7:::\n"),
            ("etc/skel/.profile", "# profile\n"),
            ("bin/bash", "not really bash"),
        ],
    );
    std::fs::create_dir_all(root.join("home")).unwrap();
    let img = image(tmp.path(), &root);
    let scratch = tmp.path().join("scratch");
    let log = tmp.path().join("log");
    let image = Image::new(&img, &scratch, &log);
    add_to_image(&image, 20786).unwrap();

    let read = |p: &str| String::from_utf8(image.read(p, 1 << 20).unwrap().unwrap()).unwrap();
    let stat = |p: &str| {
        let i = image.stat(p).unwrap().unwrap();
        (i.kind, i.mode, i.uid, i.gid)
    };
    assert_eq!(
        read("/etc/passwd"),
        format!("{PASSWD}vagrant:x:1002:1002:Vagrant:/home/vagrant:/bin/bash\n")
    );
    assert_eq!(read("/etc/group"), format!("{GROUP}vagrant:x:1002:\n"));
    assert_eq!(
        read("/etc/shadow"),
        "root:*:20000:0:99999:7:::\nvagrant:*:20786:0:99999:7:::\n"
    );
    assert_eq!(image.stat("/etc/gshadow").unwrap(), None, "none was there");
    // The account files keep their owners and modes.
    assert_eq!(stat("/etc/shadow"), (Kind::File, 0o640, 0, 42));
    assert_eq!(stat("/etc/passwd"), (Kind::File, 0o644, 0, 0));
    assert_eq!(stat("/home/vagrant"), (Kind::Dir, 0o700, 1002, 1002));
    assert_eq!(
        stat("/home/vagrant/.profile"),
        (Kind::File, 0o644, 1002, 1002)
    );
    assert_eq!(read("/home/vagrant/.profile"), "# profile\n");
    assert_eq!(stat("/home/vagrant/.ssh"), (Kind::Dir, 0o700, 1002, 1002));
    assert_eq!(
        stat("/home/vagrant/.ssh/authorized_keys"),
        (Kind::File, 0o600, 1002, 1002)
    );
    assert_eq!(
        read("/home/vagrant/.ssh/authorized_keys"),
        authorized_keys("")
    );
    assert_eq!(stat("/etc/sudoers.d"), (Kind::Dir, 0o755, 0, 0));
    assert_eq!(stat("/etc/sudoers.d/vagrant"), (Kind::File, 0o440, 0, 0));
    assert_eq!(read("/etc/sudoers.d/vagrant"), SUDOERS);

    // Again: the user is there now; its keys are not added twice.
    add_to_image(&image, 1).unwrap();
    let lines = read("/etc/passwd");
    assert_eq!(
        lines.lines().filter(|l| l.starts_with("vagrant:")).count(),
        1
    );
    assert_eq!(
        read("/home/vagrant/.ssh/authorized_keys"),
        authorized_keys("")
    );
    crate::process::Cmd::new("e2fsck")
        .arg("-fn")
        .arg(&img)
        .run()
        .expect("the file system is consistent");
}

#[test]
fn an_existing_vagrant_user_keeps_its_account_and_gets_the_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let passwd = format!("{PASSWD}vagrant:x:1500:1600::/srv/vagrant:/bin/sh\n");
    tree(
        &root,
        &[
            ("etc/passwd", &passwd),
            ("etc/group", GROUP),
            (
                "srv/vagrant/.ssh/authorized_keys",
                "ssh-ed25519 AAAAown me\n",
            ),
            ("etc/sudoers.d/vagrant", "vagrant ALL=(ALL) ALL\n"),
        ],
    );
    let img = image(tmp.path(), &root);
    let scratch = tmp.path().join("scratch");
    let log = tmp.path().join("log");
    let image = Image::new(&img, &scratch, &log);
    add_to_image(&image, 20786).unwrap();
    let read = |p: &str| String::from_utf8(image.read(p, 1 << 20).unwrap().unwrap()).unwrap();
    assert_eq!(read("/etc/passwd"), passwd);
    assert_eq!(read("/etc/group"), GROUP);
    assert_eq!(
        read("/srv/vagrant/.ssh/authorized_keys"),
        format!("ssh-ed25519 AAAAown me\n{}", authorized_keys(""))
    );
    let keys = image
        .stat("/srv/vagrant/.ssh/authorized_keys")
        .unwrap()
        .unwrap();
    assert_eq!((keys.mode, keys.uid, keys.gid), (0o600, 1500, 1600));
    assert_eq!(
        read("/etc/sudoers.d/vagrant"),
        "vagrant ALL=(ALL) ALL\n",
        "kept"
    );
}

#[test]
fn an_image_without_passwd_is_refused_with_a_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    tree(&root, &[("etc/group", GROUP)]);
    let img = image_without_fixups(tmp.path(), &root);
    let scratch = tmp.path().join("scratch");
    let log = tmp.path().join("log");
    let image = Image::new(&img, &scratch, &log);
    assert_eq!(
        add_to_image(&image, 1).unwrap_err().to_string(),
        "the box's image has no /etc/passwd, so lab cannot add the vagrant user"
    );
}

fn image_without_fixups(dir: &Path, root: &Path) -> std::path::PathBuf {
    let img = dir.join("root.img");
    crate::process::Cmd::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(root)
        .arg(&img)
        .arg("16M")
        .run()
        .unwrap();
    std::fs::create_dir_all(dir.join("scratch")).unwrap();
    img
}
