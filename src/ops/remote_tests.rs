//! `lab up` of a lab whose host is another machine, on the fake
//! hypervisor: every readiness probe goes through the host's sshd, the
//! state records that route for the commands after it, and the console
//! log stays on the host.

use std::sync::{Arc, Mutex};

use super::tests::{fixture, rep};
use super::{names, up};
use crate::backend::Hypervisor;
use crate::ssh::{HostKey, Jump, ProbeState};

const URI: &str = "qemu+ssh://root@lab-host-b/system";
const LAB: &str = "name: far\nbox: testbox\nhosts:\n  b: {uri: 'qemu+ssh://root@lab-host-b/system'}\nnetwork:\n  subnet: 10.88.7.0/24\nnodes:\n  node1:\n    ip: 10.88.7.21\n";

#[test]
fn up_reaches_and_records_the_guests_through_their_host() {
    let f = fixture(LAB);
    let seen: Arc<Mutex<Vec<Option<Jump>>>> = Arc::default();
    let mut opts = up::UpOptions::new(vec![], Some(std::time::Duration::from_secs(5)));
    let probes = Arc::clone(&seen);
    opts.probe = Arc::new(move |t, _rem, _progress| {
        probes.lock().unwrap().push(t.jump.clone());
        ProbeState::Ready(HostKey {
            key_type: "ssh-ed25519".into(),
            base64: "AAAA".into(),
        })
    });
    up::up(&f.ctx, &opts, rep()).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, [Some(Jump::new("root@lab-host-b"))]);
    let st = f.ctx.state_dir.load().unwrap();
    assert_eq!(st.nodes["node1"].jump.as_deref(), Some("root@lab-host-b"));
    assert_eq!(st.jump(), Some("root@lab-host-b"));
    let spec = f.fake.domain_spec(&names::domain("far", "node1")).unwrap();
    assert_eq!(
        spec.console_log,
        std::path::PathBuf::from("/var/log/libvirt/qemu/far.node1-console.log")
    );
}

#[test]
fn this_machines_memory_does_not_limit_a_lab_on_another_host() {
    // 64 GiB: more than this machine has free, which says nothing of
    // lab-host-b.
    let big = LAB.replace(
        "    ip: 10.88.7.21\n",
        "    ip: 10.88.7.21\n    memory: 65536\n",
    );
    let mut f = fixture(&big);
    f.ctx.uri = URI.into();
    up::up(&f.ctx, &super::tests::ready_probe(), rep()).unwrap();
}

#[test]
fn a_node_that_never_gets_ready_names_its_console_log_on_the_host() {
    let f = fixture(LAB);
    let mut opts = up::UpOptions::new(vec![], Some(std::time::Duration::from_millis(300)));
    opts.probe = Arc::new(|_, _, _| ProbeState::NoConnection("connection refused".into()));
    let err = format!("{:#}", up::up(&f.ctx, &opts, rep()).unwrap_err());
    assert!(
        err.contains(
            "console log: /var/log/libvirt/qemu/far.node1-console.log (also: lab console node1)"
        ),
        "{err}"
    );
}

#[test]
fn the_hosts_own_memory_and_routes_are_read_over_ssh_before_anything_is_made() {
    use super::overlay::fake::FakeHostNet;
    let mut f = fixture(LAB);
    f.ctx.uri = URI.into();
    let net = Arc::new(FakeHostNet::new(None));
    // 512 MiB free there, and a route of its own on the lab's subnet.
    net.add_file(
        "/proc/meminfo",
        "MemTotal: 4194304 kB\nMemAvailable: 524288 kB\n",
    );
    net.add_file(
        "/proc/net/route",
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n\
         eth1\t0007580A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
    );
    f.ctx.remote = Some(net.clone());
    let err = format!(
        "{:#}",
        up::up(&f.ctx, &super::tests::ready_probe(), rep()).unwrap_err()
    );
    assert!(
        err.contains("host b: not enough free memory: starting 1 VM(s) needs 1024 MiB but only 512 MiB is available"),
        "{err}"
    );
    assert!(
        err.contains(
            "host b: subnet 10.88.7.0/24 collides with the host route 10.88.7.0/24 on eth1"
        ),
        "{err}"
    );
    assert!(f.fake.list_lab_domains("far").unwrap().is_empty());
    assert!(!f.ctx.state_dir.path().exists());

    // Room there, the route gone: up goes ahead.
    net.add_file("/proc/meminfo", "MemAvailable: 8388608 kB\n");
    net.add_file("/proc/net/route", "Iface\tDestination\n");
    up::up(&f.ctx, &super::tests::ready_probe(), rep()).unwrap();
    assert_eq!(f.fake.list_lab_domains("far").unwrap().len(), 1);

    // A host whose files cannot be read over SSH is named.
    let mut f2 = fixture(LAB);
    f2.ctx.uri = URI.into();
    let down = Arc::new(FakeHostNet::new(None));
    down.set_down(true);
    f2.ctx.remote = Some(down);
    let err = format!(
        "{:#}",
        up::up(&f2.ctx, &super::tests::ready_probe(), rep()).unwrap_err()
    );
    assert!(
        err.contains("host b: cannot read /proc/meminfo and /proc/net/route there: ssh: connect to host: No route to host"),
        "{err}"
    );
}

#[test]
fn a_local_uri_in_place_of_the_hosts_runs_the_lab_here_and_checks_this_machine() {
    // What LAB_LIBVIRT_URI=test:///default does to this lab: its VMs run
    // here, so this machine's memory counts (and no ssh is needed):
    // 4 x 64 GiB is more than it has.
    let nodes: String = (1..=4)
        .map(|i| format!("  node{i}:\n    ip: 10.88.7.2{i}\n    memory: 65536\n"))
        .collect();
    let big = LAB.replace("  node1:\n    ip: 10.88.7.21\n", &nodes);
    assert!(big.contains("node4"), "{big}");
    let f = fixture(&big);
    let err = format!(
        "{:#}",
        up::up(&f.ctx, &super::tests::ready_probe(), rep()).unwrap_err()
    );
    assert!(err.contains("not enough free memory"), "{err}");
}

#[test]
fn the_hosts_pool_without_room_is_refused_as_libvirt_tells_it() {
    let mut f = fixture(LAB);
    f.ctx.uri = URI.into();
    f.fake.set_pool_free(10 << 20);
    let err = format!(
        "{:#}",
        up::up(&f.ctx, &super::tests::ready_probe(), rep()).unwrap_err()
    );
    assert!(
        err.contains("host b: not enough free disk in /var/lib/libvirt/images/lab"),
        "{err}"
    );
    assert!(f.fake.list_lab_domains("far").unwrap().is_empty());
}
