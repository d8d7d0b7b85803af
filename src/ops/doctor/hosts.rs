//! `host`: one check for each other host of a lab over several hosts
//! (the primary is the host the `libvirt` check and the rest examine):
//! its libvirt answers within the deadline, offers an x86_64 QEMU guest
//! (when its driver is QEMU's),
//! and has no network on the lab's subnet but the lab's own. `lab up`
//! checks the same before it creates anything (plus the host's memory,
//! routes and VNI, read over SSH); this tells it without starting.

use ipnet::Ipv4Net;

use super::Check;
use crate::backend::BackendError;
use crate::backend::libvirt::Facts;
use crate::ops::{names, preflight};

/// The check of host `name` at libvirt URI `uri`, from what its libvirt
/// answered (`conn`), against the lab `lab`'s `subnet`.
pub(super) fn other_host(
    name: &str,
    uri: &str,
    conn: &Result<Facts, BackendError>,
    lab: &str,
    subnet: Ipv4Net,
) -> Check {
    const NAME: &str = "host";
    let reach_fix = format!(
        "from this machine, `virsh -c {uri} list` must work: libvirtd running on host {name}, and for qemu+ssh:// a key this user's ssh logs in with, without a password"
    );
    let f = match conn {
        Ok(f) => f,
        Err(BackendError::NoAnswer { seconds, .. }) => {
            return Check::fail(
                NAME,
                format!("{name} ({uri}): libvirt did not answer within {seconds} s"),
                reach_fix,
            );
        }
        Err(BackendError::Unreachable { message, .. })
        | Err(BackendError::PermissionDenied { message, .. }) => {
            return Check::fail(NAME, format!("{name} ({uri}): {message}"), reach_fix);
        }
        Err(e) => return Check::fail(NAME, format!("{name} ({uri}): {e}"), reach_fix),
    };
    if f.driver == "QEMU" && f.emulator.is_none() {
        return Check::fail(
            NAME,
            format!("{name} ({uri}): libvirt offers no x86_64 hvm guest (no QEMU emulator)"),
            format!(
                "install QEMU on host {name} (apt install qemu-system-x86), then restart libvirtd there"
            ),
        );
    }
    let own = names::network(lab);
    if let Err(refusal) = preflight::check_networks(subnet, Some(&own), &f.networks) {
        return Check::fail(NAME, format!("{name}: {}", refusal.problem), refusal.fix);
    }
    let qemu = f
        .hypervisor
        .as_deref()
        .map_or(String::new(), |v| format!(", {} {v}", f.driver));
    let pool = match &f.pool {
        Some(_) => format!("pool {} there", names::POOL),
        None => format!("pool {} not there yet (lab up makes it)", names::POOL),
    };
    Check::pass(
        NAME,
        format!(
            "{name} ({uri}): libvirt {}{qemu}; {pool}; no other network on {subnet}",
            f.libvirt
        ),
    )
}
