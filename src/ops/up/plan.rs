//! Phase 1 of `lab up`: find out what exists and what must be made, and
//! check every cheap precondition before any long step (a box build takes
//! minutes): objects of our names that belong to someone else, tools, the
//! subnet against other networks and host routes, memory, disk, the pool.
//! Nothing is created here but the shared storage pool, and only once
//! everything else has passed.

use std::collections::BTreeSet;

use anyhow::{Result, bail};

use super::super::names::{self, POOL};
use super::super::owner::{self, Owner};
use super::super::{LabCtx, preflight};
use super::needs::{room_needs, tool_needs};
use crate::backend::{Accel, DomainState, Hypervisor};
use crate::boxes::{self, BoxPlan, Format, Store};
use crate::spec::{Lab, Node, Provision};
use crate::state::State;

/// One node as `lab up` will make it.
#[derive(Debug, Clone)]
pub struct NodePlan {
    pub node: Node,
    /// libvirt domain name (the recorded one when there is one).
    pub domain: String,
    /// Pool volumes: overlay and NoCloud seed (recorded names win).
    pub overlay: String,
    pub seed: String,
    pub mac: String,
    /// The box's login user.
    pub user: String,
    /// The box came from Vagrant: its insecure key may open the first
    /// login and must be gone before the node is ready.
    pub vagrant_key: bool,
    /// The domain's state when planned; `None`: not defined yet.
    pub state: Option<DomainState>,
    /// Running and seen ready before this run.
    pub was_ready: bool,
    /// `USER@ADDRESS` of the sshd the node is reached through: the
    /// lab's primary host's, when that is another machine; `None`:
    /// directly.
    pub jump: Option<String>,
    /// The node's host (its name in `hosts`); `None` without `hosts`.
    pub host: Option<String>,
    /// `USER@ADDRESS` of the node's own host when that is another
    /// machine (its console log stays there); `None`: this machine.
    pub host_ssh: Option<String>,
}

impl NodePlan {
    /// Whether this run starts the node.
    pub fn needs_start(&self) -> bool {
        self.state != Some(DomainState::Running)
    }
}

/// What `lab up` will do.
#[derive(Debug)]
pub struct Plan {
    pub accel: Accel,
    pub accel_reason: String,
    /// libvirt network name and its bridge.
    pub network: String,
    pub bridge: String,
    pub nodes: Vec<NodePlan>,
    /// The boxes of the selected nodes, one per name.
    pub boxes: Vec<BoxPlan>,
    /// The lab's `provision.images` ([`Survey::images`]).
    pub images: Vec<BoxPlan>,
    /// A lab over several hosts: the VXLAN identifier and each host's
    /// tunnel address (order of [`LabCtx::hosts`]); `None` on one host.
    pub overlay: Option<(u32, Vec<std::net::Ipv4Addr>)>,
}

/// Plan `selected` and run the preflight checks. `st` carries this lab
/// instance's id (a fresh one on a first run).
pub fn plan(ctx: &LabCtx, st: &State, selected: &[Node]) -> Result<Plan> {
    let lab = &ctx.lab;
    check_paths(lab)?;
    let (accel, accel_reason) = super::pick_accel(lab.accel)?;
    let network = st
        .network
        .clone()
        .unwrap_or_else(|| names::network(&lab.name));
    let bridge = crate::network::bridge_name(&lab.name);
    if !ctx.hosts.is_empty() {
        return super::hosts::plan(ctx, st, selected, (accel, accel_reason), network, bridge);
    }
    refuse_other(lab, "network", &network, ctx.network_owner(st, &network)?)?;

    let Survey {
        nodes,
        boxes,
        images,
    } = survey(lab, &ctx.store, st, selected, Some(ctx.hv.as_ref()))?;
    check_owners(lab, st, &network, &nodes, ctx.hv.as_ref())?;
    let networks = ctx.hv.list_networks()?;
    // The network of our name was refused above unless it is ours.
    preflight::check_networks(lab.network.subnet, Some(&network), &networks)?;
    // This machine's routes, memory and pool directory say nothing of a
    // host that is another machine (its VMs, bridge and pool are there):
    // its own memory and routes are read over SSH.
    let here = runs_here(lab, &ctx.uri);
    if here {
        preflight::check_routes(lab.network.subnet, Some(&bridge), &preflight::host_routes())?;
        let (need_mem, vms) = memory_need(&nodes);
        preflight::check_memory(need_mem, vms, preflight::available_memory_mib())?;
    } else if let (Some(net), Some(h)) = (&ctx.remote, lab.host()) {
        // The same of that host, read over SSH.
        let subnet = lab.network.subnet;
        let problems = super::hosts::machine_checks(
            Some(net.as_ref()),
            &h.name,
            true,
            subnet,
            &bridge,
            &nodes,
        );
        if !problems.is_empty() {
            anyhow::bail!(
                "lab up cannot start, and nothing was created:\n  {}",
                problems.join("\n  ")
            );
        }
    }
    tool_needs(lab, &boxes, &images).check()?;
    let room = room_needs(&ctx.store, &nodes, &boxes, Some(ctx.hv.as_ref()), here)?;
    for (dir, bytes) in room {
        preflight::check_disk(&dir, bytes, preflight::free_bytes(&dir))?;
    }
    // Last, once all else passed: the shared pool (libvirt must take a write),
    // and on another machine, as libvirt tells it, room there.
    ctx.hv.ensure_pool(POOL, &names::pool_dir())?;
    if !here
        && let Some(h) = lab.host()
        && let Some(p) = super::hosts::pool_room(ctx.hv.as_ref(), &h.name, &nodes, &boxes)?
    {
        bail!(
            "lab up cannot start: {p}\n(only the shared storage pool `{POOL}` was made there, for any lab)"
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
        overlay: None,
    })
}

/// Whether the VMs of `lab`, a lab on one host reached at libvirt `uri`,
/// run on this machine: it has no host, or its host is this machine, or
/// `uri` (LAB_LIBVIRT_URI) names this machine's libvirt whatever its host.
pub fn runs_here(lab: &Lab, uri: &str) -> bool {
    lab.host().is_none_or(|h| h.ssh.is_none()) || !crate::backend::libvirt::is_remote(uri)
}

/// Refuse paths the programs lab hands them to cannot take: paths under
/// the lab directory and the pool go to ssh, libvirt and Ansible; the lab
/// file's own path goes into the libvirt metadata of what the lab defines
/// ([`crate::paths::check_lab_path`], [`crate::paths::check_for_programs`]).
pub fn check_paths(lab: &Lab) -> Result<()> {
    crate::paths::check_lab_path(lab.dir())?;
    let file = std::path::absolute(&lab.path).unwrap_or_else(|_| lab.path.clone());
    crate::paths::check_for_programs("the lab file", &file)?;
    crate::paths::check_for_programs(
        "the storage pool directory ($LAB_POOL_DIR)",
        &names::pool_dir(),
    )?;
    Ok(())
}

/// Refuse the objects of this lab's names (its network `network`, the
/// domains of `nodes`) that are not this lab instance's ([`owner`]): what
/// `lab up` refuses and `lab doctor` FAILs. Errors: the first such object,
/// as a sentence with its fix; libvirt's.
pub fn check_owners(
    lab: &Lab,
    st: &State,
    network: &str,
    nodes: &[NodePlan],
    hv: &dyn Hypervisor,
) -> Result<()> {
    let owner = owner::network_owner(hv, &lab.name, st, network)?;
    refuse_other(lab, "network", network, owner)?;
    for np in nodes {
        let owner = owner::domain_owner(hv, &lab.name, st, &np.domain)?;
        refuse_other(lab, "domain", &np.domain, owner)?;
    }
    Ok(())
}

/// Refuse an object of one of our names that is not ours.
pub fn refuse_other(lab: &Lab, kind: &str, name: &str, owner: Owner) -> Result<()> {
    let file = std::path::absolute(&lab.path).unwrap_or_else(|_| lab.path.clone());
    match owner {
        Owner::Missing | Owner::Ours => Ok(()),
        Owner::Other(who) if who.starts_with("lab `") => {
            let that = match who.split_once(" made from ") {
                Some((_, other)) => format!(" (`lab destroy --file {other}`)"),
                None => String::new(),
            };
            bail!(
                "lab `{}` already exists: libvirt {kind} `{name}` belongs to {who}; rename this lab (`name:` in {}) or destroy that one{that}",
                lab.name,
                file.display()
            )
        }
        Owner::Other(who) => bail!(
            "a libvirt {kind} named `{name}` exists and was {who}; rename this lab (`name:` in {}) or remove that {kind} (virsh {}undefine {name})",
            file.display(),
            if kind == "network" { "net-" } else { "" }
        ),
    }
}

/// The selected nodes and their boxes as `lab up` would find them now.
#[derive(Debug)]
pub struct Survey {
    pub nodes: Vec<NodePlan>,
    /// One per box name, sorted by name.
    pub boxes: Vec<BoxPlan>,
    /// The lab's `provision.images` (rootfs boxes), in file order.
    pub images: Vec<BoxPlan>,
}

/// Plan the boxes and nodes of `selected` (nodes of `lab`, whose state is
/// `st`), asking `hv` which domains exist; with `hv` `None` (libvirt not
/// reachable) as if none did. Errors: a box that cannot be planned
/// ([`boxes::plan`]), a node disk smaller than its box's, a failed lookup.
pub fn survey(
    lab: &Lab,
    store: &Store,
    st: &State,
    selected: &[Node],
    hv: Option<&dyn Hypervisor>,
) -> Result<Survey> {
    survey_on(lab, store, st, selected, &|_| hv)
}

/// [`survey`] asking `hv_of` each node's hypervisor (its host's).
pub fn survey_on<'a>(
    lab: &Lab,
    store: &Store,
    st: &State,
    selected: &[Node],
    hv_of: &dyn Fn(&Node) -> Option<&'a dyn Hypervisor>,
) -> Result<Survey> {
    let mut boxes = Vec::new();
    for name in selected
        .iter()
        .map(|n| n.box_name.as_str())
        .collect::<BTreeSet<_>>()
    {
        boxes.push(boxes::plan(store, lab.dir(), name, Format::Disk)?);
    }
    let nodes = selected
        .iter()
        .map(|node| node_plan(lab, st, node, &boxes, hv_of(node)))
        .collect::<Result<_>>()?;
    let images = match &lab.provision {
        Some(Provision::Ansible(a)) => a
            .images
            .iter()
            .map(|image| boxes::plan(store, lab.dir(), image, Format::Rootfs))
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    Ok(Survey {
        nodes,
        boxes,
        images,
    })
}

/// Memory the nodes this run starts need: (MiB, how many VMs).
pub fn memory_need(nodes: &[NodePlan]) -> (u64, usize) {
    let starting: Vec<&NodePlan> = nodes.iter().filter(|n| n.needs_start()).collect();
    (
        starting.iter().map(|n| n.node.memory_mib).sum(),
        starting.len(),
    )
}

fn node_plan(
    lab: &Lab,
    st: &State,
    node: &Node,
    boxes: &[BoxPlan],
    hv: Option<&dyn Hypervisor>,
) -> Result<NodePlan> {
    let recorded = st.nodes.get(&node.name);
    let b = boxes
        .iter()
        .find(|b| b.name() == node.box_name)
        .expect("planned above");
    let (box_disk, user, vagrant_key) = match b {
        BoxPlan::Ready(b) => (
            b.meta.disk_gib,
            b.meta.user.clone(),
            b.meta.source.as_ref().is_some_and(|s| s.vagrant_key),
        ),
        BoxPlan::Build(r) => (r.recipe.disk_gib, r.recipe.user.clone(), false),
    };
    if node.disk_gib < box_disk {
        bail!(
            "node {}: disk {} GiB is smaller than box {}'s {box_disk} GiB; set `disk: {box_disk}` or more",
            node.name,
            node.disk_gib,
            node.box_name
        );
    }
    let domain = recorded.map_or_else(
        || names::domain(&lab.name, &node.name),
        |n| n.domain.clone(),
    );
    let (overlay, seed) = match recorded.map(|n| n.volumes.as_slice()) {
        Some([overlay, seed, ..]) => (overlay.clone(), seed.clone()),
        _ => (
            names::overlay_volume(&lab.name, &st.instance, &node.name),
            names::seed_volume(&lab.name, &st.instance, &node.name),
        ),
    };
    // A domain of our name that is someone else's is not this lab's node:
    // it counts as not made yet (`lab up` refuses it: [`check_owners`]).
    let state = match hv {
        Some(hv) => match owner::domain_owner(hv, &lab.name, st, &domain)? {
            Owner::Other(_) => None,
            _ => hv.domain_state(&domain)?,
        },
        None => None,
    };
    Ok(NodePlan {
        // Every guest through the primary host: its bridge has the
        // gateway address and reaches the other hosts' guests by VXLAN.
        jump: lab
            .host()
            .and_then(|h| h.ssh.as_ref())
            .map(ToString::to_string),
        host: node.host.clone(),
        host_ssh: lab
            .host_of(node)
            .and_then(|h| h.ssh.as_ref())
            .map(ToString::to_string),
        node: node.clone(),
        was_ready: state == Some(DomainState::Running) && recorded.is_some_and(|n| n.ready),
        domain,
        overlay,
        seed,
        mac: crate::network::mac_for(&lab.name, &node.name),
        user,
        vagrant_key,
        state,
    })
}
