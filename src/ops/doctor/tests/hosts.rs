//! `host-NAME`: the check of each host of a lab over several hosts (and
//! of a lab's only host when it is another machine), from made-up
//! answers; and the lab's own memory, disk and subnet checks, which then
//! count this machine's part only.

use super::super::Status;
use super::super::hosts::{HostFacts, verdict};
use super::lab::plan_ctx;
use super::{facts, is, net, no_answer, unreachable};
use crate::backend::Maker;
use crate::backend::libvirt::Facts;
use crate::backend::{BackendError, LabTag};
use crate::ops::preflight::Route;
use crate::ops::tests::fixture;
use crate::state::State;

const URI: &str = "qemu+ssh://root@lab-host-b/system";

/// node1 on a (this machine, the primary), node2 on b; `first` swaps.
fn split(first: &str) -> String {
    let second = if first == "a" { "b" } else { "a" };
    format!(
        "name: split\nbox: testbox\nhosts:\n  a: {{uri: 'qemu:///system'}}\n  b: {{uri: '{URI}'}}\nnetwork:\n  subnet: 10.88.9.0/24\nnodes:\n  node1: {{ip: 10.88.9.21, host: {first}, memory: 1024}}\n  node2: {{ip: 10.88.9.22, host: {second}, memory: 2048}}\n"
    )
}

/// What host b answered: `libvirt` (for a host that is not the primary)
/// and what ssh read there.
fn b(
    primary: bool,
    libvirt: Option<Result<Facts, BackendError>>,
    read: Result<(Option<u64>, Vec<Route>), String>,
) -> HostFacts {
    HostFacts {
        name: "b".into(),
        uri: URI.into(),
        primary,
        libvirt,
        machine: Some(("root@lab-host-b".into(), read)),
    }
}

fn route(dev: &str, net: &str) -> Route {
    Route {
        dev: dev.into(),
        net: net.parse().unwrap(),
    }
}

#[test]
fn a_host_that_answers_with_qemu_room_and_a_free_subnet_passes() {
    let f = fixture(&split("a"));
    let plan = plan_ctx(&f.ctx, true);
    let st = State::default();
    let mut facts = facts("QEMU");
    // Another subnet, and the lab's own network there (missing: fine).
    facts.networks = vec![net("default", "192.168.122.0/24")];
    // A route on the lab's subnet on b is no concern: b is not the primary.
    let read = Ok((Some(4096), vec![route("eth1", "10.88.9.0/24")]));
    let c = verdict(
        &b(false, Some(Ok(facts)), read),
        &f.ctx.lab,
        &st,
        Some(&plan.survey.nodes),
    );
    assert_eq!(c.name, "host-b");
    is(
        &c,
        Status::Pass,
        "b (qemu+ssh://root@lab-host-b/system): libvirt 9.0.0, QEMU 7.2.0, no other network on 10.88.9.0/24; ssh root@lab-host-b logs in; 1 VM(s) to start need 2048 MiB, 4096 MiB available",
        "",
    );
}

#[test]
fn libvirt_that_cannot_be_reached_or_does_not_answer_fails_with_a_fix_for_its_transport() {
    let f = fixture(&split("a"));
    let st = State::default();
    for (err, said) in [
        (
            unreachable(),
            "b (qemu+ssh://root@lab-host-b/system): Failed to connect socket",
        ),
        (no_answer(), "libvirt did not answer within 5 s"),
    ] {
        let c = verdict(
            &b(false, Some(Err(err)), Ok((None, vec![]))),
            &f.ctx.lab,
            &st,
            None,
        );
        is(
            &c,
            Status::Fail,
            said,
            "`virsh -c 'qemu+ssh://root@lab-host-b/system' list` must work from this machine: libvirtd running on host b, and this user's ssh logging in there without a prompt",
        );
    }
    let mut tls = b(false, Some(Err(unreachable())), Ok((None, vec![])));
    tls.uri = "qemu://lab-host-b/system".into();
    let c = verdict(&tls, &f.ctx.lab, &st, None);
    is(
        &c,
        Status::Fail,
        "b (qemu://lab-host-b/system)",
        "listening for TLS",
    );
}

#[test]
fn a_host_without_qemu_with_the_subnet_or_the_name_taken_fails() {
    let f = fixture(&split("a"));
    let lab = &f.ctx.lab;
    let st = State::default();
    let ok = || Ok((Some(8192), vec![]));
    let mut no_qemu = facts("QEMU");
    no_qemu.emulator = None;
    let c = verdict(&b(false, Some(Ok(no_qemu)), ok()), lab, &st, None);
    is(
        &c,
        Status::Fail,
        "no QEMU emulator",
        "install QEMU on host b",
    );

    let mut taken = facts("QEMU");
    taken.networks = vec![net("office", "10.88.0.0/16")];
    let c = verdict(&b(false, Some(Ok(taken)), ok()), lab, &st, None);
    is(
        &c,
        Status::Fail,
        "b: subnet 10.88.9.0/24 collides with libvirt network `office`",
        "pick another `network.subnet`",
    );

    // The lab's network name there, made by another lab of this name.
    let mut theirs = facts("QEMU");
    let mut other = net("lab-split", "10.88.9.0/24");
    other.maker = Maker::Lab(LabTag {
        lab: "split".into(),
        instance: "someone-else".into(),
        file: "/srv/other/lab.yaml".into(),
        node: None,
    });
    theirs.networks = vec![other];
    let c = verdict(&b(false, Some(Ok(theirs)), ok()), lab, &st, None);
    is(
        &c,
        Status::Fail,
        "b: lab `split` already exists: libvirt network `lab-split` belongs to lab `split` made from /srv/other/lab.yaml",
        "destroy that one",
    );
}

#[test]
fn a_host_whose_ssh_fails_or_lacks_memory_fails_and_the_primarys_routes_count() {
    let f = fixture(&split("a"));
    let plan = plan_ctx(&f.ctx, true);
    let nodes = Some(plan.survey.nodes.as_slice());
    let (lab, st) = (&f.ctx.lab, State::default());
    let denied = Err(
        "`ssh root@lab-host-b` must log in without a prompt: Permission denied (publickey)".into(),
    );
    let c = verdict(&b(false, Some(Ok(facts("QEMU"))), denied), lab, &st, nodes);
    is(
        &c,
        Status::Fail,
        "b: cannot read its memory over `ssh root@lab-host-b`: ",
        "`ssh -o BatchMode=yes root@lab-host-b true` must work from this machine",
    );
    let small = Ok((Some(512), vec![]));
    let c = verdict(&b(false, Some(Ok(facts("QEMU"))), small), lab, &st, nodes);
    is(
        &c,
        Status::Fail,
        "b: not enough free memory: starting 1 VM(s) needs 2048 MiB but only 512 MiB is available",
        "",
    );

    // b the primary: its libvirt is the `libvirt` check; its routes count.
    let f = fixture(&split("b"));
    let plan = plan_ctx(&f.ctx, true);
    let nodes = Some(plan.survey.nodes.as_slice());
    let taken = Ok((Some(8192), vec![route("eth1", "10.88.9.0/24")]));
    let c = verdict(&b(true, None, taken), &f.ctx.lab, &st, nodes);
    is(
        &c,
        Status::Fail,
        "b: subnet 10.88.9.0/24 collides with the host route 10.88.9.0/24 on eth1",
        "pick another `network.subnet`",
    );
    let free = Ok((Some(8192), vec![route("eth0", "10.254.0.0/24")]));
    let c = verdict(&b(true, None, free), &f.ctx.lab, &st, nodes);
    is(
        &c,
        Status::Pass,
        "b (qemu+ssh://root@lab-host-b/system): ssh root@lab-host-b logs in; 1 VM(s) to start need 1024 MiB, 8192 MiB available; no route there on 10.88.9.0/24",
        "",
    );
}

#[test]
fn the_labs_memory_counts_this_machines_nodes_and_skips_without_any() {
    let f = fixture(&split("a"));
    let plan = plan_ctx(&f.ctx, true);
    // node1 (1024 MiB) here; node2 (2048 MiB) on b counts in host-b.
    is(
        &super::super::lab::memory(&plan, Some(1500)),
        Status::Pass,
        "1 VM(s) to start need 1024 MiB; 1500 MiB available",
        "",
    );
    let far = split("b").replace("host: a,", "host: b,");
    let f = fixture(&far);
    let plan = plan_ctx(&f.ctx, true);
    is(
        &super::super::lab::memory(&plan, Some(10)),
        Status::Skip,
        "no node runs on this machine",
        "",
    );
    assert!(
        plan.room
            .iter()
            .all(|(dir, _)| *dir != crate::ops::names::pool_dir()),
        "{:?}",
        plan.room
    );
}

#[test]
fn nodes_on_another_host_are_asked_of_that_hosts_libvirt() {
    use crate::backend::fake::FakeHypervisor;
    use crate::backend::{Accel, DomainState, Hypervisor};
    use std::sync::Arc;
    let f = fixture(&split("a"));
    let st = f.ctx.state().unwrap();
    // node2 runs on b already: b's libvirt says so, a's knows nothing of it.
    let b_hv = Arc::new(FakeHypervisor::new());
    let dom = crate::ops::names::domain("split", "node2");
    let mut st = st;
    st.instance = "i-1".into();
    let mut spec = crate::backend::fixtures::domain("split", "node2", Accel::Tcg);
    spec.name = dom.clone();
    spec.tag.instance = st.instance.clone();
    b_hv.define_domain(&spec).unwrap();
    b_hv.set_domain_state(&dom, DomainState::Running);
    let hv: Option<&dyn Hypervisor> = Some(f.ctx.hv.as_ref());
    let to_start = |hosts: &super::super::lab::Hosts| {
        let plan = super::super::lab::plan_with(&f.ctx.lab, &f.ctx.store, &st, hv, hosts).unwrap();
        let node2 = plan
            .survey
            .nodes
            .iter()
            .find(|n| n.node.name == "node2")
            .unwrap();
        node2.needs_start()
    };
    assert!(
        to_start(&Default::default()),
        "b not asked: counted as to start"
    );
    let others = vec![("b".to_string(), b_hv.clone() as Arc<dyn Hypervisor>)];
    let hosts = super::super::lab::Hosts {
        others,
        local_only: false,
    };
    assert!(!to_start(&hosts), "b says node2 runs");
}
