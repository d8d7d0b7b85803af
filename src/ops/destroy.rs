//! `lab destroy`: stop the lab's forwarders, remove every domain, volume
//! and the network of this lab instance, then its state directory. Boxes
//! are kept. Objects are found from the recorded state AND from what
//! libvirt reports (metadata naming this instance, volume names with its
//! id), so leftovers of an interrupted `lab up` are found too; an object of
//! one of our names that this instance cannot prove its own (another lab
//! of the same name, or one defined by hand) is left alone and named.

use std::collections::BTreeSet;

use anyhow::Result;

use super::LabCtx;
use super::names::{self, POOL};
use super::owner::Owner;
use crate::backend::Hypervisor;
use crate::state::State;
use crate::ui::nodes::NodeReporter;

/// What was removed, and what was left alone.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DestroyReport {
    pub domains: Vec<String>,
    pub volumes: Vec<String>,
    pub network: Option<String>,
    /// Pids of the forwarders stopped.
    pub forwarders: Vec<u32>,
    /// The lab's snapshots, gone with its VMs (libvirt's snapshot metadata
    /// is removed with each domain, their data with each disk).
    pub snapshots: Vec<String>,
    /// Snapshots on the lab's VMs that lab did not make (taken with
    /// `virsh`), as `NAME (domain DOMAIN)`: they live in the VMs' disks and
    /// go with them.
    pub other_snapshots: Vec<String>,
    /// VXLAN devices removed, as `DEVICE (host NAME)` (a lab over
    /// several hosts).
    pub vxlan: Vec<String>,
    /// Box copies in the pool that nothing can use any more (an older
    /// version of a box, or a removed box, that no overlay is backed by):
    /// [`super::box_pool::prune`].
    pub stale_boxes: Vec<String>,
    /// Objects of this lab's names that are not its own, each as
    /// "domain `bugs.node1`: lab `bugs` made from /a/lab.yaml".
    pub left_alone: Vec<String>,
}

pub fn destroy(ctx: &LabCtx, rep: &dyn NodeReporter) -> Result<DestroyReport> {
    crate::interrupt::set_message(
        "interrupted: run `lab destroy` again to finish removing the lab",
    );
    let lab = &ctx.lab;
    let lock = ctx.state_dir.lock(&lab.name)?;
    let mut st = ctx.state()?;
    let mut report = DestroyReport {
        snapshots: st.snapshots.iter().map(|r| r.name.clone()).collect(),
        ..DestroyReport::default()
    };
    if !st.forwards.is_empty() {
        report.forwarders = super::forwards::stop(&mut st, None, rep);
        ctx.state_dir.save(&st)?;
    }

    if !ctx.hosts.is_empty() || !st.hosts.is_empty() {
        super::destroy_hosts::destroy_hosts(ctx, &mut st, &mut report, rep)?;
        drop(lock);
        ctx.state_dir.remove()?;
        return Ok(report);
    }
    clear(ctx, &st, ctx.hv.as_ref(), &|_| true, &mut report, rep)?;
    drop(lock);
    ctx.state_dir.remove()?;
    Ok(report)
}

/// Remove from `hv` the lab's domains and volumes of the nodes `mine`
/// says are on it (all of them on one host), and its network there,
/// adding each to `report`; objects of our names that are not ours are
/// left alone and named. Stops at the first error (libvirt's).
pub(super) fn clear(
    ctx: &LabCtx,
    st: &State,
    hv: &dyn Hypervisor,
    mine: &dyn Fn(&str) -> bool,
    report: &mut DestroyReport,
    rep: &dyn NodeReporter,
) -> Result<()> {
    let lab = &ctx.lab;
    let mut domains: BTreeSet<String> = st
        .nodes
        .iter()
        .filter(|(n, _)| mine(n))
        .map(|(_, ns)| ns.domain.clone())
        .collect();
    domains.extend(
        lab.nodes
            .iter()
            .filter(|n| !st.nodes.contains_key(&n.name) && mine(&n.name))
            .map(|n| names::domain(&lab.name, &n.name)),
    );
    domains.extend(
        hv.list_lab_domains(&lab.name)?
            .into_iter()
            .map(|(name, _)| name),
    );
    for dom in domains {
        match super::owner::domain_owner(hv, &lab.name, st, &dom)? {
            Owner::Missing => {}
            Owner::Ours => {
                let ours: Vec<String> = st.snapshots.iter().map(|r| r.libvirt_name()).collect();
                for snap in hv.list_snapshots(&dom).unwrap_or_default() {
                    // `lab-*` of no record: leftovers of lab's own.
                    if !ours.contains(&snap) && !snap.starts_with("lab-") {
                        report
                            .other_snapshots
                            .push(format!("{snap} (domain {dom})"));
                    }
                }
                rep.note(&format!("removing VM {dom}"));
                hv.destroy_domain(&dom)?;
                hv.undefine_domain(&dom)?;
                report.domains.push(dom);
            }
            // Another lab's domain: only worth a word when it has one of
            // our names (not when it merely shares the lab name).
            Owner::Other(who) => {
                if st.nodes.values().any(|n| n.domain == dom)
                    || lab
                        .nodes
                        .iter()
                        .any(|n| names::domain(&lab.name, &n.name) == dom)
                {
                    report.left_alone.push(format!("domain `{dom}`: {who}"));
                }
            }
        }
    }

    let mut volumes: BTreeSet<String> = st
        .nodes
        .iter()
        .filter(|(n, _)| mine(n))
        .flat_map(|(_, ns)| ns.volumes.clone())
        .collect();
    let existing = hv.list_volumes(POOL).unwrap_or_default();
    if !st.instance.is_empty() {
        // Volumes of nodes since removed from the lab file, or not yet recorded.
        let prefix = names::volume_prefix(&lab.name, &st.instance);
        volumes.extend(existing.iter().filter(|v| v.starts_with(&prefix)).cloned());
    }
    for vol in volumes {
        if existing.contains(&vol) {
            rep.note(&format!("removing volume {vol}"));
            hv.delete_volume(POOL, &vol)?;
            report.volumes.push(vol);
        }
    }

    let net = st
        .network
        .clone()
        .unwrap_or_else(|| names::network(&lab.name));
    match super::owner::network_owner(hv, &lab.name, st, &net)? {
        Owner::Missing => {}
        Owner::Ours => {
            rep.note(&format!("removing network {net}"));
            hv.remove_network(&net)?;
            report.network = Some(net);
        }
        Owner::Other(who) => report.left_alone.push(format!("network `{net}`: {who}")),
    }
    // The lab is gone; what else in the pool has lost its last user is
    // not worth failing the destroy over.
    match super::box_pool::prune(hv, &ctx.store, None) {
        Ok(stale) => {
            for vol in &stale {
                rep.note(&format!("removed stale box copy {vol}"));
            }
            report.stale_boxes.extend(stale);
        }
        Err(e) => rep.note(&format!("stale box copies were not removed: {e:#}")),
    }
    Ok(())
}
