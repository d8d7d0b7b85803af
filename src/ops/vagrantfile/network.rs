//! The network side of a recorded Vagrantfile: `private_network`
//! addresses → the lab's subnet and node addresses, hostnames → the lab's
//! domain, `forwarded_port` → `forwards:` (for [`super::map::plan`]).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::map::{DEFAULT_SUBNET, Forward, Merged, Note, label, not_carried};
use super::model::{integer, text};

/// The first host number handed out to machines without an address.
const FIRST_FREE: u32 = 10;

/// The lab's subnet and each machine's address.
pub(super) fn addresses(
    machines: &[Merged<'_>],
    notes: &mut Vec<Note>,
) -> (Ipv4Net, Vec<Ipv4Addr>) {
    let mut wanted: Vec<Option<(Ipv4Addr, Option<u64>)>> = Vec::new();
    for m in machines {
        let mut ip = None;
        let mut first = true;
        for n in m.global.networks.iter().chain(&m.own.networks) {
            let what = |rest: &str| format!("machine {}: {} {rest}", m.vagrant_name, n.kind);
            match n.kind.as_str() {
                "private_network" => {
                    let given = n.options.get("ip").and_then(text);
                    if !first {
                        notes.push(not_carried(
                            n.line,
                            &what(&given.unwrap_or_default()),
                            "a lab node has one address, on the lab network",
                        ));
                        continue;
                    }
                    first = false;
                    match given.as_deref().map(str::parse::<Ipv4Addr>) {
                        Some(Ok(addr)) => ip = Some((addr, n.line)),
                        Some(Err(_)) => notes.push(not_carried(
                            n.line,
                            &what(&given.unwrap_or_default()),
                            "not an IPv4 address; the node gets one in the lab subnet",
                        )),
                        None => notes.push(Note {
                            line: n.line,
                            text: what("without an address: the node gets one in the lab subnet"),
                        }),
                    }
                }
                "forwarded_port" => {}
                _ => notes.push(
                    not_carried(n.line, &what(""), "a lab node is on the lab network only")
                        .trimmed(),
                ),
            }
        }
        wanted.push(ip);
    }
    let given: Vec<Ipv4Addr> = wanted.iter().flatten().map(|(a, _)| *a).collect();
    let subnet = match given.first() {
        None => DEFAULT_SUBNET.parse().expect("a valid subnet"),
        Some(first) => (16..=24)
            .rev()
            .map(|p| Ipv4Net::new(*first, p).expect("a prefix up to 32").trunc())
            .find(|net| given.iter().all(|a| net.contains(a)))
            .unwrap_or_else(|| Ipv4Net::new(*first, 24).expect("a prefix up to 32").trunc()),
    };
    let gateway = subnet.hosts().next().expect("a /24 or larger has hosts");
    let mut used: BTreeSet<Ipv4Addr> = BTreeSet::new();
    let mut ips: Vec<Option<Ipv4Addr>> = Vec::new();
    for (m, w) in machines.iter().zip(&wanted) {
        let ok = w.filter(|(a, line)| {
            let why = if !subnet.contains(a) {
                Some(format!(
                    "outside the lab subnet {subnet}, which holds the other addresses"
                ))
            } else if *a == subnet.network() || *a == subnet.broadcast() {
                Some(format!("the network or broadcast address of {subnet}"))
            } else if *a == gateway {
                Some(format!(
                    "the gateway of {subnet} (the host's side of the lab network)"
                ))
            } else if used.contains(a) {
                Some("already another machine's".to_string())
            } else {
                None
            };
            if let Some(why) = &why {
                notes.push(Note {
                    line: *line,
                    text: format!(
                        "machine {}: address {a} is {why}; the node gets another one",
                        m.vagrant_name
                    ),
                });
            }
            why.is_none()
        });
        if let Some((a, _)) = ok {
            used.insert(a);
        }
        ips.push(ok.map(|(a, _)| a));
    }
    let mut free = subnet
        .hosts()
        .skip(FIRST_FREE as usize - 1)
        .filter(|a| *a != subnet.broadcast());
    let ips = ips
        .into_iter()
        .map(|ip| {
            ip.unwrap_or_else(|| {
                let a = free
                    .by_ref()
                    .find(|a| !used.contains(a))
                    .expect("a subnet of 256 addresses or more has room");
                used.insert(a);
                a
            })
        })
        .collect();
    (subnet, ips)
}

impl Note {
    fn trimmed(self) -> Note {
        Note {
            text: self.text.replace("  ", " ").replace(" :", ":"),
            ..self
        }
    }
}

/// The domain the hostnames share, when they all have the same one.
pub(super) fn domain(machines: &[Merged<'_>], notes: &mut Vec<Note>) -> Option<String> {
    let mut domains = BTreeSet::new();
    for m in machines {
        let Some(h) = m
            .own
            .settings
            .hostname
            .as_ref()
            .or(m.global.settings.hostname.as_ref())
            .and_then(text)
        else {
            continue;
        };
        let (first, domain) = h.split_once('.').unwrap_or((&h, ""));
        if !domain.is_empty() {
            domains.insert(domain.to_ascii_lowercase());
        }
        if label(first).as_deref() != Some(m.node.as_str()) {
            let full = if domain.is_empty() {
                m.node.clone()
            } else {
                format!("{}.{domain}", m.node)
            };
            notes.push(Note {
                line: m.line,
                text: format!("machine {}: hostname {h} is not carried over: the guest is named after its node, {full}", m.vagrant_name),
            });
        }
    }
    match domains.len() {
        0 => None,
        1 => {
            let d = domains.into_iter().next().expect("one");
            let ok = d.split('.').all(|l| crate::names::dns_label(l).is_ok());
            if !ok {
                notes.push(not_carried(
                    None,
                    &format!("domain {d}"),
                    "not a DNS name of lowercase labels",
                ));
            }
            ok.then_some(d)
        }
        _ => {
            let list: Vec<String> = domains.into_iter().collect();
            notes.push(not_carried(
                None,
                &format!("domains {}", list.join(", ")),
                "a lab network has one domain",
            ));
            None
        }
    }
}

/// `forwarded_port` → forwards, global ones for every machine.
pub(super) fn forwards(machines: &[Merged<'_>], notes: &mut Vec<Note>) -> Vec<Forward> {
    let mut out: Vec<Forward> = Vec::new();
    for m in machines {
        for n in m
            .global
            .networks
            .iter()
            .chain(&m.own.networks)
            .filter(|n| n.kind == "forwarded_port")
        {
            let port = |k: &str| {
                n.options
                    .get(k)
                    .and_then(integer)
                    .filter(|p| (1..=65535).contains(p))
            };
            let what = format!(
                "machine {}: forwarded port {} → {}",
                m.vagrant_name,
                n.options.get("guest").and_then(text).unwrap_or_default(),
                n.options.get("host").and_then(text).unwrap_or_default()
            );
            let (Some(guest), Some(host)) = (port("guest"), port("host")) else {
                notes.push(not_carried(
                    n.line,
                    &what,
                    "a forward needs guest and host ports from 1 to 65535",
                ));
                continue;
            };
            if n.options
                .get("protocol")
                .and_then(text)
                .is_some_and(|p| p != "tcp")
            {
                notes.push(not_carried(n.line, &what, "lab forwards TCP only"));
                continue;
            }
            if n.options.get("id").and_then(text).as_deref() == Some("ssh") || guest == 22 {
                notes.push(not_carried(
                    n.line,
                    &what,
                    "`lab ssh NODE` reaches every node",
                ));
                continue;
            }
            if out.iter().any(|f| f.host == host) {
                notes.push(not_carried(
                    n.line,
                    &what,
                    &format!("host port {host} is already forwarded"),
                ));
                continue;
            }
            let address = match n.options.get("host_ip").and_then(text) {
                None => None,
                Some(a) if a == "localhost" => None,
                Some(a) => match a.parse::<Ipv4Addr>() {
                    Ok(ip) if ip == crate::spec::DEFAULT_FORWARD_ADDRESS => None,
                    Ok(ip) => Some(ip),
                    Err(_) => {
                        notes.push(Note { line: n.line, text: format!("{what}: host_ip {a} is not an IPv4 address; it listens on 127.0.0.1") });
                        None
                    }
                },
            };
            out.push(Forward {
                node: m.node.clone(),
                guest,
                host,
                address,
            });
        }
    }
    out
}
