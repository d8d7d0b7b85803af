//! `lab halt`: ask each VM to power off (ACPI), wait up to a timeout, then
//! pull the plug on the ones still running; stop the forwarders to them.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::LabCtx;
use super::names;
use super::owner::Owner;
use crate::backend::DomainState;
use crate::ui::nodes::NodeReporter;

/// How each node stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum Halted {
    WasNotRunning,
    Graceful,
    Forced,
}

pub fn halt(
    ctx: &LabCtx,
    nodes: &[String],
    timeout: Duration,
    rep: &dyn NodeReporter,
) -> Result<Vec<(String, Halted)>> {
    let lab = &ctx.lab;
    if !ctx.state_dir.path().exists() {
        // Never brought up here (or destroyed): nothing of ours can run,
        // and no state dir is made just to say so.
        let selected = ctx.select_nodes(nodes)?;
        for n in &selected {
            rep.done(&n.name, "not running");
        }
        return Ok(selected
            .into_iter()
            .map(|n| (n.name, Halted::WasNotRunning))
            .collect());
    }
    let _lock = ctx.state_dir.lock(&lab.name)?;
    let mut st = ctx.state()?;
    // A killed `lab snapshot save` may have left nodes paused.
    super::snapshot::settle(ctx, &mut st, rep)?;
    let selected = ctx.select_nodes(nodes)?;
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for node in &selected {
        let dom = st.nodes.get(&node.name).map_or_else(
            || names::domain(&lab.name, &node.name),
            |n| n.domain.clone(),
        );
        // Only this lab's own domain; another lab's of the same name stays.
        let ours = ctx.domain_owner(&st, &dom)? == Owner::Ours;
        let hv = ctx.hv_of_domain(&st, &dom);
        if ours && is_active(hv.domain_state(&dom)?) {
            rep.phase(&node.name, "shutting down");
            hv.shutdown_domain(&dom)?;
            pending.push((node.name.clone(), dom));
        } else {
            rep.done(&node.name, "not running");
            out.push((node.name.clone(), Halted::WasNotRunning));
        }
    }
    let deadline = Instant::now() + timeout;
    while !pending.is_empty() {
        let mut still = Vec::new();
        for (name, dom) in pending {
            let hv = ctx.hv_of_domain(&st, &dom);
            if is_active(hv.domain_state(&dom)?) {
                if Instant::now() >= deadline {
                    hv.destroy_domain(&dom)?;
                    rep.done(&name, "forced off after timeout");
                    out.push((name, Halted::Forced));
                } else {
                    still.push((name, dom));
                }
            } else {
                rep.done(&name, "stopped");
                out.push((name, Halted::Graceful));
            }
        }
        pending = still;
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    for (name, _) in &out {
        if let Some(ns) = st.nodes.get_mut(name) {
            ns.ready = false;
        }
    }
    let halted: Vec<String> = out.iter().map(|(name, _)| name.clone()).collect();
    super::forwards::stop(&mut st, Some(&halted), rep);
    if ctx.state_dir.exists() {
        ctx.state_dir.save(&st)?;
    }
    Ok(out)
}

/// Whether halt still has to wait for (or power off) a domain in `state`.
/// "Shutting down" counts: QEMU exits only once the guest has powered off.
fn is_active(state: Option<DomainState>) -> bool {
    matches!(
        state,
        Some(DomainState::Running | DomainState::ShuttingDown)
    )
}
