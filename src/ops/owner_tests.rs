//! Two labs of the same name, objects made by hand, copied and moved state
//! dirs, and states of the older format: `up` refuses what is not its own
//! before creating anything, `status` shows nothing of it, `destroy` never
//! touches it and says what it left alone.

use std::sync::Arc;

use super::tests::{LAB, lab_in, ready_probe, rep};
use super::{destroy, names, owner::Owner, status, up};
use crate::backend::fake::FakeHypervisor;
use crate::backend::{DomainState, Hypervisor, LabTag};
use crate::ui::nodes::Silent;

/// Lab `wf` again, on another subnet (a copy of the lab file elsewhere).
fn lab_b() -> String {
    LAB.replace("10.88.1.", "10.88.2.")
}

fn running(hv: &dyn Hypervisor, dom: &str) -> bool {
    hv.domain_state(dom).unwrap() == Some(DomainState::Running)
}

#[test]
fn a_second_lab_of_the_same_name_is_refused_shown_nothing_and_never_destroyed() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    let a = lab_in(tmp.path(), "a", LAB, &fake);
    let b = lab_in(tmp.path(), "b", &lab_b(), &fake);
    up::up(&a, &ready_probe(), rep()).unwrap();

    let before = fake.calls().len();
    let err = format!("{:#}", up::up(&b, &ready_probe(), rep()).unwrap_err());
    let a_file = a.file().display().to_string();
    assert!(err.contains(&format!("lab `wf` already exists: libvirt network `lab-wf` belongs to lab `wf` made from {a_file}")), "{err}");
    assert!(
        err.contains("rename this lab (`name:` in")
            && err.contains(&format!(
                "or destroy that one (`lab destroy --file {a_file}`)"
            )),
        "{err}"
    );
    let calls = fake.calls()[before..].to_vec();
    assert!(
        calls
            .iter()
            .all(|c| !["define", "create", "upload", "start", "ensure_pool"]
                .iter()
                .any(|p| c.starts_with(p))),
        "{calls:?}"
    );
    assert!(!b.state_dir.path().exists(), "b made no state dir");

    let st = status::status(&b).unwrap();
    assert_eq!(st.network_state, status::NetState::NotCreated);
    assert!(
        st.nodes
            .iter()
            .all(|n| n.state == status::VmState::NotCreated
                && !n.ready
                && n.boot_seconds.is_none()),
        "{st:?}"
    );
    assert_eq!(st.not_ours.len(), 3, "{:?}", st.not_ours);
    assert!(st.not_ours[0].contains(&a_file), "{:?}", st.not_ours);

    let report = destroy::destroy(&b, &Silent).unwrap();
    assert!(
        report.domains.is_empty() && report.volumes.is_empty() && report.network.is_none(),
        "{report:?}"
    );
    assert_eq!(report.left_alone.len(), 3, "{report:?}");
    assert!(
        report
            .left_alone
            .iter()
            .any(|l| l.starts_with("domain `wf.node1`: lab `wf` made from")),
        "{report:?}"
    );
    for n in ["node1", "node2"] {
        assert!(
            running(fake.as_ref(), &names::domain("wf", n)),
            "a's {n} still runs"
        );
    }
    let a_state = a.state_dir.load().unwrap();
    for ns in a_state.nodes.values() {
        for v in &ns.volumes {
            assert!(
                fake.volume(names::POOL, v).is_some(),
                "a's volume {v} is kept"
            );
        }
    }
    // a itself is unharmed: a no-op up, then a full destroy.
    assert!(up::up(&a, &ready_probe(), rep()).unwrap().noop);
    let gone = destroy::destroy(&a, &Silent).unwrap();
    assert_eq!(
        (
            gone.domains.len(),
            gone.volumes.len(),
            gone.left_alone.len()
        ),
        (2, 4, 0)
    );
    // Now b can be made.
    up::up(&b, &ready_probe(), rep()).unwrap();
}

#[test]
fn objects_made_by_hand_are_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    let a = lab_in(tmp.path(), "a", LAB, &fake);
    let mut hand = crate::backend::fixtures::domain("wf", "node1", crate::backend::Accel::Tcg);
    hand.name = names::domain("wf", "node2");
    fake.define_foreign_domain(&hand);
    let err = up::up(&a, &ready_probe(), rep()).unwrap_err().to_string();
    assert!(
        err.contains("a libvirt domain named `wf.node2` exists and was not made by lab"),
        "{err}"
    );
    assert!(err.contains("virsh undefine wf.node2"), "{err}");
    assert!(fake.network_spec("lab-wf").is_none(), "nothing created");

    let report = destroy::destroy(&a, &Silent).unwrap();
    assert_eq!(
        report.left_alone,
        vec!["domain `wf.node2`: not made by lab (it has no lab metadata)".to_string()]
    );
    assert!(
        fake.domain_spec("wf.node2").is_some(),
        "the hand-made domain stays"
    );
}

#[test]
fn a_copied_state_dir_is_refused_a_moved_one_follows_its_lab() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    let a = lab_in(tmp.path(), "a", LAB, &fake);
    up::up(&a, &ready_probe(), rep()).unwrap();
    // `cp -r a b`: the copy would claim a's VMs.
    let b = lab_in(tmp.path(), "b", LAB, &fake);
    copy_dir(a.state_dir.path(), b.state_dir.path());
    let msg = format!("{:#}", status::status(&b).unwrap_err());
    assert!(
        msg.contains("is a copy of") && msg.contains("remove"),
        "{msg}"
    );
    assert!(destroy::destroy(&b, &Silent).is_err());
    assert!(running(fake.as_ref(), "wf.node1"));
    // `mv a c`: the state follows.
    std::fs::remove_dir_all(b.state_dir.path()).unwrap();
    std::fs::rename(tmp.path().join("a"), tmp.path().join("c")).unwrap();
    let c = lab_in(tmp.path(), "c", LAB, &fake);
    assert!(up::up(&c, &ready_probe(), rep()).unwrap().noop);
    let report = destroy::destroy(&c, &Silent).unwrap();
    assert_eq!(report.domains.len(), 2);
}

#[test]
fn a_state_of_the_older_format_keeps_its_recorded_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    let a = lab_in(tmp.path(), "a", LAB, &fake);
    up::up(&a, &ready_probe(), rep()).unwrap();
    // As an older lab wrote them: no format, instance or file in the state,
    // no instance in the metadata.
    let mut st = a.state_dir.load().unwrap();
    let instance = std::mem::take(&mut st.instance);
    st.format = 1;
    st.file.clear();
    a.state_dir.save(&st).unwrap();
    for n in ["node1", "node2"] {
        let mut spec = fake.domain_spec(&names::domain("wf", n)).unwrap();
        spec.tag = LabTag {
            lab: "wf".into(),
            node: Some(n.into()),
            ..Default::default()
        };
        fake.define_domain(&spec).unwrap();
    }
    let mut net = fake.network_spec("lab-wf").unwrap();
    net.tag = LabTag {
        lab: "wf".into(),
        ..Default::default()
    };
    fake.define_network(&net).unwrap();
    let st = a.state().unwrap();
    assert_eq!(st.format, crate::state::BASE_FORMAT);
    assert_eq!(
        a.domain_owner(&st, "wf.node1").unwrap(),
        Owner::Ours,
        "recorded: ours"
    );
    assert!(instance.len() == 12);
    let report = destroy::destroy(&a, &Silent).unwrap();
    assert_eq!(
        (report.domains.len(), report.volumes.len()),
        (2, 4),
        "{report:?}"
    );
    assert_eq!(report.network.as_deref(), Some("lab-wf"));
    assert!(fake.domain_spec("wf.node1").is_none());
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}
