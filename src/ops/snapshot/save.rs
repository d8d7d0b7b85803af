//! `lab snapshot save NAME`: pause every running node at one instant,
//! snapshot all of them, resume all of them, set their clocks.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{ClockSet, LabCtx, check_name, libvirt_name, lock, remove_leftovers, settle};
use crate::backend::DomainState;
use crate::ops::owner::Owner;
use crate::state::{SnapshotNode, SnapshotRecord, SnapshotStatus, State, now_rfc3339};
use crate::ui::nodes::NodeReporter;

/// How `save` was asked.
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// Replace a snapshot of the same name.
    pub force: bool,
}

/// What `save` did (`lab snapshot save --json`).
#[derive(Debug, Clone, Serialize)]
pub struct SaveReport {
    pub name: String,
    pub taken: String,
    /// `running` or `halted` or `mixed`, as `list` says.
    pub state: &'static str,
    /// Seconds the running nodes were paused (0 for a halted lab).
    pub paused_seconds: f64,
    /// Seconds for the whole save, clocks included.
    pub seconds: f64,
    /// Bytes the snapshot added to the nodes' disks.
    pub bytes: u64,
    /// Clocks of the nodes that were paused.
    pub clocks: Vec<ClockSet>,
    /// A snapshot of that name was replaced (`--force`).
    pub replaced: bool,
}

/// Take snapshot `name` of the whole lab.
pub fn save(
    ctx: &LabCtx,
    name: &str,
    opts: &SaveOptions,
    rep: &dyn NodeReporter,
) -> Result<SaveReport> {
    crate::interrupt::set_message(
        "interrupted: the snapshot is not usable; the next lab command resumes the nodes and removes what it left",
    );
    let start = Instant::now();
    check_name(name)?;
    let _lock = lock(ctx)?;
    let mut st = ctx.state()?;
    settle(ctx, &mut st, rep)?;
    let replaced = st.snapshots.iter().any(|r| r.name == name);
    if replaced && !opts.force {
        let r = st.snapshots.iter().find(|r| r.name == name).expect("found");
        bail!(
            "lab {} has a snapshot `{name}` already (taken {}); pass --force to replace it, or choose another name",
            ctx.lab.name,
            r.taken
        );
    }
    let nodes = capture_plan(ctx, &st)?;

    // The old snapshot of that name (or leftovers in libvirt) goes first.
    remove_leftovers(ctx, &st, name)?;
    st.snapshots.retain(|r| r.name != name);
    let mut record = SnapshotRecord {
        name: name.to_string(),
        taken: now_rfc3339(),
        status: SnapshotStatus::Saving,
        nodes: nodes.clone(),
    };
    st.snapshots.push(record.clone());
    ctx.state_dir.save(&st)?;

    let doms: Vec<(String, String)> = nodes
        .keys()
        .map(|n| (n.clone(), st.nodes[n].domain.clone()))
        .collect();
    let volumes: Vec<Option<String>> = nodes.keys().map(|n| overlay(&st, n)).collect();
    let before = allocations(ctx, &st, &volumes);
    let running: Vec<(String, String)> = doms
        .iter()
        .filter(|(n, _)| nodes[n].running)
        .cloned()
        .collect();

    // One instant: pause every running node, then capture.
    if !running.is_empty() {
        rep.note(&format!("pausing {} running node(s)", running.len()));
    }
    let paused_at = Instant::now();
    record.taken = now_rfc3339();
    let paused = crate::fanout::each(&running, |(_, d)| ctx.hv.suspend_domain(d));
    let mut failure = paused
        .into_iter()
        .find_map(Result::err)
        .map(anyhow::Error::from);
    if failure.is_none() {
        rep.note(if running.is_empty() {
            "capturing disks (the lab is halted)"
        } else {
            "capturing memory and disks"
        });
        let snap = libvirt_name(name);
        let made = crate::fanout::each(&doms, |(node, d)| {
            rep.phase(node, "capturing");
            let r = ctx.hv.create_snapshot(d, &snap);
            match &r {
                Ok(()) => rep.done(node, "captured"),
                Err(e) => rep.failed(node, &e.to_string()),
            }
            r
        });
        failure = made
            .into_iter()
            .find_map(Result::err)
            .map(anyhow::Error::from);
    }
    let resumed = crate::fanout::each(&running, |(_, d)| ctx.hv.resume_domain(d));
    let paused_seconds = if running.is_empty() {
        0.0
    } else {
        paused_at.elapsed().as_secs_f64()
    };
    if let Some(e) = failure.or(resumed.into_iter().find_map(Result::err).map(Into::into)) {
        // Nothing half-made stays: the record and any node's snapshot go.
        let _ = remove_leftovers(ctx, &st, name);
        st.snapshots.retain(|r| r.name != name);
        ctx.state_dir.save(&st)?;
        return Err(e.context(format!("snapshot {name} was not taken")));
    }

    let after = allocations(ctx, &st, &volumes);
    for ((node, b), a) in nodes.keys().zip(before).zip(after) {
        if let Some(n) = record.nodes.get_mut(node) {
            n.bytes = a.saturating_sub(b);
        }
    }
    record.status = SnapshotStatus::Complete;
    let info = super::SnapshotInfo::of(&record);
    if let Some(r) = st.snapshots.iter_mut().find(|r| r.name == name) {
        *r = record.clone();
    }
    ctx.state_dir.save(&st)?;

    let names: Vec<String> = running.iter().map(|(n, _)| n.clone()).collect();
    let clocks = if names.is_empty() {
        Vec::new()
    } else {
        rep.note("setting the guests' clocks");
        super::report_clocks((ctx.clocks)(&st, &ctx.state_dir, &names), rep)
    };
    Ok(SaveReport {
        name: name.to_string(),
        taken: record.taken,
        state: info.state,
        paused_seconds,
        seconds: start.elapsed().as_secs_f64(),
        bytes: info.bytes,
        clocks,
        replaced,
    })
}

/// Every node of the lab file, as it is now: it must have been created
/// by this lab and be running or shut off.
pub(super) fn capture_plan(ctx: &LabCtx, st: &State) -> Result<BTreeMap<String, SnapshotNode>> {
    let mut out = BTreeMap::new();
    for node in &ctx.lab.nodes {
        let Some(ns) = st.nodes.get(&node.name) else {
            bail!("node {} is not created yet; run `lab up` first", node.name);
        };
        if ctx.domain_owner(st, &ns.domain)? != Owner::Ours {
            bail!(
                "node {} has no VM of this lab (domain {}); run `lab up` first",
                node.name,
                ns.domain
            );
        }
        let running = match ctx.hv.domain_state(&ns.domain)? {
            Some(DomainState::Running | DomainState::Paused) => true,
            Some(DomainState::ShutOff) => false,
            other => bail!(
                "node {} is {}; wait until it runs or is shut off (`lab up` or `lab halt`)",
                node.name,
                other.map_or_else(|| "not defined".to_string(), |s| s.to_string())
            ),
        };
        out.insert(
            node.name.clone(),
            SnapshotNode {
                box_name: node.box_name.clone(),
                cpus: node.cpus,
                memory_mib: node.memory_mib,
                disk_gib: node.disk_gib,
                running,
                bytes: 0,
                ready: running && ns.ready,
                provision_pending: ns.provision_pending,
            },
        );
    }
    Ok(out)
}

/// The node's overlay volume (its disk), as recorded.
fn overlay(st: &State, node: &str) -> Option<String> {
    let ns = st.nodes.get(node)?;
    ns.volumes.iter().find(|v| v.ends_with(".qcow2")).cloned()
}

/// Bytes on disk of each volume (0 when unknown).
fn allocations(ctx: &LabCtx, st: &State, volumes: &[Option<String>]) -> Vec<u64> {
    volumes
        .iter()
        .map(|v| {
            v.as_ref()
                .and_then(|v| ctx.hv.volume_allocation(&st.pool, v).ok().flatten())
                .unwrap_or(0)
        })
        .collect()
}
