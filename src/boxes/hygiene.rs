//! Image hygiene that every box gets, whatever its recipe says, so linked
//! clones of one box are distinct machines (see TEST-HOST.md: shared
//! machine-ids make dnsmasq hand every clone the same address):
//! empty machine-id, no SSH host keys (generated at first boot), no password
//! logins, cloud-init limited to the NoCloud datasource, root mounted by label.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The generation of what this module does to every box, part of every
/// recipe hash ([`super::hash`]): raise it with any change here that a box
/// built earlier should get, and `lab` rebuilds those boxes. 2: host keys
/// Ed25519 and ECDSA only (no RSA key at first boot).
pub const GENERATION: &str = "2";

/// Generates host keys at first boot when cloud-init has not already:
/// Ed25519 and ECDSA only, each unless its pair is complete (its `.pub`,
/// which ssh-keygen writes last, is there and not empty), so keys that
/// cloud-init wrote or was given are kept. An RSA key (`ssh-keygen -A`
/// makes one) took 5.6 s of the guest's one vCPU under TCG, in the middle
/// of the boot; every client lab drives speaks one of these two (libssh2,
/// OpenSSH; Vagrant's net-ssh without its ed25519 gems speaks ECDSA).
/// sshd serves whichever host keys exist (an RSA key cloud-init made
/// included). The keys are synced: a guest killed right after its first
/// boot must not come back with an empty key file and a key lab pinned
/// gone.
const KEYGEN_UNIT: &str = "\
[Unit]
Description=Generate SSH host keys at first boot (lab)
After=cloud-init.service
Before=ssh.service
ConditionFileNotEmpty=!/etc/ssh/ssh_host_ed25519_key.pub

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'for t in ecdsa ed25519; do k=/etc/ssh/ssh_host_$${t}_key; [ -s $$k.pub ] || { rm -f $$k $$k.pub; ssh-keygen -q -t $$t -N \"\" -f $$k; } || exit; done'
ExecStartPost=/bin/sync
";

const SSH_DROPIN: &str = "\
[Unit]
Wants=lab-ssh-keygen.service
After=lab-ssh-keygen.service
";

const SSHD_CONFIG: &str = "\
# lab: keys only, never passwords.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
";

const CLOUD_DATASOURCE: &str = "\
# lab: first-boot data comes from a NoCloud seed (a disk labelled CIDATA).
datasource_list: [ NoCloud, None ]
";

/// Apply the hygiene rules to an unpacked root filesystem.
pub fn apply(rootfs: &Path, root_label: &str) -> Result<()> {
    if !rootfs.join("usr/bin/cloud-init").exists() {
        bail!(
            "the box has no cloud-init: lab seeds every VM's first boot through cloud-init's NoCloud datasource, so add cloud-init to the recipe's packages"
        );
    }
    if !rootfs.join("usr/sbin/sshd").exists() {
        bail!("the box has no SSH server: add openssh-server to the recipe's packages");
    }
    let write = |rel: &str, text: &str| write_guest_file(rootfs, rel, text, GUEST_FILE);

    // Distinct identity per clone.
    write_guest_file(rootfs, "etc/machine-id", "", MACHINE_ID_MODE)?;
    remove_if_exists(&guest_path(rootfs, "var/lib/dbus/machine-id")?)?;
    write("etc/hostname", "localhost\n")?;
    write(
        "etc/hosts",
        "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
    )?;

    // Host keys: none in the image, generated on first boot.
    let ssh_dir = guest_dir(rootfs, "etc/ssh")?;
    for entry in std::fs::read_dir(&ssh_dir)
        .with_context(|| format!("cannot read {}", ssh_dir.display()))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
            remove_if_exists(&entry.path())?;
        }
    }
    write("etc/systemd/system/lab-ssh-keygen.service", KEYGEN_UNIT)?;
    write(
        "etc/systemd/system/ssh.service.d/10-lab-keygen.conf",
        SSH_DROPIN,
    )?;
    write("etc/ssh/sshd_config.d/10-lab.conf", SSHD_CONFIG)?;

    // No password logins, root locked.
    lock_root(&guest_path(rootfs, "etc/shadow")?)?;

    write(
        "etc/cloud/cloud.cfg.d/05-lab-datasource.cfg",
        CLOUD_DATASOURCE,
    )?;
    write(
        "etc/fstab",
        &format!("LABEL={root_label} / ext4 rw,discard,errors=remount-ro 0 1\n"),
    )?;

    clear_apt(rootfs)
}

/// The hygiene of a `format: rootfs` box (a container's root filesystem):
/// no machine identity and no stale package lists or caches.
pub fn apply_rootfs(rootfs: &Path) -> Result<()> {
    write_guest_file(rootfs, "etc/machine-id", "", MACHINE_ID_MODE)?;
    clear_apt(rootfs)
}

/// Mode of the files hygiene adds to an image, and of directories it
/// creates for them: Debian's usual, whatever the umask of the build.
const GUEST_FILE: u32 = 0o644;
const GUEST_DIR: u32 = 0o755;
/// systemd creates /etc/machine-id read-only for everyone.
const MACHINE_ID_MODE: u32 = 0o444;

/// Write `rel` in the image with `mode` (its missing directories 0755).
fn write_guest_file(rootfs: &Path, rel: &str, text: &str, mode: u32) -> Result<()> {
    let path = guest_path(rootfs, rel)?;
    if let Some(parent) = path.parent() {
        crate::files::create_dir(parent, GUEST_DIR)?;
    }
    Ok(crate::files::write_atomic(&path, text.as_bytes(), mode)?)
}

/// `rootfs/rel`, refused when a directory on the way is a symbolic link:
/// seen from the host, an image's absolute link (`etc/cloud -> /etc/cloud`)
/// points into the host's own files, which `lab`, as root, must never
/// write or delete. (A file itself is never written through a link either:
/// see [`crate::files::write_atomic`]; removing a link removes only it.)
fn guest_path(rootfs: &Path, rel: &str) -> Result<PathBuf> {
    let mut path = rootfs.to_path_buf();
    let mut parts = rel.split('/').peekable();
    while let Some(part) = parts.next() {
        path.push(part);
        if parts.peek().is_some() {
            refuse_link(&path, rel)?;
        }
    }
    Ok(path)
}

/// [`guest_path`] of a directory `lab` lists or writes in: it must not be
/// a symbolic link either.
fn guest_dir(rootfs: &Path, rel: &str) -> Result<PathBuf> {
    let path = guest_path(rootfs, rel)?;
    refuse_link(&path, rel)?;
    Ok(path)
}

fn refuse_link(path: &Path, rel: &str) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!(
            "{} in the image is a symbolic link; lab changes /{rel} only through real directories of the image (seen from the host, a link can lead to the host's own files): make it a directory in the recipe",
            path.display()
        );
    }
    Ok(())
}

/// Package lists and caches are stale by first use; guests update anyway.
fn clear_apt(rootfs: &Path) -> Result<()> {
    for dir in ["var/lib/apt/lists", "var/cache/apt/archives"] {
        clear_files(&guest_dir(rootfs, dir)?)?;
    }
    for bin in [
        "var/cache/apt/pkgcache.bin",
        "var/cache/apt/srcpkgcache.bin",
    ] {
        remove_if_exists(&guest_path(rootfs, bin)?)?;
    }
    Ok(())
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// Set root's password field to `*` (no password can match). The file is
/// rewritten in place (its owner, group and mode stay), opened without
/// following a link: an image's `etc/shadow -> /etc/shadow` would be the
/// host's.
fn lock_root(shadow: &Path) -> Result<()> {
    use std::io::{Read, Seek, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(shadow)
        .with_context(|| {
            format!(
                "cannot open {} (it must be a regular file of the image)",
                shadow.display()
            )
        })?;
    if !file.metadata()?.is_file() {
        bail!("{} in the image is not a regular file", shadow.display());
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", shadow.display()))?;
    let locked: Vec<String> = text
        .lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(':').collect();
            if fields.first() == Some(&"root") && fields.len() > 1 {
                fields[1] = "*";
            }
            fields.join(":")
        })
        .collect();
    let text = locked.join("\n") + "\n";
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", shadow.display()))
}

/// Delete the regular files directly in `dir` (keeps subdirectories such as
/// `partial/` that apt expects).
fn clear_files(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            remove_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for d in [
            "usr/bin",
            "usr/sbin",
            "etc/ssh",
            "var/lib/dbus",
            "var/lib/apt/lists/partial",
        ] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::write(r.join("usr/bin/cloud-init"), "").unwrap();
        std::fs::write(r.join("usr/sbin/sshd"), "").unwrap();
        std::fs::write(r.join("etc/machine-id"), "0123456789abcdef\n").unwrap();
        std::fs::write(r.join("var/lib/dbus/machine-id"), "0123\n").unwrap();
        std::fs::write(r.join("etc/ssh/ssh_host_ed25519_key"), "secret").unwrap();
        std::fs::write(r.join("etc/ssh/ssh_host_ed25519_key.pub"), "pub").unwrap();
        std::fs::write(r.join("etc/ssh/sshd_config"), "").unwrap();
        std::fs::write(
            r.join("etc/shadow"),
            "root:$6$hash:19000:0:99999:7:::\nlab:!:19000::::::\n",
        )
        .unwrap();
        std::fs::write(r.join("var/lib/apt/lists/deb_Packages"), "x").unwrap();
        dir
    }

    #[test]
    fn clones_get_distinct_identity_and_no_passwords() {
        let dir = fake_rootfs();
        let r = dir.path();
        apply(r, "labroot").unwrap();
        assert_eq!(
            std::fs::read_to_string(r.join("etc/machine-id")).unwrap(),
            ""
        );
        assert!(!r.join("var/lib/dbus/machine-id").exists());
        assert!(!r.join("etc/ssh/ssh_host_ed25519_key").exists());
        assert!(!r.join("etc/ssh/ssh_host_ed25519_key.pub").exists());
        assert!(r.join("etc/ssh/sshd_config").exists(), "config kept");
        let shadow = std::fs::read_to_string(r.join("etc/shadow")).unwrap();
        assert!(shadow.starts_with("root:*:19000"), "{shadow}");
        assert!(shadow.contains("lab:!:"), "{shadow}");
        let sshd = std::fs::read_to_string(r.join("etc/ssh/sshd_config.d/10-lab.conf")).unwrap();
        assert!(sshd.contains("PasswordAuthentication no"));
        assert!(
            std::fs::read_to_string(r.join("etc/fstab"))
                .unwrap()
                .contains("LABEL=labroot /")
        );
        assert!(!r.join("var/lib/apt/lists/deb_Packages").exists());
        assert!(r.join("var/lib/apt/lists/partial").is_dir());
        // Ed25519 and ECDSA host keys, no RSA one (seconds of the boot under
        // TCG); keys already there are kept.
        let keygen =
            std::fs::read_to_string(r.join("etc/systemd/system/lab-ssh-keygen.service")).unwrap();
        assert!(keygen.contains("for t in ecdsa ed25519"), "{keygen}");
        assert!(keygen.contains("[ -s $$k.pub ] ||"), "{keygen}");
        assert!(
            !keygen.contains("-A") && !keygen.contains("rsa"),
            "{keygen}"
        );
    }

    #[test]
    fn links_in_the_image_never_lead_lab_to_the_hosts_files() {
        let host = tempfile::tempdir().unwrap();
        let h = host.path();
        std::fs::write(h.join("shadow"), "root:$6$host:1::::::\n").unwrap();
        std::fs::create_dir_all(h.join("ssh")).unwrap();
        std::fs::write(h.join("ssh/ssh_host_ed25519_key"), "host key").unwrap();
        std::fs::create_dir_all(h.join("cloud")).unwrap();
        let cases: [(&str, &Path, &str); 3] = [
            (
                "etc/shadow",
                &h.join("shadow"),
                "etc/shadow (it must be a regular file of the image)",
            ),
            (
                "etc/ssh",
                &h.join("ssh"),
                "etc/ssh in the image is a symbolic link",
            ),
            (
                "etc/cloud",
                &h.join("cloud"),
                "etc/cloud in the image is a symbolic link",
            ),
        ];
        for (rel, target, said) in cases {
            let dir = fake_rootfs();
            let r = dir.path();
            let _ = std::fs::remove_dir_all(r.join(rel));
            let _ = std::fs::remove_file(r.join(rel));
            std::os::unix::fs::symlink(target, r.join(rel)).unwrap();
            let msg = format!("{:#}", apply(r, "labroot").unwrap_err());
            assert!(msg.contains(said), "{rel}: {msg}");
        }
        assert_eq!(
            std::fs::read_to_string(h.join("shadow")).unwrap(),
            "root:$6$host:1::::::\n"
        );
        assert!(h.join("ssh/ssh_host_ed25519_key").exists());
        assert_eq!(std::fs::read_dir(h.join("cloud")).unwrap().count(), 0);
    }

    #[test]
    fn box_without_cloud_init_is_refused() {
        let dir = fake_rootfs();
        std::fs::remove_file(dir.path().join("usr/bin/cloud-init")).unwrap();
        let msg = apply(dir.path(), "labroot").unwrap_err().to_string();
        assert!(msg.contains("cloud-init"), "{msg}");
    }
}
