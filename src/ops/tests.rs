//! Workflow tests of `up`/`halt`/`status`/`destroy` on the fake hypervisor,
//! with a stand-in readiness probe: resume without duplicates, no-op second
//! run, preflight refusing before anything is created, destroy leaving
//! nothing but the box.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::{LabCtx, destroy, halt, names, status, up};
use crate::backend::fake::FakeHypervisor;
use crate::backend::{DomainState, Hypervisor, NetworkSpec};
use crate::boxes::{BoxMeta, Store};
use crate::ssh::{HostKey, ProbeState};
use crate::ui::nodes::{NodeReporter, Silent};

pub(super) const LAB: &str = "name: wf\nbox: testbox\nnetwork:\n  subnet: 10.88.1.0/24\n  domain: wf.lab\nnodes:\n  node1:\n    ip: 10.88.1.21\n  node2:\n    ip: 10.88.1.22\n";

/// A lab in a temporary directory (`lab/lab.yaml`, the box store beside
/// it) on a fake hypervisor. Also used by [`super::provision`]'s tests.
pub(super) struct Fixture {
    _tmp: tempfile::TempDir,
    pub(super) fake: Arc<FakeHypervisor>,
    pub(super) ctx: LabCtx,
}

pub(super) fn fixture(src: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    let ctx = lab_in(tmp.path(), "lab", src, &fake);
    Fixture {
        _tmp: tmp,
        fake,
        ctx,
    }
}

/// [`fixture`] in `root`, which the caller keeps.
pub(super) fn fixture_in(root: &Path, src: &str) -> (Arc<FakeHypervisor>, LabCtx) {
    let fake = Arc::new(FakeHypervisor::new());
    let ctx = lab_in(root, "lab", src, &fake);
    (fake, ctx)
}

/// The lab `src` at `root/dir/lab.yaml` on `fake`, with the box store
/// `root/boxes` (holding `testbox`).
pub(super) fn lab_in(root: &Path, dir: &str, src: &str, fake: &Arc<FakeHypervisor>) -> LabCtx {
    let path = root.join(dir).join("lab.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, src).unwrap();
    let lab = crate::spec::load_with(&path, &crate::spec::Context::any_box()).unwrap();
    let store = Store::new(root.join("boxes"));
    if store.get("testbox").unwrap().is_none() {
        let staging = store.stage("testbox").unwrap();
        for f in ["disk.qcow2", "vmlinuz", "initrd.img"] {
            std::fs::write(staging.dir().join(f), "x").unwrap();
        }
        staging.commit(&box_meta()).unwrap();
    }
    let hv: Arc<dyn Hypervisor> = fake.clone();
    let mut ctx = LabCtx::with_hypervisor(lab, hv, "test:///fake".into(), store);
    // No SSH to guests that do not exist: clocks are "set" on paper.
    ctx.clocks = Arc::new(|_st, _sd, nodes| {
        nodes
            .iter()
            .map(|n| super::snapshot::ClockSet {
                node: n.clone(),
                offset_seconds: Some(0.0),
                answered_seconds: Some(0.0),
                error: None,
            })
            .collect()
    });
    ctx
}

fn box_meta() -> BoxMeta {
    BoxMeta {
        name: "testbox".into(),
        version: "1".into(),
        format: Default::default(),
        recipe_hash: "h".into(),
        disk_sha256: "0123456789abcdef0123".into(),
        disk_gib: 10,
        cmdline: "root=/dev/vda".into(),
        user: "lab".into(),
        built_at: 0,
        build_seconds: 0,
        suite: "bookworm".into(),
        packages: vec![],
        installed_packages: 0,
        boot: Default::default(),
        firmware: Default::default(),
        source: None,
    }
}

pub(super) fn ready_probe() -> up::UpOptions {
    let mut opts = up::UpOptions::new(vec![], Some(Duration::from_secs(5)));
    opts.probe = Arc::new(|_t, _rem, progress| {
        progress(&ProbeState::CloudInitRunning);
        ProbeState::Ready(HostKey {
            key_type: "ssh-ed25519".into(),
            base64: "AAAA".into(),
        })
    });
    opts
}

pub(super) fn rep() -> Arc<dyn NodeReporter> {
    Arc::new(Silent)
}

fn count(calls: &[String], prefix: &str) -> usize {
    calls.iter().filter(|c| c.starts_with(prefix)).count()
}

#[test]
fn up_creates_everything_once_and_second_run_is_a_noop() {
    let f = fixture(LAB);
    let report = up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    assert!(!report.noop);
    assert_eq!(report.nodes.len(), 2);
    for n in ["node1", "node2"] {
        assert_eq!(
            f.ctx.hv.domain_state(&names::domain("wf", n)).unwrap(),
            Some(DomainState::Running)
        );
        let spec = f.fake.domain_spec(&names::domain("wf", n)).unwrap();
        assert_eq!(spec.disks.len(), 2, "overlay + seed");
    }
    let net = f.fake.network_spec("lab-wf").unwrap();
    assert_eq!(net.hosts.len(), 2);
    assert_eq!(net.domain.as_deref(), Some("wf.lab"));
    let known = std::fs::read_to_string(f.ctx.state_dir.known_hosts()).unwrap();
    assert!(
        known.contains("10.88.1.21,node1,node1.wf.lab ssh-ed25519 AAAA"),
        "{known}"
    );
    let key = std::fs::metadata(f.ctx.state_dir.ssh_key()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(key.permissions().mode() & 0o777, 0o600);

    let before = f.fake.calls().len();
    let again = up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    assert!(again.noop);
    let new_calls: Vec<String> = f.fake.calls()[before..].to_vec();
    assert!(
        new_calls.iter().all(|c| !c.starts_with("define")
            && !c.starts_with("start")
            && !c.starts_with("create")
            && !c.starts_with("upload")),
        "{new_calls:?}"
    );
}

#[test]
fn resume_after_a_lost_node_recreates_only_that_node() {
    let f = fixture(LAB);
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    // As if `lab up` had been killed before node2 was defined.
    f.ctx.hv.destroy_domain("wf.node2").unwrap();
    f.ctx.hv.undefine_domain("wf.node2").unwrap();
    let instance = f.ctx.state_dir.load().unwrap().instance;
    f.ctx
        .hv
        .delete_volume(
            names::POOL,
            &names::overlay_volume("wf", &instance, "node2"),
        )
        .unwrap();
    let before = f.fake.calls().len();
    let report = up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    assert!(!report.noop);
    let calls = f.fake.calls()[before..].to_vec();
    assert_eq!(count(&calls, "define_domain"), 1, "{calls:?}");
    assert!(
        calls
            .iter()
            .any(|c| c.contains("define_domain") && c.contains("wf.node2")),
        "{calls:?}"
    );
    assert_eq!(count(&calls, "create_overlay"), 1, "{calls:?}");
    assert_eq!(
        count(&calls, "upload_volume"),
        0,
        "box and seeds reused: {calls:?}"
    );
    assert_eq!(count(&calls, "start_domain"), 1, "{calls:?}");
    assert_eq!(f.ctx.hv.list_lab_domains("wf").unwrap().len(), 2);
}

#[test]
fn colliding_subnet_is_refused_before_anything_is_created() {
    let f = fixture(LAB);
    f.ctx
        .hv
        .define_network(&NetworkSpec {
            name: "other".into(),
            bridge: "other0".into(),
            tag: crate::backend::LabTag {
                lab: "other".into(),
                ..Default::default()
            },
            subnet: "10.88.0.0/16".parse().unwrap(),
            gateway: "10.88.0.1".parse().unwrap(),
            domain: None,
            dhcp_range: None,
            hosts: vec![],
            mtu: None,
            bridge_only: false,
        })
        .unwrap();
    let before = f.fake.calls().len();
    let err = up::up(&f.ctx, &ready_probe(), rep())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("collides with libvirt network `other`"),
        "{err}"
    );
    let calls = f.fake.calls()[before..].to_vec();
    assert!(
        calls.iter().all(|c| !c.starts_with("define")
            && !c.starts_with("create")
            && !c.starts_with("upload")
            && !c.starts_with("ensure_pool")),
        "{calls:?}"
    );
    assert!(!f.ctx.state_dir.exists(), "no state recorded");
}

/// A lab whose box must be built (a recipe beside it, nothing in the store).
fn lab_with_unbuilt_box(src: &str) -> Fixture {
    let f = fixture(&src.replace("box: testbox", "box: fresh"));
    let recipe = f.ctx.lab.dir().join("boxes/fresh");
    std::fs::create_dir_all(&recipe).unwrap();
    std::fs::write(
        recipe.join("box.yaml"),
        "version: '1'\nsuite: bookworm\nmirror: http://deb.debian.org/debian\npackages: [openssh-server]\ndisk_gib: 8\ncmdline: root=/dev/vda\nuser: lab\n",
    )
    .unwrap();
    f
}

/// Nothing of box `fresh` in the store: no staging dir, lock or box.
fn assert_no_build(f: &Fixture) {
    let entries: Vec<String> = std::fs::read_dir(f.ctx.store.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(entries.iter().all(|e| !e.contains("fresh")), "{entries:?}");
    assert!(!f.ctx.state_dir.path().exists(), "no state dir either");
}

#[test]
fn cheap_checks_refuse_before_any_box_build() {
    // A colliding subnet.
    let f = lab_with_unbuilt_box(LAB);
    f.fake.define_foreign_network(&NetworkSpec {
        name: "default".into(),
        bridge: "virbr0".into(),
        tag: Default::default(),
        subnet: "10.88.1.0/24".parse().unwrap(),
        gateway: "10.88.1.1".parse().unwrap(),
        domain: None,
        dhcp_range: None,
        hosts: vec![],
        mtu: None,
        bridge_only: false,
    });
    let err = format!("{:#}", up::up(&f.ctx, &ready_probe(), rep()).unwrap_err());
    assert!(
        err.contains("collides with libvirt network `default`"),
        "{err}"
    );
    assert_no_build(&f);
    // More memory than any host has.
    let big = LAB
        .replace(
            "    ip: 10.88.1.22\n",
            "    ip: 10.88.1.22\n    memory: 65536\n",
        )
        .replace(
            "    ip: 10.88.1.21\n",
            "    ip: 10.88.1.21\n    memory: 65536\n",
        );
    let f = lab_with_unbuilt_box(&big);
    let err = format!("{:#}", up::up(&f.ctx, &ready_probe(), rep()).unwrap_err());
    assert!(
        err.contains("not enough free memory: starting 2 VM(s) needs 131072 MiB"),
        "{err}"
    );
    assert_no_build(&f);
    let calls = f.fake.calls();
    assert!(
        calls.iter().all(|c| !c.starts_with("define")
            && !c.starts_with("upload")
            && !c.starts_with("ensure_pool")),
        "{calls:?}"
    );
}

#[test]
fn rootfs_box_as_a_node_box_is_refused_before_anything_is_created() {
    let f = fixture(LAB);
    let meta_path = f.ctx.store.root().join("testbox/box.json");
    let mut meta = box_meta();
    meta.format = crate::boxes::Format::Rootfs;
    meta.user = String::new();
    std::fs::write(&meta_path, serde_json::to_string(&meta).unwrap()).unwrap();
    std::fs::write(f.ctx.store.root().join("testbox/rootfs.tar.gz"), "x").unwrap();
    let err = format!("{:#}", up::up(&f.ctx, &ready_probe(), rep()).unwrap_err());
    assert!(
        err.contains(
            "box `testbox` is a root filesystem for containers (format: rootfs), not a VM disk"
        ),
        "{err}"
    );
    let calls = f.fake.calls();
    assert!(
        calls.iter().all(|c| !c.starts_with("define")
            && !c.starts_with("create")
            && !c.starts_with("upload")),
        "{calls:?}"
    );
}

#[test]
fn node_that_never_gets_ready_fails_with_console_hint() {
    let f = fixture(LAB);
    let mut opts = up::UpOptions::new(vec!["node1".into()], Some(Duration::from_millis(300)));
    opts.probe = Arc::new(|_, _, _| ProbeState::NoConnection("connection refused".into()));
    let err = format!("{:#}", up::up(&f.ctx, &opts, rep()).unwrap_err());
    assert!(err.contains("node node1 did not become ready"), "{err}");
    assert!(err.contains("SSH never answered"), "{err}");
    assert!(err.contains("console/node1.log"), "{err}");
    assert!(err.contains("lab console node1"), "{err}");
    // Only the selected node was created.
    let doms: Vec<String> = f
        .ctx
        .hv
        .list_lab_domains("wf")
        .unwrap()
        .into_iter()
        .map(|d| d.0)
        .collect();
    assert_eq!(doms, vec!["wf.node1".to_string()]);
}

#[test]
fn halt_status_and_destroy_leave_only_the_box() {
    let f = fixture(LAB);
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    let halted = halt::halt(&f.ctx, &[], Duration::from_secs(1), &Silent).unwrap();
    assert_eq!(halted.len(), 2);
    let st = status::status(&f.ctx).unwrap();
    assert!(
        st.nodes
            .iter()
            .all(|n| n.state == status::VmState::Domain(DomainState::ShutOff) && !n.ready),
        "{st:?}"
    );
    // `up` after halt starts them again without redefining.
    let before = f.fake.calls().len();
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    let calls = f.fake.calls()[before..].to_vec();
    assert_eq!(count(&calls, "start_domain"), 2, "{calls:?}");
    assert_eq!(count(&calls, "define_domain"), 0, "{calls:?}");

    let report = destroy::destroy(&f.ctx, &Silent).unwrap();
    assert_eq!(report.domains.len(), 2);
    assert_eq!(report.volumes.len(), 4);
    assert_eq!(report.network.as_deref(), Some("lab-wf"));
    assert!(f.ctx.hv.list_lab_domains("wf").unwrap().is_empty());
    let vols = f.ctx.hv.list_volumes(names::POOL).unwrap();
    assert!(
        vols.iter().all(|v| v.starts_with("box.")),
        "only the box is kept: {vols:?}"
    );
    assert!(!Path::new(f.ctx.state_dir.path()).exists());
    // Destroying again is harmless; halting a destroyed lab makes nothing.
    let again = destroy::destroy(&f.ctx, &Silent).unwrap();
    assert_eq!(again, destroy::DestroyReport::default());
    let halted = halt::halt(&f.ctx, &[], Duration::from_secs(1), &Silent).unwrap();
    assert!(
        halted
            .iter()
            .all(|(_, h)| *h == halt::Halted::WasNotRunning)
    );
    assert!(
        !Path::new(f.ctx.state_dir.path()).exists(),
        "halt made no state dir"
    );
}

#[test]
fn a_lab_path_no_program_can_take_is_refused_before_anything_is_created() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    let ctx = lab_in(tmp.path(), "my\nlab", LAB, &fake);
    let err = up::up(&ctx, &ready_probe(), rep()).unwrap_err().to_string();
    assert!(err.contains("contains a newline (U+000A)"), "{err}");
    assert!(
        fake.calls()
            .iter()
            .all(|c| !c.starts_with("define") && !c.starts_with("ensure_pool")),
        "{:?}",
        fake.calls()
    );
    assert!(!ctx.state_dir.path().exists());
    // The lab file's own name counts too (it goes into libvirt's metadata).
    let dir = tmp.path().join("ok");
    std::fs::create_dir_all(&dir).unwrap();
    let odd = dir.join("odd\u{1}name.yaml");
    std::fs::write(&odd, LAB).unwrap();
    let lab = crate::spec::load_with(&odd, &crate::spec::Context::any_box()).unwrap();
    let hv: Arc<dyn Hypervisor> = fake.clone();
    let ctx2 = LabCtx::with_hypervisor(lab, hv, "test:///fake".into(), ctx.store.clone());
    let err = up::up(&ctx2, &ready_probe(), rep())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the lab file") && err.contains("U+0001"),
        "{err}"
    );
    assert!(
        fake.calls().iter().all(|c| !c.starts_with("define")),
        "{:?}",
        fake.calls()
    );
    // Spaces, quotes, `#`, `%` and non-ASCII are fine.
    let ctx = lab_in(tmp.path(), "my lab/it's \"#1\" %h ü", LAB, &fake);
    up::up(&ctx, &ready_probe(), rep()).unwrap();
}
