//! The `nodes` section, checked: node names, addresses (inside the subnet,
//! not reserved, unique), sizes with defaults, boxes, and roles.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::Ipv4Addr;

use super::check;
use super::context::Context;
use super::diag::{Diags, clip};
use super::model::{Network, Node};
use super::raw::{RawNode, Sp};
use super::validate::{CPUS, DISK, MEMORY, Sizes, in_range, known_box};
use super::values::join;

pub(super) fn nodes(
    raw: &[(Sp<String>, RawNode)],
    network: Option<&Network>,
    defaults: &Sizes,
    default_box: Option<&str>,
    ctx: &Context,
    d: &mut Diags,
) -> Vec<Node> {
    let node_names: BTreeSet<&str> = raw.iter().map(|(n, _)| n.value.as_str()).collect();
    let mut seen_ips: HashMap<Ipv4Addr, &Sp<String>> = HashMap::new();
    let mut out = Vec::new();
    for (name, node) in raw {
        let field = join("nodes", &name.value);
        if let Err(why) = check::dns_label(&name.value) {
            d.error(
                &field,
                name.span,
                format!("the node name {:?} {why}", clip(&name.value)),
            )
            .help("node names become host names, so they must be DNS labels such as `node1`");
        } else if name.value == "host" {
            d.error(
                &field,
                name.span,
                "`host` cannot be a node name: it means the machine running lab",
            )
            .help("rename the node, e.g. `host1`");
        }
        let ip = node
            .ip
            .as_ref()
            .and_then(|ip| address(ip, &join(&field, "ip"), network, d));
        if let (Some(ip), Some(raw_ip)) = (ip, &node.ip) {
            if let Some(first) = seen_ips.get(&ip) {
                let line = d.line(first.span.start);
                d.error(
                    &join(&field, "ip"),
                    raw_ip.span,
                    format!(
                        "{ip} is already used by node `{}` (line {line})",
                        first.value
                    ),
                )
                .label("used again here")
                .also(first.span, "first used by this node")
                .help("every node needs its own address");
            } else {
                seen_ips.insert(ip, name);
            }
        }
        let cpus = in_range(&node.cpus, &join(&field, "cpus"), &CPUS, d).unwrap_or(defaults.cpus);
        let memory =
            in_range(&node.memory, &join(&field, "memory"), &MEMORY, d).unwrap_or(defaults.memory);
        let disk = in_range(&node.disk, &join(&field, "disk"), &DISK, d).unwrap_or(defaults.disk);
        let box_name = match &node.box_name {
            Some(b) => known_box(b, &join(&field, "box"), ctx, d).then(|| b.value.clone()),
            None => default_box.map(str::to_owned),
        };
        let roles = roles(
            node.roles.as_deref().unwrap_or_default(),
            &join(&field, "roles"),
            &node_names,
            d,
        );
        if let (Some(ip), Some(box_name)) = (ip, box_name) {
            out.push(Node {
                name: name.value.clone(),
                ip,
                cpus: cpus as u32,
                memory_mib: memory as u64,
                disk_gib: disk as u64,
                box_name,
                roles,
                host: None,
            });
        }
    }
    out
}

/// A node address: IPv4, inside the subnet, not a reserved address.
fn address(
    ip: &Sp<String>,
    field: &str,
    network: Option<&Network>,
    d: &mut Diags,
) -> Option<Ipv4Addr> {
    let Ok(addr) = ip.value.trim().parse::<Ipv4Addr>() else {
        let diag = d.error(
            field,
            ip.span,
            format!("{:?} is not an IPv4 address", clip(&ip.value)),
        );
        if ip.value.contains('/') {
            diag.help("give the address alone, without a prefix length");
        }
        return None;
    };
    let Some(net) = network else {
        return Some(addr);
    };
    let subnet = net.subnet;
    let why = if !subnet.contains(&addr) {
        format!("{addr} is outside the lab subnet {subnet}")
    } else if addr == subnet.network() {
        format!("{addr} is the network address of {subnet}")
    } else if addr == net.gateway {
        format!("{addr} is the gateway of {subnet} (the host's side of the network)")
    } else if addr == subnet.broadcast() {
        format!("{addr} is the broadcast address of {subnet}")
    } else {
        return Some(addr);
    };
    let first = Ipv4Addr::from(u32::from(net.gateway) + 1);
    let last = Ipv4Addr::from(u32::from(subnet.broadcast()) - 1);
    d.error(field, ip.span, why)
        .help(format!("node addresses go from {first} to {last}"));
    None
}

/// Groups every Ansible inventory has; a role of such a name would break
/// the inventory (`all` as a child of `all`) or lose hosts (Ansible
/// removes a host in another group from `ungrouped`).
const ANSIBLE_GROUPS: [&str; 2] = ["all", "ungrouped"];

fn roles(
    raw: &[Sp<String>],
    field: &str,
    node_names: &BTreeSet<&str>,
    d: &mut Diags,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::with_capacity(raw.len());
    for role in raw {
        let field = format!("{field}[{}]", role.index);
        if let Err(why) = check::role(&role.value) {
            d.error(
                &field,
                role.span,
                format!("the role name {:?} {why}", clip(&role.value)),
            );
        } else if ANSIBLE_GROUPS.contains(&role.value.as_str()) {
            d.error(
                &field,
                role.span,
                format!("role `{}` is a group Ansible makes itself", role.value),
            )
            .help("roles become inventory groups; `all` holds every host and `ungrouped` those in no other group, so name the role otherwise");
        } else if node_names.contains(role.value.as_str()) {
            d.error(
                &field,
                role.span,
                format!("role `{}` has the same name as a node", clip(&role.value)),
            )
            .help("`on:` in provision takes node and role names, so they must differ");
        } else if !seen.insert(&role.value) {
            d.error(
                &field,
                role.span,
                format!("role `{}` is listed twice", clip(&role.value)),
            );
        } else {
            out.push(role.value.clone());
        }
    }
    out
}
