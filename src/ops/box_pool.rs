//! Box copies in the storage pool that nothing can use any more.
//!
//! `lab up` copies each box version into the pool once, as
//! `box.NAME.HASH.{qcow2,vmlinuz,initrd}` ([`names::box_volumes`]), and
//! every node's overlay is backed by such a disk. A version stays useful
//! while it is the stored box's current content (the next `lab up` reuses
//! it without an upload) or while an overlay in the pool, of any lab, is
//! backed by it. Any other version (the box was rebuilt, re-imported or
//! removed) is garbage: [`prune`] deletes it. `lab destroy` prunes every
//! box, `lab box remove NAME` the versions of NAME.
//!
//! A `lab up` that runs at the same time and still uses a version the
//! store has just replaced may lose its copy before its overlay exists;
//! it then fails naming the volume, and the next `lab up` uploads the
//! current version.

use std::collections::BTreeSet;

use anyhow::Result;

use super::names::{self, POOL};
use crate::backend::{BackendError, Hypervisor};
use crate::boxes::Store;

/// The version id (`box.NAME.HASH`) of a file in the pool, by its path.
fn id_of_path(path: &std::path::Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    names::parse_box_volume(file).map(|(_, id)| id.to_string())
}

/// Delete the pool's box volumes (of box `only`, or of every box) that
/// are neither the store's current version nor backing an overlay in the
/// pool; returns the volumes deleted, sorted. No pool: nothing to do.
///
/// Errors: libvirt cannot list or delete a volume, or the store cannot be
/// read.
pub fn prune(hv: &dyn Hypervisor, store: &Store, only: Option<&str>) -> Result<Vec<String>> {
    let volumes = match hv.list_volumes(POOL) {
        Ok(v) => v,
        Err(BackendError::NotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut keep: BTreeSet<String> = store
        .list()?
        .into_iter()
        .flatten()
        .map(|b| names::box_version(&b))
        .collect();
    for vol in volumes
        .iter()
        .filter(|v| names::parse_box_volume(v).is_none())
    {
        if let Some(id) = hv
            .volume_backing(POOL, vol)?
            .as_deref()
            .and_then(id_of_path)
        {
            keep.insert(id);
        }
    }
    let mut deleted = Vec::new();
    for vol in &volumes {
        let Some((name, id)) = names::parse_box_volume(vol) else {
            continue;
        };
        if only.is_some_and(|o| o != name) || keep.contains(id) {
            continue;
        }
        hv.delete_volume(POOL, vol)?;
        deleted.push(vol.clone());
    }
    Ok(deleted)
}

/// After `lab box remove NAME`: prune NAME's copies from the pool of this
/// machine's libvirt (`LAB_LIBVIRT_URI`, else the default URI), the ones
/// no overlay is backed by. Errors: libvirt cannot be reached within 10
/// seconds, or [`prune`]'s.
pub fn prune_removed(store: &Store, name: &str) -> Result<Vec<String>> {
    use crate::backend::libvirt::{Libvirt, resolve_uri};
    let hv = Libvirt::connect_within(&resolve_uri(None), std::time::Duration::from_secs(10))?;
    prune(&hv, store, Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::DiskFormat;
    use crate::ops::tests::{LAB, fixture, ready_probe, rep};
    use crate::ops::{destroy, up};
    use crate::ui::nodes::Silent;

    #[test]
    fn destroy_removes_the_box_copies_nothing_can_use_and_keeps_the_rest() {
        let f = fixture(LAB);
        up::up(&f.ctx, &ready_probe(), rep()).unwrap();
        let hv = f.ctx.hv.as_ref();
        let current: Vec<String> = hv
            .list_volumes(POOL)
            .unwrap()
            .into_iter()
            .filter(|v| v.starts_with("box.testbox."))
            .collect();
        assert_eq!(current.len(), 3, "{current:?}");
        let file = std::path::Path::new("/dev/null");
        // An older version of the lab's box, a box since removed, and an
        // old version another lab's overlay is still backed by.
        for stale in [
            "box.testbox.000000000000.qcow2",
            "box.testbox.000000000000.vmlinuz",
            "box.gone.111111111111.qcow2",
        ] {
            hv.upload_volume(POOL, stale, file, DiskFormat::Qcow2)
                .unwrap();
        }
        let old = hv
            .upload_volume(POOL, "box.old.222222222222.qcow2", file, DiskFormat::Qcow2)
            .unwrap();
        hv.create_overlay(POOL, "other.abc.node1.qcow2", &old, 10)
            .unwrap();

        let report = destroy::destroy(&f.ctx, &Silent).unwrap();
        assert_eq!(
            report.stale_boxes,
            [
                "box.gone.111111111111.qcow2",
                "box.testbox.000000000000.qcow2",
                "box.testbox.000000000000.vmlinuz"
            ]
        );
        let mut left = current;
        left.extend([
            "box.old.222222222222.qcow2".into(),
            "other.abc.node1.qcow2".into(),
        ]);
        left.sort();
        assert_eq!(hv.list_volumes(POOL).unwrap(), left);
    }

    #[test]
    fn a_removed_box_loses_its_copies_unless_a_disk_is_backed_by_one() {
        let f = fixture(LAB);
        up::up(&f.ctx, &ready_probe(), rep()).unwrap();
        let hv = f.ctx.hv.as_ref();
        let file = std::path::Path::new("/dev/null");
        hv.upload_volume(POOL, "box.gone.111111111111.qcow2", file, DiskFormat::Qcow2)
            .unwrap();
        // testbox is removed from the store while the lab's overlays are
        // backed by it: its copies stay; only `gone`'s goes, and only when
        // asked for by name.
        f.ctx.store.remove("testbox").unwrap();
        assert!(prune(hv, &f.ctx.store, Some("testbox")).unwrap().is_empty());
        assert_eq!(
            prune(hv, &f.ctx.store, Some("gone")).unwrap(),
            ["box.gone.111111111111.qcow2"]
        );
        // Once the lab is destroyed nothing uses testbox's copies.
        let report = destroy::destroy(&f.ctx, &Silent).unwrap();
        assert_eq!(report.stale_boxes.len(), 3, "{report:?}");
        assert!(hv.list_volumes(POOL).unwrap().is_empty());
    }

    #[test]
    fn box_volume_names_are_read_back_to_name_and_version() {
        let parse = names::parse_box_volume;
        assert_eq!(
            parse("box.debian-12.55e66f999d63.qcow2"),
            Some(("debian-12", "box.debian-12.55e66f999d63"))
        );
        assert_eq!(
            parse("box.e2e-d12-cloud.112bdbcb91bd.vmlinuz"),
            Some(("e2e-d12-cloud", "box.e2e-d12-cloud.112bdbcb91bd"))
        );
        assert_eq!(parse("smoke.0a1b2c.node1.qcow2"), None);
        assert_eq!(parse("box.debian-12.qcow2"), None, "no version");
        assert_eq!(parse("box.x.1.tar"), None, "not a box volume");
        assert_eq!(
            id_of_path(std::path::Path::new("/pool/box.a.b.qcow2")).as_deref(),
            Some("box.a.b")
        );
    }
}
