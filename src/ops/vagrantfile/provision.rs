//! Vagrant's provisioners mapped to the lab's one `provision:` section.
//! `shell` (inline text or a script `path`) → `type: shell` steps, `on:`
//! the machines they were given to (global ones on every node, first);
//! `ansible` and `ansible_local` → `type: ansible` with `controller:
//! host`, the playbook referenced from the lab directory, `extra_vars`,
//! and groups (from `groups` and a static INI `inventory_path`) as node
//! roles; it runs once, after every node is up, which is what the common
//! "on the last machine with `limit = "all"`" was for. A lab has one
//! provisioner type: when a Vagrantfile has both, Ansible is carried over
//! and the shell steps are named as not carried over.
//!
//! Script files: a script already inside the lab directory is referenced
//! where it is; any other is copied into it (to its path relative to the
//! Vagrantfile's directory when it is below it, else to
//! `scripts/NAME`), since provisioning copies the lab directory to the
//! nodes and a script must be inside it.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use super::map::{Inputs, Merged, Note, label, not_carried};
use super::model::{Provisioner, text};

/// Largest inventory file read for its groups, in bytes.
const MAX_INVENTORY: u64 = 1 << 20;
/// Shell options that change nothing a lab would do differently.
const HARMLESS: &[&str] = &["name", "keep_color", "sensitive", "preserve_order"];
/// Ansible options carried over (or read for their groups).
const ANSIBLE_KNOWN: &[&str] = &[
    "playbook",
    "extra_vars",
    "groups",
    "inventory_path",
    "limit",
    "name",
];

/// The lab's provisioning.
#[derive(Debug, Clone, PartialEq)]
pub enum Provisioning {
    Shell {
        steps: Vec<Step>,
        /// Script files to copy into the lab directory.
        copies: Vec<Copy>,
    },
    Ansible {
        /// Relative to the lab directory.
        playbook: String,
        extra_vars: Map<String, Value>,
        /// Groups by name: node names, in lab order.
        groups: BTreeMap<String, Vec<String>>,
    },
}

/// One shell step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub on: Vec<String>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Inline(String),
    /// Relative to the lab directory.
    Script(String),
}

/// A script file copied into the lab directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    pub from: PathBuf,
    /// Relative to the lab directory.
    pub to: String,
}

impl Provisioning {
    /// The roles (Ansible groups) of node `node`.
    pub fn roles_of(&self, node: &str) -> Vec<String> {
        match self {
            Provisioning::Ansible { groups, .. } => groups
                .iter()
                .filter(|(_, hosts)| hosts.iter().any(|h| h == node))
                .map(|(g, _)| g.clone())
                .collect(),
            Provisioning::Shell { .. } => Vec::new(),
        }
    }
}

/// The provisioning of `machines`, or `None` when nothing could be carried over.
pub(super) fn plan(
    machines: &[Merged<'_>],
    inputs: &Inputs<'_>,
    notes: &mut Vec<Note>,
) -> Option<Provisioning> {
    let all: Vec<String> = machines.iter().map(|m| m.node.clone()).collect();
    // Global provisioners first (on every node), then each machine's.
    let mut given: Vec<(&Provisioner, Vec<String>, String)> = Vec::new();
    if let Some(first) = machines.first() {
        for p in &first.global.provisioners {
            given.push((p, all.clone(), String::new()));
        }
    }
    for m in machines {
        for p in &m.own.provisioners {
            given.push((
                p,
                vec![m.node.clone()],
                format!("machine {}: ", m.vagrant_name),
            ));
        }
    }
    // Only an Ansible provisioner that can be carried over displaces the
    // shell steps.
    let has_ansible = given
        .iter()
        .any(|(p, _, _)| is_ansible(p) && playbook_file(p, inputs).is_ok());
    let mut ansible: Option<Provisioning> = None;
    let mut steps = Vec::new();
    let mut copies: Vec<Copy> = Vec::new();
    for (p, on, prefix) in &given {
        let what = format!("{prefix}{} provisioner", p.kind);
        match p.kind.as_str() {
            "shell" if has_ansible => notes.push(not_carried(
                p.line,
                &what,
                "a lab has one provisioner type, and this Vagrantfile's Ansible is carried over",
            )),
            "shell" => {
                if let Some(step) = shell(p, on, &what, inputs, &mut copies, notes) {
                    steps.push(step);
                }
            }
            _ if is_ansible(p) && ansible.is_some() => notes.push(not_carried(
                p.line,
                &what,
                "a lab runs one playbook, the first one's",
            )),
            _ if is_ansible(p) => ansible = ansible_of(p, machines, &what, inputs, notes),
            _ => notes.push(not_carried(
                p.line,
                &what,
                "lab provisions with shell steps or one Ansible playbook",
            )),
        }
    }
    if ansible.is_some() {
        return ansible;
    }
    (!steps.is_empty()).then_some(Provisioning::Shell { steps, copies })
}

fn is_ansible(p: &Provisioner) -> bool {
    p.kind == "ansible" || p.kind == "ansible_local"
}

/// The playbook of the Ansible provisioner `p` (absolute, normalized),
/// when it is a readable file; else why not.
fn playbook_file(p: &Provisioner, inputs: &Inputs<'_>) -> Result<PathBuf, String> {
    let Some(playbook) = p.options.get("playbook").and_then(text) else {
        return Err("it names no playbook".into());
    };
    let path = normalize(&inputs.vagrant_dir.join(&playbook));
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => Err(format!("its playbook {playbook} is not a regular file")),
        Err(e) => Err(format!(
            "its playbook {playbook} cannot be read: {}",
            e.kind()
        )),
    }
}

fn shell(
    p: &Provisioner,
    on: &[String],
    what: &str,
    inputs: &Inputs<'_>,
    copies: &mut Vec<Copy>,
    notes: &mut Vec<Note>,
) -> Option<Step> {
    let o = &p.options;
    let inline = match o.get("inline") {
        Some(Value::Array(lines)) => {
            Some(lines.iter().filter_map(text).collect::<Vec<_>>().join("\n"))
        }
        Some(v) => text(v),
        None => None,
    };
    let source = match (inline, o.get("path").and_then(text)) {
        (Some(inline), _) => Source::Inline(inline),
        (None, Some(path)) if path.contains("://") => {
            notes.push(not_carried(
                p.line,
                &format!("{what} {path}"),
                "lab runs scripts from the lab directory, not from URLs",
            ));
            return None;
        }
        (None, Some(path)) => Source::Script(
            script(&path, inputs, copies)
                .map_err(|why| notes.push(not_carried(p.line, &format!("{what} {path}"), &why)))
                .ok()?,
        ),
        (None, None) => {
            notes.push(not_carried(
                p.line,
                what,
                "it has neither `inline` nor `path`",
            ));
            return None;
        }
    };
    for (key, value) in o {
        let why = match key.as_str() {
            "inline" | "path" => continue,
            k if HARMLESS.contains(&k) => continue,
            "privileged" if value == &Value::Bool(false) => "lab runs every step as root",
            "privileged" => continue,
            "args" => "lab runs a script without arguments",
            "env" => "lab sets only its own LAB_* variables",
            "run" => "lab runs each step once, at `lab up` or `lab provision`",
            _ => "lab has no such option",
        };
        notes.push(not_carried(p.line, &format!("{what}: option {key}"), why));
    }
    Some(Step {
        on: on.to_vec(),
        source,
    })
}

/// Where the script `path` (relative to the Vagrantfile's directory) is
/// in the lab directory, copying it there when it is not inside it.
fn script(path: &str, inputs: &Inputs<'_>, copies: &mut Vec<Copy>) -> Result<String, String> {
    let from = normalize(&inputs.vagrant_dir.join(path));
    let meta = std::fs::metadata(&from).map_err(|e| format!("it cannot be read: {}", e.kind()))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if let Ok(inside) = from.strip_prefix(&inputs.lab_dir) {
        return Ok(slashed(inside));
    }
    if let Some(c) = copies.iter().find(|c| c.from == from) {
        return Ok(c.to.clone());
    }
    let name = from
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "script.sh".into());
    let mut to = match from.strip_prefix(&inputs.vagrant_dir) {
        Ok(below) => slashed(below),
        Err(_) => format!("scripts/{name}"),
    };
    let mut n = 2;
    while copies.iter().any(|c| c.to == to) {
        to = format!("scripts/{n}-{name}");
        n += 1;
    }
    copies.push(Copy {
        from,
        to: to.clone(),
    });
    Ok(to)
}

fn slashed(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// `path` (absolute) without `.` and `..` components (not following links).
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// `to` relative to `from` (both absolute, normalized).
fn relative(from: &Path, to: &Path) -> String {
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

fn ansible_of(
    p: &Provisioner,
    machines: &[Merged<'_>],
    what: &str,
    inputs: &Inputs<'_>,
    notes: &mut Vec<Note>,
) -> Option<Provisioning> {
    let o = &p.options;
    let playbook = match playbook_file(p, inputs) {
        Ok(path) => relative(&inputs.lab_dir, &path),
        Err(why) => {
            notes.push(not_carried(p.line, what, &why));
            return None;
        }
    };
    if p.kind == "ansible_local" {
        notes.push(Note { line: p.line, text: format!("{what}: Ansible ran on the machine itself; the lab runs it from this host (controller: host)") });
    }
    let extra_vars = match o.get("extra_vars") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(v) => {
            notes.push(not_carried(
                p.line,
                &format!("{what}: extra_vars {}", text(v).unwrap_or_default()),
                "lab takes extra_vars as a mapping, not a file",
            ));
            Map::new()
        }
    };
    let by_vagrant: BTreeMap<&str, &str> = machines
        .iter()
        .map(|m| (m.vagrant_name.as_str(), m.node.as_str()))
        .collect();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |group: &str, host: &str, line, notes: &mut Vec<Note>| {
        let Some(node) = by_vagrant.get(host) else {
            return;
        };
        let role = label(&group.replace('_', "-")).map(|_| {
            group
                .to_ascii_lowercase()
                .replace(|c: char| !(c.is_ascii_alphanumeric() || c == '_'), "-")
        });
        match role {
            Some(r) if crate::names::dns_label(&r.replace('_', "-")).is_ok() && !["all", "ungrouped"].contains(&r.as_str()) && !by_vagrant.values().any(|n| *n == r) => {
                let hosts = groups.entry(r).or_default();
                if !hosts.iter().any(|h| h == node) {
                    hosts.push(node.to_string());
                }
            }
            _ => notes.push(not_carried(line, &format!("{what}: group {group}"), "not usable as a lab role (a role is a DNS label, not `all` or `ungrouped`, not a node's name)")),
        }
    };
    if let Some(Value::Object(g)) = o.get("groups") {
        for (group, hosts) in g {
            if group.contains(':') {
                notes.push(not_carried(
                    p.line,
                    &format!("{what}: group {group}"),
                    "group variables and children are not lab roles",
                ));
                continue;
            }
            let hosts: Vec<String> = match hosts {
                Value::Array(h) => h.iter().filter_map(text).collect(),
                v => text(v).into_iter().collect(),
            };
            for h in hosts {
                add(group, &h, p.line, notes);
            }
        }
    }
    if let Some(inv) = o.get("inventory_path").and_then(text) {
        let path = inputs.vagrant_dir.join(&inv);
        match crate::limits::read_to_string(
            &path,
            crate::limits::FileLimit {
                bytes: MAX_INVENTORY,
                what: "inventories",
                hint: "lab reads only the groups of a static inventory",
            },
        ) {
            Ok(ini) => {
                notes.push(Note { line: p.line, text: format!("{what}: inventory_path {inv}: its groups of machines are node roles; the rest is not carried over (lab writes its own inventory)") });
                for (group, host) in ini_groups(&ini) {
                    add(&group, &host, p.line, notes);
                }
            }
            Err(e) => notes.push(not_carried(
                p.line,
                &format!("{what}: inventory_path {inv}"),
                &format!("{e}; lab writes its own inventory"),
            )),
        }
    }
    let limit = o.get("limit").and_then(text);
    let on_machine = !machines.is_empty()
        && machines
            .iter()
            .any(|m| m.own.provisioners.iter().any(|x| std::ptr::eq(x, p)));
    match limit.as_deref() {
        Some("all" | "*") => {}
        Some(l) => notes.push(not_carried(p.line, &format!("{what}: limit {l}"), "the playbook runs once against every node; its `hosts:` choose")),
        None if on_machine && machines.len() > 1 => notes.push(Note { line: p.line, text: format!("{what}: Vagrant ran it for this machine only; the lab runs the playbook once against every node, after all are up") }),
        None => {}
    }
    for key in o.keys().filter(|k| !ANSIBLE_KNOWN.contains(&k.as_str())) {
        notes.push(not_carried(
            p.line,
            &format!("{what}: option {key}"),
            "lab runs ansible-playbook with its own options",
        ));
    }
    Some(Provisioning::Ansible {
        playbook,
        extra_vars,
        groups,
    })
}

/// `(group, host)` pairs of a static INI inventory: hosts listed under
/// `[group]`; `[group:children]` and `[group:vars]` sections are skipped.
fn ini_groups(ini: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut group: Option<String> = None;
    for line in ini.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            group = (!name.contains(':')).then(|| name.trim().to_string());
            continue;
        }
        if let (Some(g), Some(host)) = (&group, line.split_whitespace().next()) {
            out.push((g.clone(), host.to_string()));
        }
    }
    out
}
