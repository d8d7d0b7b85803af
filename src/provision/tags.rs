//! `lab provision --list-tags`: the tags of an Ansible lab's playbook, as
//! Ansible itself resolves them (`ansible-playbook --list-tags`: roles,
//! `import_*`, `tags:` on plays, blocks and tasks), without running a task
//! and without the lab being up.
//!
//! It runs on this machine, in the lab directory, with an inventory made
//! from the lab file alone (one group per role, the nodes in it; no
//! addresses: nothing is contacted) and the lab's variables, so it needs
//! Ansible here whatever the lab's `controller:` is.

use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::process::{Cmd, ProcessError, find_program, install_hint};
use crate::spec::{Ansible, Lab};

/// The tags of one play: what `ansible-playbook --list-tags` prints for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlayTags {
    /// The play's number, from 1, in playbook order.
    pub number: u32,
    /// Its `name:` (empty without one).
    pub name: String,
    /// Its `hosts:` pattern.
    pub hosts: String,
    /// The play's own tags and every tag of its tasks, sorted, each once.
    pub tags: Vec<String>,
}

/// Every play's tags and, in `tags`, all of them, sorted, each once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagList {
    pub plays: Vec<PlayTags>,
    pub tags: Vec<String>,
}

/// Runs `PROGRAM -i INVENTORY -e @VARS --list-tags --tags all,never
/// PLAYBOOK` in the lab
/// directory (`program`: `ansible-playbook`, or another for tests).
///
/// Errors: Ansible is not installed here (with how to install it), or
/// `ansible-playbook` fails (its last lines: a syntax error in a play,
/// a role not found).
pub fn list(lab: &Lab, a: &Ansible, program: &Path) -> Result<TagList> {
    if find_program(&program.to_string_lossy()).is_none() {
        bail!(
            "listing the playbook's tags needs Ansible on this machine (`{}` not found); {}",
            program.display(),
            install_hint(&["ansible-playbook"])
        );
    }
    let dir = tempfile::Builder::new().prefix("lab-tags").tempdir()?;
    let inventory = dir.path().join("inventory.json");
    std::fs::write(&inventory, groups(lab).to_string())?;
    let vars = dir.path().join("vars.json");
    std::fs::write(&vars, super::inventory::vars(lab, None, &[]))?;
    let out = Cmd::new(program)
        .arg("-i")
        .arg(&inventory)
        .arg("-e")
        .arg(format!("@{}", vars.display()))
        .arg("--list-tags")
        // Without it Ansible leaves out the tasks tagged `never` (those
        // run only on request, e.g. a rollback): exactly the ones to list.
        .args(["--tags", "all,never"])
        .arg(&a.playbook)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "False")
        .cwd(lab.dir())
        .run();
    match out {
        Ok(out) => Ok(parse(&out.stdout)),
        Err(ProcessError::Failed { status, stderr, .. }) => bail!(
            "ansible-playbook --list-tags {} failed ({status}):\n{}",
            a.playbook.display(),
            stderr.trim_end()
        ),
        Err(e) => Err(e.into()),
    }
}

/// A YAML (here JSON) inventory of every node, with one group per role
/// ([`super::inventory::Inventory::role_groups`]): enough for the plays'
/// `hosts:` patterns.
fn groups(lab: &Lab) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let hosts: Map<String, Value> = lab
        .nodes
        .iter()
        .map(|n| (n.name.clone(), json!({})))
        .collect();
    let children: Map<String, Value> = super::inventory::Inventory::role_groups(lab)
        .into_iter()
        .map(|g| {
            let hosts: Map<String, Value> = g.hosts.into_iter().map(|h| (h, json!({}))).collect();
            (g.name, json!({ "hosts": hosts }))
        })
        .collect();
    json!({"all": {"hosts": hosts, "children": children}})
}

/// Reads `ansible-playbook --list-tags` output:
///
/// ```text
///   play #1 (all): Base of every node (tab) TAGS: [base]
///       TASK TAGS: [base, common]
/// ```
pub fn parse(text: &str) -> TagList {
    let mut plays: Vec<PlayTags> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("play #") {
            let Some((number, rest)) = rest.split_once(' ') else {
                continue;
            };
            let rest = rest.strip_prefix('(').unwrap_or(rest);
            let (hosts, rest) = rest.split_once("): ").unwrap_or(("", rest));
            let (name, tags) = rest.rsplit_once("TAGS:").unwrap_or((rest, ""));
            plays.push(PlayTags {
                number: number.parse().unwrap_or(0),
                name: name.trim().to_string(),
                hosts: hosts.to_string(),
                tags: list_of(tags),
            });
        } else if let Some(tags) = line.strip_prefix("TASK TAGS:")
            && let Some(play) = plays.last_mut()
        {
            play.tags.extend(list_of(tags));
            play.tags.sort();
            play.tags.dedup();
        }
    }
    let mut tags: Vec<String> = plays.iter().flat_map(|p| p.tags.clone()).collect();
    tags.sort();
    tags.dedup();
    TagList { plays, tags }
}

/// `[a, b]` → `["a", "b"]`, sorted.
fn list_of(text: &str) -> Vec<String> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    let mut tags: Vec<String> = inner
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_and_their_task_tags_are_read_and_merged() {
        let out = "\nplaybook: provision/site.yml\n\n  play #1 (all): Base of every node\tTAGS: [base]\n      TASK TAGS: [common, base]\n\n  play #2 (app:db): \tTAGS: []\n      TASK TAGS: [never, rollback]\n";
        let list = parse(out);
        assert_eq!(list.plays.len(), 2);
        assert_eq!(list.plays[0].name, "Base of every node");
        assert_eq!(list.plays[0].hosts, "all");
        assert_eq!(list.plays[0].tags, ["base", "common"]);
        assert_eq!(list.plays[1].number, 2);
        assert_eq!(list.plays[1].hosts, "app:db");
        assert_eq!(list.plays[1].name, "");
        assert_eq!(list.plays[1].tags, ["never", "rollback"]);
        assert_eq!(list.tags, ["base", "common", "never", "rollback"]);
    }

    #[test]
    fn no_plays_is_an_empty_list() {
        assert_eq!(
            parse("playbook: x.yml\n"),
            TagList {
                plays: vec![],
                tags: vec![]
            }
        );
    }
}
