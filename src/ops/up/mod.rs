//! `lab up`, in phases:
//! 1. plan and preflight ([`plan`]): what exists and whose it is, what must
//!    be built, and every cheap check (subnet, memory, disk, tools, pool);
//!    nothing is created when one fails;
//! 2. record: the lab's instance and resources go into the state BEFORE
//!    they are created;
//! 3. create ([`create`]): build missing boxes, copy them into the pool,
//!    the network, each node's overlay, seed and domain;
//! 4. boot and wait ([`wait`]): start what is not running, wait for every
//!    node in parallel, pin host keys;
//! 5. finish: provision and verify, then the forwarders.
//!
//! Everything is looked up by name first and checked to be this lab
//! instance's own, so a second run (after success, Ctrl-C or `kill -9`)
//! creates only what is missing, and never takes another lab's objects.

mod create;
mod hosts;
mod needs;
mod plan;
mod wait;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};

use super::LabCtx;
use super::owner::Owner;
use crate::backend::{Accel, DomainState, RunState, accel};
use crate::spec::{self, Node};
use crate::ssh;
use crate::state::State;
use crate::ui::nodes::NodeReporter;

pub use hosts::{machine_files, nodes_on, read_machine};
pub use needs::{ToolNeeds, room_needs, tool_needs};
pub use plan::{
    NodePlan, Plan, Survey, check_owners, check_paths, memory_need, refuse_other, runs_here,
    survey, survey_on,
};
pub use wait::{console_tail, strip_control};

#[derive(Clone)]
pub struct UpOptions {
    /// Nodes to bring up; all when empty.
    pub nodes: Vec<String>,
    /// How long each node may take to become ready; `None`:
    /// [`ready_timeout`] for the accelerator the lab runs with.
    pub timeout: Option<Duration>,
    /// The readiness probe ([`ssh::probe`]; tests substitute their own).
    pub probe: ssh::Prober,
    /// Provision and verify once every node is ready ([`super::provision::after_up`]).
    pub provision: bool,
    /// The `lab` executable that runs the lab's forwarders
    /// ([`super::forwards::ensure`]); `None` starts none.
    pub forwarder: Option<PathBuf>,
}

impl UpOptions {
    pub fn new(nodes: Vec<String>, timeout: Option<Duration>) -> Self {
        UpOptions {
            nodes,
            timeout,
            probe: Arc::new(ssh::probe),
            provision: true,
            forwarder: None,
        }
    }
}

/// How long a node may take to become ready by default: 900 s with KVM;
/// 1800 s under software emulation (TCG), where a loaded two-core host
/// has been seen to take over 900 s to boot several guests at once.
pub fn ready_timeout(accel: Accel) -> Duration {
    match accel {
        Accel::Kvm => Duration::from_secs(900),
        Accel::Tcg => Duration::from_secs(1800),
    }
}

/// One node's line in the final table (and in `lab up --json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeReport {
    #[serde(rename = "node")]
    pub name: String,
    pub ip: String,
    /// Seconds from start to SSH port open / to ready, for nodes booted now.
    pub boot_seconds: Option<f64>,
    pub ready_seconds: Option<f64>,
    /// Already running and ready before this run (times are from then).
    pub was_up: bool,
}

#[derive(Debug, Clone)]
pub struct UpReport {
    pub accel: Accel,
    pub accel_reason: String,
    pub nodes: Vec<NodeReport>,
    /// Nothing had to be done.
    pub noop: bool,
    /// The provisioning run and the checks at the end
    /// ([`super::provision::after_up`]); empty when skipped.
    pub after: super::provision::AfterUp,
    /// Box volumes copied into a pool by this run, each as `VOLUME` or
    /// `VOLUME on host NAME` (a lab over several hosts); a box is copied
    /// once per host and content.
    pub uploads: Vec<String>,
}

/// What an interrupted `lab up` prints (see [`crate::interrupt`]).
pub const INTERRUPTED: &str =
    "interrupted: run `lab up` again to resume, or `lab destroy` to remove what was created";

/// Bring the lab (or the selected nodes) up.
pub fn up(ctx: &LabCtx, opts: &UpOptions, reporter: Arc<dyn NodeReporter>) -> Result<UpReport> {
    crate::interrupt::set_message(INTERRUPTED);
    let rep = reporter.as_ref();
    let fresh = !ctx.state_dir.path().exists();
    let _lock = ctx.state_dir.lock(&ctx.lab.name)?;
    let mut st = ctx.state()?;
    let selected = ctx.select_nodes(&opts.nodes)?;
    if !fresh {
        // What a killed `lab snapshot save` or `restore` left; nodes
        // paused by hand run again, their clocks set.
        super::snapshot::settle(ctx, &mut st, rep)?;
        if resume_paused(ctx, &mut st, &selected, rep)? {
            super::snapshot::set_stale_clocks(ctx, &mut st, rep)?;
        }
    }

    if let Some(report) = already_up(ctx, &st, &selected, opts.provision)? {
        start_forwards(ctx, &mut st, opts, rep)?;
        return Ok(report);
    }

    // 1. Plan and preflight: nothing is created before these pass.
    if st.instance.is_empty() {
        st.instance = State::new_instance_id();
    }
    let plan = match plan::plan(ctx, &st, &selected) {
        Ok(plan) => plan,
        Err(e) => {
            // A state dir made only for this attempt (the lock) goes again.
            if fresh {
                let _ = ctx.state_dir.remove();
            }
            return Err(e);
        }
    };
    rep.note(&format!("accel: {} ({})", plan.accel, plan.accel_reason));

    // 2. Record before create.
    ctx.state_dir.create()?;
    st.lab = ctx.lab.name.clone();
    st.file = ctx.file().display().to_string();
    st.uri = ctx.uri.clone();
    st.pool = super::names::POOL.to_string();
    st.accel = Some(plan.accel);
    st.accel_reason = Some(plan.accel_reason.clone());
    st.network = Some(plan.network.clone());
    for np in &plan.nodes {
        create::record_node(&mut st, np);
    }
    if let Some((vni, _)) = &plan.overlay {
        create::record_hosts(ctx, &mut st, &plan.network, *vni);
    }
    ctx.state_dir.save(&st)?;

    // 3. Create what is missing.
    let mut uploads = Vec::new();
    let boxes = create::boxes(ctx, &plan, opts.provision, &mut uploads, rep)?;
    let pubkey = ssh::ensure_keypair(&ctx.state_dir.ssh_key(), &format!("lab@{}", ctx.lab.name))?;
    create::network(ctx, &st, &plan, rep)?;
    if let Some((vni, addrs)) = &plan.overlay {
        super::overlay::ensure(&ctx.hosts, addrs, *vni, &plan.bridge, rep)?;
    }
    let env = create::NodeEnv {
        accel: plan.accel,
        pubkey,
        proxy: ctx.lab.guest_proxy(),
        network: plan.network.clone(),
    };
    for np in &plan.nodes {
        let b = &boxes[&(np.host.clone(), np.node.box_name.clone())];
        create::node(ctx, &mut st, np, b, &env, rep)?;
    }

    // 4. Boot and wait.
    let reports = wait::boot_and_wait(ctx, &mut st, &plan, opts, &reporter)?;
    if plan.overlay.is_some() {
        overlay_mtu(ctx, &st, &plan, rep)?;
    }

    // 5. Finish.
    let after = if opts.provision {
        super::provision::after_up(ctx, &mut st, &selected, rep)?
    } else {
        Default::default()
    };
    start_forwards(ctx, &mut st, opts, rep)?;
    Ok(UpReport {
        accel: plan.accel,
        accel_reason: plan.accel_reason,
        nodes: reports,
        noop: false,
        after,
        uploads,
    })
}

/// Set the overlay's MTU in the planned nodes of a lab over several hosts
/// ([`super::overlay::guest_mtu`]), before anything larger crosses it.
fn overlay_mtu(ctx: &LabCtx, st: &State, plan: &plan::Plan, rep: &dyn NodeReporter) -> Result<()> {
    let mtu = crate::network::vxlan::OVERLAY_MTU;
    let nodes: Vec<String> = plan.nodes.iter().map(|n| n.node.name.clone()).collect();
    rep.note(&format!("guests: MTU {mtu} (the VXLAN overlay's)"));
    let failed = (ctx.guest_mtu)(st, &ctx.state_dir, &nodes, mtu);
    if !failed.is_empty() {
        let lines: Vec<String> = failed
            .iter()
            .map(|(n, e)| format!("node {n}: {e}"))
            .collect();
        bail!(
            "cannot set the overlay's MTU ({mtu}) in {} node(s); run `lab up` again:\n  {}",
            failed.len(),
            lines.join("\n  ")
        );
    }
    Ok(())
}

/// Resume the selected nodes that are paused (by `virsh suspend`): `lab
/// up` means running. Their clocks are marked stale (they lag by the
/// pause). Whether any was resumed.
fn resume_paused(
    ctx: &LabCtx,
    st: &mut State,
    selected: &[Node],
    rep: &dyn NodeReporter,
) -> Result<bool> {
    let mut any = false;
    for node in selected {
        let Some(dom) = st.nodes.get(&node.name).map(|ns| ns.domain.clone()) else {
            continue;
        };
        let hv = ctx.hv_of_domain(st, &dom);
        if hv.domain_state(&dom)? == Some(DomainState::Paused)
            && ctx.domain_owner(st, &dom)? == Owner::Ours
        {
            rep.phase(&node.name, "resuming (was paused)");
            if let Some(ns) = st.nodes.get_mut(&node.name) {
                ns.clock_stale = true;
            }
            ctx.state_dir.save(st)?;
            hv.resume_domain(&dom)?;
            any = true;
        }
    }
    Ok(any)
}

/// The last step of a successful `lab up`: the lab's forwarders.
fn start_forwards(
    ctx: &LabCtx,
    st: &mut State,
    opts: &UpOptions,
    rep: &dyn NodeReporter,
) -> Result<()> {
    match &opts.forwarder {
        Some(program) => super::forwards::ensure(ctx, st, program, rep),
        None => Ok(()),
    }
}

/// The fast path: network active, every selected node running, ready and
/// this lab's own, and (when `provision`) none of them waiting for a
/// provisioning that did not finish.
pub(super) fn already_up(
    ctx: &LabCtx,
    st: &State,
    selected: &[Node],
    provision: bool,
) -> Result<Option<UpReport>> {
    let Some(net) = st.network.as_deref() else {
        return Ok(None);
    };
    // A provisioning that did not finish (failed, interrupted, killed, or
    // never run after `--no-provision`) is what this `lab up` is for.
    let pending = |n: &Node| st.nodes.get(&n.name).is_some_and(|ns| ns.provision_pending);
    if provision && ctx.lab.provision.is_some() && selected.iter().any(pending) {
        return Ok(None);
    }
    if st.nodes.is_empty() || ctx.hv.network_state(net)? != Some(RunState::Active) {
        return Ok(None);
    }
    for h in &ctx.hosts {
        if h.hv.network_state(net)? != Some(RunState::Active) {
            return Ok(None);
        }
    }
    let mut reports = Vec::new();
    for node in selected {
        let Some(ns) = st.nodes.get(&node.name) else {
            return Ok(None);
        };
        if !ns.ready
            || ctx.hv_of_domain(st, &ns.domain).domain_state(&ns.domain)?
                != Some(DomainState::Running)
            || ctx.domain_owner(st, &ns.domain)? != Owner::Ours
        {
            return Ok(None);
        }
        reports.push(NodeReport {
            name: node.name.clone(),
            ip: ns.ip.clone(),
            boot_seconds: ns.boot_seconds,
            ready_seconds: ns.ready_seconds,
            was_up: true,
        });
    }
    if ctx.network_owner(st, net)? != Owner::Ours {
        return Ok(None);
    }
    Ok(Some(UpReport {
        accel: st.accel.unwrap_or(Accel::Tcg),
        accel_reason: st.accel_reason.clone().unwrap_or_default(),
        nodes: reports,
        noop: true,
        after: Default::default(),
        uploads: Vec::new(),
    }))
}

/// `accel:` of the lab file → the accelerator to use, and why.
pub fn pick_accel(wanted: spec::Accel) -> Result<(Accel, String)> {
    choose_accel(wanted, accel::detect)
}

/// [`pick_accel`] with the host's `accel: auto` answer from `detect`
/// (called only when the lab file does not say `tcg`).
pub fn choose_accel(
    wanted: spec::Accel,
    detect: impl FnOnce() -> (Accel, String),
) -> Result<(Accel, String)> {
    match wanted {
        spec::Accel::Tcg => Ok((Accel::Tcg, "accel: tcg in the lab file".into())),
        spec::Accel::Auto => Ok(detect()),
        spec::Accel::Kvm => {
            let (got, why) = detect();
            if got != Accel::Kvm {
                bail!(
                    "the lab file asks for accel: kvm, but KVM is not usable here: {why}; use accel: auto or tcg"
                );
            }
            Ok((got, "accel: kvm in the lab file".into()))
        }
    }
}
