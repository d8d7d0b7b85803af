//! `lab inventory`: the running lab's Ansible inventory, for playbooks
//! and ad-hoc commands run from this machine, the way Vagrant's generated
//! inventory is used. It is the inventory of the lab's own playbook runs
//! ([`crate::provision::inventory::Inventory`]: one group per role, the
//! address `lab up` recorded, the login user, `ansible_ssh_common_args`
//! with the lab's key and pinned known_hosts as `lab ssh` uses them) plus
//! `ansible_ssh_private_key_file`, as YAML, INI or an inventory script's
//! JSON.
//!
//! Only nodes that are up (recorded ready, host key pinned) are listed: a
//! playbook run against a half-up lab then reaches every node it names,
//! and each node left out is named in a note (on stderr) with how to
//! start it. No node up at all, or no state, is an error: an empty
//! inventory would only make Ansible do nothing without a word.
//! Nothing here connects to libvirt; like `lab ssh`, it reads the state.

use anyhow::{Result, bail};

use crate::provision::inventory::{Inventory, passes_unescaped};
use crate::spec::Lab;
use crate::ssh::openssh::ClientOptions;
use crate::state::{STATE_FILE, State, StateDir};

/// The text formats of an inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Ansible's `yaml` inventory plugin; every value `!unsafe`.
    Yaml,
    /// Ansible's `ini` inventory plugin.
    Ini,
    /// What an inventory script prints for `--list` (Ansible's `script`
    /// inventory plugin), `_meta.hostvars` included.
    Json,
}

/// An inventory to print, and notes for the user (nodes left out, a
/// variable left out), one sentence each.
#[derive(Debug, Clone, PartialEq)]
pub struct Printed {
    pub text: String,
    pub notes: Vec<String>,
}

/// The inventory of the lab whose file is `lab` and whose state is in
/// `sd`, in `format`. Errors: the lab has no state or no node up; its path
/// cannot be given to ssh; its key or pinned host keys are not private;
/// a value the format cannot carry (INI, JSON: a `{{` in the lab's path).
pub fn inventory(lab: &Lab, sd: &StateDir, format: Format) -> Result<Printed> {
    crate::paths::check_lab_path(lab.dir())?;
    if !sd.exists() {
        bail!(
            "lab {} is not up ({} does not exist); run `lab up`",
            lab.name,
            sd.file(STATE_FILE).display()
        );
    }
    let st = sd.load()?;
    let ssh = ClientOptions::for_lab(sd)?.through(st.jump())?;
    let key = sd.ssh_key();
    let key = key.to_str().expect("checked by ClientOptions: UTF-8");
    render(lab, &st, &ssh, key, format)
}

/// [`inventory`] of the state `st`, logging in with `ssh` and the key
/// at `key` (absolute).
pub fn render(
    lab: &Lab,
    st: &State,
    ssh: &ClientOptions,
    key: &str,
    format: Format,
) -> Result<Printed> {
    let up = |node: &str| {
        st.nodes
            .get(node)
            .is_some_and(|ns| ns.ready && ns.host_key.is_some())
    };
    if !lab.nodes.iter().any(|n| up(&n.name)) {
        bail!(
            "no node of lab {} is up, so its inventory would be empty; run `lab up` (`lab status` shows each node)",
            lab.name
        );
    }
    let mut notes: Vec<String> = lab
        .nodes
        .iter()
        .filter(|n| !up(&n.name))
        .map(|n| {
            format!(
                "node {0} is not up, so it is left out of the inventory; `lab up {0}` starts it",
                n.name
            )
        })
        .collect();
    let key_file = passes_unescaped(key).then_some(key);
    if key_file.is_none() {
        notes.push(format!(
            "ansible_ssh_private_key_file is left out: Ansible would hand the key's path {key:?} to ssh without the escaping its `\"`, `\\` or `%` needs; ansible_ssh_common_args names the key (IdentityFile), so logging in works"
        ));
    }
    let mut inv = Inventory::of(lab, st, ssh, key_file);
    inv.retain(up);
    let header = format!(
        "Ansible inventory of lab {} for this machine, printed by `lab inventory` (nodes that are up).",
        lab.name
    );
    let text = match format {
        Format::Yaml => inv.yaml(&header),
        Format::Ini => inv.ini(&header)?,
        Format::Json => inv.json()?,
    };
    Ok(Printed { text, notes })
}

#[cfg(test)]
#[path = "inventory_tests.rs"]
mod tests;
