//! The overlay's steps in `lab up`: each host's tunnel address, the VNI
//! checked free on every host (preflight), and each host's VXLAN device
//! made once its bridge is up.

use std::net::Ipv4Addr;

use anyhow::Result;
use ipnet::Ipv4Net;

use super::super::HostCtx;
use crate::network::vxlan::{self, VxlanSpec};
use crate::ui::nodes::NodeReporter;

/// The tunnel address of each of `hosts` (same order): its `address`;
/// else its ssh address, read as an IPv4 address or resolved on another
/// host (`getent ahostsv4` there: that is the address the others send
/// to); else, for this machine, the source address of its route to
/// another host's. `Err`: one line per host whose address cannot be told,
/// each with its fix.
pub fn tunnel_addresses(hosts: &[HostCtx]) -> Result<Vec<Ipv4Addr>, Vec<String>> {
    let mut found: Vec<Option<Ipv4Addr>> = vec![None; hosts.len()];
    let mut problems = Vec::new();
    let fix = |h: &HostCtx| format!("set `address:` of host {} in the lab file", h.name);
    for (i, h) in hosts.iter().enumerate() {
        if let Some(a) = h.address {
            found[i] = Some(a);
            continue;
        }
        let Some(login) = &h.ssh else { continue };
        let name = login.rsplit_once('@').map_or(login.as_str(), |(_, a)| a);
        if let Ok(ip) = name.parse() {
            found[i] = Some(ip);
            continue;
        }
        let Some(peer) = hosts.iter().find(|p| p.name != h.name) else {
            continue;
        };
        match peer.net.resolve(name) {
            Ok(Some(ip)) => found[i] = Some(ip),
            Ok(None) => problems.push(format!(
                "host {}: its ssh address {name} does not resolve on host {} (getent ahostsv4); {}",
                h.name,
                peer.name,
                fix(h)
            )),
            Err(e) => problems.push(format!(
                "host {}: cannot resolve its ssh address {name} on host {}: {e:#}",
                h.name, peer.name
            )),
        }
    }
    for (i, h) in hosts.iter().enumerate() {
        if found[i].is_some() || h.ssh.is_some() {
            continue;
        }
        // This machine: the address its route to a peer leaves from.
        let peer = hosts
            .iter()
            .zip(&found)
            .find_map(|(p, a)| (p.name != h.name).then_some(*a).flatten());
        let Some(peer) = peer else {
            problems.push(format!(
                "host {}: no other host's address is known to find its own; {}",
                h.name,
                fix(h)
            ));
            continue;
        };
        match h.net.route_src(peer) {
            Ok(Some(ip)) => found[i] = Some(ip),
            Ok(None) => problems.push(format!(
                "host {}: its route to {peer} names no source address; {}",
                h.name,
                fix(h)
            )),
            Err(e) => problems.push(format!(
                "host {}: cannot find its route to {peer}: {e:#}",
                h.name
            )),
        }
    }
    if problems.is_empty() {
        Ok(found
            .into_iter()
            .map(|a| a.expect("found or reported"))
            .collect())
    } else {
        Err(problems)
    }
}

/// Refusals of tunnel addresses `addrs` (one per host of `hosts`, same
/// order) inside the lab's `subnet`: the primary's bridge holds that
/// subnet, so its VXLAN packets to such an address would go into the
/// lab's own bridge, and the guests could not reach that host. One line
/// per such host.
pub fn check_tunnel_addresses(
    hosts: &[HostCtx],
    addrs: &[Ipv4Addr],
    subnet: Ipv4Net,
) -> Vec<String> {
    hosts
        .iter()
        .zip(addrs)
        .filter(|(_, a)| subnet.contains(*a))
        .map(|(h, a)| {
            format!(
                "host {}: its tunnel address {a} is inside the lab's subnet {subnet}, which the lab's bridge holds; pick another `network.subnet` in the lab file",
                h.name
            )
        })
        .collect()
}

/// Refusals of VNI `vni` (device `dev`) on each of `hosts`: a host where
/// the VXLAN devices cannot be listed (`ip` missing, SSH failing), or
/// where another device uses the VNI. Our own device with our VNI (a
/// `lab up` resumed) is fine. Only the hosts whose `ask` is true are
/// asked (the others are already refused). The problems, each with its
/// host's index, and per host whether its devices could be listed (its
/// `ip` answered, over SSH for another machine).
pub fn check_vni(
    hosts: &[HostCtx],
    vni: u32,
    dev: &str,
    ask: &[bool],
) -> (Vec<(usize, String)>, Vec<bool>) {
    let asked: Vec<(usize, &HostCtx)> = hosts.iter().enumerate().collect();
    let found = crate::fanout::each(&asked, |(i, h)| match ask[*i] {
        true => h.net.vxlan_links(),
        false => Ok(Vec::new()),
    });
    let listed = found.iter().map(Result::is_ok).collect();
    let mut problems = Vec::new();
    for (i, (h, links)) in hosts.iter().zip(found).enumerate() {
        match links {
            Err(e) => problems.push((
                i,
                format!(
                    "host {}: cannot list its VXLAN devices with `ip`: {e:#}",
                    h.name
                ),
            )),
            Ok(links) => {
                for (name, id) in links {
                    if id == vni && name != dev {
                        problems.push((i, format!(
                            "host {}: VXLAN device {name} already uses VNI {vni}, this lab's; remove it (ip link del {name}) or rename the lab",
                            h.name
                        )));
                    } else if name == dev && id != vni {
                        problems.push((i, format!(
                            "host {}: a VXLAN device named {dev} exists with VNI {id}, not this lab's {vni}; remove it (ip link del {dev})",
                            h.name
                        )));
                    }
                }
            }
        }
    }
    (problems, listed)
}

/// Make each host's VXLAN device of VNI `vni` on bridge `bridge` (its
/// network is up), with copies to every other host's address in `addrs`
/// (same order as `hosts`); a device already there with the VNI is kept.
pub fn ensure(
    hosts: &[HostCtx],
    addrs: &[Ipv4Addr],
    vni: u32,
    bridge: &str,
    rep: &dyn NodeReporter,
) -> Result<()> {
    let device = vxlan::device_name(vni);
    for (i, h) in hosts.iter().enumerate() {
        if h.net.vxlan_links()?.contains(&(device.clone(), vni)) {
            continue;
        }
        let peers: Vec<Ipv4Addr> = addrs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, a)| *a)
            .collect();
        rep.note(&format!(
            "host {}: VXLAN {device} (VNI {vni}) from {} to {}",
            h.name,
            addrs[i],
            peers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        h.net.add_vxlan(&VxlanSpec {
            device: device.clone(),
            vni,
            local: addrs[i],
            bridge: bridge.to_string(),
            peers,
            mtu: vxlan::OVERLAY_MTU,
        })?;
    }
    Ok(())
}
