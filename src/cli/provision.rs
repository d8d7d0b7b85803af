//! `lab provision [--only TAG] [NODE...] [--json]`: run the provisioner
//! again on a running lab and print the per-host recap; `lab provision
//! --list-tags [--json]`: the playbook's tags, for `--only`.

use anyhow::Result;
use serde::Serialize;

use crate::cli::Global;
use crate::ops::{LabCtx, provision};
use crate::provision::{Options, Report};
use crate::ui::{progress::fmt_duration, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Only the Ansible tasks tagged TAG (comma-separated tags allowed;
    /// ansible-playbook --tags).
    #[arg(long, value_name = "TAG")]
    pub only: Option<String>,
    /// List the tags of the lab's Ansible playbook (per play, as
    /// ansible-playbook --list-tags resolves them) instead of running it;
    /// needs Ansible on this machine, not the lab up.
    #[arg(long, conflicts_with_all = ["only", "nodes"])]
    pub list_tags: bool,
    /// Only these nodes (ansible-playbook --limit; shell steps skip the
    /// others). Default: all.
    pub nodes: Vec<String>,
    /// Machine-readable output: the recap per host, the seconds per role
    /// and Ansible's warnings (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
}

/// `lab provision --json`: the lab's name and, when it has a `provision:`
/// section, the run's [`Report`] fields (`provisioner`, `hosts`, `roles`,
/// `seconds`, `log`) beside it.
#[derive(Serialize)]
pub struct ProvisionJson<'a> {
    pub lab: &'a str,
    #[serde(flatten)]
    pub report: Option<&'a Report>,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    if args.list_tags {
        return list_tags(&crate::spec::load_reported(&global.file)?, args.json);
    }
    let ctx = LabCtx::open(&global.file)?;
    let reporter = super::node_reporter(&ctx, &args.nodes)?;
    let opts = Options {
        tags: args.only,
        nodes: args.nodes,
        ..Options::default()
    };
    let report = provision::provision(&ctx, &opts, reporter.as_ref());
    drop(reporter);
    let report = report?;
    if args.json {
        let json = ProvisionJson {
            lab: &ctx.lab.name,
            report: report.as_ref(),
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let Some(report) = report else {
        println!(
            "lab {} has no `provision:` section; nothing to do",
            ctx.lab.name
        );
        return Ok(());
    };
    let shell = report.provisioner == crate::spec::ProvisionerKind::Shell;
    let rows: Vec<Vec<String>> = report
        .hosts
        .iter()
        .map(|h| {
            let counts = if shell {
                vec![h.ok]
            } else {
                vec![h.ok, h.changed, h.failed, h.unreachable]
            };
            std::iter::once(h.host.clone())
                .chain(counts.iter().map(u32::to_string))
                .collect()
        })
        .collect();
    let header: &[&str] = if shell {
        &["NODE", "STEPS"]
    } else {
        &["HOST", "OK", "CHANGED", "FAILED", "UNREACHABLE"]
    };
    print!("{}", table::render(header, &rows));
    println!(
        "provisioned lab {} with {} in {} (log: {})",
        ctx.lab.name,
        report.provisioner,
        fmt_duration(report.duration),
        report.log.display()
    );
    Ok(())
}

/// `lab provision --list-tags`: one line per play, then every tag;
/// `--json`: `{"lab", "plays": [{number, name, hosts, tags}], "tags"}`.
fn list_tags(lab: &crate::spec::Lab, json: bool) -> Result<()> {
    let list = provision::list_tags(lab, Options::default().host_ansible.as_path())?;
    if json {
        let out = serde_json::json!({"lab": lab.name, "plays": list.plays, "tags": list.tags});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .plays
        .iter()
        .map(|p| {
            vec![
                p.number.to_string(),
                p.hosts.clone(),
                p.name.clone(),
                p.tags.join(", "),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["PLAY", "HOSTS", "NAME", "TAGS"], &rows)
    );
    println!("tags: {}", list.tags.join(", "));
    println!("run only the tasks of a tag with `lab provision --only TAG`");
    if list.tags.iter().any(|t| t == "never") {
        println!("tasks tagged `never` run only when one of their other tags is asked for");
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::provision::{HostRecap, RoleTime};

    /// The report of a run, as `lab provision --json` and `lab up --json`
    /// show it.
    pub(crate) fn report() -> Report {
        Report {
            provisioner: crate::spec::ProvisionerKind::Ansible,
            hosts: vec![HostRecap {
                host: "node1".into(),
                ok: 12,
                changed: 3,
                skipped: 1,
                ..Default::default()
            }],
            roles: vec![
                RoleTime {
                    role: "(no role)".into(),
                    seconds: 1.5,
                },
                RoleTime {
                    role: "common".into(),
                    seconds: 30.25,
                },
            ],
            duration: Duration::from_millis(31_750),
            log: "/labs/x/.lab/provision.log".into(),
            warnings: vec![
                "Platform linux on host node1 is using the discovered Python interpreter at /usr/bin/python3.11 (task \"Gathering Facts\")".into(),
            ],
        }
    }

    #[test]
    fn json_has_the_recap_per_host_and_the_seconds_per_role() {
        let report = report();
        let json = ProvisionJson {
            lab: "x",
            report: Some(&report),
        };
        insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap());
    }

    #[test]
    fn json_without_a_provision_section_is_only_the_lab() {
        let json = ProvisionJson {
            lab: "x",
            report: None,
        };
        assert_eq!(serde_json::to_string(&json).unwrap(), r#"{"lab":"x"}"#);
    }
}
