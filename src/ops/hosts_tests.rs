//! `lab up` and `lab destroy` of a lab over two hosts, each a fake
//! hypervisor with a fake `ip` ([`overlay::fake::FakeHostNet`]): which
//! host is the primary, DHCP and DNS only there, the VXLAN devices, the
//! box copied once per host, preflight naming every failing host before
//! anything is made, and a destroy that one unreachable host interrupts
//! and a later one finishes.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

use super::overlay::fake::FakeHostNet;
use super::tests::{lab_in, ready_probe, rep};
use super::{HostCtx, LabCtx, destroy, names, up};
use crate::backend::fake::FakeHypervisor;
use crate::backend::{BackendError, Hypervisor, Unreachable};
use crate::network::vxlan;
use crate::ui::nodes::Silent;

const HOSTS: &str =
    "hosts:\n  a: {uri: 'qemu:///system'}\n  b: {uri: 'qemu+ssh://root@lab-host-b/system'}\n";

/// node1 on `first`, node2 on the other host.
fn lab_src(first: &str) -> String {
    let second = if first == "a" { "b" } else { "a" };
    format!(
        "name: split\nbox: testbox\n{HOSTS}network:\n  subnet: 10.88.9.0/24\n  domain: split.lab\nnodes:\n  node1: {{ip: 10.88.9.21, host: {first}}}\n  node2: {{ip: 10.88.9.22, host: {second}}}\n"
    )
}

/// One fake host.
struct Fake {
    hv: Arc<FakeHypervisor>,
    net: Arc<FakeHostNet>,
}

struct Two {
    _tmp: tempfile::TempDir,
    a: Fake,
    b: Fake,
    ctx: LabCtx,
}

const A: Ipv4Addr = Ipv4Addr::new(10, 254, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 254, 0, 2);

fn fakes() -> (Fake, Fake) {
    // Host a is this machine: its address is its route's source; b's
    // ssh name resolves on a.
    let a = Fake {
        hv: Arc::new(FakeHypervisor::new()),
        net: Arc::new(FakeHostNet::new(Some(A))),
    };
    a.net.add_name("lab-host-b", B);
    let b = Fake {
        hv: Arc::new(FakeHypervisor::new()),
        net: Arc::new(FakeHostNet::new(Some(B))),
    };
    b.net.add_file(
        "/proc/meminfo",
        "MemTotal: 67108864 kB\nMemAvailable: 33554432 kB\n",
    );
    b.net.add_file("/proc/net/route", ROUTES);
    (a, b)
}

/// Host b's routes: the default and its link.
const ROUTES: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
    lablink0\t00000000\t0100FE0A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
    lablink0\t0000FE0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

/// The lab in `root` on hosts `a` and `b` (`b_hv` standing for b's libvirt).
fn ctx_on(root: &Path, src: &str, a: &Fake, b: &Fake, b_hv: Arc<dyn Hypervisor>) -> LabCtx {
    let single = lab_in(root, "lab", src, &a.hv);
    let lab = single.lab.clone();
    let hosts = lab
        .used_hosts()
        .into_iter()
        .map(|h| match h.name.as_str() {
            "a" => HostCtx::new(h, a.hv.clone(), a.net.clone()),
            _ => HostCtx::new(h, b_hv.clone(), b.net.clone()),
        })
        .collect();
    let mut ctx = LabCtx::with_hosts(lab, hosts, crate::boxes::Store::new(root.join("boxes")));
    ctx.clocks = single.clocks.clone();
    // No SSH to guests that do not exist: the MTU is "set" on paper, in
    // a file the tests read.
    let log = root.join("mtu.log");
    ctx.guest_mtu = Arc::new(move |_st, _sd, nodes, mtu| {
        let line = format!("{} {mtu}\n", nodes.join(","));
        let old = std::fs::read_to_string(&log).unwrap_or_default();
        std::fs::write(&log, old + &line).unwrap();
        Vec::new()
    });
    ctx
}

fn two(first: &str) -> Two {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = fakes();
    let ctx = ctx_on(tmp.path(), &lab_src(first), &a, &b, b.hv.clone());
    Two {
        _tmp: tmp,
        a,
        b,
        ctx,
    }
}

fn uploads(hv: &FakeHypervisor) -> Vec<String> {
    hv.calls()
        .into_iter()
        .filter(|c| c.starts_with("upload_volume") && !c.contains(".seed."))
        .collect()
}

#[test]
fn up_puts_each_node_on_its_host_and_joins_the_bridges() {
    let t = two("a");
    up::up(&t.ctx, &ready_probe(), rep()).unwrap();
    let (d1, d2) = (
        names::domain("split", "node1"),
        names::domain("split", "node2"),
    );
    assert!(t.a.hv.domain_spec(&d1).is_some() && t.a.hv.domain_spec(&d2).is_none());
    assert!(t.b.hv.domain_spec(&d2).is_some() && t.b.hv.domain_spec(&d1).is_none());

    // DHCP, DNS and NAT on the primary only; the overlay's MTU on both.
    let net_a = t.a.hv.network_spec("lab-split").unwrap();
    let net_b = t.b.hv.network_spec("lab-split").unwrap();
    assert!(!net_a.bridge_only && net_a.hosts.len() == 2, "{net_a:?}");
    assert!(net_b.bridge_only, "{net_b:?}");
    assert_eq!((net_a.mtu, net_b.mtu), (Some(1450), Some(1450)));
    assert_eq!(net_a.bridge, net_b.bridge);

    // One VXLAN device per host, to the other's address, on the bridge.
    let vni = vxlan::vni_for("split");
    let dev = vxlan::device_name(vni);
    let on_a = &t.a.net.links()[&dev];
    let on_b = &t.b.net.links()[&dev];
    assert_eq!(
        (on_a.vni, on_a.local, on_a.peers.as_slice()),
        (vni, A, &[B][..])
    );
    assert_eq!(
        (on_b.vni, on_b.local, on_b.peers.as_slice()),
        (vni, B, &[A][..])
    );
    assert_eq!(on_a.bridge, net_a.bridge);
    assert_eq!(on_b.mtu, 1450);

    // The box is in each host's pool; guests are reached from here
    // (the primary is this machine); node2's console stays on b.
    assert_eq!(uploads(&t.a.hv).len(), 3, "disk, kernel, initrd on a");
    assert_eq!(uploads(&t.b.hv).len(), 3, "and on b");
    let st = t.ctx.state_dir.load().unwrap();
    assert_eq!(st.vni, Some(vni));
    assert!(st.hosts["a"].primary && !st.hosts["b"].primary);
    assert_eq!(st.hosts["b"].vxlan.as_deref(), Some(dev.as_str()));
    assert_eq!(st.hosts["b"].ssh.as_deref(), Some("root@lab-host-b"));
    assert_eq!(st.nodes["node2"].host.as_deref(), Some("b"));
    assert_eq!(st.jump(), None);
    assert_eq!(
        st.nodes["node2"].host_ssh.as_deref(),
        Some("root@lab-host-b")
    );
    let console = t.b.hv.domain_spec(&d2).unwrap().console_log;
    assert_eq!(
        console,
        Path::new("/var/log/libvirt/qemu/split.node2-console.log")
    );
    let console = t.a.hv.domain_spec(&d1).unwrap().console_log;
    assert!(console.starts_with(t.ctx.state_dir.path()), "{console:?}");

    // The guests got the overlay's MTU.
    let mtu = std::fs::read_to_string(t._tmp.path().join("mtu.log")).unwrap();
    assert_eq!(mtu, "node1,node2 1450\n");

    // A second run is a no-op.
    assert!(up::up(&t.ctx, &ready_probe(), rep()).unwrap().noop);
}

#[test]
fn the_first_nodes_host_is_primary_and_every_guest_is_reached_through_it() {
    let t = two("b");
    up::up(&t.ctx, &ready_probe(), rep()).unwrap();
    assert!(!t.b.hv.network_spec("lab-split").unwrap().bridge_only);
    assert!(t.a.hv.network_spec("lab-split").unwrap().bridge_only);
    let st = t.ctx.state_dir.load().unwrap();
    assert!(st.hosts["b"].primary);
    for n in ["node1", "node2"] {
        assert_eq!(st.nodes[n].jump.as_deref(), Some("root@lab-host-b"), "{n}");
    }
    // node2 is on this machine: its console log is here.
    assert_eq!(st.nodes["node2"].host_ssh, None);
}

#[test]
fn preflight_names_every_failing_host_before_anything_is_made() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = fakes();
    let why = BackendError::Unreachable {
        uri: "qemu+ssh://root@lab-host-b/system".into(),
        message: "Cannot recv data: ssh: connect to host lab-host-b port 22: No route to host"
            .into(),
    };
    b.net.set_down(true);
    a.net.add_foreign("vxtaken", vxlan::vni_for("split"));
    let ctx = ctx_on(
        tmp.path(),
        &lab_src("a"),
        &a,
        &b,
        Arc::new(Unreachable::new("b", &why)),
    );
    let err = format!("{:#}", up::up(&ctx, &ready_probe(), rep()).unwrap_err());
    insta::assert_snapshot!(err);
    let made: Vec<String> =
        a.hv.calls()
            .into_iter()
            .filter(|c| !c.starts_with("list") && !c.starts_with("network_state"))
            .collect();
    assert!(made.is_empty(), "{made:?}");
    assert!(!ctx.state_dir.path().exists());
}

#[test]
fn another_machines_memory_and_the_remote_primarys_routes_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = fakes();
    // 512 MiB free on b; a route there on the lab's subnet.
    b.net.add_file("/proc/meminfo", "MemAvailable: 524288 kB\n");
    let taken = "eth1\t0009580A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    b.net
        .add_file("/proc/net/route", &format!("{ROUTES}{taken}"));
    let src = lab_src("b").replace("ip: 10.88.9.21", "ip: 10.88.9.21, memory: 2048");
    let ctx = ctx_on(tmp.path(), &src, &a, &b, b.hv.clone());
    let err = format!("{:#}", up::up(&ctx, &ready_probe(), rep()).unwrap_err());
    assert!(err.contains("2 problems"), "{err}");
    assert!(
        err.contains("host b: not enough free memory: starting 1 VM(s) needs 2048 MiB but only 512 MiB is available"),
        "{err}"
    );
    assert!(
        err.contains(
            "host b: subnet 10.88.9.0/24 collides with the host route 10.88.9.0/24 on eth1"
        ),
        "{err}"
    );
}

#[test]
fn a_route_on_the_lab_subnet_is_refused_on_the_primary_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = fakes();
    // node1 on a (the primary, this machine), node2 on b, where a network
    // of the lab's addresses is routed: b's bridge has no address and its
    // guests leave the lab through a, so that route is no one's concern.
    let taken = "eth1\t0009580A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    b.net
        .add_file("/proc/net/route", &format!("{ROUTES}{taken}"));
    let ctx = ctx_on(tmp.path(), &lab_src("a"), &a, &b, b.hv.clone());
    up::up(&ctx, &ready_probe(), rep()).unwrap();
    assert_eq!(b.hv.list_lab_domains("split").unwrap().len(), 1);
    destroy::destroy(&ctx, &Silent).unwrap();

    // b the primary: refused (another_machines_memory_and_the_remote_primarys_routes_are_checked).
    let ctx = ctx_on(tmp.path(), &lab_src("b"), &a, &b, b.hv.clone());
    let err = format!("{:#}", up::up(&ctx, &ready_probe(), rep()).unwrap_err());
    assert!(err.contains("1 problem on"), "{err}");
    assert!(
        err.contains(
            "host b: subnet 10.88.9.0/24 collides with the host route 10.88.9.0/24 on eth1"
        ),
        "{err}"
    );
}

#[test]
fn a_host_whose_ssh_fails_is_named_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = fakes();
    b.net.set_down(true);
    let ctx = ctx_on(tmp.path(), &lab_src("a"), &a, &b, b.hv.clone());
    let err = format!("{:#}", up::up(&ctx, &ready_probe(), rep()).unwrap_err());
    assert!(err.contains("1 problem on"), "{err}");
    assert!(
        err.contains("host b: cannot list its VXLAN devices with `ip`: ssh: connect to host: No route to host"),
        "{err}"
    );
    assert!(!ctx.state_dir.path().exists());
}

#[test]
fn a_tunnel_address_inside_the_lab_subnet_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = fakes();
    // b's ssh name resolves, on a, into the lab's own subnet.
    a.net.add_name("lab-host-b", Ipv4Addr::new(10, 88, 9, 200));
    let ctx = ctx_on(tmp.path(), &lab_src("a"), &a, &b, b.hv.clone());
    let err = format!("{:#}", up::up(&ctx, &ready_probe(), rep()).unwrap_err());
    assert!(
        err.contains(
            "host b: its tunnel address 10.88.9.200 is inside the lab's subnet 10.88.9.0/24"
        ),
        "{err}"
    );
    let made: Vec<String> =
        a.hv.calls()
            .into_iter()
            .filter(|c| {
                !["list", "network_state", "domain_maker", "domain_state"]
                    .iter()
                    .any(|read| c.starts_with(read))
            })
            .collect();
    assert!(made.is_empty(), "{made:?}");
}

#[test]
fn destroy_removes_everything_on_every_host_and_a_second_up_uploads_nothing() {
    let t = two("a");
    let first = up::up(&t.ctx, &ready_probe(), rep()).unwrap();
    assert_eq!(first.uploads.len(), 6, "{:?}", first.uploads);
    assert!(
        first
            .uploads
            .iter()
            .any(|u| u.ends_with(".qcow2 on host b")),
        "{:?}",
        first.uploads
    );
    let report = destroy::destroy(&t.ctx, &Silent).unwrap();
    assert_eq!(report.domains.len(), 2, "{report:?}");
    assert_eq!(report.vxlan.len(), 2, "{report:?}");
    for f in [&t.a, &t.b] {
        assert!(f.hv.list_lab_domains("split").unwrap().is_empty());
        assert_eq!(f.hv.network_state("lab-split").unwrap(), None);
        assert!(f.net.links().is_empty());
        let vols = f.hv.list_volumes(names::POOL).unwrap();
        assert!(vols.iter().all(|v| !v.starts_with("split.")), "{vols:?}");
    }
    assert!(!t.ctx.state_dir.path().exists());

    let before = (uploads(&t.a.hv).len(), uploads(&t.b.hv).len());
    let again = up::up(&t.ctx, &ready_probe(), rep()).unwrap();
    assert_eq!((uploads(&t.a.hv).len(), uploads(&t.b.hv).len()), before);
    assert_eq!(again.uploads, Vec::<String>::new());
}

#[test]
fn destroy_with_a_host_down_says_what_is_left_and_a_later_one_finishes() {
    let t = two("a");
    up::up(&t.ctx, &ready_probe(), rep()).unwrap();
    let why = BackendError::Unreachable {
        uri: "qemu+ssh://root@lab-host-b/system".into(),
        message: "Cannot recv data: ssh: connect to host lab-host-b port 22: No route to host"
            .into(),
    };
    t.b.net.set_down(true);
    let down = ctx_on(
        t._tmp.path(),
        &lab_src("a"),
        &t.a,
        &t.b,
        Arc::new(Unreachable::new("b", &why)),
    );
    let instance = down.state_dir.load().unwrap().instance;
    let err = format!("{:#}", destroy::destroy(&down, &Silent).unwrap_err());
    insta::assert_snapshot!(
        err.replace(&vxlan::device_name(vxlan::vni_for("split")), "DEV")
            .replace(&instance, "ID")
    );
    // Host a is clear; b's node and the host stay in the state.
    assert!(t.a.hv.list_lab_domains("split").unwrap().is_empty());
    assert!(t.a.net.links().is_empty());
    let st = down.state_dir.load().unwrap();
    assert_eq!(st.nodes.keys().collect::<Vec<_>>(), ["node2"]);
    assert_eq!(st.hosts.keys().collect::<Vec<_>>(), ["b"]);

    t.b.net.set_down(false);
    destroy::destroy(&t.ctx, &Silent).unwrap();
    assert!(t.b.hv.list_lab_domains("split").unwrap().is_empty());
    assert_eq!(t.b.hv.network_state("lab-split").unwrap(), None);
    assert!(t.b.net.links().is_empty());
    assert!(!t.ctx.state_dir.path().exists());
}

#[test]
fn another_machines_pool_without_room_for_its_part_is_refused_before_any_vm() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = fakes();
    // 100 MiB free in b's pool: node2's overlay (about 1 GiB) and the box.
    b.hv.set_pool_free(100 << 20);
    let ctx = ctx_on(tmp.path(), &lab_src("a"), &a, &b, b.hv.clone());
    let err = format!("{:#}", up::up(&ctx, &ready_probe(), rep()).unwrap_err());
    assert!(
        err.contains(
            "host b: not enough free disk in /var/lib/libvirt/images/lab: the lab needs about"
        ),
        "{err}"
    );
    assert!(err.contains("100 MiB is free"), "{err}");
    assert!(
        err.contains("only the shared storage pool `lab` was made"),
        "{err}"
    );
    for f in [&a, &b] {
        assert!(f.hv.list_lab_domains("split").unwrap().is_empty());
        assert!(f.net.links().is_empty());
    }
    assert_eq!(uploads(&b.hv).len(), 0);
    // Room enough: up goes ahead.
    b.hv.set_pool_free(1 << 40);
    up::up(&ctx, &ready_probe(), rep()).unwrap();
}
