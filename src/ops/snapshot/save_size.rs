//! How much a snapshot holds: each node's memory state as `qemu-img info`
//! reports it for the snapshot (`vm-state-size`, read with `-U` while the
//! VM runs); where lab cannot read the disk image (not root, pool not
//! readable), how much the image file grew during the save.

use std::collections::HashMap;

use serde::Deserialize;

use super::LabCtx;
use crate::process::Cmd;
use crate::state::State;

/// The node's overlay volume (its disk), as recorded.
pub(super) fn overlay(st: &State, node: &str) -> Option<String> {
    let ns = st.nodes.get(node)?;
    ns.volumes.iter().find(|v| v.ends_with(".qcow2")).cloned()
}

/// Bytes on disk of each node's overlay (0 when unknown), for `doms`
/// (node, domain).
pub(super) fn allocations(ctx: &LabCtx, st: &State, doms: &[(String, String)]) -> Vec<u64> {
    doms.iter()
        .map(|(node, dom)| {
            overlay(st, node)
                .and_then(|v| {
                    ctx.hv_of_domain(st, dom)
                        .volume_sizes(&st.pool, &v)
                        .ok()
                        .flatten()
                })
                .map_or(0, |s| s.allocation)
        })
        .collect()
}

/// `qemu-img info --output=json`: the fields read here.
#[derive(Deserialize)]
struct ImageInfo {
    #[serde(default)]
    snapshots: Vec<ImageSnapshot>,
}

#[derive(Deserialize)]
struct ImageSnapshot {
    name: String,
    #[serde(rename = "vm-state-size", default)]
    vm_state_size: u64,
}

/// The memory state of snapshot `snapshot` on each node, in bytes (see the
/// module's note); `before` are [`allocations`] from before the save.
pub(super) fn sizes(
    ctx: &LabCtx,
    st: &State,
    doms: &[(String, String)],
    snapshot: &str,
    before: &[u64],
) -> Vec<u64> {
    let after = allocations(ctx, st, doms);
    let mut out = Vec::new();
    for (i, (node, dom)) in doms.iter().enumerate() {
        let read = overlay(st, node)
            .and_then(|v| {
                ctx.hv_of_domain(st, dom)
                    .volume_path(&st.pool, &v)
                    .ok()
                    .flatten()
            })
            .and_then(|path| state_sizes(&path))
            .and_then(|m| m.get(snapshot).copied());
        let grown = after[i].saturating_sub(before.get(i).copied().unwrap_or(0));
        out.push(read.unwrap_or(grown));
    }
    out
}

/// Every snapshot's memory state size in the image at `path`; `None`
/// when `qemu-img` cannot read it.
fn state_sizes(path: &std::path::Path) -> Option<HashMap<String, u64>> {
    let out = Cmd::new("qemu-img")
        .args(["info", "-U", "--output=json"])
        .arg(path)
        .run()
        .ok()?;
    let info: ImageInfo = serde_json::from_str(&out.stdout).ok()?;
    Some(
        info.snapshots
            .into_iter()
            .map(|s| (s.name, s.vm_state_size))
            .collect(),
    )
}
