//! `lab snapshot` on the fake hypervisor: one pause for all nodes, restore
//! puts guests back without a reboot, refusals, and a `save` killed midway
//! leaving nothing usable and nothing in the way.

use super::*;
use crate::backend::DomainState;
use crate::ops::tests::{LAB, fixture, lab_in, ready_probe, rep};
use crate::ops::up;
use crate::state::SnapshotStatus;
use crate::ui::nodes::Silent;

const N1: &str = "wf.node1";
const N2: &str = "wf.node2";

fn up_lab(f: &crate::ops::tests::Fixture) {
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
}

fn save_it(ctx: &LabCtx, name: &str) -> Result<SaveReport> {
    save(ctx, name, &SaveOptions::default(), &Silent)
}

/// The lab snapshot names of domain `dom`'s libvirt snapshots
/// (`lab-NAME.HEX` → `NAME`).
fn snaps(ctx: &LabCtx, dom: &str) -> Vec<String> {
    ctx.hv
        .list_snapshots(dom)
        .unwrap()
        .iter()
        .map(|s| {
            let s = s.strip_prefix("lab-").expect("lab-");
            s.rsplit_once('.').map_or(s, |(n, _)| n).to_string()
        })
        .collect()
}

#[test]
fn save_pauses_every_node_before_capturing_any_and_resumes_them_after() {
    let f = fixture(LAB);
    up_lab(&f);
    let before = f.fake.calls().len();
    let r = save_it(&f.ctx, "provisioned").unwrap();
    assert_eq!(r.state, "running");
    assert_eq!(r.clocks.len(), 2, "clocks set on both nodes");
    let calls: Vec<String> = f.fake.calls()[before..]
        .iter()
        .filter(|c| {
            ["suspend_domain", "create_snapshot", "resume_domain"]
                .iter()
                .any(|p| c.starts_with(p))
        })
        .cloned()
        .collect();
    let pos = |c: &str| {
        calls
            .iter()
            .position(|x| x == c || x.starts_with(&format!("{c}.")))
            .unwrap_or_else(|| panic!("{c} in {calls:?}"))
    };
    let last_suspend =
        pos(&format!("suspend_domain {N1}")).max(pos(&format!("suspend_domain {N2}")));
    let first_create = pos(&format!("create_snapshot {N1}/lab-provisioned"))
        .min(pos(&format!("create_snapshot {N2}/lab-provisioned")));
    let last_create = pos(&format!("create_snapshot {N1}/lab-provisioned"))
        .max(pos(&format!("create_snapshot {N2}/lab-provisioned")));
    let first_resume = pos(&format!("resume_domain {N1}")).min(pos(&format!("resume_domain {N2}")));
    assert!(
        last_suspend < first_create && last_create < first_resume,
        "{calls:?}"
    );
    for d in [N1, N2] {
        assert_eq!(
            f.ctx.hv.domain_state(d).unwrap(),
            Some(DomainState::Running)
        );
        assert_eq!(snaps(&f.ctx, d), ["provisioned"]);
    }
    let list = list_in(&f.ctx.state_dir).unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].usable);
    assert_eq!(list[0].state, "running");
    assert_eq!(
        list[0].bytes,
        2 * (1024 << 20),
        "memory of both nodes (1024 MiB default)"
    );
}

#[test]
fn restore_brings_guests_back_running_without_a_boot_and_up_is_a_noop() {
    let f = fixture(LAB);
    up_lab(&f);
    f.fake.write_guest(N1, "before");
    save_it(&f.ctx, "base").unwrap();
    f.fake.write_guest(N1, "after the save");
    let before = f.fake.calls().len();
    let r = restore(&f.ctx, "base", &Silent).unwrap();
    assert_eq!(r.state, "running");
    assert_eq!(f.fake.guest(N1), "before");
    let calls = f.fake.calls()[before..].to_vec();
    assert!(
        !calls.iter().any(|c| c.starts_with("start_domain")),
        "{calls:?}"
    );
    for d in [N1, N2] {
        assert_eq!(
            f.ctx.hv.domain_state(d).unwrap(),
            Some(DomainState::Running)
        );
    }
    let st = f.ctx.state_dir.load().unwrap();
    let restored = st.restored.unwrap();
    assert_eq!((restored.name.as_str(), restored.complete), ("base", true));
    assert!(up::up(&f.ctx, &ready_probe(), rep()).unwrap().noop);
    let status = crate::ops::status::status(&f.ctx).unwrap();
    assert_eq!(status.restored.unwrap().name, "base");
    assert_eq!(status.snapshots, ["base"]);
}

#[test]
fn a_halted_lab_is_saved_disks_only_and_restored_halted() {
    let f = fixture(LAB);
    up_lab(&f);
    crate::ops::halt::halt(&f.ctx, &[], std::time::Duration::from_secs(1), &Silent).unwrap();
    let before = f.fake.calls().len();
    let r = save_it(&f.ctx, "cold").unwrap();
    assert_eq!(r.state, "halted");
    assert!(r.clocks.is_empty());
    assert_eq!(r.bytes, 0);
    assert!(
        !f.fake.calls()[before..]
            .iter()
            .any(|c| c.starts_with("suspend_domain"))
    );
    up_lab(&f);
    restore(&f.ctx, "cold", &Silent).unwrap();
    for d in [N1, N2] {
        assert_eq!(
            f.ctx.hv.domain_state(d).unwrap(),
            Some(DomainState::ShutOff)
        );
    }
    // `lab up` boots them again and keeps the snapshot.
    up_lab(&f);
    assert_eq!(snaps(&f.ctx, N1), ["cold"]);
}

#[test]
fn an_existing_name_needs_force_and_names_are_checked() {
    let f = fixture(LAB);
    up_lab(&f);
    save_it(&f.ctx, "one").unwrap();
    let err = save_it(&f.ctx, "one").unwrap_err().to_string();
    assert!(
        err.contains("has a snapshot `one` already") && err.contains("--force"),
        "{err}"
    );
    f.fake.write_guest(N1, "newer");
    let r = save(&f.ctx, "one", &SaveOptions { force: true }, &Silent).unwrap();
    assert!(r.replaced);
    f.fake.write_guest(N1, "newest");
    restore(&f.ctx, "one", &Silent).unwrap();
    assert_eq!(f.fake.guest(N1), "newer");
    assert_eq!(list_in(&f.ctx.state_dir).unwrap().len(), 1);
    for bad in ["", "Up", "a b", "../x", "-", &"x".repeat(64)] {
        let err = save_it(&f.ctx, bad).unwrap_err();
        assert!(
            err.downcast_ref::<crate::error::InvalidInput>().is_some(),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn restore_refuses_a_lab_shaped_differently_naming_each_change() {
    let tmp = tempfile::tempdir().unwrap();
    let (fake, ctx) = crate::ops::tests::fixture_in(tmp.path(), LAB);
    up::up(&ctx, &ready_probe(), rep()).unwrap();
    save_it(&ctx, "s").unwrap();
    let changed = LAB
        .replace(
            "    ip: 10.88.1.21\n",
            "    ip: 10.88.1.21\n    memory: 2048\n    cpus: 2\n",
        )
        .replace(
            "  node2:\n    ip: 10.88.1.22\n",
            "  node3:\n    ip: 10.88.1.23\n",
        );
    let ctx2 = lab_in(tmp.path(), "lab", &changed, &fake);
    let before = fake.calls().len();
    let err = restore(&ctx2, "s", &Silent).unwrap_err().to_string();
    for want in [
        "node node1 had 1024 MiB of memory, has 2048",
        "node node1 had 1 cpus, has 2",
        "node node3 was added since",
        "node node2 was removed since",
    ] {
        assert!(err.contains(want), "{want} in: {err}");
    }
    assert!(
        !fake.calls()[before..]
            .iter()
            .any(|c| c.starts_with("revert_snapshot")),
        "nothing reverted"
    );
    let err = restore(&ctx, "nope", &Silent).unwrap_err().to_string();
    assert!(err.contains("has no snapshot `nope`; it has: s"), "{err}");
}

#[test]
fn a_failed_capture_resumes_every_node_and_leaves_no_snapshot() {
    let f = fixture(LAB);
    up_lab(&f);
    f.fake.fail_next(
        "create_snapshot",
        crate::backend::BackendError::Failed {
            op: "snapshot".into(),
            message: "disk full".into(),
        },
    );
    let err = format!("{:#}", save_it(&f.ctx, "x").unwrap_err());
    assert!(
        err.contains("snapshot x was not taken") && err.contains("disk full"),
        "{err}"
    );
    for d in [N1, N2] {
        assert_eq!(
            f.ctx.hv.domain_state(d).unwrap(),
            Some(DomainState::Running)
        );
        assert!(f.ctx.hv.list_snapshots(d).unwrap().is_empty(), "{d}");
    }
    assert!(list_in(&f.ctx.state_dir).unwrap().is_empty());
}

/// The state a `save` killed after pausing every node and capturing one
/// leaves behind.
fn killed_save(f: &crate::ops::tests::Fixture, name: &str) {
    let mut st = f.ctx.state_dir.load().unwrap();
    let nodes = save::capture_plan(&f.ctx, &st).unwrap();
    let record = crate::state::SnapshotRecord {
        name: name.into(),
        taken: crate::state::now_rfc3339(),
        status: SnapshotStatus::Saving,
        nodes,
        libvirt: Some(format!("lab-{name}.0123456789ab")),
    };
    st.snapshots.push(record.clone());
    for n in st.nodes.values_mut() {
        n.clock_stale = true;
    }
    f.ctx.state_dir.save(&st).unwrap();
    for d in [N1, N2] {
        f.ctx.hv.suspend_domain(d).unwrap();
    }
    f.ctx
        .hv
        .create_snapshot(N1, &record.libvirt_name())
        .unwrap();
}

#[test]
fn a_killed_save_is_never_usable_and_blocks_nothing() {
    let f = fixture(LAB);
    up_lab(&f);
    save_it(&f.ctx, "good").unwrap();
    killed_save(&f, "half");
    let list = list_in(&f.ctx.state_dir).unwrap();
    let half = list.iter().find(|s| s.name == "half").unwrap();
    assert!(!half.usable);
    let err = restore(&f.ctx, "half", &Silent).unwrap_err().to_string();
    assert!(
        err.contains(
            "snapshot half was not usable (its save was interrupted) and has been removed"
        ),
        "settled first, then refused: {err}"
    );
    let st = f.ctx.state_dir.load().unwrap();
    assert!(
        st.nodes.values().all(|n| !n.clock_stale),
        "clocks set after the resume"
    );
    // The restore above settled it: nodes resumed, leftovers gone.
    for d in [N1, N2] {
        assert_eq!(
            f.ctx.hv.domain_state(d).unwrap(),
            Some(DomainState::Running)
        );
        assert_eq!(snaps(&f.ctx, d), ["good"]);
    }
    killed_save(&f, "half");
    save_it(&f.ctx, "half").unwrap();
    assert_eq!(
        list_in(&f.ctx.state_dir)
            .unwrap()
            .iter()
            .map(|s| (s.name.as_str(), s.usable))
            .collect::<Vec<_>>(),
        [("good", true), ("half", true)]
    );
    killed_save(&f, "again");
    restore(&f.ctx, "good", &Silent).unwrap();
    killed_save(&f, "more");
    // `lab up` resumes what the killed save paused.
    assert!(up::up(&f.ctx, &ready_probe(), rep()).unwrap().noop);
    assert_eq!(
        f.ctx.hv.domain_state(N2).unwrap(),
        Some(DomainState::Running)
    );
    killed_save(&f, "last");
    let report = crate::ops::destroy::destroy(&f.ctx, &Silent).unwrap();
    assert_eq!(report.snapshots, ["good", "half", "last"]);
    for d in [N1, N2] {
        assert_eq!(f.ctx.hv.domain_state(d).unwrap(), None);
        assert!(f.ctx.hv.list_snapshots(d).unwrap().is_empty());
    }
}

#[test]
fn delete_removes_it_from_every_node() {
    let f = fixture(LAB);
    up_lab(&f);
    save_it(&f.ctx, "a").unwrap();
    save_it(&f.ctx, "b").unwrap();
    delete(&f.ctx, "a", &Silent).unwrap();
    for d in [N1, N2] {
        assert_eq!(snaps(&f.ctx, d), ["b"]);
    }
    let err = delete(&f.ctx, "a", &Silent).unwrap_err().to_string();
    assert!(err.contains("has no snapshot `a`; it has: b"), "{err}");
}

#[test]
fn a_lab_never_up_has_nothing_to_snapshot() {
    let f = fixture(LAB);
    let err = save_it(&f.ctx, "x").unwrap_err().to_string();
    assert!(err.contains("is not up") && err.contains("lab up"), "{err}");
    assert!(!f.ctx.state_dir.path().exists(), "no state dir made");
    assert!(list_in(&f.ctx.state_dir).unwrap().is_empty());
}

#[test]
fn a_killed_restore_is_finished_by_lab_up_with_clocks_set() {
    let f = fixture(LAB);
    up_lab(&f);
    f.fake.write_guest(N1, "then");
    save_it(&f.ctx, "base").unwrap();
    f.fake.write_guest(N1, "later");
    // As if `restore` was killed after reverting node1 only.
    let mut st = f.ctx.state_dir.load().unwrap();
    st.restored = Some(crate::state::Restored {
        name: "base".into(),
        at: crate::state::now_rfc3339(),
        complete: false,
    });
    f.ctx.state_dir.save(&st).unwrap();
    let snap = st.snapshots[0].libvirt_name();
    f.ctx.hv.revert_snapshot(N1, &snap).unwrap();
    let status = crate::ops::status::status(&f.ctx).unwrap();
    assert!(!status.restored.unwrap().complete);
    let before = f.fake.calls().len();
    assert!(up::up(&f.ctx, &ready_probe(), rep()).unwrap().noop);
    let calls = f.fake.calls()[before..].to_vec();
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with(&format!("revert_snapshot {N2}/"))),
        "{calls:?}"
    );
    let st = f.ctx.state_dir.load().unwrap();
    assert!(st.restored.unwrap().complete);
    assert!(st.nodes.values().all(|n| !n.clock_stale));
    assert_eq!(f.fake.guest(N1), "then");
    for d in [N1, N2] {
        assert_eq!(
            f.ctx.hv.domain_state(d).unwrap(),
            Some(DomainState::Running)
        );
    }
}

#[test]
fn a_node_paused_by_hand_is_resumed_by_up_with_its_clock_set_and_left_paused_by_save() {
    let f = fixture(LAB);
    up_lab(&f);
    f.ctx.hv.suspend_domain(N2).unwrap();
    let r = save_it(&f.ctx, "s").unwrap();
    assert_eq!(
        f.ctx.hv.domain_state(N2).unwrap(),
        Some(DomainState::Paused),
        "left as it was"
    );
    assert_eq!(
        r.clocks.len(),
        1,
        "only node1 was paused by the save: {:?}",
        r.clocks
    );
    let clocks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = clocks.clone();
    let mut ctx = lab_in(f.ctx.lab.dir().parent().unwrap(), "lab", LAB, &f.fake);
    ctx.clocks = std::sync::Arc::new(move |_st, _sd, nodes: &[String]| {
        seen.lock().unwrap().extend(nodes.iter().cloned());
        nodes
            .iter()
            .map(|n| ClockSet {
                node: n.clone(),
                offset_seconds: Some(0.1),
                answered_seconds: Some(1.0),
                error: None,
            })
            .collect()
    });
    up::up(&ctx, &ready_probe(), rep()).unwrap();
    assert_eq!(
        f.ctx.hv.domain_state(N2).unwrap(),
        Some(DomainState::Running)
    );
    assert_eq!(*clocks.lock().unwrap(), ["node2"]);
}

#[test]
fn a_clock_that_could_not_be_set_is_set_by_the_next_command() {
    let f = fixture(LAB);
    up_lab(&f);
    let mut ctx = lab_in(f.ctx.lab.dir().parent().unwrap(), "lab", LAB, &f.fake);
    ctx.clocks = std::sync::Arc::new(|_st, _sd, nodes: &[String]| {
        nodes
            .iter()
            .map(|n| ClockSet {
                node: n.clone(),
                offset_seconds: None,
                answered_seconds: None,
                error: Some("sshd down".into()),
            })
            .collect()
    });
    let r = save_it(&ctx, "s").unwrap();
    assert!(r.clocks.iter().all(|c| c.error.is_some()));
    assert!(
        f.ctx
            .state_dir
            .load()
            .unwrap()
            .nodes
            .values()
            .all(|n| n.clock_stale)
    );
    // The fixture's own ctx sets clocks: `lab up` does it.
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    assert!(
        f.ctx
            .state_dir
            .load()
            .unwrap()
            .nodes
            .values()
            .all(|n| !n.clock_stale)
    );
}

#[test]
fn the_snapshot_records_the_vms_not_the_edited_lab_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (fake, ctx) = crate::ops::tests::fixture_in(tmp.path(), LAB);
    up::up(&ctx, &ready_probe(), rep()).unwrap();
    // The lab file edited, `lab up` not run: the VMs are as they were.
    let edited = LAB.replace(
        "    ip: 10.88.1.21\n",
        "    ip: 10.88.1.21\n    memory: 2048\n",
    );
    let ctx2 = lab_in(tmp.path(), "lab", &edited, &fake);
    save_it(&ctx2, "s").unwrap();
    let st = ctx.state_dir.load().unwrap();
    assert_eq!(st.snapshots[0].nodes["node1"].memory_mib, 1024);
    let ctx1 = lab_in(tmp.path(), "lab", LAB, &fake);
    restore(&ctx1, "s", &Silent).unwrap();
    let err = restore(&ctx2, "s", &Silent).unwrap_err().to_string();
    assert!(
        err.contains("node node1 had 1024 MiB of memory, has 2048"),
        "{err}"
    );
}

#[test]
fn a_snapshot_removed_outside_lab_is_refused_without_a_restore_record() {
    let f = fixture(LAB);
    up_lab(&f);
    save_it(&f.ctx, "gone").unwrap();
    let snap = f.ctx.state_dir.load().unwrap().snapshots[0].libvirt_name();
    f.ctx.hv.delete_snapshot(N2, &snap).unwrap();
    let before = f.fake.calls().len();
    let err = restore(&f.ctx, "gone", &Silent).unwrap_err().to_string();
    assert!(
        err.contains("snapshot gone is gone from node2 in libvirt")
            && err.contains("lab snapshot delete gone"),
        "{err}"
    );
    assert!(
        !f.fake.calls()[before..]
            .iter()
            .any(|c| c.starts_with("revert_snapshot"))
    );
    assert!(f.ctx.state_dir.load().unwrap().restored.is_none());
    delete(&f.ctx, "gone", &Silent).unwrap();
    assert!(list_in(&f.ctx.state_dir).unwrap().is_empty());
}

#[test]
fn a_killed_forced_save_keeps_the_snapshot_it_was_replacing() {
    let f = fixture(LAB);
    up_lab(&f);
    f.fake.write_guest(N1, "old");
    save_it(&f.ctx, "keep").unwrap();
    f.fake.write_guest(N1, "new");
    killed_save(&f, "keep");
    let list = list_in(&f.ctx.state_dir).unwrap();
    assert_eq!(
        list.iter()
            .map(|s| (s.name.as_str(), s.usable))
            .collect::<Vec<_>>(),
        [("keep", true), ("keep", false)]
    );
    restore(&f.ctx, "keep", &Silent).unwrap();
    assert_eq!(f.fake.guest(N1), "old");
    assert_eq!(snaps(&f.ctx, N1), ["keep"]);
    // A forced save that finishes replaces it, leaving one.
    f.fake.write_guest(N1, "newer");
    save(&f.ctx, "keep", &SaveOptions { force: true }, &Silent).unwrap();
    assert_eq!(snaps(&f.ctx, N1), ["keep"]);
    f.fake.write_guest(N1, "x");
    restore(&f.ctx, "keep", &Silent).unwrap();
    assert_eq!(f.fake.guest(N1), "newer");
}

#[test]
fn halt_after_a_killed_save_resumes_then_halts() {
    let f = fixture(LAB);
    up_lab(&f);
    killed_save(&f, "k");
    let out =
        crate::ops::halt::halt(&f.ctx, &[], std::time::Duration::from_secs(1), &Silent).unwrap();
    assert!(
        out.iter()
            .all(|(_, h)| *h == crate::ops::halt::Halted::Graceful),
        "{out:?}"
    );
    for d in [N1, N2] {
        assert_eq!(
            f.ctx.hv.domain_state(d).unwrap(),
            Some(DomainState::ShutOff)
        );
        assert!(snaps(&f.ctx, d).is_empty());
    }
}

#[test]
fn destroy_names_snapshots_lab_did_not_make() {
    let f = fixture(LAB);
    up_lab(&f);
    save_it(&f.ctx, "ours").unwrap();
    f.ctx.hv.create_snapshot(N1, "mine").unwrap();
    let report = crate::ops::destroy::destroy(&f.ctx, &Silent).unwrap();
    assert_eq!(report.snapshots, ["ours"]);
    assert_eq!(report.other_snapshots, [format!("mine (domain {N1})")]);
}
