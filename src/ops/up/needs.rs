//! What `lab up` of a lab needs of this machine before it starts: the
//! programs it will run ([`ToolNeeds`]: box builds, ssh, Ansible) and the
//! free disk per filesystem ([`room_needs`]: box store, pool, state
//! directory). `lab doctor` words the same numbers.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::super::names::{self, POOL};
use super::plan::NodePlan;
use crate::backend::Hypervisor;
use crate::boxes::store::{BootMode, Firmware};
use crate::boxes::{self, BoxPlan, Store};
use crate::spec::{Controller, Lab, Provision};

/// Room a box build needs in the box store (staging root filesystem and
/// image), and its disk in the pool, when its size is not known yet: bytes.
const BUILD_ESTIMATE_BYTES: u64 = 3 << 30;
/// Room a new node's overlay takes at first (it grows as the guest writes): bytes.
const OVERLAY_ESTIMATE_BYTES: u64 = 1 << 30;

/// The programs `lab up` of a lab will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolNeeds {
    /// Boxes (and `provision.images`) that must be built first: a build
    /// needs root and every [`boxes::build::BUILD_TOOLS`] program.
    pub builds: Vec<String>,
    /// Other programs it runs, each with what for.
    pub programs: Vec<(&'static str, &'static str)>,
    /// Boxes that boot with UEFI: QEMU needs Debian's `ovmf` firmware.
    pub uefi: Vec<String>,
}

/// Where Debian's `ovmf` puts the UEFI firmware QEMU loads (one of them is
/// enough; libvirt picks through `/usr/share/qemu/firmware/*.json`).
const OVMF_FILES: [&str; 2] = [
    "/usr/share/OVMF/OVMF_CODE_4M.fd",
    "/usr/share/OVMF/OVMF_CODE.fd",
];

impl ToolNeeds {
    /// Refuse when one of the programs is not installed (or a build cannot
    /// run), before the first of them is needed.
    pub fn check(&self) -> Result<()> {
        if !self.builds.is_empty() {
            boxes::build::check_tools()?;
        }
        if let Some(first) = self.uefi.first()
            && !OVMF_FILES.iter().any(|f| Path::new(f).is_file())
        {
            bail!(
                "box {first} boots with UEFI, and this host has no UEFI firmware for QEMU ({}); install Debian's ovmf: apt-get install ovmf",
                OVMF_FILES.join(" or ")
            );
        }
        for (p, why) in &self.programs {
            if crate::process::find_program(p).is_none() {
                bail!(
                    "`{p}` is not installed (needed: {why}); {}",
                    crate::process::install_hint(&[p])
                );
            }
        }
        Ok(())
    }
}

/// What `lab up` of `lab` will run, given its node boxes `boxes` and
/// its `provision.images` `images` ([`survey`]).
pub fn tool_needs(lab: &Lab, boxes: &[BoxPlan], images: &[BoxPlan]) -> ToolNeeds {
    let builds: Vec<String> = boxes
        .iter()
        .chain(images)
        .filter(|b| matches!(b, BoxPlan::Build(_)))
        .map(|b| b.name().to_string())
        .collect();
    let mut programs = vec![("ssh-keygen", "the lab's SSH key")];
    if let Some(Provision::Ansible(a)) = &lab.provision
        && a.controller == Controller::Host
    {
        programs.push(("ansible-playbook", "`controller: host` in the lab file"));
        programs.push(("ssh", "ansible-playbook on this machine connects with it"));
    }
    let uefi = boxes
        .iter()
        .filter_map(|b| match b {
            BoxPlan::Ready(b)
                if b.meta.boot == BootMode::Disk && b.meta.firmware == Firmware::Uefi =>
            {
                Some(b.meta.name.clone())
            }
            _ => None,
        })
        .collect();
    ToolNeeds {
        builds,
        programs,
        uefi,
    }
}

/// Free disk `lab up` needs on this machine for new overlays, box copies
/// in the pool and box builds, summed per filesystem: (a directory on it,
/// bytes). `pool_here`: the pool `nodes` go to is on this machine (else
/// only box builds count). Boxes already in the pool are asked of `hv`;
/// with `None`, none is.
pub fn room_needs(
    store: &Store,
    nodes: &[NodePlan],
    boxes: &[BoxPlan],
    hv: Option<&dyn Hypervisor>,
    pool_here: bool,
) -> Result<Vec<(PathBuf, u64)>> {
    let mut needs: Vec<(PathBuf, u64)> = Vec::new();
    if pool_here {
        needs.push((names::pool_dir(), pool_need_bytes(nodes, boxes, hv)?));
    }
    for b in boxes {
        if let BoxPlan::Build(_) = b {
            needs.push((store.root().to_path_buf(), BUILD_ESTIMATE_BYTES));
        }
    }
    Ok(per_filesystem(&needs))
}

/// Bytes the pool of `hv` needs for `nodes`: their new overlays, and each
/// of `boxes` not in that pool yet (a box still to build counts half the
/// build's estimate). With `hv` `None`, no box is in the pool.
pub fn pool_need_bytes(
    nodes: &[NodePlan],
    boxes: &[BoxPlan],
    hv: Option<&dyn Hypervisor>,
) -> Result<u64> {
    let new_overlays = nodes.iter().filter(|n| n.state.is_none()).count() as u64;
    let mut bytes = new_overlays * OVERLAY_ESTIMATE_BYTES;
    for b in boxes {
        match b {
            BoxPlan::Ready(b) => {
                let in_pool = match hv.map(|hv| hv.volume_path(POOL, &names::box_volumes(b).0)) {
                    None => false,
                    Some(Ok(p)) => p.is_some(),
                    // No pool yet: nothing is uploaded.
                    Some(Err(e)) if e.is_not_found() => false,
                    Some(Err(e)) => return Err(e.into()),
                };
                if !in_pool {
                    bytes += b.size_bytes();
                }
            }
            BoxPlan::Build(_) => bytes += BUILD_ESTIMATE_BYTES / 2,
        }
    }
    Ok(bytes)
}

/// Sum `needs` per filesystem (by the device of each path's nearest
/// existing ancestor); the first path of each filesystem names it.
fn per_filesystem(needs: &[(PathBuf, u64)]) -> Vec<(PathBuf, u64)> {
    use std::os::unix::fs::MetadataExt;
    let dev = |p: &Path| {
        p.ancestors()
            .find_map(|a| std::fs::metadata(a).ok())
            .map(|m| m.dev())
    };
    let mut out: Vec<(Option<u64>, PathBuf, u64)> = Vec::new();
    for (path, bytes) in needs {
        let d = dev(path);
        match out.iter_mut().find(|(od, _, _)| *od == d && d.is_some()) {
            Some(entry) => entry.2 += bytes,
            None => out.push((d, path.clone(), *bytes)),
        }
    }
    out.into_iter().map(|(_, p, b)| (p, b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_on_one_filesystem_are_summed() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a/not/yet");
        let b = tmp.path().join("b");
        let sums = per_filesystem(&[(a.clone(), 1), (b, 2), (PathBuf::from("/proc/self"), 4)]);
        assert_eq!(sums[0], (a, 3));
        assert_eq!(sums.len(), 2, "{sums:?}");
    }
}
