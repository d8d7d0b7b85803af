//! Phase 1 of `lab up` for a lab over several hosts: every host is
//! checked before anything is created on any of them — libvirt reachable,
//! objects of our names there ours, the subnet against its networks (and
//! the primary's routes), each host's free memory for its own nodes,
//! `ip` usable and the lab's VNI free, each host's tunnel address (known,
//! and outside the lab's subnet) — and
//! every failing host is named in one error. Then the pool is made on
//! each host.

use std::net::Ipv4Addr;

use anyhow::{Result, bail};

use super::super::names::{self, POOL};
use super::super::overlay::HostNet;
use super::super::preflight::Route;
use super::super::{LabCtx, overlay, preflight};
use super::needs::{pool_need_bytes, room_needs, tool_needs};
use super::plan::{NodePlan, Plan, Survey, refuse_other, survey_on};
use crate::backend::{Accel, Hypervisor};
use crate::boxes::BoxPlan;
use crate::network::vxlan;
use crate::spec::Node;
use crate::state::State;

/// [`super::plan::plan`] of a lab over several hosts (`ctx.hosts`).
pub(super) fn plan(
    ctx: &LabCtx,
    st: &State,
    selected: &[Node],
    (accel, accel_reason): (Accel, String),
    network: String,
    bridge: String,
) -> Result<Plan> {
    let lab = &ctx.lab;
    let vni = st.vni.unwrap_or_else(|| vxlan::vni_for(&lab.name));
    let device = vxlan::device_name(vni);
    // (host's index, problem): reported in the hosts' order.
    let mut problems: Vec<(usize, String)> = Vec::new();
    let index = |name: &str| ctx.hosts.iter().position(|h| h.name == name).unwrap_or(0);

    // libvirt on every host, and our network's name there.
    let listed = crate::fanout::each(&ctx.hosts, |h| h.hv.list_networks());
    let answered: Vec<bool> = listed.iter().map(Result::is_ok).collect();
    let reachable = answered.iter().all(|a| *a);
    for (i, (h, networks)) in ctx.hosts.iter().zip(&listed).enumerate() {
        let networks = match networks {
            Ok(n) => n,
            Err(e) => {
                problems.push((i, format!("host {}: {e}", h.name)));
                continue;
            }
        };
        let owner = super::super::owner::network_owner(h.hv.as_ref(), &lab.name, st, &network);
        let checked = owner.and_then(|o| {
            refuse_other(lab, "network", &network, o)?;
            preflight::check_networks(lab.network.subnet, Some(&network), networks)?;
            Ok(())
        });
        if let Err(e) = checked {
            problems.push((i, format!("host {}: {e:#}", h.name)));
        }
    }
    let tag = |p: String| {
        let host = p.strip_prefix("host ").and_then(|r| r.split(':').next());
        (index(host.unwrap_or("")), p)
    };
    // Not asked again of a host whose libvirt did not answer (named).
    let (vni_problems, listed) = overlay::check_vni(&ctx.hosts, vni, &device, &answered);
    problems.extend(vni_problems);
    if !reachable {
        // Nothing more can be asked of a host that does not answer.
        return refuse(problems);
    }

    let hv_of = |n: &Node| Some(ctx.hv_of(n.host.as_deref()).as_ref() as &dyn Hypervisor);
    let Survey {
        nodes,
        boxes,
        images,
    } = survey_on(lab, &ctx.store, st, selected, &hv_of)?;
    for np in &nodes {
        let hv = ctx.hv_of(np.host.as_deref());
        let owner = super::super::owner::domain_owner(hv.as_ref(), &lab.name, st, &np.domain)?;
        if let Err(e) = refuse_other(lab, "domain", &np.domain, owner) {
            let host = np.host.as_deref().unwrap_or("?");
            problems.push((index(host), format!("host {host}: {e}")));
        }
    }
    // Each machine's memory for its own nodes, and the primary's routes
    // (its bridge gets the gateway address; the others' bridges have no
    // address, and guests leave the lab only through the primary). Over
    // SSH for another machine, all at once, but not again for one whose
    // `ip` did not answer over SSH just now (already named).
    let found = crate::fanout::each(&ctx.hosts, |h| {
        let i = index(&h.name);
        if h.ssh.is_some() && !listed[i] {
            return Vec::new();
        }
        let net = h.ssh.as_ref().map(|_| h.net.as_ref());
        let mine = nodes_on(&nodes, &h.name);
        machine_checks(net, &h.name, i == 0, lab.network.subnet, &bridge, &mine)
    });
    for (i, found) in found.into_iter().enumerate() {
        problems.extend(found.into_iter().map(|p| (i, p)));
    }
    let addrs: Vec<Ipv4Addr> = match overlay::tunnel_addresses(&ctx.hosts) {
        Ok(a) => {
            problems.extend(
                overlay::check_tunnel_addresses(&ctx.hosts, &a, lab.network.subnet)
                    .into_iter()
                    .map(tag),
            );
            a
        }
        Err(p) => {
            problems.extend(p.into_iter().map(tag));
            Vec::new()
        }
    };
    if !problems.is_empty() {
        return refuse(problems);
    }
    tool_needs(lab, &boxes, &images).check()?;
    let here = ctx.hosts.iter().find(|h| h.ssh.is_none());
    let local_nodes: Vec<_> = nodes
        .iter()
        .filter(|n| here.is_some_and(|h| n.host.as_deref() == Some(h.name.as_str())))
        .cloned()
        .collect();
    let room = room_needs(
        &ctx.store,
        &local_nodes,
        &boxes,
        here.map(|h| h.hv.as_ref() as &dyn Hypervisor),
        here.is_some(),
    )?;
    for (dir, bytes) in room {
        preflight::check_disk(&dir, bytes, preflight::free_bytes(&dir))?;
    }
    // Last, once all else passed: the pool on every host; then, as
    // libvirt tells it, room in each other machine's pool for its part.
    for h in &ctx.hosts {
        h.hv.ensure_pool(POOL, &names::pool_dir())?;
    }
    let mut problems = Vec::new();
    for h in ctx.hosts.iter().filter(|h| h.ssh.is_some()) {
        let mine = nodes_on(&nodes, &h.name);
        if let Some(p) = pool_room(h.hv.as_ref(), &h.name, &mine, &boxes)? {
            problems.push(p);
        }
    }
    if !problems.is_empty() {
        bail!(
            "lab up cannot start: too little room in a host's pool:\n  {}\n(only the shared storage pool `{POOL}` was made, for any lab)",
            problems.join("\n  ")
        );
    }
    Ok(Plan {
        accel,
        accel_reason,
        network,
        bridge,
        nodes,
        boxes,
        images,
        overlay: Some((vni, addrs)),
    })
}

/// The error naming every problem found on the hosts, one per line, in
/// the hosts' order.
fn refuse(mut problems: Vec<(usize, String)>) -> Result<Plan> {
    problems.sort_by_key(|(i, _)| *i);
    let problems: Vec<String> = problems.into_iter().map(|(_, p)| p).collect();
    bail!(
        "lab up cannot start: {} problem{} on the lab's hosts, and nothing was created:\n  {}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.join("\n  ")
    )
}

/// What preflight reads of another machine: its memory and, on the
/// primary, its routes.
pub fn machine_files(primary: bool) -> &'static [&'static str] {
    if primary {
        &["/proc/meminfo", "/proc/net/route"]
    } else {
        &["/proc/meminfo"]
    }
}

/// [`machine_files`] of the machine behind `net`, read over one SSH
/// login: `MemAvailable` (MiB) and, on the primary, its routes (else
/// none). Errors: [`HostNet::read_files`]'.
pub fn read_machine(net: &dyn HostNet, primary: bool) -> Result<(Option<u64>, Vec<Route>)> {
    let texts = net.read_files(machine_files(primary))?;
    let routes = texts
        .get(1)
        .map_or_else(Vec::new, |t| preflight::parse_routes(t));
    Ok((preflight::parse_mem_available(&texts[0]), routes))
}

/// Refusals of host `name` for the nodes `mine` it is to run: its free
/// memory for them (`MemAvailable` of /proc/meminfo) and, with
/// `primary`, its routes (/proc/net/route) against the lab's `subnet`,
/// routes through the lab's own `bridge` aside. `net`: another machine,
/// whose files are read over one SSH login; `None`: this machine. One
/// line per problem, each naming the host; files that cannot be read
/// are one.
pub(super) fn machine_checks(
    net: Option<&dyn HostNet>,
    name: &str,
    primary: bool,
    subnet: ipnet::Ipv4Net,
    bridge: &str,
    mine: &[NodePlan],
) -> Vec<String> {
    let (need, vms) = super::plan::memory_need(mine);
    let (avail, routes) = match net {
        None => (preflight::available_memory_mib(), preflight::host_routes()),
        Some(net) => match read_machine(net, primary) {
            Ok(read) => read,
            Err(e) => {
                return vec![format!(
                    "host {name}: cannot read {} there: {e:#}",
                    machine_files(primary).join(" and ")
                )];
            }
        },
    };
    let mut problems = Vec::new();
    if let Err(e) = preflight::check_memory(need, vms, avail) {
        problems.push(format!("host {name}: {e}"));
    }
    if primary && let Err(e) = preflight::check_routes(subnet, Some(bridge), &routes) {
        problems.push(format!("host {name}: {e}"));
    }
    problems
}

/// The refusal of host `name`'s pool (on `hv`, another machine) when
/// libvirt says it has less free space than `mine`, the nodes it is to
/// run, need there ([`pool_need_bytes`]: their overlays and the boxes of
/// `boxes` they use that it lacks). `None`: room enough, or libvirt does
/// not tell.
pub(super) fn pool_room(
    hv: &dyn Hypervisor,
    name: &str,
    mine: &[NodePlan],
    boxes: &[BoxPlan],
) -> Result<Option<String>> {
    let used: Vec<BoxPlan> = boxes
        .iter()
        .filter(|b| mine.iter().any(|n| n.node.box_name == b.name()))
        .cloned()
        .collect();
    let need = pool_need_bytes(mine, &used, Some(hv))?;
    let free = hv.pool_free_bytes(POOL)?;
    Ok(preflight::check_disk(&names::pool_dir(), need, free)
        .err()
        .map(|e| format!("host {name}: {e}")))
}

/// The planned nodes that run on host `host`.
pub fn nodes_on(nodes: &[NodePlan], host: &str) -> Vec<NodePlan> {
    nodes
        .iter()
        .filter(|n| n.host.as_deref() == Some(host))
        .cloned()
        .collect()
}
