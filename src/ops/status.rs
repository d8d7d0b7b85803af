//! `lab status`: each node's VM state, address, box and accelerator. An
//! object of one of the lab's names that is not this lab instance's own
//! (another lab of the same name, or one defined by hand) is shown as not
//! created, with a note saying whose it is.

use anyhow::Result;
use serde::{Serialize, Serializer};

use super::LabCtx;
use super::names;
use super::owner::Owner;
use crate::backend::{Accel, DomainState, RunState};

/// A node's VM as `lab status` reports it; serialised as `running`,
/// `paused`, `shut off`, `not created`, or libvirt's word for another state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmState {
    NotCreated,
    Domain(DomainState),
}

impl std::fmt::Display for VmState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VmState::NotCreated => f.write_str("not created"),
            VmState::Domain(s) => s.fmt(f),
        }
    }
}

impl Serialize for VmState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The lab's network: `active`, `inactive` or `not created`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetState {
    Active,
    Inactive,
    #[serde(rename = "not created")]
    NotCreated,
}

impl std::fmt::Display for NetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NetState::Active => "active",
            NetState::Inactive => "inactive",
            NetState::NotCreated => "not created",
        })
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeStatus {
    pub node: String,
    /// The name of its host in the lab file's `hosts`; left out of the
    /// JSON when the lab has no `hosts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub state: VmState,
    pub ip: String,
    #[serde(rename = "box")]
    pub box_name: String,
    pub accel: Option<Accel>,
    /// Seen ready (SSH + cloud-init) since it last started.
    pub ready: bool,
    pub domain: String,
    /// At the node's last boot: seconds from start until SSH answered, and
    /// until it was ready (SSH login + cloud-init finished).
    pub boot_seconds: Option<f64>,
    pub ready_seconds: Option<f64>,
    /// The lab has a `provision:` and it has not finished on this node
    /// (never run, failed or interrupted): the next `lab up` runs it.
    pub provision_pending: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LabStatus {
    pub lab: String,
    pub network: String,
    pub network_state: NetState,
    pub nodes: Vec<NodeStatus>,
    /// Objects of this lab's names that belong to someone else, each as
    /// "domain `bugs.node1`: lab `bugs` made from /a/lab.yaml".
    pub not_ours: Vec<String>,
    /// The last `lab snapshot restore` (its snapshot, when, and whether it
    /// finished); `null` when the lab was never restored.
    pub restored: Option<crate::state::Restored>,
    /// Names of the lab's usable snapshots, oldest first.
    pub snapshots: Vec<String>,
    /// Snapshots being saved, or whose save was killed (not usable; the
    /// next command that changes the lab resumes the nodes such a save
    /// paused and removes it).
    pub unfinished_saves: Vec<String>,
}

pub fn status(ctx: &LabCtx) -> Result<LabStatus> {
    let lab = &ctx.lab;
    let st = ctx.state()?;
    let mut not_ours = Vec::new();
    let net = st
        .network
        .clone()
        .unwrap_or_else(|| names::network(&lab.name));
    let network_state = match ctx.network_owner(&st, &net)? {
        Owner::Ours => match ctx.hv.network_state(&net)? {
            Some(RunState::Active) => NetState::Active,
            Some(RunState::Inactive) => NetState::Inactive,
            None => NetState::NotCreated,
        },
        Owner::Missing => NetState::NotCreated,
        Owner::Other(who) => {
            not_ours.push(format!("network `{net}`: {who}"));
            NetState::NotCreated
        }
    };
    let mut nodes = Vec::new();
    for node in &lab.nodes {
        let ns = st.nodes.get(&node.name);
        let dom = ns.map_or_else(
            || names::domain(&lab.name, &node.name),
            |n| n.domain.clone(),
        );
        let state = match ctx.domain_owner(&st, &dom)? {
            Owner::Ours => ctx
                .hv_of_domain(&st, &dom)
                .domain_state(&dom)?
                .map_or(VmState::NotCreated, VmState::Domain),
            Owner::Missing => VmState::NotCreated,
            Owner::Other(who) => {
                not_ours.push(format!("domain `{dom}`: {who}"));
                VmState::NotCreated
            }
        };
        let ours = state != VmState::NotCreated;
        nodes.push(NodeStatus {
            node: node.name.clone(),
            host: node.host.clone(),
            ready: state == VmState::Domain(DomainState::Running) && ns.is_some_and(|n| n.ready),
            state,
            ip: node.ip.to_string(),
            box_name: node.box_name.clone(),
            accel: st.accel,
            domain: dom,
            boot_seconds: ns.filter(|_| ours).and_then(|n| n.boot_seconds),
            ready_seconds: ns.filter(|_| ours).and_then(|n| n.ready_seconds),
            provision_pending: lab.provision.is_some()
                && ours
                && ns.is_some_and(|n| n.provision_pending),
        });
    }
    Ok(LabStatus {
        lab: lab.name.clone(),
        network: net,
        network_state,
        nodes,
        not_ours,
        restored: st.restored.clone(),
        snapshots: st.snapshot_names(crate::state::SnapshotStatus::Complete),
        unfinished_saves: st.snapshot_names(crate::state::SnapshotStatus::Saving),
    })
}
