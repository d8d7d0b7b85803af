//! `lab snapshot save|restore|list|delete`: whole-lab snapshots.
//!
//! A snapshot is one libvirt internal snapshot per node (memory and disk
//! of a running node, the disk of a halted one; stored inside the node's
//! qcow2 overlay) plus a record in `state.json`
//! ([`crate::state::SnapshotRecord`]) that ties them together and holds
//! the shape of the VMs at that moment. `save` pauses every running node
//! at one instant, captures them all, and resumes them all, so services
//! that talk to each other (two database masters, a load balancer and its
//! backends) are captured at the same moment. After a save or restore the
//! guests' clocks are set to the host's ([`clock`]).
//!
//! The record is written `saving` before anything is touched and
//! `complete` after: a `save` killed midway leaves a record that is never
//! offered for restore, and [`settle`] (run by every command that changes
//! the lab) resumes the nodes it left paused, removes its leftovers,
//! finishes a restore that was killed and sets clocks left lagging.

pub mod clock;
mod restore;
mod save;
mod save_size;
mod settle;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde::Serialize;

use super::LabCtx;
use crate::backend::BackendError;
use crate::state::{SnapshotRecord, SnapshotStatus, State};
use crate::ui::nodes::NodeReporter;

pub use clock::ClockSet;
pub use restore::{RestoreReport, restore};
pub use save::{SaveOptions, SaveReport, save};
pub use settle::{set_stale_clocks, settle};

/// What sets the clocks of the named nodes: [`clock::set_all`].
pub type Clocks = std::sync::Arc<
    dyn Fn(&State, &crate::state::StateDir, &[String]) -> Vec<ClockSet> + Send + Sync,
>;

/// How long a node's libvirt job left running by a killed `save` may keep
/// [`settle`] waiting (a snapshot of a few GiB of memory under emulation).
const BUSY_WAIT: Duration = Duration::from_secs(300);

/// Refuse a snapshot name that is not a DNS label (as node names are),
/// as invalid input (exit status 2).
pub fn check_name(name: &str) -> Result<()> {
    if let Err(why) = crate::names::dns_label(name) {
        return Err(crate::error::InvalidInput {
            summary: format!("snapshot name {} {why}", crate::names::quoted(name)),
        }
        .into());
    }
    Ok(())
}

/// One snapshot as `lab snapshot list --json` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SnapshotInfo {
    pub name: String,
    /// RFC 3339, UTC.
    pub taken: String,
    /// `running` (memory and disks), `halted` (disks only) or `mixed`.
    pub state: &'static str,
    /// Restorable: complete. One being saved, or whose `save` was killed,
    /// is not.
    pub usable: bool,
    /// Bytes of memory state the snapshot holds on the nodes' disks.
    pub bytes: u64,
    pub nodes: Vec<String>,
}

impl SnapshotInfo {
    fn of(r: &SnapshotRecord) -> Self {
        let running = r.nodes.values().filter(|n| n.running).count();
        SnapshotInfo {
            name: r.name.clone(),
            taken: r.taken.clone(),
            state: match running {
                0 => "halted",
                n if n == r.nodes.len() => "running",
                _ => "mixed",
            },
            usable: r.status == SnapshotStatus::Complete,
            bytes: r.bytes(),
            nodes: r.nodes.keys().cloned().collect(),
        }
    }
}

/// The snapshots of the lab whose state directory is `sd`, oldest first.
/// Reads the state only (no lock, no libvirt): a `save` in progress, or
/// one that was killed, shows as not usable.
pub fn list_in(sd: &crate::state::StateDir) -> Result<Vec<SnapshotInfo>> {
    if !sd.exists() {
        return Ok(Vec::new());
    }
    Ok(sd.load()?.snapshots.iter().map(SnapshotInfo::of).collect())
}

/// Delete snapshot `name`: its libvirt snapshot on every node, then its
/// record. Errors when there is none of that name.
pub fn delete(ctx: &LabCtx, name: &str, rep: &dyn NodeReporter) -> Result<()> {
    check_name(name)?;
    let _lock = lock(ctx, "it has no snapshots")?;
    let mut st = ctx.state()?;
    let dropped = settle(ctx, &mut st, rep)?;
    let Some(record) = complete(&st, name).cloned() else {
        bail!("{}", missing(ctx, &st, name, &dropped));
    };
    remove_libvirt(ctx, &st, &record)?;
    st.snapshots
        .retain(|r| !(r.name == name && r.status == SnapshotStatus::Complete));
    if st
        .restored
        .as_ref()
        .is_some_and(|r| r.name == name && !r.complete)
    {
        st.restored = None;
    }
    ctx.state_dir.save(&st)?;
    Ok(())
}

/// The usable snapshot named `name`.
fn complete<'a>(st: &'a State, name: &str) -> Option<&'a SnapshotRecord> {
    st.snapshots
        .iter()
        .find(|r| r.name == name && r.status == SnapshotStatus::Complete)
}

/// Take the lab's lock; the lab must have been brought up (`none` says
/// what that means for this command).
fn lock(ctx: &LabCtx, none: &str) -> Result<crate::state::LabLock> {
    if !ctx.state_dir.exists() {
        bail!(
            "lab {} is not up, so {none} (run `lab up` first)",
            ctx.lab.name
        );
    }
    ctx.state_dir.lock(&ctx.lab.name)
}

/// "lab X has no snapshot `n`" with the names it has; `dropped` are the
/// names of unfinished saves [`settle`] just removed.
fn missing(ctx: &LabCtx, st: &State, name: &str, dropped: &[String]) -> String {
    if dropped.iter().any(|d| d == name) {
        return format!(
            "snapshot {name} was not usable (its save was interrupted) and has been removed; take it again with `lab snapshot save {name}`"
        );
    }
    let names = st.snapshot_names(SnapshotStatus::Complete);
    let has = if names.is_empty() {
        "it has none; take one with `lab snapshot save NAME`".to_string()
    } else {
        format!("it has: {}", names.join(", "))
    };
    format!("lab {} has no snapshot `{name}`; {has}", ctx.lab.name)
}

/// Delete `record`'s libvirt snapshot on every node domain of the lab,
/// waiting out a job a killed `save` left running.
fn remove_libvirt(ctx: &LabCtx, st: &State, record: &SnapshotRecord) -> Result<()> {
    let snap = record.libvirt_name();
    for ns in st.nodes.values() {
        retry_busy(|| {
            ctx.hv_of_domain(st, &ns.domain)
                .delete_snapshot(&ns.domain, &snap)
        })?;
    }
    Ok(())
}

/// Run `f` again while libvirt says the domain is busy with another job
/// (a snapshot a killed `lab snapshot save` started keeps running in
/// libvirtd), up to [`BUSY_WAIT`].
fn retry_busy<T>(mut f: impl FnMut() -> crate::backend::Result<T>) -> Result<T> {
    let deadline = Instant::now() + BUSY_WAIT;
    loop {
        match f() {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_secs(1));
            }
            r => return Ok(r?),
        }
    }
}

/// libvirt's "cannot acquire state change lock" (another job runs).
fn is_busy(e: &BackendError) -> bool {
    let text = e.to_string();
    text.contains("state change lock") || text.contains("another job")
}
