//! An [`Inventory`] as INI (Ansible's `ini` inventory plugin) and as the
//! JSON an inventory script prints for `--list` (Ansible's `script`
//! inventory plugin; `ansible-inventory --list` prints the same shape).
//!
//! Neither can mark a value as data the way YAML's `!unsafe` does:
//! Ansible would render a `{{`, `{%` or `{#` in a value (from the lab's
//! path) as a Jinja2 template, so such a value is refused with a pointer
//! to the YAML format.
//!
//! INI quoting follows ansible-core's `ini` plugin (2.14, Debian 12): a
//! host line is split like a POSIX shell (`shlex`, `#` starts a comment)
//! into `NAME KEY=VALUE...`; a line of a `[GROUP:vars]` section is split
//! at its first `=`; either VALUE then goes through Python's
//! `ast.literal_eval`, and stays text only when that fails. So a value is
//! written bare only where `literal_eval` must fail (an IPv4 address, a
//! lowercase word), else as a Python string literal ([`quoted`]), which
//! `literal_eval` turns back into the exact text.

use std::net::Ipv4Addr;

use anyhow::{Result, bail};
use serde_json::{Map, Value, json};

use super::{Inventory, quoted};
use crate::process::shell_quote;

/// What Ansible's Jinja2 environment takes for the start of a template.
const TEMPLATE_STARTS: [&str; 3] = ["{{", "{%", "{#"];

/// The name of the group Ansible puts every host in that is in no other.
const UNGROUPED: &str = "ungrouped";

impl Inventory {
    /// The INI inventory after the comment line `# HEADER`: one line per
    /// host (`NAME ansible_host=IP [ansible_user=USER]`), `[all:vars]`,
    /// then a `[ROLE]` section per group listing its hosts. Errors: a
    /// value Ansible would take for a template (see the module doc).
    pub fn ini(&self, header: &str) -> Result<String> {
        self.refuse_templates("INI")?;
        let mut out = format!("# {header}\n");
        for host in &self.hosts {
            out.push_str(&host.name);
            for (k, v) in &host.vars {
                out.push(' ');
                out.push_str(&ini_host_var(k, v));
            }
            out.push('\n');
        }
        out.push_str("\n[all:vars]\n");
        for (k, v) in &self.vars {
            out.push_str(&format!("{k}={}\n", quoted(v)));
        }
        for g in &self.groups {
            out.push_str(&format!("\n[{}]\n", g.name));
            for h in &g.hosts {
                out.push_str(&format!("{h}\n"));
            }
        }
        Ok(out)
    }

    /// The JSON of an inventory script's `--list`: `_meta.hostvars` with
    /// every variable of each host (those of `all`, then its own), `all`
    /// with its `children` (`ungrouped`, then the roles), and each of
    /// those groups with its `hosts` (possibly none). Errors: a value
    /// Ansible would take for a template (see the module doc).
    pub fn json(&self) -> Result<String> {
        self.refuse_templates("JSON")?;
        let mut hostvars = Map::new();
        for host in &self.hosts {
            let vars: Map<String, Value> = self
                .vars
                .iter()
                .chain(&host.vars)
                .map(|(k, v)| (k.to_string(), Value::from(v.as_str())))
                .collect();
            hostvars.insert(host.name.clone(), Value::Object(vars));
        }
        let ungrouped: Vec<&str> = self
            .hosts
            .iter()
            .map(|h| h.name.as_str())
            .filter(|h| !self.groups.iter().any(|g| g.hosts.iter().any(|n| n == h)))
            .collect();
        let mut children = vec![UNGROUPED];
        children.extend(self.groups.iter().map(|g| g.name.as_str()));
        let mut top = Map::new();
        top.insert("_meta".into(), json!({ "hostvars": hostvars }));
        top.insert("all".into(), json!({ "children": children }));
        top.insert(UNGROUPED.into(), json!({ "hosts": ungrouped }));
        for g in &self.groups {
            top.insert(g.name.clone(), json!({ "hosts": g.hosts }));
        }
        Ok(
            serde_json::to_string_pretty(&Value::Object(top)).expect("JSON values serialise")
                + "\n",
        )
    }

    /// An error naming the first value that holds a Jinja2 start, for a
    /// format (`what`) that cannot mark it as data.
    fn refuse_templates(&self, what: &str) -> Result<()> {
        let all = self.vars.iter().map(|(k, v)| ("all hosts", *k, v));
        let own = self
            .hosts
            .iter()
            .flat_map(|h| h.vars.iter().map(move |(k, v)| (h.name.as_str(), *k, v)));
        for (whose, k, v) in all.chain(own) {
            if let Some(start) = TEMPLATE_STARTS.iter().find(|s| v.contains(*s)) {
                bail!(
                    "{k} of {whose} would be {v:?}, which holds `{start}`: Ansible takes that for the start of a Jinja2 template, and {what} cannot mark a value as plain data; use the YAML format (`--format yaml`), which marks every value `!unsafe`, or move the lab to a path without `{start}`"
                );
            }
        }
        Ok(())
    }
}

/// `KEY=VALUE` for a host line: bare when Python's `literal_eval` cannot
/// read VALUE (an IPv4 address; a word of lowercase letters, digits, `_`,
/// `.` and `-` starting with a letter or `_`), else the Python literal,
/// the whole shell-quoted so that `shlex` hands it over intact.
fn ini_host_var(key: &str, value: &str) -> String {
    let word = value.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if word || value.parse::<Ipv4Addr>().is_ok() {
        format!("{key}={value}")
    } else {
        shell_quote(&format!("{key}={}", quoted(value)))
    }
}

#[cfg(test)]
#[path = "inventory_formats_tests.rs"]
mod tests;
