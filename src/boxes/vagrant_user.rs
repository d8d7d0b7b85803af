//! The `vagrant` user every Vagrant base box has, added to an exported
//! box's image so that Vagrant (vagrant-libvirt) logs in with its default
//! settings: an account with Vagrant's insecure public keys
//! ([`super::vagrant_keys`]) in `~/.ssh/authorized_keys` and sudo without
//! a password. As Vagrant's "Creating a Base Box" asks, except for the
//! password: the account has none (`*`), since the box's sshd takes keys
//! only.
//!
//! The account files (passwd(5), group(5), shadow(5), gshadow(5)) are read
//! from the image, edited here as text, and written back with the owner
//! and mode they had, through [`super::debugfs`] (no mount).

use anyhow::{Context, Result, bail};

use super::debugfs::{Edits, Image, Kind, Owner, guest_path};
use crate::ssh::vagrant_keys::INSECURE_PUBLIC_KEYS;

/// The login name.
pub const USER: &str = crate::ssh::vagrant::VAGRANT_USER;
/// `/etc/sudoers.d/vagrant` (sudoers(5)); mode 0440, root's.
pub const SUDOERS: &str = "# Vagrant logs in as vagrant and runs its commands with sudo.\n\
                           vagrant ALL=(ALL) NOPASSWD: ALL\n";
/// The first id an ordinary user gets (Debian's `FIRST_UID`), and the
/// last (`LAST_UID`).
const FIRST_ID: u32 = 1000;
const LAST_ID: u32 = 59999;
/// Files of `/etc/skel` copied into a new home.
const SKEL: [&str; 3] = [".bash_logout", ".bashrc", ".profile"];
/// The most lab reads of one account file or skeleton file, bytes.
const MAX_TEXT: u64 = 4 << 20;

/// A user's numbers and home, from passwd(5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// The account of `name` in passwd(5) text, if it has a valid line.
pub fn find_user(passwd: &str, name: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7 && f[0] == name).then_some(())?;
        Some(Account {
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5].to_string(),
        })
    })
}

/// The gid of group `name` in group(5) text.
pub fn find_group(group: &str, name: &str) -> Option<u32> {
    group.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 4 && f[0] == name).then(|| f[2].parse().ok())?
    })
}

/// The first id from 1000 that is neither a uid in `passwd` nor a gid in
/// `group` (so the user and its group get the same number).
pub fn free_id(passwd: &str, group: &str) -> Result<u32> {
    let used = |text: &str, at: usize| -> std::collections::HashSet<u32> {
        text.lines()
            .filter_map(|l| l.split(':').nth(at)?.parse().ok())
            .collect()
    };
    let (uids, gids) = (used(passwd, 2), used(group, 2));
    (FIRST_ID..=LAST_ID)
        .find(|id| !uids.contains(id) && !gids.contains(id))
        .with_context(|| {
            format!("no id from {FIRST_ID} to {LAST_ID} is free in the box's /etc/passwd and /etc/group for the vagrant user")
        })
}

/// `text` with `line` added as its last line.
pub fn append_line(text: &str, line: &str) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line);
    out.push('\n');
    out
}

/// The lines that add user `vagrant` with uid `uid`, group `gid` and
/// login shell `shell`, its password last changed `days` after 1970-01-01
/// (and no password: `*`): for passwd, group, shadow and gshadow (the
/// group's lines are for a new group of number `gid`).
pub fn account_lines(uid: u32, gid: u32, shell: &str, days: u64) -> [String; 4] {
    [
        format!("{USER}:x:{uid}:{gid}:Vagrant:/home/{USER}:{shell}"),
        format!("{USER}:x:{gid}:"),
        format!("{USER}:*:{days}:0:99999:7:::"),
        format!("{USER}:!::"),
    ]
}

/// `~/.ssh/authorized_keys`: `existing` lines, then each insecure key not
/// among them.
pub fn authorized_keys(existing: &str) -> String {
    let mut out = existing.to_string();
    for key in INSECURE_PUBLIC_KEYS {
        if !existing.lines().any(|l| l.trim() == key) {
            out = append_line(&out, key);
        }
    }
    out
}

/// Add the `vagrant` user to the ext4 image `img`: the account (unless
/// the image has one: then its uid, gid and home are used), its home with
/// the files of `/etc/skel`, `~/.ssh` (0700) with `authorized_keys`
/// (0600), both the user's, and `/etc/sudoers.d/vagrant` (0440, root's;
/// kept when there is one). `days`: the shadow entries' last change, in
/// days since 1970.
pub fn add_to_image(img: &Image, days: u64) -> Result<()> {
    let text = |path: &str| -> Result<Option<(String, Owner)>> {
        let Some(inode) = img.stat(path)? else {
            return Ok(None);
        };
        let data = img.read(path, MAX_TEXT)?.unwrap_or_default();
        let text = String::from_utf8(data)
            .map_err(|_| anyhow::anyhow!("{path} in the box's image is not text (UTF-8)"))?;
        Ok(Some((text, (inode.mode, inode.uid, inode.gid))))
    };
    let need = |path: &str, found: Option<_>| {
        found.ok_or_else(|| {
            anyhow::anyhow!("the box's image has no {path}, so lab cannot add the vagrant user")
        })
    };
    let (passwd, passwd_mode) = need("/etc/passwd", text("/etc/passwd")?)?;
    let (group, group_mode) = need("/etc/group", text("/etc/group")?)?;

    let mut edits = Edits::default();
    let account = match find_user(&passwd, USER) {
        Some(account) => account,
        None => {
            let shadow = text("/etc/shadow")?;
            let gshadow = text("/etc/gshadow")?;
            let id = free_id(&passwd, &group)?;
            let (gid, new_group) = match find_group(&group, USER) {
                Some(gid) => (gid, false),
                None => (id, true),
            };
            let shell = match img.stat("/bin/bash")? {
                Some(_) => "/bin/bash",
                None => "/bin/sh",
            };
            let [p, g, s, gs] = account_lines(id, gid, shell, days);
            edits.write(
                "/etc/passwd",
                append_line(&passwd, &p).as_bytes(),
                true,
                passwd_mode,
            )?;
            if new_group {
                edits.write(
                    "/etc/group",
                    append_line(&group, &g).as_bytes(),
                    true,
                    group_mode,
                )?;
            }
            if let Some((shadow, mode)) = shadow {
                edits.write(
                    "/etc/shadow",
                    append_line(&shadow, &s).as_bytes(),
                    true,
                    mode,
                )?;
            }
            if let (true, Some((gshadow, mode))) = (new_group, gshadow) {
                edits.write(
                    "/etc/gshadow",
                    append_line(&gshadow, &gs).as_bytes(),
                    true,
                    mode,
                )?;
            }
            Account {
                uid: id,
                gid,
                home: format!("/home/{USER}"),
            }
        }
    };
    guest_path(&account.home).context("the vagrant user's home in the box's /etc/passwd")?;
    let owner = |mode: u32| (mode, account.uid, account.gid);

    let home = &account.home;
    match img.stat(home)?.map(|i| i.kind) {
        Some(Kind::Dir) => {}
        None => {
            if let Some(parent) = home
                .rsplit_once('/')
                .map(|(p, _)| p)
                .filter(|p| !p.is_empty())
                && img.stat(parent)?.is_none()
            {
                edits.mkdir(parent, 0o755, 0, 0)?;
            }
            edits.mkdir(home, 0o700, account.uid, account.gid)?;
            for name in SKEL {
                if let Some(data) = img.read(&format!("/etc/skel/{name}"), MAX_TEXT)? {
                    edits.write(&format!("{home}/{name}"), &data, false, owner(0o644))?;
                }
            }
        }
        Some(other) => bail!(
            "{home}, the vagrant user's home in the box's image, is not a directory ({other:?})"
        ),
    }
    let ssh = format!("{home}/.ssh");
    let keys_path = format!("{ssh}/authorized_keys");
    let mut existing_keys = None;
    match img.stat(&ssh)?.map(|i| i.kind) {
        None => edits.mkdir(&ssh, 0o700, account.uid, account.gid)?,
        Some(Kind::Dir) => existing_keys = text(&keys_path)?.map(|(t, _)| t),
        Some(other) => bail!("{ssh} in the box's image is not a directory ({other:?})"),
    }
    let keys = authorized_keys(existing_keys.as_deref().unwrap_or(""));
    edits.write(
        &keys_path,
        keys.as_bytes(),
        existing_keys.is_some(),
        owner(0o600),
    )?;

    if img.stat("/etc/sudoers.d")?.is_none() {
        edits.mkdir("/etc/sudoers.d", 0o755, 0, 0)?;
    }
    if img.stat("/etc/sudoers.d/vagrant")?.is_none() {
        edits.write(
            "/etc/sudoers.d/vagrant",
            SUDOERS.as_bytes(),
            false,
            (0o440, 0, 0),
        )?;
    }
    img.apply(&edits)
}

#[cfg(test)]
#[path = "vagrant_user_tests.rs"]
mod tests;
