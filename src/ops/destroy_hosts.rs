//! `lab destroy` of a lab over several hosts: on every host (those of the
//! lab file and those the state records) the domains and volumes of its
//! nodes, its VXLAN device, then its network. A host that fails (one that
//! cannot be reached) keeps what the state records of it, and the others
//! are cleared and forgotten; the error names what is left on which host,
//! so a later `lab destroy` finishes the job.

use std::sync::Arc;

use anyhow::{Result, bail};

use super::LabCtx;
use super::destroy::{DestroyReport, clear};
use super::overlay::{HostNet, IpHostNet};
use crate::backend::Hypervisor;
use crate::backend::libvirt::Libvirt;
use crate::network::vxlan;
use crate::state::State;
use crate::ui::nodes::NodeReporter;

/// One host to clear: its name, libvirt and `ip`.
type Handle = (String, Arc<dyn Hypervisor>, Arc<dyn HostNet>);

/// Clear every host of the lab, saving the state after each; `Err`
/// naming what is left on each host that failed (the state keeps it).
pub(super) fn destroy_hosts(
    ctx: &LabCtx,
    st: &mut State,
    report: &mut DestroyReport,
    rep: &dyn NodeReporter,
) -> Result<()> {
    let device = vxlan::device_name(st.vni.unwrap_or_else(|| vxlan::vni_for(&ctx.lab.name)));
    let mut failed = Vec::new();
    for (name, hv, net) in handles(ctx, st) {
        let dev = st
            .hosts
            .get(&name)
            .and_then(|h| h.vxlan.clone())
            .unwrap_or_else(|| device.clone());
        let done = (|| -> Result<()> {
            // First: it is a port of the network's bridge.
            if net.vxlan_links()?.iter().any(|(d, _)| *d == dev) {
                rep.note(&format!("removing VXLAN device {dev} on host {name}"));
                net.remove_vxlan(&dev)?;
                report.vxlan.push(format!("{dev} (host {name})"));
            }
            let mine = |node: &str| ctx.host_of_node(st, node) == Some(name.as_str());
            clear(ctx, st, hv.as_ref(), &mine, report, rep)
        })();
        match done {
            Ok(()) => {
                let gone: Vec<String> = st
                    .nodes
                    .keys()
                    .filter(|n| ctx.host_of_node(st, n) == Some(name.as_str()))
                    .cloned()
                    .collect();
                for n in gone {
                    st.nodes.remove(&n);
                }
                st.hosts.remove(&name);
                if ctx.state_dir.exists() {
                    ctx.state_dir.save(st)?;
                }
            }
            Err(e) => failed.push(left_on(st, &name, &dev, &e)),
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    if ctx.state_dir.exists() {
        ctx.state_dir.save(st)?;
    }
    bail!(
        "lab destroy could not finish on {} host{}; the lab's state keeps what is left, so run `lab destroy` again once {} answer{}:\n  {}",
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        if failed.len() == 1 { "it" } else { "they" },
        if failed.len() == 1 { "s" } else { "" },
        failed.join("\n  ")
    )
}

/// The hosts to clear: the lab file's (as connected), then those only
/// the state names (connected now by their recorded URI; a stand-in
/// that fails when that fails).
fn handles(ctx: &LabCtx, st: &State) -> Vec<Handle> {
    let mut out: Vec<Handle> = ctx
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.hv.clone(), h.net.clone()))
        .collect();
    for (name, hs) in &st.hosts {
        if out.iter().any(|(n, _, _)| n == name) {
            continue;
        }
        let hv: Arc<dyn Hypervisor> = match Libvirt::connect(&hs.uri) {
            Ok(hv) => Arc::new(hv),
            Err(e) => Arc::new(crate::backend::Unreachable::new(name, &e)),
        };
        let net: Arc<dyn HostNet> = Arc::new(IpHostNet::new(name, hs.ssh.as_deref()));
        out.push((name.clone(), hv, net));
    }
    out
}

/// "host b: WHY; left there: ..." for a host that failed with `e`.
fn left_on(st: &State, host: &str, dev: &str, e: &anyhow::Error) -> String {
    let mut left: Vec<String> = st
        .nodes
        .iter()
        .filter(|(_, ns)| ns.host.as_deref() == Some(host))
        .flat_map(|(_, ns)| {
            std::iter::once(format!("VM {}", ns.domain))
                .chain(ns.volumes.iter().map(|v| format!("volume {v}")))
        })
        .collect();
    if let Some(hs) = st.hosts.get(host) {
        if let Some(net) = &hs.network {
            left.push(format!("network {net}"));
        }
        left.push(format!(
            "VXLAN device {}",
            hs.vxlan.as_deref().unwrap_or(dev)
        ));
    }
    let left = match left.is_empty() {
        true => String::new(),
        false => format!("; left there: {}", left.join(", ")),
    };
    format!("host {host}: {e:#}{left}")
}
