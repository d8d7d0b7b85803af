//! `lab destroy`: stop the lab's forwarders, remove every domain, volume
//! and the network of a lab, then its state directory. Boxes are kept. Works from the recorded state
//! AND from what libvirt reports (metadata, names), so leftovers of an
//! interrupted `lab up` are found too.

use std::collections::BTreeSet;

use anyhow::Result;

use super::LabCtx;
use super::names::{self, POOL};
use crate::ui::nodes::NodeReporter;

/// What was removed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DestroyReport {
    pub domains: Vec<String>,
    pub volumes: Vec<String>,
    pub network: Option<String>,
    /// Pids of the forwarders stopped.
    pub forwarders: Vec<u32>,
}

pub fn destroy(ctx: &LabCtx, rep: &dyn NodeReporter) -> Result<DestroyReport> {
    let lab = &ctx.lab;
    let lock = ctx.state_dir.lock(&lab.name)?;
    let mut st = ctx.state_dir.load()?;
    let mut report = DestroyReport::default();
    if !st.forwards.is_empty() {
        report.forwarders = super::forwards::stop(&mut st, None, rep);
        ctx.state_dir.save(&st)?;
    }

    let mut domains: BTreeSet<String> = st.nodes.values().map(|n| n.domain.clone()).collect();
    domains.extend(lab.nodes.iter().map(|n| names::domain(&lab.name, &n.name)));
    domains.extend(ctx.hv.list_lab_domains(&lab.name)?);
    for dom in domains {
        if ctx.hv.domain_state(&dom)?.is_some() {
            rep.note(&format!("removing VM {dom}"));
            ctx.hv.destroy_domain(&dom)?;
            ctx.hv.undefine_domain(&dom)?;
            report.domains.push(dom);
        }
    }

    let mut volumes: BTreeSet<String> = st.nodes.values().flat_map(|n| n.volumes.clone()).collect();
    for n in &lab.nodes {
        volumes.insert(names::overlay_volume(&lab.name, &n.name));
        volumes.insert(names::seed_volume(&lab.name, &n.name));
    }
    // Volumes of nodes since removed from the lab file.
    let prefix = format!("{}.", lab.name);
    let existing = ctx.hv.list_volumes(POOL).unwrap_or_default();
    volumes.extend(existing.iter().filter(|v| v.starts_with(&prefix)).cloned());
    for vol in volumes {
        if existing.contains(&vol) {
            rep.note(&format!("removing volume {vol}"));
            ctx.hv.delete_volume(POOL, &vol)?;
            report.volumes.push(vol);
        }
    }

    let net = st.network.clone().unwrap_or_else(|| names::network(&lab.name));
    if ctx.hv.network_state(&net)?.is_some() {
        rep.note(&format!("removing network {net}"));
        ctx.hv.remove_network(&net)?;
        report.network = Some(net);
    }
    drop(lock);
    ctx.state_dir.remove()?;
    Ok(report)
}
