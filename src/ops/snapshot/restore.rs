//! `lab snapshot restore NAME`: put every node back to the snapshot, at
//! once, without a reboot; then set the guests' clocks.

use std::time::Instant;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{ClockSet, LabCtx, check_name, libvirt_name, lock, missing, settle};
use crate::ops::owner::Owner;
use crate::state::{Restored, SnapshotRecord, SnapshotStatus, now_rfc3339};
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
    crate::interrupt::set_message(
        "interrupted: the lab may be partly restored; run `lab snapshot restore` again",
    );
    let start = Instant::now();
    check_name(name)?;
    let _lock = lock(ctx)?;
    let mut st = ctx.state()?;
    settle(ctx, &mut st, rep)?;
    let Some(record) = st.snapshots.iter().find(|r| r.name == name).cloned() else {
        bail!("{}", missing(ctx, &st, name));
    };
    if record.status != SnapshotStatus::Complete {
        bail!("snapshot {name} is not usable: its save did not finish");
    }
    let changes = differences(ctx, &record);
    if !changes.is_empty() {
        bail!(
            "snapshot {name} was taken of a lab shaped differently, so it cannot be restored: {}; restore it with the lab file as it was then, or take a new snapshot",
            changes.join("; ")
        );
    }
    let mut doms = Vec::new();
    for node in record.nodes.keys() {
        let dom = st.nodes[node].domain.clone();
        if ctx.domain_owner(&st, &dom)? != Owner::Ours {
            bail!("node {node} has no VM of this lab (domain {dom}); the snapshot went with it");
        }
        doms.push((node.clone(), dom));
    }

    st.restored = Some(Restored {
        name: name.to_string(),
        at: now_rfc3339(),
        complete: false,
    });
    ctx.state_dir.save(&st)?;

    // Back to the snapshot, every node paused (or shut off), then all of
    // them resumed at once.
    let snap = libvirt_name(name);
    let reverted = crate::fanout::each(&doms, |(node, d)| {
        rep.phase(node, "restoring");
        if !record.nodes[node].running {
            // Disk only: the VM must be off for its disk to be put back.
            ctx.hv.destroy_domain(d)?;
        }
        ctx.hv.revert_snapshot(d, &snap)
    });
    if let Some(e) = reverted.into_iter().find_map(Result::err) {
        return Err(anyhow::Error::from(e).context(format!(
            "snapshot {name} was not restored on every node; run `lab snapshot restore {name}` again"
        )));
    }
    let running: Vec<(String, String)> = doms
        .iter()
        .filter(|(n, _)| record.nodes[n].running)
        .cloned()
        .collect();
    let resumed = crate::fanout::each(&running, |(_, d)| ctx.hv.resume_domain(d));
    if let Some(e) = resumed.into_iter().find_map(Result::err) {
        return Err(
            anyhow::Error::from(e).context(format!("snapshot {name}: a node did not resume"))
        );
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
    let names: Vec<String> = running.iter().map(|(n, _)| n.clone()).collect();
    let clocks = if names.is_empty() {
        Vec::new()
    } else {
        rep.note("setting the guests' clocks");
        super::report_clocks((ctx.clocks)(&st, &ctx.state_dir, &names), rep)
    };
    if let Some(r) = st.restored.as_mut() {
        r.complete = true;
    }
    ctx.state_dir.save(&st)?;
    Ok(RestoreReport {
        name: name.to_string(),
        taken: record.taken.clone(),
        state: super::SnapshotInfo::of(&record).state,
        resumed_seconds,
        seconds: start.elapsed().as_secs_f64(),
        clocks,
    })
}

/// What differs between the lab file now and the lab the snapshot was
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
