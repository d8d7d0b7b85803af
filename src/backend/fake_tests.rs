//! Tests of the fake's contract, which workflow tests rely on.

use std::path::Path;

use super::*;
use crate::backend::Accel;
use crate::backend::fixtures;

#[test]
fn lifecycle_and_call_log() {
    let hv = FakeHypervisor::new();
    let net = fixtures::network("smoke");
    let dom = fixtures::domain("smoke", "node1", Accel::Tcg);
    assert_eq!(hv.network_state(&net.name).unwrap(), None);
    hv.define_network(&net).unwrap();
    assert_eq!(
        hv.network_state(&net.name).unwrap(),
        Some(RunState::Inactive)
    );
    hv.define_domain(&dom).unwrap();
    // A domain cannot start while its network is down, as with libvirt.
    let err = hv.start_domain(&dom.name).unwrap_err();
    assert!(err.to_string().contains("not active"), "{err}");
    hv.start_network(&net.name).unwrap();
    hv.start_domain(&dom.name).unwrap();
    hv.start_domain(&dom.name).unwrap();
    assert_eq!(
        hv.domain_state(&dom.name).unwrap(),
        Some(DomainState::Running)
    );
    assert_eq!(
        hv.list_lab_domains("smoke").unwrap(),
        vec![(dom.name.clone(), dom.tag.clone())]
    );
    assert!(hv.list_lab_domains("other").unwrap().is_empty());
    assert_eq!(
        hv.domain_maker(&dom.name).unwrap(),
        Some(Maker::Lab(dom.tag.clone()))
    );
    hv.shutdown_domain(&dom.name).unwrap();
    assert_eq!(
        hv.domain_state(&dom.name).unwrap(),
        Some(DomainState::ShutOff)
    );
    hv.destroy_domain(&dom.name).unwrap();
    hv.undefine_domain(&dom.name).unwrap();
    hv.undefine_domain(&dom.name).unwrap();
    hv.destroy_domain("never-defined").unwrap();
    assert_eq!(hv.domain_state(&dom.name).unwrap(), None);
    let nets = hv.list_networks().unwrap();
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0].maker, Maker::Lab(net.tag.clone()));
    assert_eq!(nets[0].subnets, vec![net.subnet]);
    hv.remove_network(&net.name).unwrap();
    hv.remove_network(&net.name).unwrap();
    assert!(hv.list_networks().unwrap().is_empty());
    let calls = hv.calls();
    assert_eq!(calls[0], "network_state lab-smoke");
    assert!(calls.contains(&"start_domain lab-smoke-node1".to_string()));
}

#[test]
fn foreign_objects_have_no_maker_until_lab_redefines_them() {
    let hv = FakeHypervisor::new();
    let dom = fixtures::domain("smoke", "node1", Accel::Tcg);
    let net = fixtures::network("smoke");
    hv.define_foreign_domain(&dom);
    hv.define_foreign_network(&net);
    assert_eq!(hv.domain_maker(&dom.name).unwrap(), Some(Maker::Unknown));
    assert_eq!(hv.domain_maker("nope").unwrap(), None);
    assert!(hv.list_lab_domains("smoke").unwrap().is_empty());
    assert_eq!(hv.list_networks().unwrap()[0].maker, Maker::Unknown);
    hv.define_domain(&dom).unwrap();
    assert_eq!(
        hv.domain_maker(&dom.name).unwrap(),
        Some(Maker::Lab(dom.tag.clone()))
    );
    hv.undefine_domain(&dom.name).unwrap();
    hv.define_foreign_domain(&dom);
    hv.undefine_domain(&dom.name).unwrap();
    hv.define_domain(&dom).unwrap();
    assert_eq!(
        hv.domain_maker(&dom.name).unwrap(),
        Some(Maker::Lab(dom.tag))
    );
}

#[test]
fn redefine_keeps_state_and_replaces_spec() {
    let hv = FakeHypervisor::new();
    let mut dom = fixtures::domain("smoke", "node1", Accel::Tcg);
    hv.define_domain(&dom).unwrap();
    hv.set_domain_state(&dom.name, DomainState::Paused);
    dom.memory_mib = 4096;
    hv.define_domain(&dom).unwrap();
    assert_eq!(hv.domain_spec(&dom.name).unwrap().memory_mib, 4096);
    assert_eq!(
        hv.domain_state(&dom.name).unwrap(),
        Some(DomainState::Paused)
    );
}

#[test]
fn injected_failures_fire_once_in_order() {
    let hv = FakeHypervisor::new();
    hv.fail_next(
        "list_networks",
        BackendError::Unreachable {
            uri: "qemu:///system".into(),
            message: "no socket".into(),
        },
    );
    hv.fail_next(
        "list_networks",
        BackendError::Failed {
            op: "list networks".into(),
            message: "second".into(),
        },
    );
    assert!(matches!(
        hv.list_networks(),
        Err(BackendError::Unreachable { .. })
    ));
    assert!(matches!(
        hv.list_networks(),
        Err(BackendError::Failed { .. })
    ));
    assert!(hv.list_networks().unwrap().is_empty());
    assert_eq!(hv.calls().len(), 3, "failed calls are recorded too");
}

#[test]
fn volumes() {
    let hv = FakeHypervisor::new();
    let dir = Path::new("/pool");
    assert!(hv.volume_path("lab", "x").unwrap_err().is_not_found());
    hv.ensure_pool("lab", dir).unwrap();
    hv.ensure_pool("lab", dir).unwrap();
    assert!(matches!(
        hv.ensure_pool("lab", Path::new("/elsewhere")),
        Err(BackendError::PoolElsewhere { .. })
    ));
    let src = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(src.path(), b"kernel").unwrap();
    let base = hv
        .upload_volume("lab", "base.qcow2", src.path(), DiskFormat::Qcow2)
        .unwrap();
    assert_eq!(base, dir.join("base.qcow2"));
    assert_eq!(hv.volume("lab", "base.qcow2").unwrap().capacity, 6);
    let o = hv.create_overlay("lab", "n1.qcow2", &base, 20).unwrap();
    assert_eq!(hv.volume_path("lab", "n1.qcow2").unwrap(), Some(o));
    assert_eq!(
        hv.volume("lab", "n1.qcow2").unwrap().backing,
        Some(base.clone())
    );
    assert!(matches!(
        hv.create_overlay("lab", "n1.qcow2", &base, 20),
        Err(BackendError::Conflict { .. })
    ));
    assert!(matches!(
        hv.upload_volume("lab", "k", Path::new("/nonexistent/k"), DiskFormat::Raw),
        Err(BackendError::Io { .. })
    ));
    assert_eq!(
        hv.list_volumes("lab").unwrap(),
        vec!["base.qcow2", "n1.qcow2"]
    );
    hv.delete_volume("lab", "n1.qcow2").unwrap();
    hv.delete_volume("lab", "n1.qcow2").unwrap();
    hv.delete_volume("no-pool", "n1.qcow2").unwrap();
    assert_eq!(hv.volume_path("lab", "n1.qcow2").unwrap(), None);
}

#[test]
fn is_usable_as_a_shared_trait_object() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FakeHypervisor>();
    assert_send_sync::<crate::backend::libvirt::Libvirt>();
    let hv: std::sync::Arc<dyn Hypervisor> = std::sync::Arc::new(FakeHypervisor::new());
    assert_eq!(hv.domain_state("x").unwrap(), None);
}
