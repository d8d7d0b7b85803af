//! A second lab of the same name (another lab file, another instance)
//! while the first runs on the same libvirt: doctor FAILs it as `lab up`
//! refuses it, counts its nodes as to be started, and a subnet clash with
//! the first lab's network names that lab instead of offering `virsh`.

use std::sync::Arc;

use super::super::Status;
use super::super::lab;
use super::is;
use super::lab::plan_ctx;
use crate::backend::fake::FakeHypervisor;
use crate::backend::{Hypervisor, LabTag, Maker, NetworkInfo, RunState};
use crate::ops::tests::{LAB, lab_in, ready_probe, rep};
use crate::ops::{LabCtx, up};

/// A lab context on a fake hypervisor, and its directory.
struct Lab {
    _tmp: tempfile::TempDir,
    fake: Arc<FakeHypervisor>,
    ctx: LabCtx,
}

/// Lab `wf` up in `a`, and a copy of its lab file in `b` (same subnet):
/// `b`, and `a`'s lab file.
fn two_labs() -> (Lab, String) {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    let a = lab_in(tmp.path(), "a", LAB, &fake);
    up::up(&a, &ready_probe(), rep()).unwrap();
    let ctx = lab_in(tmp.path(), "b", LAB, &fake);
    let a_file = a.file().display().to_string();
    (
        Lab {
            _tmp: tmp,
            fake,
            ctx,
        },
        a_file,
    )
}

#[test]
fn another_labs_objects_of_our_names_fail_and_its_nodes_count_as_to_start() {
    let (f, a_file) = two_labs();
    let plan = plan_ctx(&f.ctx, true);
    is(
        &lab::names(Some(&Ok(plan_ctx(&f.ctx, true)))),
        Status::Fail,
        &format!(
            "lab `wf` already exists: libvirt network `lab-wf` belongs to lab `wf` made from {a_file}"
        ),
        &format!(
            "rename this lab (`name:` in {}) or destroy that one (`lab destroy --file {a_file}`)",
            f.ctx.file().display()
        ),
    );
    is(
        &lab::memory(&plan, Some(8192)),
        Status::Pass,
        "2 VM(s) to start need 2048 MiB",
        "",
    );
    assert_eq!(
        up::memory_need(&plan.survey.nodes),
        (2048, 2),
        "the other lab's running domains are not this lab's nodes"
    );
    let little = |_: &std::path::Path| Some(1u64 << 20);
    is(
        &lab::disk(&plan, &little),
        Status::Fail,
        "not enough free disk",
        "free some space",
    );
    let st = f.ctx.state().unwrap();
    let nets = f.fake.list_networks().unwrap();
    is(
        &super::super::subnet::subnet(&f.ctx.lab, &st, Some(&nets), Some(&[])),
        Status::Fail,
        &format!(
            "collides with libvirt network `lab-wf` (10.88.1.0/24), lab `wf`'s network (made from {a_file})"
        ),
        &format!(
            "pick another `network.subnet` in the lab file, or destroy that lab (lab destroy --file {a_file})"
        ),
    );
}

#[test]
fn this_labs_own_objects_pass_and_unreached_libvirt_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    let ctx = lab_in(tmp.path(), "a", LAB, &fake);
    up::up(&ctx, &ready_probe(), rep()).unwrap();
    let a = Lab {
        _tmp: tmp,
        fake,
        ctx,
    };
    is(
        &lab::names(Some(&Ok(plan_ctx(&a.ctx, true)))),
        Status::Pass,
        "new or this lab's own",
        "",
    );
    is(
        &lab::names(Some(&Ok(plan_ctx(&a.ctx, false)))),
        Status::Skip,
        "libvirt not reachable",
        "",
    );
    let st = a.ctx.state().unwrap();
    let nets = a.fake.list_networks().unwrap();
    is(
        &super::super::subnet::subnet(&a.ctx.lab, &st, Some(&nets), Some(&[])),
        Status::Pass,
        "no other libvirt network (0 checked)",
        "",
    );
}

#[test]
fn virsh_is_offered_only_for_a_network_nobody_made_and_after_another_subnet() {
    let f = crate::ops::tests::fixture(LAB);
    let other = |maker| NetworkInfo {
        name: "clash".into(),
        bridge: None,
        subnets: vec!["10.88.0.0/16".parse().unwrap()],
        maker,
        state: RunState::Active,
    };
    let st = crate::state::State::default();
    let check =
        super::super::subnet::subnet(&f.ctx.lab, &st, Some(&[other(Maker::Unknown)]), Some(&[]));
    is(
        &check,
        Status::Fail,
        "collides with libvirt network `clash`",
        "pick another `network.subnet` in the lab file; or, if nothing uses network `clash`, remove it (virsh net-destroy clash;",
    );
    let tag = LabTag {
        lab: "shop".into(),
        file: "/home/u/shop/lab.yaml".into(),
        ..Default::default()
    };
    let check =
        super::super::subnet::subnet(&f.ctx.lab, &st, Some(&[other(Maker::Lab(tag))]), Some(&[]));
    is(
        &check,
        Status::Fail,
        "lab `shop`'s network (made from /home/u/shop/lab.yaml)",
        "destroy that lab (lab destroy --file /home/u/shop/lab.yaml)",
    );
    assert!(!check.fix.unwrap().contains("virsh"));
}
