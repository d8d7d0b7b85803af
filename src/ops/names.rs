//! Names of everything `lab` creates in libvirt. They are derived from the
//! lab and node names only, so a resumed `lab up` finds what an interrupted
//! one made instead of making it twice.

use std::path::PathBuf;

use crate::boxes::StoredBox;

/// Storage pool for overlays, seeds and box images.
pub const POOL: &str = "lab";

/// The pool's directory unless `$LAB_POOL_DIR` says otherwise: QEMU,
/// running as libvirt-qemu, can reach it (it cannot reach a home
/// directory such as /root).
pub const DEFAULT_POOL_DIR: &str = "/var/lib/libvirt/images/lab";

/// Directory of the pool: `$LAB_POOL_DIR`, else [`DEFAULT_POOL_DIR`].
pub fn pool_dir() -> PathBuf {
    std::env::var_os("LAB_POOL_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_POOL_DIR))
}

pub fn network(lab: &str) -> String {
    format!("lab-{lab}")
}

/// `LAB.NODE`: a dot cannot occur in a DNS label, so no two (lab, node)
/// pairs share a name.
pub fn domain(lab: &str, node: &str) -> String {
    format!("{lab}.{node}")
}

/// Where a host that is another machine keeps the serial console log of
/// the domain `domain`: `/var/log/libvirt/qemu/DOMAIN-console.log`, in
/// the directory libvirt's QEMU driver keeps its domains' logs in (so it
/// exists, and virtlogd may write there); the lab's state directory is
/// on this machine only. `lab console` reads it through the host.
pub fn remote_console_log(domain: &str) -> String {
    format!("/var/log/libvirt/qemu/{domain}-console.log")
}

/// Prefix of every pool volume of one lab instance: `LAB.INSTANCE.`.
pub fn volume_prefix(lab: &str, instance: &str) -> String {
    format!("{lab}.{instance}.")
}

/// A node's overlay: `LAB.INSTANCE.NODE.qcow2` (the instance id keeps two
/// labs of the same name from sharing a volume).
pub fn overlay_volume(lab: &str, instance: &str, node: &str) -> String {
    format!("{}{node}.qcow2", volume_prefix(lab, instance))
}

/// A node's NoCloud seed: `LAB.INSTANCE.NODE.seed.img`.
pub fn seed_volume(lab: &str, instance: &str, node: &str) -> String {
    format!("{}{node}.seed.img", volume_prefix(lab, instance))
}

/// Pool volumes of a box version: (disk, kernel, initrd). The disk's hash
/// is part of the name, so a rebuilt box never replaces the backing file of
/// a running lab.
pub fn box_volumes(b: &StoredBox) -> (String, String, String) {
    let id = box_version(b);
    (
        format!("{id}.qcow2"),
        format!("{id}.vmlinuz"),
        format!("{id}.initrd"),
    )
}

/// The version id of a box's pool volumes: `box.NAME.HASH` (the first 12
/// hex digits of its disk's sha256).
pub fn box_version(b: &StoredBox) -> String {
    format!(
        "box.{}.{}",
        b.meta.name,
        &b.meta.disk_sha256[..12.min(b.meta.disk_sha256.len())]
    )
}

/// What a pool volume's name says when it is one of [`box_volumes`]:
/// (box name, version id `box.NAME.HASH`); `None` for any other volume.
pub fn parse_box_volume(volume: &str) -> Option<(&str, &str)> {
    let rest = volume.strip_prefix("box.")?;
    let id_len = ["qcow2", "vmlinuz", "initrd", "img", "raw"]
        .iter()
        .find_map(|ext| volume.strip_suffix(&format!(".{ext}")))?
        .len();
    let (name, _hash) = rest[..id_len - "box.".len()].rsplit_once('.')?;
    Some((name, &volume[..id_len]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_scoped_by_lab() {
        assert_eq!(network("smoke"), "lab-smoke");
        assert_eq!(domain("smoke", "node1"), "smoke.node1");
        assert_eq!(
            overlay_volume("smoke", "0a1b2c", "node1"),
            "smoke.0a1b2c.node1.qcow2"
        );
        assert_eq!(
            seed_volume("smoke", "0a1b2c", "node1"),
            "smoke.0a1b2c.node1.seed.img"
        );
        assert!(
            overlay_volume("smoke", "0a1b2c", "node1")
                .starts_with(&volume_prefix("smoke", "0a1b2c"))
        );
        assert_ne!(domain("a", "b-c"), domain("a-b", "c"));
    }
}
