//! `host-NAME`: one check per host of the lab found that `lab up` asks
//! beyond this machine's libvirt — every host but the primary (whose
//! libvirt is the `libvirt` check), and the primary too when it is
//! another machine. It tells what `lab up`'s preflight would (see
//! [`crate::ops::up`]), without starting:
//! - a host other than the primary: its libvirt answers within the
//!   deadline, runs QEMU (when its driver is QEMU's), has no network of
//!   the lab's name that is not this lab's and no other network on the
//!   lab's subnet;
//! - another machine: its sshd lets this user in without a prompt
//!   (`ssh -o BatchMode=yes`), with `MemAvailable` there for the nodes it
//!   runs and, for the primary, no route there on the lab's subnet.
//!
//! [`probe_hosts`] asks every host at once, each within the deadline;
//! [`verdict`] words what came back.

use std::time::Duration;

use super::lab::{Connections, split_fix};
use super::{Check, ask_libvirt, bounded};
use crate::backend::BackendError;
use crate::backend::libvirt::Facts;
use crate::ops::names;
use crate::ops::overlay::IpHostNet;
use crate::ops::owner::{self, Owner};
use crate::ops::preflight::{self, Route};
use crate::ops::up::{self, NodePlan};
use crate::spec::{Host, Lab};
use crate::state::State;

/// What one host answered.
#[derive(Debug)]
pub(super) struct HostFacts {
    /// Its name in the lab file's `hosts`.
    pub name: String,
    pub uri: String,
    /// Whether it is the lab's primary (its routes matter).
    pub primary: bool,
    /// Its libvirt's answer; `None` for the primary (the `libvirt` check).
    pub libvirt: Option<Result<Facts, BackendError>>,
    /// `USER@ADDRESS` and what was read over SSH there: `MemAvailable`
    /// (MiB) and, for the primary, its routes; `Err`: why not. `None`
    /// for this machine.
    pub machine: Option<(String, Read)>,
}

/// `MemAvailable` (MiB) and the routes read over SSH, or why not.
pub(super) type Read = Result<(Option<u64>, Vec<Route>), String>;

/// Ask every host of `lab` that needs a `host-NAME` check, all at once,
/// each step within `limit`. Also the connection to each other host's
/// libvirt that answered, by host name (for the plan's survey).
pub(super) fn probe_hosts(lab: &Lab, limit: Duration) -> (Vec<HostFacts>, Connections) {
    let hosts: Vec<(usize, &Host)> = lab
        .used_hosts()
        .into_iter()
        .enumerate()
        .filter(|(i, h)| *i > 0 || h.ssh.is_some())
        .collect();
    let found = crate::fanout::each(&hosts, |(i, h)| {
        let primary = *i == 0;
        let (hv, libvirt) = match primary {
            true => (None, None),
            false => {
                let (hv, facts) = ask_libvirt(&h.uri, limit);
                (hv, Some(facts))
            }
        };
        let machine = h.ssh.as_ref().map(|login| {
            let net = IpHostNet::new(&h.name, Some(&login.to_string()));
            let read = match bounded(limit, move || up::read_machine(&net, primary)) {
                None => Err(format!(
                    "ssh did not answer within {} s",
                    limit.as_secs_f64().ceil()
                )),
                Some(read) => read.map_err(|e| format!("{e:#}")),
            };
            (login.to_string(), read)
        });
        let facts = HostFacts {
            name: h.name.clone(),
            uri: h.uri.clone(),
            primary,
            libvirt,
            machine,
        };
        (facts, hv.map(|hv| (h.name.clone(), hv)))
    });
    let (facts, conns): (Vec<_>, Vec<_>) = found.into_iter().unzip();
    (facts, conns.into_iter().flatten().collect())
}

/// The `host-NAME` check of `f` for lab `lab` (state `st`): `nodes` are
/// the planned nodes (`None`: the lab could not be planned, so memory
/// is not counted).
pub(super) fn verdict(f: &HostFacts, lab: &Lab, st: &State, nodes: Option<&[NodePlan]>) -> Check {
    let name = format!("host-{}", f.name);
    let (host, uri) = (&f.name, &f.uri);
    let mut found = Vec::new();
    if let Some(conn) = &f.libvirt {
        let facts = match conn {
            Ok(facts) => facts,
            Err(e) => {
                let why = match e {
                    BackendError::NoAnswer { seconds, .. } => {
                        format!("libvirt did not answer within {seconds} s")
                    }
                    BackendError::Unreachable { message, .. }
                    | BackendError::PermissionDenied { message, .. } => message.clone(),
                    e => e.to_string(),
                };
                return Check::fail(
                    name,
                    format!("{host} ({uri}): {why}"),
                    reach_fix(&format!("host {host}"), uri),
                );
            }
        };
        if facts.driver == "QEMU" && facts.emulator.is_none() {
            return Check::fail(
                name,
                format!("{host} ({uri}): libvirt offers no x86_64 hvm guest (no QEMU emulator)"),
                format!(
                    "install QEMU on host {host} (apt install qemu-system-x86), then restart libvirtd there"
                ),
            );
        }
        let own = names::network(&lab.name);
        let owner = owner::network_owner_in(&facts.networks, &lab.name, st, &own);
        let ours = matches!(owner, Owner::Ours | Owner::Missing);
        if let Err(e) = up::refuse_other(lab, "network", &own, owner) {
            let (detail, fix) = split_fix(&format!("{e:#}"), "rename this lab");
            return Check::fail(name, format!("{host}: {detail}"), fix);
        }
        let subnet = lab.network.subnet;
        let own = ours.then_some(own.as_str());
        if let Err(r) = preflight::check_networks(subnet, own, &facts.networks) {
            return Check::fail(name, format!("{host}: {}", r.problem), r.fix);
        }
        let qemu = facts
            .hypervisor
            .as_deref()
            .map_or(String::new(), |v| format!(", {} {v}", facts.driver));
        found.push(format!(
            "libvirt {}{qemu}, no other network on {subnet}",
            facts.libvirt
        ));
    }
    if let Some((login, read)) = &f.machine {
        let (avail, routes) = match read {
            Ok(r) => r,
            Err(why) => {
                return Check::fail(
                    name,
                    format!(
                        "{host}: cannot read its {} over `ssh {login}`: {why}",
                        if f.primary {
                            "memory and routes"
                        } else {
                            "memory"
                        }
                    ),
                    format!(
                        "`ssh -o BatchMode=yes {login} true` must work from this machine: this user's key in that login's authorized_keys (or name another login with `ssh:` of host {host})"
                    ),
                );
            }
        };
        found.push(format!("ssh {login} logs in"));
        if let Some(nodes) = nodes {
            let (need, vms) = up::memory_need(&up::nodes_on(nodes, host));
            if let Err(r) = preflight::check_memory(need, vms, *avail) {
                return Check::fail(name, format!("{host}: {}", r.problem), r.fix);
            }
            found.push(match avail {
                Some(avail) => {
                    format!("{vms} VM(s) to start need {need} MiB, {avail} MiB available")
                }
                None => format!("{vms} VM(s) to start need {need} MiB, available unknown"),
            });
        }
        if f.primary {
            let bridge = crate::network::bridge_name(&lab.name);
            let subnet = lab.network.subnet;
            if let Err(r) = preflight::check_routes(subnet, Some(&bridge), routes) {
                return Check::fail(name, format!("{host}: {}", r.problem), r.fix);
            }
            found.push(format!("no route there on {subnet}"));
        }
    }
    Check::pass(name, format!("{host} ({uri}): {}", found.join("; ")))
}

/// The fix for host `host` whose libvirt at `uri` cannot be reached, by
/// the URI's transport (<https://libvirt.org/remote.html>).
pub(super) fn reach_fix(host: &str, uri: &str) -> String {
    let check = format!("`virsh -c '{uri}' list` must work from this machine");
    let transport = uri.split("://").next().unwrap_or("");
    let over_ssh = ["+ssh", "+libssh2", "+libssh"]
        .iter()
        .any(|t| transport.ends_with(t));
    if over_ssh {
        format!(
            "{check}: libvirtd running on {host}, and this user's ssh logging in there without a prompt"
        )
    } else if transport.ends_with("+tls") || (!transport.contains('+') && !uri.contains(":///")) {
        format!(
            "{check}: libvirtd on {host} listening for TLS, with its CA and this machine's client certificate in place (https://libvirt.org/kbase/tlscerts.html)"
        )
    } else {
        format!("{check}: libvirtd running on {host}, reachable by the URI's transport")
    }
}
