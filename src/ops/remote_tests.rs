//! `lab up` of a lab whose host is another machine, on the fake
//! hypervisor: every readiness probe goes through the host's sshd, the
//! state records that route for the commands after it, and the console
//! log stays on the host.

use std::sync::{Arc, Mutex};

use super::tests::{fixture, rep};
use super::{names, up};
use crate::ssh::{HostKey, Jump, ProbeState};

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
    let f = fixture(&big);
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
