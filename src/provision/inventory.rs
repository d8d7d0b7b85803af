//! What Ansible is handed: the inventory (every node with its address,
//! one group per role, how to log in) and the lab's variables (`lab_name`,
//! `lab_domain`, `lab_gateway`, `lab_proxy_url` plus the lab file's
//! `extra_vars`).
//!
//! The inventory is an [`Inventory`], written as YAML (Ansible's `yaml`
//! inventory plugin) for the lab's own playbook runs, and also as INI or
//! the JSON of an inventory script for `lab inventory` (`formats`). In
//! YAML no value goes through INI's word splitting and Python-literal
//! parsing: every string is a double-quoted YAML scalar tagged `!unsafe`,
//! which Ansible keeps as data, never as a Jinja2 template (a `{{` in a
//! path stays a `{{`). How to log in is [`ClientOptions`] (key, pinned
//! known_hosts, `StrictHostKeyChecking yes`) in `ansible_ssh_common_args`,
//! which the ssh connection plugin splits like a POSIX shell (`shlex`).
//! `ansible_ssh_private_key_file` (which that plugin adds as one more
//! `IdentityFile`, and which other tools and people read) is given only
//! where Ansible passes the path intact ([`passes_unescaped`]); the lab's
//! own playbook runs go without it.

use anyhow::Result;

use crate::spec::Lab;
use crate::ssh::openssh::ClientOptions;
use crate::state::State;

/// The lab-internal private key on a controller node, under its user's home.
pub const CONTROLLER_KEY: &str = ".ssh/lab_internal";
/// The pinned known_hosts on a controller node, under its user's home
/// (the same lines as the host's `.lab/known_hosts`).
pub const CONTROLLER_KNOWN_HOSTS: &str = ".ssh/lab_known_hosts";

/// How Ansible logs in from a controller node whose user's home is
/// `home`: the lab-internal key and the pinned known_hosts there.
pub fn controller_access(home: &str) -> Result<ClientOptions> {
    ClientOptions::new(
        format!("{home}/{CONTROLLER_KEY}").as_ref(),
        format!("{home}/{CONTROLLER_KNOWN_HOSTS}").as_ref(),
    )
}

/// `ansible_ssh_common_args`: the options as one string the connection
/// plugin's `shlex.split` turns back into the same arguments.
pub fn ssh_common_args(ssh: &ClientOptions) -> String {
    crate::process::shell_join(ssh.args())
}

/// An Ansible inventory, whatever its text format: the hosts in the lab
/// file's order, each with its own variables; the variables of the group
/// `all`; one group per role of the lab file, in the order the roles first
/// appear, each listing its hosts in the lab file's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    pub hosts: Vec<Host>,
    /// Variables of the group `all`.
    pub vars: Vars,
    pub groups: Vec<Group>,
}

/// Variables by name, in the order they are written.
pub type Vars = Vec<(&'static str, String)>;

/// One host: its inventory name (the node's name) and its own variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub name: String,
    pub vars: Vars,
}

/// One group (a role of the lab file) and its hosts' names.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub hosts: Vec<String>,
}

impl Inventory {
    /// Every node of `lab` with `ansible_host` (the address `lab up`
    /// recorded in `st`, the lab file's before it did) and, when it is
    /// not the one most nodes have, `ansible_user`; in `all`: the common
    /// user (`lab` when unknown), `ansible_ssh_private_key_file` when
    /// `key_file` is given, `ansible_ssh_common_args` from `ssh`, and
    /// `ansible_python_interpreter`.
    pub fn of(lab: &Lab, st: &State, ssh: &ClientOptions, key_file: Option<&str>) -> Inventory {
        let user = |name: &str| {
            let user = st.nodes.get(name).map_or("", |ns| ns.user.as_str());
            if user.is_empty() { "lab" } else { user }
        };
        // The user most nodes have goes to the group vars; others per host.
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for n in &lab.nodes {
            *counts.entry(user(&n.name)).or_default() += 1;
        }
        let common = counts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map_or("lab", |(u, _)| *u);
        let hosts = lab
            .nodes
            .iter()
            .map(|n| {
                let recorded = st.nodes.get(&n.name).map_or("", |ns| ns.ip.as_str());
                let ip = if recorded.is_empty() {
                    n.ip.to_string()
                } else {
                    recorded.to_string()
                };
                let mut vars = vec![("ansible_host", ip)];
                if user(&n.name) != common {
                    vars.push(("ansible_user", user(&n.name).to_string()));
                }
                Host {
                    name: n.name.clone(),
                    vars,
                }
            })
            .collect();
        let mut vars = vec![("ansible_user", common.to_string())];
        if let Some(key) = key_file {
            vars.push(("ansible_ssh_private_key_file", key.to_string()));
        }
        vars.push(("ansible_ssh_common_args", ssh_common_args(ssh)));
        vars.push(("ansible_python_interpreter", "/usr/bin/python3".into()));
        Inventory {
            hosts,
            vars,
            groups: Self::role_groups(lab),
        }
    }

    /// One group per role of `lab`, in the order the roles first appear,
    /// each with its nodes in the lab file's order.
    pub fn role_groups(lab: &Lab) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        for role in lab.nodes.iter().flat_map(|n| &n.roles) {
            if !groups.iter().any(|g| g.name == *role) {
                groups.push(Group {
                    name: role.clone(),
                    hosts: lab.nodes_with_role(role).map(|n| n.name.clone()).collect(),
                });
            }
        }
        groups
    }

    /// Only the hosts `keep` accepts, in every group too; the groups stay,
    /// empty when none of their hosts is kept.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.hosts.retain(|h| keep(&h.name));
        for g in &mut self.groups {
            g.hosts.retain(|h| keep(h));
        }
    }

    /// The YAML inventory (Ansible's `yaml` inventory plugin) after the
    /// comment line `# HEADER`. Every string is `!unsafe`: data, never a
    /// template.
    pub fn yaml(&self, header: &str) -> String {
        let mut out = format!("# {header}\nall:\n  hosts:\n");
        for host in &self.hosts {
            out.push_str(&format!("    {}:\n", key(&host.name)));
            for (k, v) in &host.vars {
                out.push_str(&format!("      {k}: {}\n", data(v)));
            }
        }
        out.push_str("  vars:\n");
        for (k, v) in &self.vars {
            out.push_str(&format!("    {k}: {}\n", data(v)));
        }
        if !self.groups.is_empty() {
            out.push_str("  children:\n");
        }
        for g in &self.groups {
            if g.hosts.is_empty() {
                out.push_str(&format!("    {}: {{}}\n", key(&g.name)));
                continue;
            }
            out.push_str(&format!("    {}:\n      hosts:\n", key(&g.name)));
            for h in &g.hosts {
                out.push_str(&format!("        {}: {{}}\n", key(h)));
            }
        }
        out
    }
}

/// A YAML string Ansible reads as data: `!unsafe "..."`.
fn data(s: &str) -> String {
    format!("!unsafe {}", quoted(s))
}

/// A YAML mapping key.
fn key(s: &str) -> String {
    quoted(s)
}

/// `s` as one double-quoted string that JSON, a YAML double-quoted scalar
/// and a Python string literal all read back as `s`: `"` and `\`
/// escaped, and `\uXXXX` for the characters a YAML 1.1 reader (PyYAML,
/// libyaml, as Ansible uses) or Python's `str.splitlines` would take for
/// a line break or refuse: control characters, U+2028, U+2029, U+FFFE
/// and U+FFFF. Other characters (`ü`) are written as they are.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}') =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether Ansible's ssh connection plugin hands `path`, given as
/// `ansible_ssh_private_key_file`, to ssh intact: it writes
/// `-o IdentityFile="PATH"` without escaping, and OpenSSH reads `"` and
/// `\` there as quoting and `%` as a token (`%h`; an unknown one such as
/// `%o` makes ssh refuse to start). So: an absolute path without those.
pub fn passes_unescaped(path: &str) -> bool {
    path.starts_with('/') && !path.contains(['"', '\\', '%'])
}

/// The YAML inventory a controller (or the host, for `controller: host`)
/// runs the lab's playbook with: [`Inventory::of`] every node, without
/// `ansible_ssh_private_key_file` (the key is in the common args).
pub fn inventory(lab: &Lab, st: &State, ssh: &ClientOptions) -> String {
    Inventory::of(lab, st, ssh, None).yaml(&format!(
        "Generated by lab for lab {}; rewritten by every `lab provision`.",
        lab.name
    ))
}

/// The variables file (`-e @FILE`): the lab file's `extra_vars`, then the
/// `lab_*` variables (which win over extra_vars of the same name).
/// `lab_domain` and `lab_proxy_url` are empty strings when not set.
pub fn vars(lab: &Lab, proxy: Option<&str>, images: &[super::images::Image]) -> String {
    let mut map = match &lab.provision {
        Some(crate::spec::Provision::Ansible(a)) => a.extra_vars.clone(),
        _ => serde_json::Map::new(),
    };
    let s = |v: &str| serde_json::Value::String(v.to_string());
    map.insert("lab_name".into(), s(&lab.name));
    map.insert(
        "lab_domain".into(),
        s(lab.network.domain.as_deref().unwrap_or("")),
    );
    map.insert("lab_gateway".into(), s(&lab.network.gateway.to_string()));
    map.insert("lab_proxy_url".into(), s(proxy.unwrap_or("")));
    map.insert("lab_images".into(), super::images::vars(images));
    serde_json::to_string_pretty(&serde_json::Value::Object(map)).expect("JSON values serialise")
        + "\n"
}

#[path = "inventory_formats.rs"]
mod formats;

#[cfg(test)]
#[path = "inventory_tests.rs"]
mod tests;
