//! The machine side of a recorded Vagrantfile: memory and vCPUs from the
//! `libvirt` and `virtualbox` providers (what else a provider sets becomes
//! a note), and each machine's box (for [`super::map::plan`]).

use std::collections::BTreeMap;

use serde_json::Value;

use super::map::{DEFAULT_BOX, Inputs, Merged, Note, not_carried};
use super::model::{Config, integer, text};

/// Sizes the lab file accepts: vCPUs and MiB.
const CPUS: (i64, i64) = (1, 16);
const MEMORY: (i64, i64) = (256, 65536);

/// Memory (MiB) and vCPUs from the `libvirt` or `virtualbox` provider
/// settings of `configs` (the first that sets each wins; libvirt before
/// virtualbox); other settings of the providers become notes when
/// `machine` is given or for the global block (`None`).
pub(super) fn sizes(
    configs: &[&Config],
    notes: &mut Vec<Note>,
    machine: Option<&str>,
) -> (Option<i64>, Option<i64>) {
    let prefix = machine
        .map(|m| format!("machine {m}: "))
        .unwrap_or_default();
    let mut found: BTreeMap<&str, (i64, Option<u64>)> = BTreeMap::new();
    for config in configs {
        let mut providers: Vec<_> = config.providers.iter().collect();
        providers.sort_by_key(|p| p.name != "libvirt");
        for p in providers {
            if p.name != "libvirt" && p.name != "virtualbox" {
                notes.push(not_carried(
                    p.line,
                    &format!("{prefix}provider {}", p.name),
                    "lab takes memory and cpus from the libvirt or virtualbox provider",
                ));
                continue;
            }
            let mut rest = Vec::new();
            for (key, value) in &p.settings {
                match (key.as_str(), integer(value)) {
                    ("memory" | "cpus", Some(v)) => {
                        found
                            .entry(if key == "memory" { "memory" } else { "cpus" })
                            .or_insert((v, p.line));
                    }
                    _ => rest.push(key.clone()),
                }
            }
            for call in &p.calls {
                let pairs = modifyvm(&call.args);
                if call.name == "customize" && !pairs.is_empty() {
                    for (key, v) in pairs {
                        match (key.as_str(), v.parse::<i64>()) {
                            ("--memory", Ok(v)) => {
                                found.entry("memory").or_insert((v, call.line));
                            }
                            ("--cpus", Ok(v)) => {
                                found.entry("cpus").or_insert((v, call.line));
                            }
                            _ => notes.push(not_carried(
                                call.line,
                                &format!("{prefix}{} customize modifyvm {key} {v}", p.name),
                                "a VirtualBox setting",
                            )),
                        }
                    }
                } else {
                    notes.push(not_carried(
                        call.line,
                        &format!("{prefix}{} {}", p.name, call.name),
                        "a provider customisation",
                    ));
                }
            }
            if !rest.is_empty() {
                notes.push(not_carried(
                    p.line,
                    &format!("{prefix}{} settings {}", p.name, rest.join(", ")),
                    "provider settings other than memory and cpus",
                ));
            }
        }
    }
    let bounded = |key: &str, (lo, hi): (i64, i64), unit: &str, notes: &mut Vec<Note>| {
        found.get(key).map(|(v, line)| {
            let c = (*v).clamp(lo, hi);
            if c != *v {
                notes.push(Note {
                    line: *line,
                    text: format!("{prefix}{key} {v}{unit} is outside {lo}-{hi}; the lab uses {c}"),
                });
            }
            c
        })
    };
    (
        bounded("cpus", CPUS, "", notes),
        bounded("memory", MEMORY, " MiB", notes),
    )
}

/// The `--flag value` pairs of `customize ["modifyvm", :id, ...]`.
fn modifyvm(args: &[Value]) -> Vec<(String, String)> {
    let Some(Value::Array(list)) = args.first() else {
        return Vec::new();
    };
    let words: Vec<String> = list.iter().filter_map(text).collect();
    if words.first().map(String::as_str) != Some("modifyvm") {
        return Vec::new();
    }
    words[2.min(words.len())..]
        .chunks(2)
        .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()))
        .collect()
}

/// The lab's box and each machine's: its Vagrant box's name when a box
/// of that name (or of its part after the last `/`) is known, else
/// [`DEFAULT_BOX`], said once per Vagrant box.
pub(super) fn boxes(
    machines: &[Merged<'_>],
    inputs: &Inputs<'_>,
    notes: &mut Vec<Note>,
) -> (String, Vec<String>) {
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mapped: Vec<String> = machines
        .iter()
        .map(|m| {
            let Some(vbox) = m
                .own
                .settings
                .box_name
                .as_ref()
                .or(m.global.settings.box_name.as_ref())
                .and_then(text)
            else {
                return DEFAULT_BOX.to_string();
            };
            let last = vbox.rsplit('/').next().unwrap_or(&vbox).to_string();
            for name in [vbox.clone(), last] {
                if crate::names::box_name(&name).is_ok() && (inputs.box_known)(&name) {
                    return name;
                }
            }
            missing.entry(vbox).or_default().push(m.node.clone());
            DEFAULT_BOX.to_string()
        })
        .collect();
    for (vbox, nodes) in missing {
        notes.push(Note {
            line: None,
            text: format!("box {vbox} has no local equivalent: {} {DEFAULT_BOX} (to keep it, make a box of that name and set `box:`)", match nodes.as_slice() {
                [one] => format!("node {one} uses"),
                many => format!("nodes {} use", many.join(", ")),
            }),
        });
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for b in &mapped {
        match counts.iter_mut().find(|(n, _)| n == b) {
            Some((_, c)) => *c += 1,
            None => counts.push((b.clone(), 1)),
        }
    }
    let most = counts
        .iter()
        .max_by_key(|(_, c)| *c)
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| DEFAULT_BOX.into());
    (most, mapped)
}
