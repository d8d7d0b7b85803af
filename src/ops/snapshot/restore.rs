//! `lab snapshot restore NAME`: put every node back to the snapshot, at
//! once, without a reboot; then set the guests' clocks.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::{ClockSet, LabCtx, check_name, complete, lock, missing, settle};
use crate::ops::owner::Owner;
use crate::state::{Restored, SnapshotRecord, State, now_rfc3339};
use crate::ui::nodes::NodeReporter;

/// What `restore` did (`lab snapshot restore --json`).
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub name: String,
    pub taken: String,
    /// `running`, `halted` or `mixed`: how the nodes came back.
    pub state: &'static str,
    /// Seconds until every node was back (reverted and resumed).
    pub resumed_seconds: f64,
    /// Seconds until every running node answered over SSH with its clock
    /// set (the whole restore).
    pub seconds: f64,
    pub clocks: Vec<ClockSet>,
}

/// Restore snapshot `name` of the whole lab.
pub fn restore(ctx: &LabCtx, name: &str, rep: &dyn NodeReporter) -> Result<RestoreReport> {
    check_name(name)?;
    let _lock = lock(ctx, "it has no snapshots")?;
    let mut st = ctx.state()?;
    // A restore killed earlier is not finished first: this one replaces it.
    if st.restored.as_ref().is_some_and(|r| !r.complete) {
        st.restored = None;
    }
    let dropped = settle(ctx, &mut st, rep)?;
    if complete(&st, name).is_none() {
        bail!("{}", missing(ctx, &st, name, &dropped));
    }
    restore_locked(ctx, &mut st, name, rep)
}

/// [`restore`] with the lock held and the state loaded (also used to
/// finish a restore that was killed).
pub(super) fn restore_locked(
    ctx: &LabCtx,
    st: &mut State,
    name: &str,
    rep: &dyn NodeReporter,
) -> Result<RestoreReport> {
    crate::interrupt::set_message(&format!(
        "interrupted: the lab may be partly restored; the next lab command finishes it (or run `lab snapshot restore {name}`)"
    ));
    let start = Instant::now();
    let record = complete(st, name)
        .cloned()
        .with_context(|| format!("lab {} has no snapshot `{name}`", ctx.lab.name))?;
    let changes = differences(ctx, &record);
    if !changes.is_empty() {
        bail!(
            "snapshot {name} was taken of a lab shaped differently, so it cannot be restored: {}; restore it with the lab file as it was then, or take a new snapshot",
            changes.join("; ")
        );
    }
    let snap = record.libvirt_name();
    let mut doms = Vec::new();
    let mut lost = Vec::new();
    for node in record.nodes.keys() {
        let dom = st
            .nodes
            .get(node)
            .map(|ns| ns.domain.clone())
            .with_context(|| {
                format!(
                    "node {node} of snapshot {name} is not in the lab's state; run `lab up` first"
                )
            })?;
        if ctx.domain_owner(st, &dom)? != Owner::Ours {
            bail!("node {node} has no VM of this lab (domain {dom}); the snapshot went with it");
        }
        if !ctx
            .hv_of_domain(st, &dom)
            .list_snapshots(&dom)?
            .contains(&snap)
        {
            lost.push(node.clone());
        }
        doms.push((node.clone(), dom));
    }
    if !lost.is_empty() {
        bail!(
            "snapshot {name} is gone from {} in libvirt (removed outside lab?), so it cannot be restored; `lab snapshot delete {name}` removes what is left of it",
            lost.join(", ")
        );
    }

    st.restored = Some(Restored {
        name: name.to_string(),
        at: now_rfc3339(),
        complete: false,
    });
    let running: Vec<(String, String)> = doms
        .iter()
        .filter(|(n, _)| record.nodes[n].running)
        .cloned()
        .collect();
    for (n, _) in &running {
        if let Some(ns) = st.nodes.get_mut(n) {
            ns.clock_stale = true;
        }
    }
    ctx.state_dir.save(st)?;

    // Back to the snapshot, every node paused (or shut off), then all of
    // them resumed at once.
    let reverted = crate::fanout::each(&doms, |(node, d)| {
        rep.phase(node, "restoring");
        if !record.nodes[node].running {
            // Disk only: the VM must be off for its disk to be put back.
            ctx.hv_of_domain(st, d).destroy_domain(d)?;
        }
        ctx.hv_of_domain(st, d).revert_snapshot(d, &snap)
    });
    if let Some(e) = reverted.into_iter().find_map(Result::err) {
        return Err(anyhow::Error::from(e).context(format!(
            "snapshot {name} was not restored on every node; run `lab snapshot restore {name}` again"
        )));
    }
    let resumed = crate::fanout::each(&running, |(_, d)| ctx.hv_of_domain(st, d).resume_domain(d));
    if let Some(e) = resumed.into_iter().find_map(Result::err) {
        return Err(anyhow::Error::from(e).context(format!(
            "snapshot {name}: a node did not resume; run `lab snapshot restore {name}` again"
        )));
    }
    let resumed_seconds = start.elapsed().as_secs_f64();
    for (node, sn) in &record.nodes {
        if let Some(ns) = st.nodes.get_mut(node) {
            ns.ready = sn.running && sn.ready;
            ns.provision_pending = sn.provision_pending;
        }
        let state = if sn.running { "running" } else { "shut off" };
        rep.done(node, &format!("restored ({state})"));
    }
    if let Some(r) = st.restored.as_mut() {
        r.complete = true;
    }
    ctx.state_dir.save(st)?;
    crate::interrupt::set_message(&format!(
        "interrupted: snapshot {name} is restored; the guests' clocks may lag the host's: the next `lab up` sets them"
    ));
    let clocks = super::set_stale_clocks(ctx, st, rep)?;
    Ok(RestoreReport {
        name: name.to_string(),
        taken: record.taken.clone(),
        state: super::SnapshotInfo::of(&record).state,
        resumed_seconds,
        seconds: start.elapsed().as_secs_f64(),
        clocks,
    })
}

/// What differs between the lab file now and the VMs the snapshot was
/// taken of: nodes added or removed, a node's box, cpus, memory or disk.
pub fn differences(ctx: &LabCtx, record: &SnapshotRecord) -> Vec<String> {
    let mut out = Vec::new();
    for node in &ctx.lab.nodes {
        let Some(was) = record.nodes.get(&node.name) else {
            out.push(format!("node {} was added since", node.name));
            continue;
        };
        let n = &node.name;
        if was.box_name != node.box_name {
            out.push(format!(
                "node {n}'s box was {}, is {}",
                was.box_name, node.box_name
            ));
        }
        if was.cpus != node.cpus {
            out.push(format!("node {n} had {} cpus, has {}", was.cpus, node.cpus));
        }
        if was.memory_mib != node.memory_mib {
            out.push(format!(
                "node {n} had {} MiB of memory, has {}",
                was.memory_mib, node.memory_mib
            ));
        }
        if was.disk_gib != node.disk_gib {
            out.push(format!(
                "node {n} had a {} GiB disk, has {}",
                was.disk_gib, node.disk_gib
            ));
        }
    }
    for name in record.nodes.keys() {
        if ctx.lab.node(name).is_none() {
            out.push(format!("node {name} was removed since"));
        }
    }
    out
}
