//! A [`Plan`] written as `lab.yaml` text: a header comment saying where it
//! came from and what was left out, then the sections in the order the
//! built-in templates use. Strings are plain where YAML reads them back
//! unchanged, else double-quoted (JSON's escapes are YAML's); inline
//! scripts of several lines are literal blocks.

use std::fmt::Write;

use serde_json::Value;

use super::map::{Note, Plan};
use super::provision::{Provisioning, Source};

/// The lab file for `plan`, converted from `from` (as the user named it).
pub fn lab_yaml(plan: &Plan, from: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Converted by `lab init --from-vagrantfile` from {from}."
    );
    if plan.notes.is_empty() {
        o.push_str("# Everything in it was carried over.\n");
    } else {
        o.push_str("# Not carried over, or changed (also printed when converting):\n");
        for n in &plan.notes {
            let _ = writeln!(o, "#   - {}", one_line(&note(n)));
        }
    }
    let _ = writeln!(o, "name: {}", scalar(&plan.name));
    let _ = writeln!(o, "box: {}", scalar(&plan.box_name));
    o.push_str("network:\n");
    let _ = writeln!(o, "  subnet: {}", plan.subnet);
    if let Some(d) = &plan.domain {
        let _ = writeln!(o, "  domain: {}", scalar(d));
    }
    if plan.cpus.is_some() || plan.memory.is_some() {
        o.push_str("defaults:\n");
        if let Some(c) = plan.cpus {
            let _ = writeln!(o, "  cpus: {c}");
        }
        if let Some(m) = plan.memory {
            let _ = writeln!(o, "  memory: {m}");
        }
    }
    o.push_str("nodes:\n");
    for n in &plan.nodes {
        let _ = writeln!(o, "  {}:", n.name);
        let _ = writeln!(o, "    ip: {}", n.ip);
        if let Some(c) = n.cpus {
            let _ = writeln!(o, "    cpus: {c}");
        }
        if let Some(m) = n.memory {
            let _ = writeln!(o, "    memory: {m}");
        }
        if let Some(b) = &n.box_name {
            let _ = writeln!(o, "    box: {}", scalar(b));
        }
        if !n.roles.is_empty() {
            let _ = writeln!(o, "    roles: [{}]", n.roles.join(", "));
        }
    }
    match &plan.provisioning {
        None => {}
        Some(Provisioning::Shell { steps, .. }) => {
            o.push_str("provision:\n  type: shell\n  scripts:\n");
            for s in steps {
                let _ = writeln!(o, "    - on: [{}]", s.on.join(", "));
                match &s.source {
                    Source::Script(p) => {
                        let _ = writeln!(o, "      script: {}", scalar(p));
                    }
                    Source::Inline(text) => {
                        let _ = writeln!(o, "      inline: {}", block(text, "        "));
                    }
                }
            }
        }
        Some(Provisioning::Ansible {
            playbook,
            extra_vars,
            ..
        }) => {
            o.push_str("provision:\n  type: ansible\n  controller: host\n");
            let _ = writeln!(o, "  playbook: {}", scalar(playbook));
            if !extra_vars.is_empty() {
                o.push_str("  extra_vars:\n");
                for (k, v) in extra_vars {
                    let _ = writeln!(o, "    {}: {}", scalar(k), json(v));
                }
            }
        }
    }
    if !plan.forwards.is_empty() {
        o.push_str("forwards:\n");
        for f in &plan.forwards {
            let _ = writeln!(o, "  - node: {}", f.node);
            let _ = writeln!(o, "    guest: {}", f.guest);
            let _ = writeln!(o, "    host: {}", f.host);
            if let Some(a) = f.address {
                let _ = writeln!(o, "    address: {a}");
            }
        }
    }
    o
}

/// A note as one line: `line N: TEXT`, or the text alone.
pub fn note(n: &Note) -> String {
    match n.line {
        Some(l) => format!("line {l}: {}", n.text),
        None => n.text.clone(),
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// A string as a YAML scalar that reads back as the same string.
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./@+".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.' || c == '/')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        )
        && s.parse::<f64>().is_err()
        && !s.starts_with("0x")
        && !s.starts_with("0o");
    if plain { s.to_string() } else { quoted(s) }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// Script text: a literal block when it has several lines that survive
/// one (no trailing blanks, no leading space, one or no final newline),
/// else a quoted scalar.
fn block(text: &str, indent: &str) -> String {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let fits = body.contains('\n')
        && !body.starts_with([' ', '\t'])
        && !body.contains('\r')
        && !body.ends_with('\n')
        && body.lines().all(|l| l == l.trim_end() && !l.contains('\t'))
        && body.chars().all(|c| !c.is_control() || c == '\n');
    if !fits {
        return quoted(text);
    }
    let chomp = if text.ends_with('\n') { "|" } else { "|-" };
    let mut out = chomp.to_string();
    for line in body.lines() {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
    }
    out
}

/// A JSON value as YAML (flow style: JSON is YAML), strings as [`scalar`].
fn json(v: &Value) -> String {
    match v {
        Value::String(s) => scalar(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}
