use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use super::super::lab::{self, Found, LabPlan};
use super::super::proxy;
use super::super::{Check, Report, Status, bounded};
use super::{is, net};
use crate::backend::Hypervisor;
use crate::ops::preflight::Route;
use crate::ops::tests::{Fixture, LAB, fixture, ready_probe, rep};
use crate::ops::up;
use crate::state::State;

#[test]
fn lab_file_found_missing_or_bad() {
    is(
        &lab::lab_file(
            &Found::Missing("no lab.yaml in /x or any parent directory".into()),
            &None,
        ),
        Status::Skip,
        "no lab file found (no lab.yaml in /x",
        "",
    );
    let bad = Found::Bad {
        detail: "lab.yaml:4:9: nodes.node1.ip: not an IPv4 address".into(),
        fix: "write it as 10.0.0.2".into(),
    };
    is(
        &lab::lab_file(&bad, &None),
        Status::Fail,
        "lab.yaml:4:9: nodes.node1.ip",
        "10.0.0.2",
    );
    let f = fixture(LAB);
    let loaded = Found::Loaded {
        lab: Box::new(f.ctx.lab.clone()),
        state: Box::default(),
        state_error: None,
    };
    let refused = Some(Err(
        "node node1: disk 2 GiB is smaller than box b's 10 GiB; set `disk: 10` or more".to_string(),
    ));
    is(
        &lab::lab_file(&loaded, &refused),
        Status::Fail,
        "lab.yaml: node node1: disk 2 GiB is smaller",
        "set `disk: 10` or more",
    );
    let planned = Some(Ok(plan_of(&f, true)));
    is(
        &lab::lab_file(&loaded, &planned),
        Status::Pass,
        "lab.yaml: lab wf, 2 nodes; its boxes are built",
        "",
    );
    let broken_state = Found::Loaded {
        lab: Box::new(f.ctx.lab.clone()),
        state: Box::default(),
        state_error: Some(
            "/x/.lab/state.json is damaged; remove it only after `virsh list --all` shows nothing"
                .into(),
        ),
    };
    is(
        &lab::lab_file(&broken_state, &planned),
        Status::Fail,
        "state.json is damaged",
        "remove it only after",
    );
}

#[test]
fn an_invalid_lab_file_is_reported_at_its_first_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("lab.yaml");
    std::fs::write(&path, "name: x\nbox: b\nnetwork: {subnet: 10.1.0.0/24}\nnodes:\n  n1: {ip: 10.9.0.5}\n  n2: {ip: nope}\n").unwrap();
    let Found::Bad { detail, fix } = lab::load(&Ok(path.clone())) else {
        panic!("not reported as bad")
    };
    let file = path.display();
    // The first of three errors (the box, then both addresses), with its
    // position and field.
    assert!(
        detail.starts_with(&format!("{file}:2:6: box: unknown box `b`")),
        "{detail}"
    );
    assert!(detail.ends_with(" (and 2 more)"), "{detail}");
    assert!(!fix.is_empty());
    let Found::Bad { detail, .. } = lab::load(&Ok(tmp.path().join("none.yaml"))) else {
        panic!("a missing file is bad")
    };
    assert!(detail.contains("cannot read the lab file"), "{detail}");
    assert!(
        matches!(lab::load(&Err("no lab.yaml in /x; create one".into())), Found::Missing(why) if why == "no lab.yaml in /x")
    );
}

/// The doctor's plan of the fixture's lab, as [`Found::plan`] makes it,
/// with the fixture's store and (`asked`) its fake hypervisor.
fn plan_of(f: &Fixture, asked: bool) -> LabPlan {
    plan_ctx(&f.ctx, asked)
}

/// [`plan_of`] for a lab context.
pub(super) fn plan_ctx(ctx: &crate::ops::LabCtx, asked: bool) -> LabPlan {
    let hv: Option<&dyn Hypervisor> = asked.then_some(ctx.hv.as_ref());
    let st = ctx.state().unwrap();
    lab::plan_with(&ctx.lab, &ctx.store, &st, hv, &lab::Hosts::default()).unwrap()
}

#[test]
fn memory_against_what_lab_up_would_start() {
    let f = fixture(LAB);
    let plan = plan_of(&f, true);
    is(
        &lab::memory(&plan, Some(8192)),
        Status::Pass,
        "2 VM(s) to start need 2048 MiB; 8192 MiB available",
        "",
    );
    is(
        &lab::memory(&plan, Some(1000)),
        Status::Fail,
        "needs 2048 MiB but only 1000 MiB is available",
        "lower `memory`",
    );
    let guessed = plan_of(&f, false);
    is(
        &lab::memory(&guessed, Some(1000)),
        Status::Warn,
        "counted as if none did",
        "lower `memory`",
    );
    is(
        &lab::memory(&plan, None),
        Status::Warn,
        "the memory available is unknown",
        "free -m",
    );
    // Once the lab runs, nothing is to start.
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    is(
        &lab::memory(&plan_of(&f, true), Some(10)),
        Status::Pass,
        "every node runs: nothing to start",
        "",
    );
}

#[test]
fn disk_against_what_lab_up_would_store() {
    let f = fixture(LAB);
    let plan = plan_of(&f, true);
    assert!(!plan.room.is_empty());
    let plenty = |_: &Path| Some(100u64 << 30);
    is(
        &lab::disk(&plan, &plenty),
        Status::Pass,
        "MiB needed, 102400 MiB free",
        "",
    );
    let little = |_: &Path| Some(1u64 << 20);
    is(
        &lab::disk(&plan, &little),
        Status::Fail,
        "not enough free disk in",
        "free some space",
    );
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    is(
        &lab::disk(&plan_of(&f, true), &little),
        Status::Pass,
        "nothing new to store",
        "",
    );
}

#[test]
fn subnet_against_networks_and_routes() {
    let f = fixture(LAB);
    let lab = &f.ctx.lab;
    let nets = [
        net("default", "192.168.122.0/24"),
        net("lab-shop", "10.88.2.0/24"),
    ];
    is(
        &super::super::subnet::subnet(lab, &State::default(), Some(&nets), Some(&[])),
        Status::Pass,
        "10.88.1.0/24: no other libvirt network (2 checked)",
        "",
    );
    let clash = [net("other", "10.88.0.0/16")];
    is(
        &super::super::subnet::subnet(lab, &State::default(), Some(&clash), Some(&[])),
        Status::Fail,
        "collides with libvirt network `other`",
        "pick another `network.subnet`",
    );
    let route = [Route {
        dev: "eth1".into(),
        net: "10.88.1.0/24".parse().unwrap(),
    }];
    is(
        &super::super::subnet::subnet(lab, &State::default(), Some(&nets), Some(&route)),
        Status::Fail,
        "host route 10.88.1.0/24 on eth1",
        "pick another",
    );
    is(
        &super::super::subnet::subnet(lab, &State::default(), None, Some(&[])),
        Status::Warn,
        "libvirt's networks were not checked",
        "libvirt check",
    );
}

#[test]
fn proxy_tried_from_the_gateway_or_said_what_was_tried_instead() {
    let gw = Ipv4Addr::new(10, 88, 1, 1);
    let from_file = |url: &str| (url.to_string(), "`proxy:` in the lab file");
    let answers = |_: &str, _: u16| Ok("HTTP/1.0 200 OK".to_string());
    let refused = |_: &str, _: u16| Err("connection refused".to_string());
    let tried = std::cell::RefCell::new(Vec::new());
    let record = |h: &str, p: u16| {
        tried.borrow_mut().push(format!("{h}:{p}"));
        Ok("HTTP/1.0 503 Service Unavailable".to_string())
    };
    is(
        &proxy::proxy(None, gw, false, &answers),
        Status::Skip,
        "no `proxy:` in the lab file",
        "",
    );
    let gateway = from_file("http://gateway:8888");
    is(
        &proxy::proxy(Some(&gateway), gw, true, &record),
        Status::Pass,
        "http://10.88.1.1:8888 (`proxy:` in the lab file) answers on the lab's gateway (HTTP/1.0 503",
        "",
    );
    is(
        &proxy::proxy(Some(&gateway), gw, true, &refused),
        Status::Fail,
        "no HTTP proxy answers on 10.88.1.1:8888",
        "start the proxy listening on 10.88.1.1",
    );
    is(
        &proxy::proxy(Some(&gateway), gw, false, &record),
        Status::Warn,
        "was tried on 127.0.0.1:8888 instead: a proxy answers there",
        "run lab doctor again",
    );
    is(
        &proxy::proxy(Some(&gateway), gw, false, &refused),
        Status::Warn,
        "not an address of this host yet",
        "start a proxy",
    );
    assert_eq!(*tried.borrow(), ["10.88.1.1:8888", "127.0.0.1:8888"]);
    let named = ("http://cache.example:3128".to_string(), "LAB_GUEST_PROXY");
    is(
        &proxy::proxy(Some(&named), gw, false, &answers),
        Status::Pass,
        "(LAB_GUEST_PROXY) answers from this host (HTTP/1.0 200 OK)",
        "",
    );
    let silent = |_: &str, _: u16| Err("no HTTP answer from 10.88.1.1:8888 within 5 s".to_string());
    is(
        &proxy::proxy(Some(&gateway), gw, true, &silent),
        Status::Fail,
        "no HTTP proxy answers on 10.88.1.1:8888, the lab's gateway (`proxy:` in the lab file): no HTTP answer",
        "start the proxy",
    );
    is(
        &proxy::proxy(Some(&named), gw, true, &refused),
        Status::Fail,
        "does not answer from this host: connection refused",
        "correct LAB_GUEST_PROXY",
    );
    let bad = ("ftp://x".to_string(), "LAB_GUEST_PROXY");
    is(
        &proxy::proxy(Some(&bad), gw, true, &answers),
        Status::Fail,
        "must start with http://",
        "http://HOST:PORT",
    );
}

#[test]
fn a_report_is_ok_unless_a_check_failed() {
    let warn = Check::warn("kvm", "TCG", "fix");
    assert!(Report::of(vec![warn.clone(), Check::skip("proxy", "none")]).ok);
    let report = Report::of(vec![warn, Check::fail("libvirt", "down", "start it")]);
    assert!(!report.ok);
    assert_eq!(
        report.failed().map(|c| c.name.as_ref()).collect::<Vec<_>>(),
        ["libvirt"]
    );
}

#[test]
fn a_step_that_does_not_finish_is_given_up_on() {
    assert_eq!(bounded(Duration::from_secs(5), || 7), Some(7));
    let started = std::time::Instant::now();
    let never = bounded(Duration::from_millis(100), || {
        std::thread::sleep(Duration::from_secs(30))
    });
    assert_eq!(never, None);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_lab_with_ansible_on_this_machine_needs_ansible_and_ssh() {
    let plain = plan_of(&fixture(LAB), true).needs;
    let names = |n: &up::ToolNeeds| n.programs.iter().map(|(p, _)| *p).collect::<Vec<_>>();
    assert_eq!(names(&plain), ["ssh-keygen"]);
    assert!(plain.builds.is_empty(), "the fixture's box is built");
    let host =
        format!("{LAB}provision:\n  type: ansible\n  controller: host\n  playbook: site.yml\n");
    let needs = plan_of(&fixture(&host), true).needs;
    assert_eq!(names(&needs), ["ssh-keygen", "ansible-playbook", "ssh"]);
}

#[test]
fn a_lab_path_lab_up_would_refuse_fails_the_lab_file_check() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("two\nlines");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lab.yaml"), LAB).unwrap();
    let ctx = crate::spec::load_with(&dir.join("lab.yaml"), &crate::spec::Context::any_box());
    let found = Found::Loaded {
        lab: Box::new(ctx.unwrap()),
        state: Box::default(),
        state_error: None,
    };
    let plan = found.plan(None, &lab::Hosts::default(), Duration::from_secs(5));
    is(
        &lab::lab_file(&found, &plan),
        Status::Fail,
        "contains a newline (U+000A), which OpenSSH's config lines and libvirt's XML cannot carry",
        "rename or move it",
    );
}
