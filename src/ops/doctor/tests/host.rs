use std::path::{Path, PathBuf};

use super::super::Status;
use super::super::host::{self, Access, Dir, PoolProbe, SocketProbe, SocketState, User};
use super::{denied, facts, is, no_answer, unreachable};
use crate::backend::accel::HostProbe;
use crate::backend::libvirt::{PoolInfo, SocketPlace};
use crate::spec;

#[test]
fn libvirt_reached_or_why_not() {
    let c = host::libvirt("qemu:///system", "default", &Ok(facts("QEMU")));
    is(
        &c,
        Status::Pass,
        "qemu:///system (default), libvirt 9.0.0, QEMU 7.2.0",
        "",
    );
    let c = host::libvirt("qemu:///system", "default", &Err(unreachable()));
    is(
        &c,
        Status::Fail,
        "cannot reach qemu:///system (default): Failed to connect",
        "Start it",
    );
    let c = host::libvirt("qemu:///system", "LAB_LIBVIRT_URI", &Err(denied()));
    is(
        &c,
        Status::Fail,
        "refused access: authentication unavailable",
        "`libvirt` group",
    );
    let c = host::libvirt("qemu:///system", "default", &Err(no_answer()));
    is(
        &c,
        Status::Fail,
        "did not answer within 5 s",
        "Restart libvirtd",
    );
}

fn socket_probe(state: SocketState) -> SocketProbe {
    SocketProbe {
        place: SocketPlace::Local("/run/libvirt/libvirt-sock".into()),
        state: Some(state),
        who: "alice (uid 1000)".into(),
    }
}

fn present(writable: bool) -> SocketState {
    SocketState::Present {
        mode: 0o770,
        owner: "root".into(),
        group: "libvirt".into(),
        writable,
    }
}

#[test]
fn socket_permission_and_other_reasons_it_fails() {
    let sock = "/run/libvirt/libvirt-sock";
    let c = host::socket(&socket_probe(present(true)), &Ok(facts("QEMU")));
    is(
        &c,
        Status::Pass,
        &format!("{sock} (srwxrwx--- root:libvirt)"),
        "",
    );
    let c = host::socket(&socket_probe(present(false)), &Err(unreachable()));
    is(
        &c,
        Status::Fail,
        "alice (uid 1000) may not connect to",
        "usermod -aG libvirt",
    );
    assert!(c.detail.contains("permission denied"), "{c:?}");
    let c = host::socket(&socket_probe(present(true)), &Err(denied()));
    is(
        &c,
        Status::Fail,
        "libvirt refused alice (uid 1000)",
        "`libvirt` group",
    );
    let c = host::socket(&socket_probe(present(true)), &Err(no_answer()));
    is(
        &c,
        Status::Fail,
        "nothing answers on it within 5 s",
        "Restart libvirtd",
    );
    let c = host::socket(&socket_probe(present(true)), &Err(unreachable()));
    is(&c, Status::Fail, "no daemon listens on it", "Start it");
    let c = host::socket(&socket_probe(SocketState::Missing), &Err(unreachable()));
    is(
        &c,
        Status::Fail,
        &format!("{sock} does not exist"),
        "Start it",
    );
    let c = host::socket(&socket_probe(SocketState::NotSocket), &Err(unreachable()));
    is(&c, Status::Fail, "is not a socket", "remove it");
    let none = SocketProbe {
        place: SocketPlace::None("`test:///default` runs inside lab, without a daemon".into()),
        state: None,
        who: String::new(),
    };
    is(
        &host::socket(&none, &Ok(facts("TEST"))),
        Status::Skip,
        "without a daemon",
        "",
    );
}

#[test]
fn qemu_as_libvirt_reports_it_or_on_path() {
    let c = host::qemu(Some(&facts("QEMU")), None);
    is(
        &c,
        Status::Pass,
        "/usr/bin/qemu-system-x86_64 (QEMU 7.2.0, as libvirt reports)",
        "",
    );
    let mut f = facts("QEMU");
    f.emulator = None;
    is(
        &host::qemu(Some(&f), Some("/usr/bin/qemu-system-x86_64".into())),
        Status::Fail,
        "offers no x86_64 guests",
        "qemu-system-x86",
    );
    let path = Some(PathBuf::from("/usr/bin/qemu-system-x86_64"));
    is(
        &host::qemu(Some(&facts("TEST")), path.clone()),
        Status::Pass,
        "found on PATH; libvirt's TEST driver runs no QEMU",
        "",
    );
    is(
        &host::qemu(None, path),
        Status::Pass,
        "libvirt not asked",
        "",
    );
    is(
        &host::qemu(None, None),
        Status::Fail,
        "qemu-system-x86_64 is not installed",
        "apt-get install qemu-system-x86",
    );
}

fn cpu(cpuinfo: &str, kvm_rw: bool, kvm_pvm: bool) -> HostProbe {
    HostProbe {
        cpuinfo: cpuinfo.into(),
        kvm_rw,
        kvm_pvm,
    }
}

#[test]
fn kvm_or_why_tcg() {
    let vmx = "flags\t: fpu vmx\n";
    let plain = "flags\t: fpu sse2\n";
    is(
        &host::kvm(None, &cpu(vmx, true, false)),
        Status::Pass,
        "KVM: CPU has vmx and /dev/kvm is usable",
        "",
    );
    let c = host::kvm(None, &cpu(plain, true, true));
    is(
        &c,
        Status::Warn,
        "TCG (software emulation, many times slower than KVM): no vmx/svm in /proc/cpuinfo (PVM-only KVM)",
        "VT-x/AMD-V",
    );
    let c = host::kvm(Some(spec::Accel::Auto), &cpu(vmx, false, false));
    is(
        &c,
        Status::Warn,
        "/dev/kvm cannot be opened read-write",
        "group `kvm`",
    );
    let c = host::kvm(Some(spec::Accel::Kvm), &cpu(plain, false, false));
    is(
        &c,
        Status::Fail,
        "asks for accel: kvm, but KVM is not usable here: no vmx/svm",
        "VT-x/AMD-V",
    );
    is(
        &host::kvm(Some(spec::Accel::Tcg), &cpu(plain, false, false)),
        Status::Pass,
        "TCG: accel: tcg in the lab file",
        "",
    );
}

fn dir(path: &str, uid: u32, gid: u32, mode: u32) -> Dir {
    Dir {
        path: path.into(),
        uid,
        gid,
        mode,
        owner: if uid == 0 {
            "root".into()
        } else {
            uid.to_string()
        },
        group: if gid == 0 {
            "root".into()
        } else {
            gid.to_string()
        },
    }
}

#[test]
fn a_directory_is_searchable_by_owner_group_or_other() {
    let qemu = User {
        name: "libvirt-qemu".into(),
        uid: 64055,
        gids: vec![107, 64055],
    };
    let root_only = [dir("/", 0, 0, 0o755), dir("/root", 0, 0, 0o700)];
    assert_eq!(
        host::first_unsearchable(&qemu, &root_only).unwrap().path,
        Path::new("/root")
    );
    let root = User {
        name: "root".into(),
        uid: 0,
        gids: vec![0],
    };
    assert_eq!(host::first_unsearchable(&root, &root_only), None);
    // Owner bits for the owner, group bits for a member, other bits else.
    let owned = [dir("/srv", 64055, 0, 0o100)];
    assert_eq!(host::first_unsearchable(&qemu, &owned), None);
    let group = [dir("/srv", 0, 107, 0o710)];
    assert_eq!(host::first_unsearchable(&qemu, &group), None);
    let not_group = [dir("/srv", 0, 5, 0o710)];
    assert!(host::first_unsearchable(&qemu, &not_group).is_some());
    // Group bits are not tried for the owner.
    let owner_without_x = [dir("/srv", 64055, 107, 0o610)];
    assert!(host::first_unsearchable(&qemu, &owner_without_x).is_some());
}

fn pool_probe(libvirt: Option<Option<PoolInfo>>, access: Access) -> PoolProbe {
    PoolProbe {
        dir: "/var/lib/libvirt/images/lab".into(),
        libvirt,
        access,
    }
}

#[test]
fn pool_present_or_made_later_and_reachable_by_qemu() {
    let reaches = || Access::Reaches("libvirt-qemu".into());
    let at = |path: &str, active| {
        Some(Some(PoolInfo {
            path: Some(path.into()),
            active,
        }))
    };
    let c = host::pool(&pool_probe(
        at("/var/lib/libvirt/images/lab", true),
        reaches(),
    ));
    is(
        &c,
        Status::Pass,
        "`lab` at /var/lib/libvirt/images/lab; QEMU's user libvirt-qemu can reach it",
        "",
    );
    let c = host::pool(&pool_probe(Some(None), reaches()));
    is(
        &c,
        Status::Pass,
        "does not exist yet: lab up makes it at /var/lib/libvirt/images/lab",
        "",
    );
    let c = host::pool(&pool_probe(at("/srv/lab", true), reaches()));
    is(
        &c,
        Status::Fail,
        "is at /srv/lab, but lab uses /var/lib/libvirt/images/lab",
        "LAB_POOL_DIR=/srv/lab",
    );
    let blocked = Access::Blocked {
        user: "libvirt-qemu".into(),
        dir: dir("/root", 0, 0, 0o700),
    };
    let c = host::pool(&pool_probe(Some(None), blocked));
    is(
        &c,
        Status::Fail,
        "QEMU runs as libvirt-qemu, who cannot enter /root (drwx------ root:root)",
        "chmod o+x /root",
    );
    let c = host::pool(&pool_probe(None, Access::NotChecked("not asked".into())));
    is(&c, Status::Skip, "not looked up: libvirt not reachable", "");
    let c = host::pool(&pool_probe(None, reaches()));
    is(
        &c,
        Status::Skip,
        "not looked up: libvirt not reachable (see the libvirt check); QEMU's user libvirt-qemu can reach it",
        "",
    );
}
