//! The verdicts of `lab doctor`, each from facts made up here: no host,
//! libvirt or proxy is needed (the lab's numbers come from `lab up`'s
//! planning on the fake hypervisor). `host`: libvirt, its socket, QEMU,
//! KVM, the pool; `tools`; `lab`: the lab file, memory, disk, subnet,
//! the proxy, the report.

mod host;
mod hosts;
mod lab;
mod names;
mod tools;

use std::path::PathBuf;

use super::{Check, Status};
use crate::backend::libvirt::Facts;
use crate::backend::{BackendError, Maker, NetworkInfo, RunState};

pub(super) fn facts(driver: &str) -> Facts {
    Facts {
        libvirt: "9.0.0".into(),
        driver: driver.into(),
        hypervisor: Some("7.2.0".into()),
        emulator: Some(PathBuf::from("/usr/bin/qemu-system-x86_64")),
        networks: vec![],
        pool: None,
    }
}

pub(super) fn unreachable() -> BackendError {
    BackendError::Unreachable {
        uri: "qemu:///system".into(),
        message:
            "Failed to connect socket to '/run/libvirt/libvirt-sock': No such file or directory"
                .into(),
    }
}

pub(super) fn denied() -> BackendError {
    BackendError::PermissionDenied {
        uri: "qemu:///system".into(),
        message: "authentication unavailable".into(),
    }
}

pub(super) fn no_answer() -> BackendError {
    BackendError::NoAnswer {
        uri: "qemu:///system".into(),
        seconds: 5,
    }
}

/// `check` has `status`, its detail holds `detail` and its fix `fix`.
#[track_caller]
pub(super) fn is(check: &Check, status: Status, detail: &str, fix: &str) {
    assert_eq!(check.status, status, "{check:?}");
    assert!(check.detail.contains(detail), "{check:?}");
    match (status, &check.fix) {
        (Status::Pass | Status::Skip, None) => {}
        (Status::Warn | Status::Fail, Some(f)) => assert!(f.contains(fix), "{check:?}"),
        _ => panic!("a fix for WARN and FAIL only: {check:?}"),
    }
}

/// An active libvirt network `name` on `subnet`, made by no lab.
pub(super) fn net(name: &str, subnet: &str) -> NetworkInfo {
    NetworkInfo {
        name: name.into(),
        bridge: None,
        subnets: vec![subnet.parse().unwrap()],
        maker: Maker::Unknown,
        state: RunState::Active,
    }
}
