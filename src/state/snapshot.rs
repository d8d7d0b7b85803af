//! What `state.json` records about the lab's snapshots (`lab snapshot`):
//! each snapshot with the shape of the lab it was taken of, and the last
//! restore. The snapshots' contents live in libvirt (internal snapshots
//! inside each node's qcow2 overlay); these records say which are whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One whole-lab snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotRecord {
    /// Its name, a DNS label like a node's (`provisioned`).
    pub name: String,
    /// When the nodes were captured (paused, or their disks read when the
    /// lab was halted): RFC 3339, UTC, whole seconds.
    pub taken: String,
    /// `saving` from before the first node is touched until every node's
    /// snapshot exists and every node runs again; `complete` after. A
    /// record still `saving` is the trace of a `save` that was killed.
    pub status: SnapshotStatus,
    /// Every node of the lab as it was, by node name.
    pub nodes: BTreeMap<String, SnapshotNode>,
    /// The name of its libvirt snapshot on every node, unique per save
    /// (`lab-NAME.HEX`), so a `save --force` that is killed leaves the
    /// snapshot it replaces whole. Absent in records of the first
    /// version: `lab-NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libvirt: Option<String>,
}

impl SnapshotRecord {
    /// Whether every node was running (memory captured); `false` for a
    /// lab captured halted (disks only) or partly halted.
    pub fn running(&self) -> bool {
        !self.nodes.is_empty() && self.nodes.values().all(|n| n.running)
    }

    /// Bytes the snapshot holds on the nodes' disks (memory state).
    pub fn bytes(&self) -> u64 {
        self.nodes
            .values()
            .fold(0u64, |sum, n| sum.saturating_add(n.bytes))
    }

    /// The name of its libvirt snapshot (see [`SnapshotRecord::libvirt`]).
    pub fn libvirt_name(&self) -> String {
        self.libvirt
            .clone()
            .unwrap_or_else(|| format!("lab-{}", self.name))
    }
}

impl super::State {
    /// Names of the snapshots in `status`, oldest first.
    pub fn snapshot_names(&self, status: SnapshotStatus) -> Vec<String> {
        self.snapshots
            .iter()
            .filter(|r| r.status == status)
            .map(|r| r.name.clone())
            .collect()
    }
}

/// Whether a snapshot can be restored.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotStatus {
    /// Being taken, or the `save` taking it was killed: not usable.
    Saving,
    /// Every node captured: usable.
    Complete,
}

/// One node in a snapshot: what must still match to restore it, and the
/// lab's marks for it at that moment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SnapshotNode {
    #[serde(rename = "box")]
    pub box_name: String,
    pub cpus: u32,
    /// MiB.
    pub memory_mib: u64,
    /// GiB.
    pub disk_gib: u64,
    /// Running when taken: memory and disk captured (restored running);
    /// otherwise disk only (restored shut off).
    pub running: bool,
    /// Bytes of the node's memory state in the snapshot (`qemu-img info`'s
    /// `vm-state-size`; where lab cannot read the disk, how much its file
    /// grew). Disk blocks are shared with the live disk until either
    /// changes them.
    pub bytes: u64,
    /// Paused (by hand) when taken: `save` captured it without pausing it
    /// and left it paused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// The node's `ready` and `provision_pending` marks when taken.
    pub ready: bool,
    pub provision_pending: bool,
}

/// The last `lab snapshot restore`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Restored {
    /// The snapshot's name.
    pub name: String,
    /// When the restore started: RFC 3339, UTC, whole seconds.
    pub at: String,
    /// False from the start of the restore until every node is back: a
    /// restore that was killed leaves it false.
    pub complete: bool,
}

/// The current time as the records write it: RFC 3339, UTC, seconds
/// (`2026-11-30T03:40:12Z`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
