//! Phase 3 of `lab up`: make what the plan found missing — build boxes and
//! copy them into the pool, the network, each node's overlay, NoCloud seed
//! and domain. Every step looks first and creates only what is not there;
//! the names were recorded in the state before this phase.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

use super::super::LabCtx;
use super::super::names::{self, POOL};
use super::plan::{NodePlan, Plan};
use crate::backend::{
    Accel, Boot, DiskFormat, DiskSpec, DomainSpec, HostEntry, InterfaceSpec, NetworkSpec, RunState,
};
use crate::boxes::store::BootMode;
use crate::boxes::{self, StoredBox};
use crate::seed::{SeedConfig, write_seed};
use crate::state::{HostState, NodeState, State};
use crate::ui::nodes::{NodeReporter, Notes};

/// A box ready for nodes: stored, and its files in the pool.
pub struct ReadyBox {
    pub stored: StoredBox,
    /// Pool path of its disk.
    pub disk: PathBuf,
    /// Pool paths of its kernel and initrd: `None` for a box that boots
    /// from its disk.
    pub kernel: Option<(PathBuf, PathBuf)>,
}

impl ReadyBox {
    /// How a node on this box boots.
    fn boot(&self) -> Boot {
        match &self.kernel {
            Some((kernel, initrd)) => Boot::Kernel {
                kernel: kernel.clone(),
                initrd: Some(initrd.clone()),
                cmdline: self.stored.meta.cmdline.clone(),
            },
            None => Boot::Disk {
                firmware: self.stored.meta.firmware,
            },
        }
    }
}

/// What every node's definition shares.
pub struct NodeEnv {
    pub accel: Accel,
    /// The lab key's public half (authorized in every guest).
    pub pubkey: String,
    /// The guests' apt proxy URL.
    pub proxy: Option<String>,
    /// The lab's libvirt network.
    pub network: String,
}

/// Write the node's names into the state (kept facts of earlier runs stay).
pub fn record_node(st: &mut State, np: &NodePlan) {
    let new = !st.nodes.contains_key(&np.node.name);
    let entry = st.nodes.entry(np.node.name.clone()).or_default();
    *entry = NodeState {
        domain: np.domain.clone(),
        ip: np.node.ip.to_string(),
        mac: np.mac.clone(),
        user: np.user.clone(),
        box_name: np.node.box_name.clone(),
        jump: np.jump.clone(),
        host: np.host.clone(),
        host_ssh: np.host_ssh.clone(),
        volumes: vec![np.overlay.clone(), np.seed.clone()],
        ready: entry.ready,
        host_key: entry.host_key.clone(),
        boot_seconds: entry.boot_seconds,
        ready_seconds: entry.ready_seconds,
        provision_pending: new || entry.provision_pending,
        clock_stale: entry.clock_stale,
    };
}

/// Record each host of a lab over several hosts and what `lab up` makes
/// there (its network, its VXLAN device of VNI `vni`), before it is made.
pub fn record_hosts(ctx: &LabCtx, st: &mut State, network: &str, vni: u32) {
    st.vni = Some(vni);
    for (i, h) in ctx.hosts.iter().enumerate() {
        st.hosts.insert(
            h.name.clone(),
            HostState {
                uri: h.uri.clone(),
                ssh: h.ssh.clone(),
                primary: i == 0,
                network: Some(network.to_string()),
                vxlan: Some(crate::network::vxlan::device_name(vni)),
            },
        );
    }
}

/// Build the boxes that need it (minutes each; all at once, and with them
/// the `provision.images` of a lab about to be provisioned, which would
/// otherwise be built after the nodes are up) and copy every node box into
/// the pool of each host whose nodes use it, once per host and content
/// (its volume name carries the content's hash); by (host, box name). Each
/// volume copied now is added to `uploaded` ([`super::UpReport::uploads`]).
pub fn boxes(
    ctx: &LabCtx,
    plan: &Plan,
    images: bool,
    uploaded: &mut Vec<String>,
    rep: &dyn NodeReporter,
) -> Result<BTreeMap<(Option<String>, String), ReadyBox>> {
    let mut plans = plan.boxes.clone();
    if images {
        plans.extend(plan.images.iter().cloned());
    }
    let mut built = boxes::realize_all(&ctx.store, &plans, |name| Notes(rep, name.to_string()))?;
    let mut out = BTreeMap::new();
    for bp in &plan.boxes {
        let stored = built
            .remove(bp.name())
            .expect("realize_all returns every planned box");
        let mut hosts: Vec<Option<String>> = plan
            .nodes
            .iter()
            .filter(|np| np.node.box_name == bp.name())
            .map(|np| np.host.clone())
            .collect();
        hosts.sort();
        hosts.dedup();
        for host in hosts {
            let ready = box_on(ctx, host.as_deref(), stored.clone(), uploaded, rep)?;
            out.insert((host, bp.name().to_string()), ready);
        }
    }
    Ok(out)
}

/// Box `stored`'s files in the pool of host `host` (uploaded when
/// missing, and then named in `uploaded`).
fn box_on(
    ctx: &LabCtx,
    host: Option<&str>,
    stored: StoredBox,
    uploaded: &mut Vec<String>,
    rep: &dyn NodeReporter,
) -> Result<ReadyBox> {
    let hv = ctx.hv_of(host);
    let on = match host {
        Some(h) if !ctx.hosts.is_empty() => format!(" on host {h}"),
        _ => String::new(),
    };
    let (disk, kernel, initrd) = names::box_volumes(&stored);
    let mut get = |vol: &str, src: PathBuf, format: DiskFormat| -> Result<PathBuf> {
        if let Some(p) = hv.volume_path(POOL, vol)? {
            return Ok(p);
        }
        uploaded.push(format!("{vol}{on}"));
        rep.note(&format!(
            "box {}: copying {} into pool {POOL}{on}",
            stored.meta.name,
            src.display()
        ));
        Ok(hv.upload_volume(POOL, vol, &src, format)?)
    };
    let kernel = match stored.meta.boot {
        BootMode::Kernel => Some((
            get(&kernel, stored.kernel(), DiskFormat::Raw)?,
            get(&initrd, stored.initrd(), DiskFormat::Raw)?,
        )),
        BootMode::Disk => None,
    };
    // Last: its presence means the box is fully in the pool.
    let disk = get(&disk, stored.disk(), DiskFormat::Qcow2)?;
    Ok(ReadyBox {
        stored,
        disk,
        kernel,
    })
}

/// Define the lab's network when missing and start it: on one host, or
/// on every host of a lab over several ([`network_spec`]).
pub fn network(ctx: &LabCtx, st: &State, plan: &Plan, rep: &dyn NodeReporter) -> Result<()> {
    if ctx.hosts.is_empty() {
        return network_on(ctx.hv.as_ref(), "", network_spec(ctx, st, plan, None), rep);
    }
    for (i, h) in ctx.hosts.iter().enumerate() {
        let spec = network_spec(ctx, st, plan, Some(i == 0));
        network_on(h.hv.as_ref(), &format!(" on host {}", h.name), spec, rep)?;
    }
    Ok(())
}

/// The lab's network: NAT, DHCP and DNS for every node; over several
/// hosts (`primary` is `Some`) with the overlay's MTU, and only the
/// bridge on a host that is not the primary.
fn network_spec(ctx: &LabCtx, st: &State, plan: &Plan, primary: Option<bool>) -> NetworkSpec {
    let lab = &ctx.lab;
    NetworkSpec {
        name: plan.network.clone(),
        bridge: plan.bridge.clone(),
        tag: ctx.tag(st, None),
        subnet: lab.network.subnet,
        gateway: lab.network.gateway,
        domain: lab.network.domain.clone(),
        dhcp_range: None,
        hosts: lab
            .nodes
            .iter()
            .map(|n| HostEntry {
                name: n.name.clone(),
                mac: crate::network::mac_for(&lab.name, &n.name),
                ip: n.ip,
            })
            .collect(),
        mtu: primary.map(|_| crate::network::vxlan::OVERLAY_MTU),
        bridge_only: primary == Some(false),
    }
}

/// Define `spec` on `hv` when missing, and start it.
fn network_on(
    hv: &dyn crate::backend::Hypervisor,
    on: &str,
    spec: NetworkSpec,
    rep: &dyn NodeReporter,
) -> Result<()> {
    let name = &spec.name;
    let state = hv.network_state(name)?;
    if state.is_none() {
        let what = match spec.bridge_only {
            true => "a bridge only".to_string(),
            false => spec.subnet.to_string(),
        };
        rep.note(&format!(
            "network {name}{on}: defining {what} on bridge {}",
            spec.bridge
        ));
        hv.define_network(&spec)?;
    }
    if state != Some(RunState::Active) {
        hv.start_network(name)?;
    }
    Ok(())
}

/// The node's overlay, seed and domain, each made when missing.
pub fn node(
    ctx: &LabCtx,
    st: &mut State,
    np: &NodePlan,
    b: &ReadyBox,
    env: &NodeEnv,
    rep: &dyn NodeReporter,
) -> Result<()> {
    let lab = &ctx.lab;
    let name = &np.node.name;
    let hv = ctx.hv_of(np.host.as_deref());
    let overlay_path = match hv.volume_path(POOL, &np.overlay)? {
        Some(p) => p,
        None => {
            rep.phase(name, "creating disk");
            // A new disk holds nothing of an earlier provisioning.
            if let Some(ns) = st.nodes.get_mut(name) {
                ns.provision_pending = true;
            }
            ctx.state_dir.save(st)?;
            hv.create_overlay(POOL, &np.overlay, &b.disk, np.node.disk_gib)?
        }
    };
    let seed_path = match hv.volume_path(POOL, &np.seed)? {
        Some(p) => p,
        None => {
            rep.phase(name, "writing seed");
            let local = ctx.state_dir.seed_path(name);
            write_seed(
                &local,
                &SeedConfig {
                    instance_id: format!("{}-{}", np.domain, boxes::build::now_unix()),
                    hostname: name.clone(),
                    domain: lab.network.domain.clone(),
                    user: b.stored.meta.user.clone(),
                    authorized_keys: vec![env.pubkey.clone()],
                    apt_proxy: env.proxy.clone(),
                },
            )?;
            hv.upload_volume(POOL, &np.seed, &local, DiskFormat::Raw)?
        }
    };
    if hv.domain_state(&np.domain)?.is_none() {
        rep.phase(name, "defining");
        hv.define_domain(&DomainSpec {
            name: np.domain.clone(),
            tag: ctx.tag(st, Some(name)),
            memory_mib: np.node.memory_mib,
            vcpus: np.node.cpus,
            accel: env.accel,
            boot: b.boot(),
            disks: vec![
                DiskSpec {
                    path: overlay_path,
                    format: DiskFormat::Qcow2,
                    target: "vda".into(),
                    readonly: false,
                },
                DiskSpec {
                    path: seed_path,
                    format: DiskFormat::Raw,
                    target: "vdb".into(),
                    readonly: true,
                },
            ],
            interfaces: vec![InterfaceSpec {
                network: env.network.clone(),
                mac: np.mac.clone(),
            }],
            console_log: match np.host_ssh {
                // The host is another machine: the log stays there.
                Some(_) => names::remote_console_log(&np.domain).into(),
                None => ctx.state_dir.console_log(name),
            },
        })?;
    }
    // The box's user may differ from the plan's guess only if the box was
    // rebuilt in between; the state follows what the node boots.
    if let Some(ns) = st.nodes.get_mut(name)
        && ns.user != b.stored.meta.user
    {
        ns.user = b.stored.meta.user.clone();
        ctx.state_dir.save(st)?;
    }
    Ok(())
}
