//! `lab status`: each node's VM state, address, box and accelerator.

use anyhow::Result;
use serde::Serialize;

use super::LabCtx;
use super::names;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeStatus {
    pub node: String,
    /// `running`, `shut off`, `not created`, ...
    pub state: String,
    pub ip: String,
    #[serde(rename = "box")]
    pub box_name: String,
    pub accel: Option<String>,
    /// Seen ready (SSH + cloud-init) since it last started.
    pub ready: bool,
    pub domain: String,
    /// At the node's last boot: seconds from start until SSH answered, and
    /// until it was ready (SSH login + cloud-init finished).
    pub boot_seconds: Option<f64>,
    pub ready_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LabStatus {
    pub lab: String,
    pub network: String,
    pub network_state: String,
    pub nodes: Vec<NodeStatus>,
}

pub fn status(ctx: &LabCtx) -> Result<LabStatus> {
    let lab = &ctx.lab;
    let st = ctx.state_dir.load()?;
    let net = names::network(&lab.name);
    let network_state = match ctx.hv.network_state(&net)? {
        Some(crate::backend::RunState::Active) => "active",
        Some(crate::backend::RunState::Inactive) => "inactive",
        None => "not created",
    };
    let mut nodes = Vec::new();
    for node in &lab.nodes {
        let dom = names::domain(&lab.name, &node.name);
        let state = match ctx.hv.domain_state(&dom)? {
            Some(s) => s.to_string(),
            None => "not created".into(),
        };
        let ns = st.nodes.get(&node.name);
        nodes.push(NodeStatus {
            node: node.name.clone(),
            ready: state == "running" && ns.is_some_and(|n| n.ready),
            state,
            ip: node.ip.to_string(),
            box_name: node.box_name.clone(),
            accel: st.accel.clone(),
            domain: dom,
            boot_seconds: ns.and_then(|n| n.boot_seconds),
            ready_seconds: ns.and_then(|n| n.ready_seconds),
        });
    }
    Ok(LabStatus {
        lab: lab.name.clone(),
        network: net,
        network_state: network_state.into(),
        nodes,
    })
}
