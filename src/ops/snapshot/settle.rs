//! Cleaning up after a snapshot command that was killed, by the next
//! command that changes the lab: see [`settle`].

use anyhow::Result;

use super::{LabCtx, remove_libvirt, retry_busy};
use crate::backend::DomainState;
use crate::state::{SnapshotRecord, SnapshotStatus, State};
use crate::ui::nodes::NodeReporter;

/// After a `lab snapshot save` or `restore` that was killed (or a node
/// paused by hand), with the lab's lock held: a record still `saving` is
/// removed with its libvirt snapshots, after resuming the nodes that save
/// paused; a restore that did not finish is finished; clocks marked stale
/// are set. Returns the names of the unfinished saves removed. Saves `st`
/// when it changed anything.
pub fn settle(ctx: &LabCtx, st: &mut State, rep: &dyn NodeReporter) -> Result<Vec<String>> {
    let dropped = drop_unfinished_saves(ctx, st, rep)?;
    if let Some(r) = st.restored.clone().filter(|r| !r.complete) {
        if super::complete(st, &r.name).is_some() {
            rep.note(&format!(
                "the restore of snapshot {} was interrupted: finishing it",
                r.name
            ));
            super::restore::restore_locked(ctx, st, &r.name, rep)?;
        } else {
            st.restored = None;
            ctx.state_dir.save(st)?;
        }
    }
    set_stale_clocks(ctx, st, rep)?;
    Ok(dropped)
}

fn drop_unfinished_saves(
    ctx: &LabCtx,
    st: &mut State,
    rep: &dyn NodeReporter,
) -> Result<Vec<String>> {
    let broken: Vec<SnapshotRecord> = st
        .snapshots
        .iter()
        .filter(|r| r.status == SnapshotStatus::Saving)
        .cloned()
        .collect();
    for r in &broken {
        rep.note(&format!(
            "snapshot {} was not finished (its save was interrupted): removing what it left",
            r.name
        ));
        for (node, sn) in &r.nodes {
            let Some(ns) = st.nodes.get(node) else {
                continue;
            };
            // Paused by that save (not by hand before it): resume.
            if sn.running
                && !sn.paused
                && ctx.hv_of_domain(st, &ns.domain).domain_state(&ns.domain)?
                    == Some(DomainState::Paused)
            {
                retry_busy(|| ctx.hv_of_domain(st, &ns.domain).resume_domain(&ns.domain))?;
                rep.note(&format!("{node}: resumed"));
            }
        }
        remove_libvirt(ctx, st, r)?;
    }
    if !broken.is_empty() {
        st.snapshots
            .retain(|r| r.status == SnapshotStatus::Complete);
        ctx.state_dir.save(st)?;
    }
    Ok(broken.into_iter().map(|r| r.name).collect())
}

/// Set the clocks of the running nodes marked `clock_stale`, clearing the
/// mark of each one set (a node that cannot be reached keeps it, for the
/// next command); what was done, per node. Saves `st` when it set any.
pub fn set_stale_clocks(
    ctx: &LabCtx,
    st: &mut State,
    rep: &dyn NodeReporter,
) -> Result<Vec<super::ClockSet>> {
    let mut stale = Vec::new();
    for (node, ns) in &st.nodes {
        if ns.clock_stale
            && ctx.hv_of_domain(st, &ns.domain).domain_state(&ns.domain)?
                == Some(DomainState::Running)
        {
            stale.push(node.clone());
        }
    }
    if stale.is_empty() {
        return Ok(Vec::new());
    }
    rep.note(&format!(
        "setting the clocks of {} to the host's (they lag after a pause)",
        stale.join(", ")
    ));
    let sets = super::clock::report((ctx.clocks)(st, &ctx.state_dir, &stale), rep);
    for c in &sets {
        if c.error.is_none()
            && let Some(ns) = st.nodes.get_mut(&c.node)
        {
            ns.clock_stale = false;
        }
    }
    ctx.state_dir.save(st)?;
    Ok(sets)
}
