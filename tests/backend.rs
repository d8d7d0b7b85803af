//! The libvirt backend against libvirt's `test:///default` driver: real
//! libvirt API calls and XML parsing, no QEMU, nothing created on the host.
//! Each connection to the test driver starts from the same fresh state.
//!
//! `real_driver_accepts_our_xml` additionally checks the XML against a real
//! daemon when `LAB_TEST_REAL_LIBVIRT` names one (see that test).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use lab::backend::libvirt::Libvirt;
use lab::backend::{
    Accel, BackendError, Boot, DiskFormat, DiskSpec, DomainSpec, DomainState, HostEntry,
    Hypervisor, InterfaceSpec, Kind, LabTag, Maker, NetworkSpec, RunState,
};
use lab::network;

const TEST_URI: &str = "test:///default";

/// The test driver runs inside this process, and libxml2 builds its
/// RELAX NG type library lazily and not thread-safely: two tests validating
/// XML at once can fail with "type 'unsignedInt' is not exported" (seen on a
/// fresh machine). Tests that talk to libvirt hold this lock.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn hv() -> Libvirt {
    Libvirt::connect(TEST_URI).expect("libvirt's test driver is always available")
}

fn net_spec(name: &str, lab: &str, subnet: &str) -> NetworkSpec {
    let subnet = subnet.parse().unwrap();
    let base = u32::from(network::gateway(subnet));
    NetworkSpec {
        name: name.into(),
        bridge: network::bridge_name(lab),
        tag: tag(lab, None),
        subnet,
        gateway: network::gateway(subnet),
        domain: Some(format!("{lab}.lab")),
        dhcp_range: network::dhcp_range(subnet),
        hosts: vec![HostEntry {
            name: "node1".into(),
            mac: network::mac_for(lab, "node1"),
            ip: Ipv4Addr::from(base + 10),
        }],
        mtu: None,
        bridge_only: false,
    }
}

/// The mark of lab `lab` (instance `i-LAB`) on an object (of `node`).
fn tag(lab: &str, node: Option<&str>) -> LabTag {
    LabTag {
        lab: lab.into(),
        instance: format!("i-{lab}"),
        file: format!("/labs/{lab} & co/lab.yaml"),
        node: node.map(str::to_string),
    }
}

/// The names of `lab`'s domains.
fn lab_domains(hv: &Libvirt, lab: &str) -> Vec<String> {
    hv.list_lab_domains(lab)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

fn dom_spec(lab: &str, node: &str, dir: &Path) -> DomainSpec {
    DomainSpec {
        name: format!("lab-{lab}-{node}"),
        tag: tag(lab, Some(node)),
        memory_mib: 512,
        vcpus: 1,
        accel: Accel::Tcg,
        boot: Boot::Kernel {
            kernel: dir.join("vmlinuz"),
            initrd: Some(dir.join("initrd.img")),
            cmdline: "root=/dev/vda rw console=ttyS0".into(),
        },
        disks: vec![DiskSpec {
            path: dir.join(format!("{node}.qcow2")),
            format: DiskFormat::Qcow2,
            target: "vda".into(),
            readonly: false,
        }],
        interfaces: vec![InterfaceSpec {
            network: format!("lab-{lab}"),
            mac: network::mac_for(lab, node),
        }],
        console_log: dir.join(format!("{node}.log")),
    }
}

#[test]
fn domain_lifecycle() {
    let _serial = serial();
    let hv = hv();
    let dir = Path::new("/images");
    let n1 = dom_spec("smoke", "node1", dir);
    let n2 = dom_spec("smoke", "node2", dir);
    let other = dom_spec("other", "node1", dir);
    assert_eq!(hv.domain_state(&n1.name).unwrap(), None);
    for d in [&n1, &n2, &other] {
        hv.define_domain(d).unwrap();
    }
    assert_eq!(
        hv.domain_state(&n1.name).unwrap(),
        Some(DomainState::ShutOff)
    );
    // The driver's own domain `test` has no metadata and is not listed.
    assert_eq!(
        lab_domains(&hv, "smoke"),
        vec!["lab-smoke-node1", "lab-smoke-node2"]
    );
    assert_eq!(lab_domains(&hv, "other"), vec!["lab-other-node1"]);
    // The mark comes back as written, XML escaping and all.
    assert_eq!(
        hv.domain_maker(&n1.name).unwrap(),
        Some(Maker::Lab(tag("smoke", Some("node1"))))
    );
    assert_eq!(
        hv.domain_maker("test").unwrap(),
        Some(Maker::Unknown),
        "the driver's own domain"
    );
    assert_eq!(hv.domain_maker("nope").unwrap(), None);

    hv.start_domain(&n1.name).unwrap();
    hv.start_domain(&n1.name).unwrap();
    assert_eq!(
        hv.domain_state(&n1.name).unwrap(),
        Some(DomainState::Running)
    );
    // Redefining a running domain keeps its identity (same UUID).
    let mut bigger = n1.clone();
    bigger.memory_mib = 1024;
    hv.define_domain(&bigger).unwrap();
    assert_eq!(
        hv.domain_state(&n1.name).unwrap(),
        Some(DomainState::Running)
    );

    // The test driver powers off at once on a shutdown request.
    hv.shutdown_domain(&n1.name).unwrap();
    assert_eq!(
        hv.domain_state(&n1.name).unwrap(),
        Some(DomainState::ShutOff)
    );
    hv.shutdown_domain(&n1.name).unwrap();
    hv.destroy_domain(&n1.name).unwrap();

    hv.start_domain(&n2.name).unwrap();
    hv.destroy_domain(&n2.name).unwrap();
    assert_eq!(
        hv.domain_state(&n2.name).unwrap(),
        Some(DomainState::ShutOff)
    );

    for d in [&n1, &n2] {
        hv.undefine_domain(&d.name).unwrap();
        hv.undefine_domain(&d.name).unwrap();
        hv.destroy_domain(&d.name).unwrap();
        assert_eq!(hv.domain_state(&d.name).unwrap(), None);
    }
    assert!(hv.list_lab_domains("smoke").unwrap().is_empty());
    let err = hv.start_domain(&n1.name).unwrap_err();
    assert!(
        matches!(&err, BackendError::NotFound { kind: Kind::Domain, name } if name == &n1.name),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "domain `lab-smoke-node1` does not exist");
}

#[test]
fn bad_domain_xml_is_rejected_with_a_sentence() {
    let _serial = serial();
    let hv = hv();
    let mut d = dom_spec("smoke", "node1", Path::new("/images"));
    d.interfaces[0].mac = "not-a-mac".into();
    let err = hv.define_domain(&d).unwrap_err();
    assert!(
        matches!(
            err,
            BackendError::Rejected {
                kind: Kind::Domain,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("libvirt rejected the definition of domain `lab-smoke-node1`"),
        "{err}"
    );
}

#[test]
fn network_lifecycle_and_listing() {
    let _serial = serial();
    let hv = hv();
    let spec = net_spec("lab-smoke", "smoke", "10.77.0.0/24");
    assert_eq!(hv.network_state(&spec.name).unwrap(), None);
    hv.define_network(&spec).unwrap();
    assert_eq!(
        hv.network_state(&spec.name).unwrap(),
        Some(RunState::Inactive)
    );
    hv.define_network(&spec).unwrap(); // redefine keeps identity
    hv.start_network(&spec.name).unwrap();
    hv.start_network(&spec.name).unwrap();
    assert_eq!(
        hv.network_state(&spec.name).unwrap(),
        Some(RunState::Active)
    );

    // Ownership comes from the metadata element, not the name.
    let odd = net_spec("custom-name", "django-ha", "10.78.0.0/16");
    hv.define_network(&odd).unwrap();

    let nets = hv.list_networks().unwrap();
    let names: Vec<_> = nets.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, vec!["custom-name", "default", "lab-smoke"]);
    let smoke = &nets[2];
    assert_eq!(smoke.maker, Maker::Lab(tag("smoke", None)));
    assert_eq!(smoke.bridge.as_deref(), Some("lab-smoke"));
    assert_eq!(smoke.subnets, vec!["10.77.0.0/24".parse().unwrap()]);
    assert_eq!(smoke.state, RunState::Active);
    let custom = &nets[0];
    assert_eq!(custom.maker, Maker::Lab(tag("django-ha", None)));
    assert_eq!(custom.state, RunState::Inactive);
    assert_eq!(custom.subnets, vec!["10.78.0.0/16".parse().unwrap()]);
    // The driver's `default` network: netmask form, no lab.
    let default = &nets[1];
    assert_eq!(default.maker, Maker::Unknown);
    assert_eq!(default.subnets, vec!["192.168.122.0/24".parse().unwrap()]);
    let taken: Vec<_> = nets.iter().flat_map(|n| n.subnets.clone()).collect();
    assert!(
        taken
            .iter()
            .any(|t| network::collides(*t, "10.78.5.0/24".parse().unwrap()))
    );

    hv.remove_network(&spec.name).unwrap();
    hv.remove_network(&spec.name).unwrap();
    hv.remove_network(&odd.name).unwrap();
    assert_eq!(hv.network_state(&spec.name).unwrap(), None);
    assert_eq!(hv.list_networks().unwrap().len(), 1);
    assert!(hv.start_network("lab-gone").unwrap_err().is_not_found());
}

#[test]
fn pools_and_volumes() {
    let _serial = serial();
    let hv = hv();
    let dir = Path::new("/lab-pool");
    assert!(hv.list_volumes("lab").unwrap_err().is_not_found());
    hv.ensure_pool("lab", dir).unwrap();
    hv.ensure_pool("lab", dir).unwrap();
    let err = hv.ensure_pool("lab", Path::new("/elsewhere")).unwrap_err();
    assert!(matches!(err, BackendError::PoolElsewhere { .. }), "{err:?}");
    // libvirt tells an active pool's free space (the test driver's pools
    // are made up, but not empty).
    let free = hv.pool_free_bytes("lab").unwrap();
    assert!(free.is_some_and(|b| b > 0), "{free:?}");
    assert!(hv.pool_free_bytes("nope").unwrap_err().is_not_found());

    let base = dir.join("base.qcow2");
    let overlay = hv.create_overlay("lab", "node1.qcow2", &base, 20).unwrap();
    assert_eq!(overlay, dir.join("node1.qcow2"));
    assert_eq!(hv.volume_path("lab", "node1.qcow2").unwrap(), Some(overlay));
    assert_eq!(hv.volume_path("lab", "missing").unwrap(), None);
    assert_eq!(hv.list_volumes("lab").unwrap(), vec!["node1.qcow2"]);
    let err = hv
        .create_overlay("lab", "node1.qcow2", &base, 20)
        .unwrap_err();
    assert!(
        matches!(
            err,
            BackendError::Conflict { .. } | BackendError::Failed { .. }
        ),
        "{err:?}"
    );

    // The test driver has no virStorageVolUpload: the error says so, and the
    // half-made volume is removed again.
    let src = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(src.path(), b"not really a kernel").unwrap();
    let err = hv
        .upload_volume("lab", "vmlinuz", src.path(), DiskFormat::Raw)
        .unwrap_err();
    assert!(matches!(err, BackendError::Unsupported { .. }), "{err:?}");
    assert_eq!(hv.volume_path("lab", "vmlinuz").unwrap(), None);
    // A qcow2 upload of something that is not qcow2 never reaches libvirt.
    let err = hv
        .upload_volume("lab", "disk.qcow2", src.path(), DiskFormat::Qcow2)
        .unwrap_err();
    assert!(err.to_string().contains("is not a qcow2 image"), "{err}");

    hv.delete_volume("lab", "node1.qcow2").unwrap();
    hv.delete_volume("lab", "node1.qcow2").unwrap();
    hv.delete_volume("no-such-pool", "x").unwrap();
    assert!(hv.list_volumes("lab").unwrap().is_empty());
}

#[test]
fn unreachable_daemon_says_what_to_do() {
    let _serial = serial();
    let uri = "qemu+unix:///system?socket=/nonexistent/lab-backend-test.sock";
    let err = Libvirt::connect(uri).unwrap_err();
    assert!(matches!(err, BackendError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("Is libvirtd running?"), "{text}");
}

/// With `LAB_TEST_REAL_LIBVIRT=qemu:///system` (a daemon inside a test
/// network namespace, e.g. scripts/sandbox), check that the real QEMU and
/// network drivers accept our XML, and that an uploaded qcow2 works as a
/// backing file. Nothing is started: the domain and network are defined and
/// undefined; the pool lives in a temporary directory and is removed.
#[test]
fn real_driver_accepts_our_xml() {
    let _serial = serial();
    let Ok(uri) = std::env::var("LAB_TEST_REAL_LIBVIRT") else {
        eprintln!("skipped: LAB_TEST_REAL_LIBVIRT not set");
        return;
    };
    let hv = Libvirt::connect(&uri).unwrap();
    let tag = format!("labcheck{}", std::process::id());
    let tmp = tempfile::Builder::new()
        .prefix("lab-backend-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().to_path_buf();

    let d = dom_spec(&tag, "node1", &dir);
    hv.define_domain(&d).unwrap();
    assert_eq!(
        hv.domain_state(&d.name).unwrap(),
        Some(DomainState::ShutOff)
    );
    assert_eq!(lab_domains(&hv, &tag), vec![d.name.clone()]);
    hv.define_domain(&d).unwrap();
    hv.undefine_domain(&d.name).unwrap();

    let n = net_spec(&format!("lab-{tag}"), &tag, "10.213.0.0/24");
    hv.define_network(&n).unwrap();
    let info = hv
        .list_networks()
        .unwrap()
        .into_iter()
        .find(|i| i.name == n.name);
    assert!(matches!(info.unwrap().maker, Maker::Lab(t) if t.lab == tag));
    hv.remove_network(&n.name).unwrap();

    let pool = format!("{tag}-pool");
    let pool_dir = dir.join("pool");
    hv.ensure_pool(&pool, &pool_dir).unwrap();
    let result = upload_and_overlay(&hv, &pool, &dir);
    for v in hv.list_volumes(&pool).unwrap_or_default() {
        let _ = hv.delete_volume(&pool, &v);
    }
    let _ = lab::process::Cmd::new("virsh")
        .args(["-c", &uri, "pool-destroy", &pool])
        .run();
    let _ = lab::process::Cmd::new("virsh")
        .args(["-c", &uri, "pool-undefine", &pool])
        .run();
    result.unwrap();
}

fn upload_and_overlay(hv: &Libvirt, pool: &str, dir: &Path) -> Result<(), String> {
    let src = dir.join("base-src.qcow2");
    lab::process::Cmd::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&src)
        .arg("1G")
        .run()
        .map_err(|e| e.to_string())?;
    let base: PathBuf = hv
        .upload_volume(pool, "base.qcow2", &src, DiskFormat::Qcow2)
        .map_err(|e| e.to_string())?;
    let same = std::fs::read(&base).map_err(|e| e.to_string())?
        == std::fs::read(&src).map_err(|e| e.to_string())?;
    if !same {
        return Err("uploaded volume differs from its source".into());
    }
    let overlay = hv
        .create_overlay(pool, "node1.qcow2", &base, 2)
        .map_err(|e| e.to_string())?;
    let info = lab::process::Cmd::new("qemu-img")
        .args(["info", "--backing-chain", "--output=json"])
        .arg(&overlay)
        .run()
        .map_err(|e| e.to_string())?;
    if !info.stdout.contains(&*base.to_string_lossy()) {
        return Err(format!(
            "overlay does not point at {}: {}",
            base.display(),
            info.stdout
        ));
    }
    Ok(())
}

#[test]
fn snapshots_pause_resume_and_undefine_with_them() {
    let _serial = serial();
    let hv = hv();
    let d = dom_spec("snap", "node1", Path::new("/images"));
    hv.define_domain(&d).unwrap();
    // Disk only, of a shut-off domain: reverting leaves it shut off.
    hv.create_snapshot(&d.name, "lab-cold").unwrap();
    hv.start_domain(&d.name).unwrap();
    hv.suspend_domain(&d.name).unwrap();
    hv.suspend_domain(&d.name).unwrap();
    assert_eq!(hv.domain_state(&d.name).unwrap(), Some(DomainState::Paused));
    // Memory and disk of a paused domain: it stays paused.
    hv.create_snapshot(&d.name, "lab-warm").unwrap();
    assert_eq!(hv.domain_state(&d.name).unwrap(), Some(DomainState::Paused));
    hv.resume_domain(&d.name).unwrap();
    hv.resume_domain(&d.name).unwrap();
    assert_eq!(
        hv.domain_state(&d.name).unwrap(),
        Some(DomainState::Running)
    );
    let err = hv.create_snapshot(&d.name, "lab-warm").unwrap_err();
    assert!(
        matches!(
            &err,
            BackendError::Conflict {
                kind: Kind::Snapshot,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        hv.list_snapshots(&d.name).unwrap(),
        ["lab-cold", "lab-warm"]
    );

    hv.revert_snapshot(&d.name, "lab-cold").unwrap();
    assert_eq!(
        hv.domain_state(&d.name).unwrap(),
        Some(DomainState::ShutOff)
    );
    hv.revert_snapshot(&d.name, "lab-warm").unwrap();
    assert_eq!(
        hv.domain_state(&d.name).unwrap(),
        Some(DomainState::Paused),
        "a snapshot with memory comes back paused, to be resumed with the others"
    );
    let err = hv.revert_snapshot(&d.name, "lab-none").unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("lab-none"), "{err}");

    hv.delete_snapshot(&d.name, "lab-cold").unwrap();
    hv.delete_snapshot(&d.name, "lab-cold").unwrap();
    hv.delete_snapshot("no-such-domain", "lab-cold").unwrap();
    assert_eq!(hv.list_snapshots(&d.name).unwrap(), ["lab-warm"]);
    assert!(hv.list_snapshots("no-such-domain").unwrap().is_empty());
    // Undefining takes the snapshot metadata with it.
    hv.destroy_domain(&d.name).unwrap();
    hv.undefine_domain(&d.name).unwrap();
    assert_eq!(hv.domain_state(&d.name).unwrap(), None);
    hv.define_domain(&d).unwrap();
    assert!(hv.list_snapshots(&d.name).unwrap().is_empty());
    hv.undefine_domain(&d.name).unwrap();
}
