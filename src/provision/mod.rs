//! The hand-off to the provisioner once every node is ready: `type: shell`
//! steps ([`shell`]) or an Ansible playbook run on a controller node or on
//! the host ([`ansible`]), then the lab's `checks:` ([`verify`]).
//!
//! Everything reaches the nodes over SSH ([`remote`]) with the lab key and
//! the host keys pinned by `lab up`; the lab directory is copied to
//! `/home/USER/lab` on the nodes that need it ([`upload`]). Output goes
//! to `.lab/provision.log` ([`log`]); progress to a [`NodeReporter`].
//! Services get generated passwords from [`secrets`]. The workflows that
//! take the lab lock and check that the lab is up are in
//! [`crate::ops::provision`].

pub mod ansible;
pub mod images;
pub mod inventory;
pub mod log;
pub mod mitogen;
pub mod recap;
pub mod remote;
pub mod secrets;
pub mod shell;
pub mod tags;
pub mod timing;
pub mod upload;
pub mod verify;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use crate::spec::{Lab, Provision};
use crate::state::{PROVISION_LOG, State, StateDir};
use crate::ui::nodes::NodeReporter;
pub use recap::HostRecap;
use remote::Remote;
pub use timing::RoleTime;

/// Where the lab directory is copied on a node: `HOME/lab`.
pub fn guest_lab_dir(home: &str) -> String {
    format!("{home}/lab")
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Ansible tags (`--tags`); not supported by shell steps.
    pub tags: Option<String>,
    /// Only these nodes (Ansible `--limit`, shell steps' targets); all
    /// when empty.
    pub nodes: Vec<String>,
    /// The `ansible-playbook` program for `controller: host`.
    pub host_ansible: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tags: None,
            nodes: Vec::new(),
            host_ansible: "ansible-playbook".into(),
        }
    }
}

/// What a provisioning run did; also the `provision` part of `lab
/// provision --json` and `lab up --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `shell` or `ansible`.
    pub provisioner: crate::spec::ProvisionerKind,
    /// Per host: Ansible's `PLAY RECAP` (`ok`, `changed`, `unreachable`,
    /// `failed`, `skipped`, `rescued`, `ignored`); for shell steps, `ok`
    /// counts the steps the node ran and the rest are 0.
    pub hosts: Vec<HostRecap>,
    /// Seconds per Ansible role, in the order the roles first ran
    /// ([`timing`]); empty for shell steps.
    pub roles: Vec<RoleTime>,
    /// The whole run, in JSON as `seconds` (a float).
    #[serde(rename = "seconds", serialize_with = "as_seconds")]
    pub duration: Duration,
    /// `.lab/provision.log`: everything the run printed.
    pub log: PathBuf,
    /// Ansible's `[WARNING]` and `[DEPRECATION WARNING]` lines
    /// ([`recap::Parser::warnings`]: at most 50, each cut at 300
    /// characters, with the task they came in); empty for shell steps.
    pub warnings: Vec<String>,
}

fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// One provisioning run: the lab, its state and where output goes.
pub struct Run<'a> {
    pub lab: &'a Lab,
    pub sd: &'a StateDir,
    pub st: &'a State,
    pub rep: &'a dyn NodeReporter,
    pub log: &'a log::Log,
}

impl Run<'_> {
    pub fn remote(&self, node: &str) -> Result<Remote> {
        Remote::of(node, self.st, self.sd)
    }

    /// A failure's closing line: where the whole output is.
    pub fn see_log(&self) -> String {
        format!("full output: {}", self.log.path().display())
    }
}

/// Run the lab's provisioner; `None` when it has none. The caller holds
/// the lab lock and has checked that the nodes are up.
pub fn run(
    lab: &Lab,
    sd: &StateDir,
    st: &State,
    opts: &Options,
    rep: &dyn NodeReporter,
) -> Result<Option<Report>> {
    let Some(provision) = &lab.provision else {
        return Ok(None);
    };
    let start = Instant::now();
    let log = log::Log::create(
        &sd.file(PROVISION_LOG),
        &format!(
            "lab provision of lab {} (pid {})",
            lab.name,
            std::process::id()
        ),
    )?;
    let run = Run {
        lab,
        sd,
        st,
        rep,
        log: &log,
    };
    let (provisioner, hosts, roles, warnings) = match provision {
        Provision::Shell(shell) => {
            if opts.tags.is_some() {
                anyhow::bail!(
                    "--only selects Ansible tags, but lab {} is provisioned with shell steps, which have none",
                    lab.name
                );
            }
            (
                crate::spec::ProvisionerKind::Shell,
                shell::run(&run, shell, &opts.nodes)?,
                Vec::new(),
                Vec::new(),
            )
        }
        Provision::Ansible(a) => {
            let out = ansible::run(&run, a, opts)?;
            let kind = crate::spec::ProvisionerKind::Ansible;
            (kind, out.hosts, out.roles, out.warnings)
        }
    };
    Ok(Some(Report {
        provisioner,
        hosts,
        roles,
        duration: start.elapsed(),
        log: log.path().to_path_buf(),
        warnings,
    }))
}

/// `text` cut to `max` characters, for one-line progress.
pub fn clip(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text() {
        assert_eq!(clip("  abc ", 5), "abc");
        assert_eq!(clip("abcdefgh", 5), "abcde…");
        assert_eq!(clip("ééééé", 3), "ééé…");
    }
}
