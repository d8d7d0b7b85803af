//! `lab up`: validate → plan → network → nodes → boot in parallel → wait
//! for readiness → pin host keys → provision and verify → forwarders. Every resource is recorded in the state
//! before it is created; everything is looked up by name first, so a second
//! run (after success, Ctrl-C or `kill -9`) creates only what is missing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::names::{self, POOL};
use super::{LabCtx, preflight};
use crate::backend::{
    Accel, Boot, DiskFormat, DiskSpec, DomainSpec, DomainState, HostEntry, InterfaceSpec,
    NetworkSpec, RunState, accel,
};
use crate::boxes::{self, StoredBox};
use crate::seed::{SeedConfig, write_seed};
use crate::spec::{self, Node};
use crate::ssh::{self, ProbeState, Target};
use crate::state::{NodeState, State};
use crate::ui::nodes::NodeReporter;
use crate::ui::progress::{Reporter, fmt_duration};

/// Environment variable naming the guests' apt proxy (`http://HOST:PORT`,
/// HOST may be `gateway`); overrides the lab file's `proxy:`.
pub const GUEST_PROXY_ENV: &str = "LAB_GUEST_PROXY";

#[derive(Clone)]
pub struct UpOptions {
    /// Nodes to bring up; all when empty.
    pub nodes: Vec<String>,
    /// How long each node may take to become ready.
    pub timeout: Duration,
    /// The readiness probe ([`ssh::probe`]; tests substitute their own).
    pub probe: ssh::Prober,
    /// Provision and verify once every node is ready ([`super::provision::after_up`]).
    pub provision: bool,
    /// The `lab` executable that runs the lab's forwarders
    /// ([`super::forwards::ensure`]); `None` starts none.
    pub forwarder: Option<PathBuf>,
}

impl UpOptions {
    pub fn new(nodes: Vec<String>, timeout: Duration) -> Self {
        UpOptions {
            nodes,
            timeout,
            probe: Arc::new(ssh::probe),
            provision: true,
            forwarder: None,
        }
    }
}

/// One node's line in the final table.
#[derive(Debug, Clone)]
pub struct NodeReport {
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
}

/// Bring the lab (or the selected nodes) up.
pub fn up(ctx: &LabCtx, opts: &UpOptions, reporter: Arc<dyn NodeReporter>) -> Result<UpReport> {
    let lab = &ctx.lab;
    let rep = reporter.as_ref();
    let _lock = ctx.state_dir.lock(&lab.name)?;
    let mut st = ctx.state_dir.load()?;
    if !st.lab.is_empty() && st.lab != lab.name {
        bail!(
            "{} belongs to lab `{}`, not `{}`: run `lab destroy` with the old lab file first",
            ctx.state_dir.path().display(),
            st.lab,
            lab.name
        );
    }
    let selected = ctx.select_nodes(&opts.nodes)?;
    let net_name = names::network(&lab.name);

    if let Some(report) = already_up(ctx, &st, &selected, &net_name)? {
        start_forwards(ctx, &mut st, opts, rep)?;
        return Ok(report);
    }

    let (accel, accel_reason) = pick_accel(lab.accel)?;
    rep.note(&format!("accel: {accel} ({accel_reason})"));

    // Boxes first: a missing box is built (or reused when up to date).
    let store = &ctx.store;
    let mut boxes_by_name = std::collections::BTreeMap::new();
    for box_name in selected.iter().map(|n| n.box_name.clone()).collect::<BTreeSet<_>>() {
        let b = boxes::ensure(store, lab.dir(), &box_name, boxes::Format::Disk, &Notes(rep))?;
        boxes_by_name.insert(box_name, b);
    }

    // Preflight: nothing is created before these pass.
    let networks = ctx.hv.list_networks()?;
    preflight::check_networks(lab.network.subnet, &net_name, &networks)?;
    let bridge = crate::network::bridge_name(&lab.name);
    preflight::check_routes(lab.network.subnet, &bridge, &preflight::host_routes())?;
    let mut to_start = Vec::new();
    let mut was_ready = BTreeSet::new();
    for node in &selected {
        let dom = names::domain(&lab.name, &node.name);
        if ctx.hv.domain_state(&dom)? != Some(DomainState::Running) {
            to_start.push(node.name.clone());
        } else if st.nodes.get(&node.name).is_some_and(|n| n.ready) {
            was_ready.insert(node.name.clone());
        }
    }
    let need_mem: u64 = selected
        .iter()
        .filter(|n| to_start.contains(&n.name))
        .map(|n| n.memory_mib)
        .sum();
    preflight::check_memory(need_mem, to_start.len(), preflight::available_memory_mib())?;
    let mut need_disk: u64 = (to_start.len() as u64) << 30;
    for b in boxes_by_name.values() {
        let in_pool = match ctx.hv.volume_path(POOL, &names::box_volumes(b).0) {
            Ok(p) => p.is_some(),
            // No pool yet: nothing is uploaded.
            Err(e) if e.is_not_found() => false,
            Err(e) => return Err(e.into()),
        };
        if !in_pool {
            need_disk += std::fs::metadata(b.disk()).map(|m| m.len()).unwrap_or(0);
        }
    }
    let pool_dir = names::pool_dir();
    preflight::check_disk(&pool_dir, need_disk, preflight::free_bytes(&pool_dir))?;

    // From here on, record before create.
    ctx.state_dir.create()?;
    st.lab = lab.name.clone();
    st.uri = ctx.uri.clone();
    st.pool = POOL.to_string();
    st.accel = Some(accel.to_string());
    st.accel_reason = Some(accel_reason.clone());
    st.network = Some(net_name.clone());
    ctx.state_dir.save(&st)?;

    let pubkey = ssh::ensure_keypair(&ctx.state_dir.ssh_key(), &format!("lab@{}", lab.name))?;
    ensure_network(ctx, &net_name, &bridge, rep)?;
    ctx.hv.ensure_pool(POOL, &pool_dir)?;
    let mut box_vols = std::collections::BTreeMap::new();
    for (name, b) in &boxes_by_name {
        box_vols.insert(name.clone(), ensure_box_volumes(ctx, b, rep)?);
    }

    let proxy = guest_proxy(lab);
    for node in &selected {
        let b = &boxes_by_name[&node.box_name];
        let vols = &box_vols[&node.box_name];
        define_node(ctx, &mut st, node, b, vols, accel, &pubkey, proxy.as_deref(), rep)?;
    }

    // Boot everything that is not running, then wait for all in parallel.
    for node in &selected {
        let dom = names::domain(&lab.name, &node.name);
        if ctx.hv.domain_state(&dom)? != Some(DomainState::Running) {
            rep.phase(&node.name, "starting");
            ctx.hv.start_domain(&dom)?;
        }
        rep.phase(&node.name, "booting");
    }
    let results = wait_all(ctx, &st, &selected, opts, &reporter)?;

    let mut failures = Vec::new();
    let mut reports = Vec::new();
    for (node, result) in selected.iter().zip(results) {
        let ns = st.nodes.get_mut(&node.name).expect("recorded above");
        match result {
            Ok(w) => {
                ns.ready = true;
                ns.host_key = Some(format!("{} {}", w.key.key_type, w.key.base64));
                if !was_ready.contains(&node.name) {
                    ns.boot_seconds = w.boot;
                    ns.ready_seconds = Some(w.ready);
                }
                reports.push(NodeReport {
                    name: node.name.clone(),
                    ip: node.ip.to_string(),
                    boot_seconds: w.boot,
                    ready_seconds: Some(w.ready),
                    was_up: was_ready.contains(&node.name),
                });
            }
            Err(e) => {
                ns.ready = false;
                failures.push(format!("{e:#}"));
            }
        }
    }
    ctx.state_dir.save(&st)?;
    write_known_hosts(ctx, &st)?;
    if !failures.is_empty() {
        bail!("{}", failures.join("\n\n"));
    }
    if opts.provision {
        super::provision::after_up(ctx, &st, &selected, rep)?;
    }
    start_forwards(ctx, &mut st, opts, rep)?;
    Ok(UpReport {
        accel,
        accel_reason,
        nodes: reports,
        noop: false,
    })
}

/// The last step of a successful `lab up`: the lab's forwarders.
fn start_forwards(ctx: &LabCtx, st: &mut State, opts: &UpOptions, rep: &dyn NodeReporter) -> Result<()> {
    match &opts.forwarder {
        Some(program) => super::forwards::ensure(ctx, st, program, rep),
        None => Ok(()),
    }
}

/// The fast path: network active, every selected node running and ready.
fn already_up(
    ctx: &LabCtx,
    st: &State,
    selected: &[Node],
    net_name: &str,
) -> Result<Option<UpReport>> {
    if st.nodes.is_empty() || ctx.hv.network_state(net_name)? != Some(RunState::Active) {
        return Ok(None);
    }
    let mut reports = Vec::new();
    for node in selected {
        let Some(ns) = st.nodes.get(&node.name) else {
            return Ok(None);
        };
        if !ns.ready || ctx.hv.domain_state(&ns.domain)? != Some(DomainState::Running) {
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
    let accel = match st.accel.as_deref() {
        Some("kvm") => Accel::Kvm,
        _ => Accel::Tcg,
    };
    Ok(Some(UpReport {
        accel,
        accel_reason: st.accel_reason.clone().unwrap_or_default(),
        nodes: reports,
        noop: true,
    }))
}

/// `accel:` of the lab file → the accelerator to use, and why.
pub fn pick_accel(wanted: spec::Accel) -> Result<(Accel, String)> {
    match wanted {
        spec::Accel::Tcg => Ok((Accel::Tcg, "accel: tcg in the lab file".into())),
        spec::Accel::Auto => Ok(accel::detect()),
        spec::Accel::Kvm => {
            let (got, why) = accel::detect();
            if got != Accel::Kvm {
                bail!("the lab file asks for accel: kvm, but KVM is not usable here: {why}; use accel: auto or tcg");
            }
            Ok((got, "accel: kvm in the lab file".into()))
        }
    }
}

/// Forwards box-build phases to the node reporter as lab-wide notes.
pub(crate) struct Notes<'a>(pub(crate) &'a dyn NodeReporter);

impl Reporter for Notes<'_> {
    fn phase(&self, name: &str) {
        self.0.note(&format!("box: {name} ..."));
    }
    fn phase_done(&self, name: &str, elapsed: Duration) {
        self.0.note(&format!("box: {name} done ({})", fmt_duration(elapsed)));
    }
    fn line(&self, text: &str) {
        self.0.note(text);
    }
}

fn ensure_network(ctx: &LabCtx, name: &str, bridge: &str, rep: &dyn NodeReporter) -> Result<()> {
    let lab = &ctx.lab;
    let state = ctx.hv.network_state(name)?;
    if state.is_none() {
        rep.note(&format!("network {name}: defining {} on bridge {bridge}", lab.network.subnet));
        let spec = NetworkSpec {
            name: name.to_string(),
            bridge: bridge.to_string(),
            lab: lab.name.clone(),
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
        };
        ctx.hv.define_network(&spec)?;
    }
    if state != Some(RunState::Active) {
        ctx.hv.start_network(name)?;
    }
    Ok(())
}

/// Pool volumes of a box: (disk, kernel, initrd) paths, uploaded once.
struct BoxVolumes {
    disk: PathBuf,
    kernel: PathBuf,
    initrd: PathBuf,
}

fn ensure_box_volumes(ctx: &LabCtx, b: &StoredBox, rep: &dyn NodeReporter) -> Result<BoxVolumes> {
    let (disk, kernel, initrd) = names::box_volumes(b);
    let get = |vol: &str, src: PathBuf, format: DiskFormat| -> Result<PathBuf> {
        if let Some(p) = ctx.hv.volume_path(POOL, vol)? {
            return Ok(p);
        }
        rep.note(&format!("box {}: copying {} into pool {POOL}", b.meta.name, src.display()));
        Ok(ctx.hv.upload_volume(POOL, vol, &src, format)?)
    };
    Ok(BoxVolumes {
        kernel: get(&kernel, b.kernel(), DiskFormat::Raw)?,
        initrd: get(&initrd, b.initrd(), DiskFormat::Raw)?,
        // Last: its presence means the box is fully in the pool.
        disk: get(&disk, b.disk(), DiskFormat::Qcow2)?,
    })
}

#[allow(clippy::too_many_arguments)]
fn define_node(
    ctx: &LabCtx,
    st: &mut State,
    node: &Node,
    b: &StoredBox,
    vols: &BoxVolumes,
    accel: Accel,
    pubkey: &str,
    proxy: Option<&str>,
    rep: &dyn NodeReporter,
) -> Result<()> {
    let lab = &ctx.lab;
    let dom = names::domain(&lab.name, &node.name);
    let overlay = names::overlay_volume(&lab.name, &node.name);
    let seed = names::seed_volume(&lab.name, &node.name);
    let mac = crate::network::mac_for(&lab.name, &node.name);
    if node.disk_gib < b.meta.disk_gib {
        bail!(
            "node {}: disk {} GiB is smaller than box {}'s {} GiB; set `disk: {}` or more",
            node.name, node.disk_gib, b.meta.name, b.meta.disk_gib, b.meta.disk_gib
        );
    }
    let entry = st.nodes.entry(node.name.clone()).or_default();
    *entry = NodeState {
        domain: dom.clone(),
        ip: node.ip.to_string(),
        mac: mac.clone(),
        user: b.meta.user.clone(),
        box_name: b.meta.name.clone(),
        volumes: vec![overlay.clone(), seed.clone()],
        ready: entry.ready,
        host_key: entry.host_key.clone(),
        boot_seconds: entry.boot_seconds,
        ready_seconds: entry.ready_seconds,
    };
    ctx.state_dir.save(st)?;

    let overlay_path = match ctx.hv.volume_path(POOL, &overlay)? {
        Some(p) => p,
        None => {
            rep.phase(&node.name, "creating disk");
            ctx.hv.create_overlay(POOL, &overlay, &vols.disk, node.disk_gib)?
        }
    };
    let seed_path = match ctx.hv.volume_path(POOL, &seed)? {
        Some(p) => p,
        None => {
            rep.phase(&node.name, "writing seed");
            let local = ctx.state_dir.seed_path(&node.name);
            write_seed(
                &local,
                &SeedConfig {
                    instance_id: format!("{dom}-{}", boxes::build::now_unix()),
                    hostname: node.name.clone(),
                    domain: lab.network.domain.clone(),
                    user: b.meta.user.clone(),
                    authorized_keys: vec![pubkey.to_string()],
                    apt_proxy: proxy.map(str::to_string),
                },
            )?;
            ctx.hv.upload_volume(POOL, &seed, &local, DiskFormat::Raw)?
        }
    };
    if ctx.hv.domain_state(&dom)?.is_none() {
        rep.phase(&node.name, "defining");
        ctx.hv.define_domain(&DomainSpec {
            name: dom.clone(),
            lab: lab.name.clone(),
            node: node.name.clone(),
            memory_mib: node.memory_mib,
            vcpus: node.cpus,
            accel,
            boot: Boot::Kernel {
                kernel: vols.kernel.clone(),
                initrd: Some(vols.initrd.clone()),
                cmdline: b.meta.cmdline.clone(),
            },
            disks: vec![
                DiskSpec { path: overlay_path, format: DiskFormat::Qcow2, target: "vda".into(), readonly: false },
                DiskSpec { path: seed_path, format: DiskFormat::Raw, target: "vdb".into(), readonly: true },
            ],
            interfaces: vec![InterfaceSpec { network: names::network(&lab.name), mac }],
            console_log: ctx.state_dir.console_log(&node.name),
        })?;
    }
    Ok(())
}

/// The guests' apt proxy URL: `$LAB_GUEST_PROXY`, else the lab file's.
pub fn guest_proxy(lab: &spec::Lab) -> Option<String> {
    let gw = lab.network.gateway.to_string();
    match std::env::var(GUEST_PROXY_ENV) {
        Ok(v) if !v.trim().is_empty() => Some(v.trim().replace("//gateway:", &format!("//{gw}:"))),
        _ => lab.proxy.as_ref().map(|p| p.url_for(lab.network.gateway)),
    }
}

/// What waiting for one node found.
struct Waited {
    key: ssh::HostKey,
    boot: Option<f64>,
    ready: f64,
}

fn wait_all(
    ctx: &LabCtx,
    st: &State,
    selected: &[Node],
    opts: &UpOptions,
    rep: &Arc<dyn NodeReporter>,
) -> Result<Vec<Result<Waited>>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let mut tasks = Vec::new();
        for node in selected {
            let ns = &st.nodes[&node.name];
            let target = Target {
                ip: node.ip.into(),
                port: 22,
                user: ns.user.clone(),
                key: ctx.state_dir.ssh_key(),
            };
            let name = node.name.clone();
            let timeout = opts.timeout;
            let console = ctx.state_dir.console_log(&node.name);
            let rep = Arc::clone(rep);
            let probe = Arc::clone(&opts.probe);
            tasks.push(tokio::task::spawn_blocking(move || {
                wait_node(&name, &target, timeout, probe.as_ref(), &console, rep.as_ref())
            }));
        }
        tokio::select! {
            res = join_all(tasks) => Ok(res),
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!(
                "interrupted while waiting for the VMs; they keep booting. Run `lab up` again to resume, or `lab destroy` to remove the lab"
            )),
        }
    });
    // Probes still running after Ctrl-C must not hold up the exit.
    runtime.shutdown_background();
    result
}

async fn join_all(tasks: Vec<tokio::task::JoinHandle<Result<Waited>>>) -> Vec<Result<Waited>> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap_or_else(|e| Err(anyhow::anyhow!("waiting task failed: {e}"))));
    }
    out
}

fn wait_node(
    name: &str,
    target: &Target,
    timeout: Duration,
    probe: &(dyn Fn(&Target, Duration, ssh::Progress<'_>) -> ProbeState + Send + Sync),
    console: &std::path::Path,
    rep: &dyn NodeReporter,
) -> Result<Waited> {
    let start = Instant::now();
    let mut boot = None;
    let result = ssh::wait_ready(target, start + timeout, probe, |state| {
        let phase = match state {
            ProbeState::NoConnection(_) => "booting (SSH not answering yet)",
            ProbeState::AuthRefused => "SSH up, waiting for cloud-init to install the key",
            ProbeState::CloudInitRunning => "logged in, waiting for cloud-init to finish",
            ProbeState::Ready(_) => "ready",
        };
        if boot.is_none() && !matches!(state, ProbeState::NoConnection(_)) {
            boot = Some(start.elapsed().as_secs_f64());
        }
        rep.phase(name, phase);
    });
    match result {
        Ok(key) => {
            let ready = start.elapsed().as_secs_f64();
            rep.done(name, &format!("ready in {}", fmt_duration(start.elapsed())));
            Ok(Waited { key, boot, ready })
        }
        Err(last) => {
            let why = match last {
                ProbeState::NoConnection(e) => format!("SSH never answered ({e})"),
                ProbeState::AuthRefused => "SSH refused the lab key (cloud-init did not install it)".into(),
                ProbeState::CloudInitRunning => "cloud-init did not finish".into(),
                ProbeState::Ready(_) => unreachable!("ready is success"),
            };
            rep.failed(name, &why);
            bail!(
                "node {name} did not become ready within {}: {why}\nlast console lines:\n{}\nconsole log: {} (also: lab console {name})",
                fmt_duration(timeout),
                console_tail(console, 15),
                console.display()
            )
        }
    }
}

/// The last `n` lines of a console log, control sequences removed, each
/// cut at 300 characters; only the log's last
/// [`crate::limits::LOG_TAIL_BYTES`] are read (a console log grows
/// without bound while the VM runs).
pub fn console_tail(path: &std::path::Path, n: usize) -> String {
    let bytes = crate::limits::read_tail(path, crate::limits::LOG_TAIL_BYTES).unwrap_or_default();
    let text = strip_control(&String::from_utf8_lossy(&bytes));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..]
        .iter()
        .map(|l| match l.char_indices().nth(300) {
            Some((cut, _)) => format!("  | {}...", &l[..cut]),
            None => format!("  | {l}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Remove ANSI escape sequences and carriage returns.
pub fn strip_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Rewrite the per-lab known_hosts from the pinned keys in the state.
pub fn write_known_hosts(ctx: &LabCtx, st: &State) -> Result<()> {
    let mut text = String::new();
    for (name, ns) in &st.nodes {
        let Some(key) = &ns.host_key else { continue };
        let mut names = vec![ns.ip.clone(), name.clone()];
        if let Some(d) = &ctx.lab.network.domain {
            names.push(format!("{name}.{d}"));
        }
        text.push_str(&format!("{} {key}\n", names.join(",")));
    }
    crate::state::write_atomic(&ctx.state_dir.known_hosts(), text.as_bytes(), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_stripped() {
        assert_eq!(strip_control("\u{1b}[0;32m  OK  \u{1b}[0m] Reached\r"), "  OK  ] Reached");
    }

    #[test]
    fn console_tail_keeps_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.log");
        std::fs::write(&p, "a\nb\n\nc\nd\n").unwrap();
        assert_eq!(console_tail(&p, 2), "  | c\n  | d");
        assert_eq!(console_tail(&dir.path().join("missing"), 3), "");
        // Only the end is read, and long lines are cut.
        let long = "y".repeat(1000);
        std::fs::write(&p, format!("{}\n{long}\nlast\n", "x".repeat(10 << 20))).unwrap();
        assert_eq!(console_tail(&p, 3), format!("  | {}...\n  | last", &long[..300]));
    }
}
