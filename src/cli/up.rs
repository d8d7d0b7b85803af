//! `lab up [NODE...] [--json]`: bring the lab up (or resume it), print a
//! table and where to look, or one JSON object.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::Global;
use crate::ops::info::Info;
use crate::ops::{LabCtx, up};
use crate::provision::Report;
use crate::provision::verify::CheckResult;
use crate::ui::{progress::fmt_duration, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Only these nodes (default: all).
    pub nodes: Vec<String>,
    /// Seconds each node may take to become ready (SSH + cloud-init)
    /// [default: 900 with KVM, 1800 under software emulation (TCG)].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Do not run the provisioner and the checks once the nodes are ready.
    #[arg(long)]
    pub no_provision: bool,
    /// Machine-readable output on stdout (progress stays on stderr): per
    /// node the seconds to SSH and to ready, the provisioning report and
    /// the checks' results.
    #[arg(long)]
    pub json: bool,
}

/// `lab up --json`. Times are seconds (floats); a node that was already up
/// has `was_up: true` and the times of its earlier boot.
#[derive(Serialize)]
pub struct UpJson<'a> {
    pub lab: &'a str,
    /// Nothing had to be done: every selected node was up and ready.
    pub noop: bool,
    /// `kvm` or `tcg`, and why.
    pub accel: String,
    pub accel_reason: &'a str,
    /// The whole `lab up`, boxes and provisioning included.
    pub seconds: f64,
    /// `node`, `ip`, `boot_seconds` (to SSH answering), `ready_seconds`
    /// (to SSH login + cloud-init done), `was_up`.
    pub nodes: &'a [up::NodeReport],
    /// The provisioning run (`lab provision --json` without `lab`); null
    /// when the lab has none, or with `--no-provision`, or on a no-op.
    pub provision: Option<&'a Report>,
    /// The checks run at the end, as `lab verify --json` prints them.
    pub checks: &'a [CheckResult],
    /// Where to look, as `lab info --json` prints it.
    pub info: &'a Info,
    /// Box volumes this run copied into a pool (`VOLUME`, or `VOLUME on
    /// host NAME` over several hosts); empty when every box was there.
    pub uploads: &'a [String],
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    crate::interrupt::set_message(up::INTERRUPTED);
    let start = Instant::now();
    let ctx = LabCtx::open(&global.file)?;
    let reporter = super::node_reporter(&ctx, &args.nodes)?;
    let mut opts = up::UpOptions::new(args.nodes, args.timeout.map(Duration::from_secs));
    opts.provision = !args.no_provision;
    opts.forwarder = Some(
        std::env::current_exe().context("cannot find the lab executable to run the forwarders")?,
    );
    let report = up::up(&ctx, &opts, Arc::clone(&reporter))?;
    drop(reporter);
    let info = crate::ops::info::info(&ctx.lab, &ctx.state_dir)?;
    if args.json {
        let json = UpJson {
            lab: &ctx.lab.name,
            noop: report.noop,
            accel: report.accel.to_string(),
            accel_reason: &report.accel_reason,
            seconds: start.elapsed().as_secs_f64(),
            nodes: &report.nodes,
            provision: report.after.provision.as_ref(),
            checks: &report.after.checks,
            info: &info,
            uploads: &report.uploads,
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    if report.noop {
        println!("lab {} is up; nothing to do", ctx.lab.name);
    }
    let secs = |s: Option<f64>| {
        s.map(|s| fmt_duration(Duration::from_secs_f64(s)))
            .unwrap_or_else(|| "-".into())
    };
    let rows: Vec<Vec<String>> = report
        .nodes
        .iter()
        .map(|n| {
            vec![
                n.name.clone(),
                n.ip.clone(),
                if n.was_up {
                    "already up".into()
                } else {
                    secs(n.boot_seconds)
                },
                if n.was_up {
                    "-".into()
                } else {
                    secs(n.ready_seconds)
                },
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["NODE", "IP", "BOOT", "SSH READY"], &rows)
    );
    if !report.noop {
        println!("accel: {} ({})", report.accel, report.accel_reason);
        if let Some(first) = report.nodes.first() {
            println!(
                "next: lab ssh {}   |   lab status   |   lab destroy",
                first.name
            );
        }
    }
    print!("{}", super::info::render(&info));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_node_times_the_provisioning_report_and_the_checks() {
        let nodes = [up::NodeReport {
            name: "node1".into(),
            ip: "10.77.10.21".into(),
            boot_seconds: Some(20.5),
            ready_seconds: Some(41.0),
            was_up: false,
        }];
        let report = super::super::provision::tests::report();
        let checks = [CheckResult {
            name: "web answers".into(),
            node: "node1".into(),
            passed: true,
            attempts: 1,
            seconds: 0.5,
            outcome: "exit status 0".into(),
            output: vec!["ok".into()],
        }];
        let info = Info {
            lab: "x".into(),
            up: true,
            links: Vec::new(),
            forwards: Vec::new(),
            ssh: "lab ssh node1".into(),
            nodes: vec!["node1".into()],
            state_dir: "/labs/x/.lab".into(),
            snapshots: vec!["provisioned".into()],
            restored: None,
            sandbox: None,
            reachable: "from this machine".into(),
        };
        let json = UpJson {
            lab: "x",
            noop: false,
            accel: "tcg".into(),
            accel_reason: "no /dev/kvm",
            seconds: 95.5,
            nodes: &nodes,
            provision: Some(&report),
            checks: &checks,
            info: &info,
            uploads: &["lab-box-debian-12.0123456789ab.qcow2 on host b".to_string()],
        };
        insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap());
    }
}
