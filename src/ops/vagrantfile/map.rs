//! A recorded Vagrantfile ([`super::model`]) mapped to a lab ([`Plan`]):
//! machines → nodes here; addresses, domain and forwarded ports in
//! [`super::network`]; memory, cpus and boxes in [`super::machine`];
//! provisioners in [`super::provision`]. Whatever has no place in a lab
//! file becomes a [`Note`].

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde_json::Value;

use super::machine::{boxes, sizes};
use super::model::{Config, Machine, Vagrantfile, text};
use super::network::{addresses, domain, forwards};
use super::provision::{self, Provisioning};

/// The box a machine gets when its Vagrant box has no local equivalent.
pub const DEFAULT_BOX: &str = "debian-12";
/// The subnet of a lab whose Vagrantfile gives no private address.
pub const DEFAULT_SUBNET: &str = "10.77.40.0/24";

/// Something of the Vagrantfile that the lab does not carry over (or
/// carries over changed), with the Vagrantfile's line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub line: Option<u64>,
    /// A sentence fragment, e.g. `synced folder ./data → /srv/data: not
    /// carried over (lab shares no folders with the guests)`.
    pub text: String,
}

/// Where the conversion happens, and what it may look up.
pub struct Inputs<'a> {
    /// The Vagrantfile's directory, absolute: its relative paths start here.
    pub vagrant_dir: PathBuf,
    /// The lab directory, absolute (it may not exist yet).
    pub lab_dir: PathBuf,
    /// The lab's name (a DNS label).
    pub lab_name: String,
    /// Whether a box of this name exists locally (store or recipe).
    pub box_known: &'a dyn Fn(&str) -> bool,
}

/// The lab to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The lab's name: the lab directory's, as a DNS label.
    pub name: String,
    /// The lab's box (the one most nodes use).
    pub box_name: String,
    /// Holds every node address; the first host address is the gateway.
    pub subnet: Ipv4Net,
    /// The domain every hostname shared, if any.
    pub domain: Option<String>,
    /// `defaults:` vCPUs and MiB, from the global provider settings.
    pub cpus: Option<i64>,
    pub memory: Option<i64>,
    /// In the Vagrantfile's definition order.
    pub nodes: Vec<Node>,
    pub provisioning: Option<Provisioning>,
    pub forwards: Vec<Forward>,
    /// What is not carried over, by line (notes on the whole file first).
    pub notes: Vec<Note>,
}

/// One node of [`Plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// A DNS label, unique in the lab.
    pub name: String,
    pub ip: Ipv4Addr,
    /// vCPUs, when the machine's own provider settings differ from `defaults:`.
    pub cpus: Option<i64>,
    /// MiB, likewise.
    pub memory: Option<i64>,
    /// Set when it differs from the lab's box.
    pub box_name: Option<String>,
    /// The Ansible groups it is in (from the ansible provisioner).
    pub roles: Vec<String>,
}

/// One entry of `forwards:`: TCP ports, 1 to 65535.
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    pub node: String,
    pub guest: i64,
    pub host: i64,
    /// Only when not the default 127.0.0.1.
    pub address: Option<Ipv4Addr>,
}

/// One machine with the global settings it inherits.
pub(super) struct Merged<'a> {
    pub vagrant_name: String,
    pub node: String,
    pub own: &'a Config,
    pub global: &'a Config,
    pub line: Option<u64>,
    /// `define NAME, autostart: false`.
    pub autostart_false: bool,
}

/// Maps `vf` (which defines at least one machine, or a single unnamed one
/// through `Vagrant.configure`) to a lab.
pub fn plan(vf: &Vagrantfile, inputs: &Inputs<'_>) -> Plan {
    let mut notes = Vec::new();
    let default = Machine::default();
    let machines: Vec<&Machine> = if vf.machines.is_empty() {
        vec![&default]
    } else {
        vf.machines.iter().collect()
    };
    let merged = names(&machines, &vf.global, &mut notes);
    for other in &vf.global.other {
        notes.push(not_carried(
            other.line,
            &other.what,
            "lab has no such setting",
        ));
    }
    for m in &merged {
        for other in &m.own.other {
            notes.push(not_carried(
                other.line,
                &format!("machine {}: {}", m.vagrant_name, other.what),
                "lab has no such setting",
            ));
        }
        if m.autostart_false {
            notes.push(not_carried(
                m.line,
                &format!("machine {}: autostart: false", m.vagrant_name),
                "lab up starts every node",
            ));
        }
    }
    synced_folders(&vf.global, None, &mut notes);
    for m in &merged {
        synced_folders(m.own, Some(&m.vagrant_name), &mut notes);
    }
    let (subnet, ips) = addresses(&merged, &mut notes);
    let domain = domain(&merged, &mut notes);
    let (cpus, memory) = sizes(&[&vf.global], &mut notes, None);
    let (box_name, boxes) = boxes(&merged, inputs, &mut notes);
    let provisioning = provision::plan(&merged, inputs, &mut notes);
    let nodes = merged
        .iter()
        .zip(ips)
        .zip(boxes)
        .map(|((m, ip), b)| {
            let (own_cpus, own_memory) = sizes(&[m.own], &mut notes, Some(&m.vagrant_name));
            Node {
                name: m.node.clone(),
                ip,
                cpus: own_cpus.filter(|c| Some(*c) != cpus),
                memory: own_memory.filter(|c| Some(*c) != memory),
                box_name: (b != box_name).then_some(b),
                roles: provisioning
                    .as_ref()
                    .map(|p| p.roles_of(&m.node))
                    .unwrap_or_default(),
            }
        })
        .collect();
    let forwards = forwards(&merged, &mut notes);
    // In the Vagrantfile's order; notes about the whole file first. What
    // they quote from the Vagrantfile goes to a terminal and a YAML
    // comment: no control characters.
    notes.sort_by_key(|n| n.line);
    for n in &mut notes {
        n.text = n
            .text
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
    }
    Plan {
        name: inputs.lab_name.clone(),
        box_name,
        subnet,
        domain,
        cpus,
        memory,
        nodes,
        provisioning,
        forwards,
        notes,
    }
}

/// `WHAT: not carried over (WHY)`.
pub(super) fn not_carried(line: Option<u64>, what: &str, why: &str) -> Note {
    Note {
        line,
        text: format!("{what}: not carried over ({why})"),
    }
}

/// Node names from the machine names: DNS labels, unique, not `host`.
fn names<'a>(
    machines: &[&'a Machine],
    global: &'a Config,
    notes: &mut Vec<Note>,
) -> Vec<Merged<'a>> {
    let mut taken = BTreeSet::new();
    let mut out = Vec::new();
    for (i, m) in machines.iter().enumerate() {
        let vagrant_name = if m.name.is_empty() {
            "default".to_string()
        } else {
            m.name.clone()
        };
        let hostname = m
            .config
            .settings
            .hostname
            .as_ref()
            .or(global.settings.hostname.as_ref())
            .and_then(text);
        // An unnamed machine (no define) takes its hostname's first label.
        let wanted = match (m.name.is_empty(), hostname) {
            (true, Some(h)) => h.split('.').next().unwrap_or("").to_string(),
            _ => vagrant_name.clone(),
        };
        let mut name = label(&wanted).unwrap_or_else(|| format!("node{}", i + 1));
        if name == "host" {
            name = "host1".into();
        }
        let base = name.clone();
        let mut n = 2;
        while !taken.insert(name.clone()) {
            name = format!("{}-{n}", base.chars().take(60).collect::<String>());
            n += 1;
        }
        if name != vagrant_name {
            notes.push(Note {
                line: m.line,
                text: format!("machine {vagrant_name} is node {name} (node names are DNS labels: lowercase letters, digits and '-')"),
            });
        }
        out.push(Merged {
            vagrant_name,
            node: name,
            own: &m.config,
            global,
            line: m.line,
            autostart_false: m.options.get("autostart") == Some(&Value::Bool(false)),
        });
    }
    out
}

/// `name` as a DNS label: lowercase, other characters as '-', at most 63.
pub(super) fn label(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(63).collect();
    let out = out.trim_end_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

fn synced_folders(config: &Config, machine: Option<&str>, notes: &mut Vec<Note>) {
    for f in &config.synced_folders {
        if f.options.get("disabled") == Some(&Value::Bool(true)) {
            continue;
        }
        let args: Vec<String> = f.args.iter().filter_map(text).collect();
        let what = match machine {
            Some(m) => format!("machine {m}: synced folder {}", args.join(" → ")),
            None => format!("synced folder {}", args.join(" → ")),
        };
        notes.push(not_carried(f.line, &what, "lab shares no folders with the guests; provisioning copies the lab directory to the nodes"));
    }
}
