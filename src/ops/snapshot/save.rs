//! `lab snapshot save NAME`: pause every running node at one instant,
//! snapshot all of them, resume all of them, set their clocks.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{ClockSet, LabCtx, check_name, complete, lock, remove_libvirt, settle};
use crate::backend::DomainState;
use crate::ops::owner::Owner;
use crate::state::{SnapshotNode, SnapshotRecord, SnapshotStatus, State, now_rfc3339};
use crate::ui::nodes::NodeReporter;

/// How `save` was asked.
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// Replace a snapshot of the same name (once the new one is whole).
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
    /// Bytes of memory state the snapshot holds.
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
    crate::interrupt::set_message(&format!(
        "interrupted: snapshot {name} is not usable; the next lab command resumes the nodes and removes what it left"
    ));
    let start = Instant::now();
    check_name(name)?;
    let _lock = lock(ctx, "there is nothing to snapshot")?;
    let mut st = ctx.state()?;
    settle(ctx, &mut st, rep)?;
    let old = complete(&st, name).cloned();
    if let Some(old) = &old
        && !opts.force
    {
        bail!(
            "lab {} has a snapshot `{name}` already (taken {}); pass --force to replace it, or choose another name",
            ctx.lab.name,
            old.taken
        );
    }
    let nodes = capture_plan(ctx, &st)?;
    let mut record = SnapshotRecord {
        name: name.to_string(),
        taken: now_rfc3339(),
        status: SnapshotStatus::Saving,
        nodes: nodes.clone(),
        libvirt: Some(format!("lab-{name}.{}", State::new_instance_id())),
    };
    st.snapshots.push(record.clone());
    ctx.state_dir.save(&st)?;

    let doms: Vec<(String, String)> = nodes
        .keys()
        .map(|n| (n.clone(), st.nodes[n].domain.clone()))
        .collect();
    let before = super::save_size::allocations(ctx, &st, &doms);
    // Paused by this save: the running ones (not those paused by hand).
    let to_pause: Vec<(String, String)> = doms
        .iter()
        .filter(|(n, _)| nodes[n].running && !nodes[n].paused)
        .cloned()
        .collect();
    for (n, _) in &to_pause {
        if let Some(ns) = st.nodes.get_mut(n) {
            ns.clock_stale = true;
        }
    }
    ctx.state_dir.save(&st)?;

    // One instant: pause every running node, then capture.
    if !to_pause.is_empty() {
        rep.note(&format!("pausing {} running node(s)", to_pause.len()));
    }
    let paused_at = Instant::now();
    record.taken = now_rfc3339();
    let paused = crate::fanout::each(&to_pause, |(_, d)| {
        ctx.hv_of_domain(&st, d).suspend_domain(d)
    });
    let mut failure = paused
        .into_iter()
        .find_map(Result::err)
        .map(anyhow::Error::from);
    if failure.is_none() {
        rep.note(if to_pause.is_empty() {
            "capturing disks (the lab is halted)"
        } else {
            "capturing memory and disks"
        });
        let snap = record.libvirt_name();
        let made = crate::fanout::each(&doms, |(node, d)| {
            rep.phase(node, "capturing");
            let r = ctx.hv_of_domain(&st, d).create_snapshot(d, &snap);
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
    let resumed = crate::fanout::each(&to_pause, |(_, d)| {
        ctx.hv_of_domain(&st, d).resume_domain(d)
    });
    let paused_seconds = if to_pause.is_empty() {
        0.0
    } else {
        paused_at.elapsed().as_secs_f64()
    };
    if let Some(e) = failure.or(resumed.into_iter().find_map(Result::err).map(Into::into)) {
        // Nothing half-made stays: this record and its snapshots go.
        let _ = remove_libvirt(ctx, &st, &record);
        st.snapshots
            .retain(|r| !(r.name == name && r.status == SnapshotStatus::Saving));
        ctx.state_dir.save(&st)?;
        return Err(e.context(format!("snapshot {name} was not taken")));
    }

    let sizes = super::save_size::sizes(ctx, &st, &doms, &record.libvirt_name(), &before);
    for ((node, _), bytes) in doms.iter().zip(sizes) {
        if let Some(n) = record.nodes.get_mut(node) {
            n.bytes = bytes;
        }
    }
    record.status = SnapshotStatus::Complete;
    let info = super::SnapshotInfo::of(&record);
    // The new one is whole: now the one it replaces goes.
    if let Some(old) = &old {
        remove_libvirt(ctx, &st, old)?;
        st.snapshots
            .retain(|r| !(r.name == name && r.status == SnapshotStatus::Complete));
    }
    if let Some(r) = st
        .snapshots
        .iter_mut()
        .find(|r| r.name == name && r.status == SnapshotStatus::Saving)
    {
        *r = record.clone();
    }
    ctx.state_dir.save(&st)?;
    crate::interrupt::set_message(&format!(
        "interrupted: snapshot {name} is saved; the guests' clocks may lag the host's: the next `lab up` sets them"
    ));

    let names: Vec<String> = to_pause.iter().map(|(n, _)| n.clone()).collect();
    let clocks = if names.is_empty() {
        Vec::new()
    } else {
        super::set_stale_clocks(ctx, &mut st, rep)?
    };
    Ok(SaveReport {
        name: name.to_string(),
        taken: record.taken,
        state: info.state,
        paused_seconds,
        seconds: start.elapsed().as_secs_f64(),
        bytes: info.bytes,
        clocks,
        replaced: old.is_some(),
    })
}

/// Every node of the lab file, as its VM is now (memory and CPUs as
/// libvirt defines the domain, the disk's size, the box it was made
/// from): it must have been created by this lab and be running, paused
/// or shut off.
pub(super) fn capture_plan(ctx: &LabCtx, st: &State) -> Result<BTreeMap<String, SnapshotNode>> {
    let mut out = BTreeMap::new();
    for node in &ctx.lab.nodes {
        let Some(ns) = st.nodes.get(&node.name) else {
            bail!("node {} is not created yet; run `lab up` first", node.name);
        };
        let gone = || {
            anyhow::anyhow!(
                "node {} has no VM of this lab (domain {}); run `lab up` first",
                node.name,
                ns.domain
            )
        };
        if ctx.domain_owner(st, &ns.domain)? != Owner::Ours {
            return Err(gone());
        }
        let state = ctx.hv_of_domain(st, &ns.domain).domain_state(&ns.domain)?;
        let (running, paused) = match state {
            Some(DomainState::Running) => (true, false),
            Some(DomainState::Paused) => (true, true),
            Some(DomainState::ShutOff) => (false, false),
            other => bail!(
                "node {} is {}; wait until it runs or is shut off (`lab up` or `lab halt`)",
                node.name,
                other.map_or_else(|| "not defined".to_string(), |s| s.to_string())
            ),
        };
        let shape = ctx
            .hv_of_domain(st, &ns.domain)
            .domain_shape(&ns.domain)?
            .ok_or_else(gone)?;
        let disk = super::save_size::overlay(st, &node.name)
            .and_then(|v| {
                ctx.hv_of_domain(st, &ns.domain)
                    .volume_sizes(&st.pool, &v)
                    .ok()
                    .flatten()
            })
            .map_or(node.disk_gib, |s| s.capacity >> 30);
        out.insert(
            node.name.clone(),
            SnapshotNode {
                box_name: ns.box_name.clone(),
                cpus: shape.vcpus,
                memory_mib: shape.memory_mib,
                disk_gib: disk,
                running,
                paused,
                bytes: 0,
                ready: running && ns.ready,
                provision_pending: ns.provision_pending,
            },
        );
    }
    Ok(out)
}
