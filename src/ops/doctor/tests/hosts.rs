//! `host`: the check of each other host of a lab over several hosts.

use super::super::Status;
use super::super::hosts::other_host;
use super::{facts, is, net, no_answer, unreachable};

const URI: &str = "qemu+ssh://root@lab-host-b/system";

fn subnet() -> ipnet::Ipv4Net {
    "10.88.9.0/24".parse().unwrap()
}

#[test]
fn a_host_that_answers_with_qemu_and_a_free_subnet_passes() {
    let mut f = facts("QEMU");
    // Another subnet, and the lab's own network (a lab already up).
    f.networks = vec![
        net("default", "192.168.122.0/24"),
        net("lab-split", "10.88.9.0/24"),
    ];
    let c = other_host("b", URI, &Ok(f), "split", subnet());
    is(
        &c,
        Status::Pass,
        "b (qemu+ssh://root@lab-host-b/system): libvirt 9.0.0, QEMU 7.2.0; pool lab not there yet (lab up makes it); no other network on 10.88.9.0/24",
        "",
    );
}

#[test]
fn a_host_that_cannot_be_reached_or_does_not_answer_fails_with_how_to_reach_it() {
    for (err, said) in [
        (
            unreachable(),
            "b (qemu+ssh://root@lab-host-b/system): Failed to connect socket",
        ),
        (no_answer(), "libvirt did not answer within 5 s"),
    ] {
        let c = other_host("b", URI, &Err(err), "split", subnet());
        is(
            &c,
            Status::Fail,
            said,
            "`virsh -c qemu+ssh://root@lab-host-b/system list` must work",
        );
    }
}

#[test]
fn a_host_without_qemu_or_with_the_subnet_taken_fails() {
    let mut f = facts("QEMU");
    f.emulator = None;
    let c = other_host("b", URI, &Ok(f), "split", subnet());
    is(
        &c,
        Status::Fail,
        "no QEMU emulator",
        "install QEMU on host b",
    );

    let mut f = facts("QEMU");
    f.networks = vec![net("office", "10.88.0.0/16")];
    let c = other_host("b", URI, &Ok(f), "split", subnet());
    is(
        &c,
        Status::Fail,
        "b: subnet 10.88.9.0/24 collides with libvirt network `office`",
        "pick another `network.subnet`",
    );
}
