//! `lab up [NODE...]`: bring the lab up (or resume it), print a table and
//! where to look.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::Global;
use crate::ops::{LabCtx, up};
use crate::ui::{nodes, progress::fmt_duration, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Only these nodes (default: all).
    pub nodes: Vec<String>,
    /// Seconds each node may take to become ready (SSH + cloud-init).
    #[arg(long, default_value_t = 900, value_name = "SECS")]
    pub timeout: u64,
    /// Do not run the provisioner and the checks once the nodes are ready.
    #[arg(long)]
    pub no_provision: bool,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    crate::interrupt::set_message(up::INTERRUPTED);
    let ctx = LabCtx::open(&global.file)?;
    let names: Vec<String> = ctx.select_nodes(&args.nodes)?.into_iter().map(|n| n.name).collect();
    let reporter: Arc<dyn nodes::NodeReporter> = Arc::from(nodes::stderr_reporter(&names));
    let mut opts = up::UpOptions::new(args.nodes, Duration::from_secs(args.timeout));
    opts.provision = !args.no_provision;
    opts.forwarder = Some(
        std::env::current_exe()
            .context("cannot find the lab executable to run the forwarders")?,
    );
    let report = up::up(&ctx, &opts, Arc::clone(&reporter))?;
    drop(reporter);
    if report.noop {
        println!("lab {} is up; nothing to do", ctx.lab.name);
    }
    let secs = |s: Option<f64>| s.map(|s| fmt_duration(Duration::from_secs_f64(s))).unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = report
        .nodes
        .iter()
        .map(|n| {
            vec![
                n.name.clone(),
                n.ip.clone(),
                if n.was_up { "already up".into() } else { secs(n.boot_seconds) },
                if n.was_up { "-".into() } else { secs(n.ready_seconds) },
            ]
        })
        .collect();
    print!("{}", table::render(&["NODE", "IP", "BOOT", "SSH READY"], &rows));
    if !report.noop {
        println!("accel: {} ({})", report.accel, report.accel_reason);
        if let Some(first) = report.nodes.first() {
            println!("next: lab ssh {}   |   lab status   |   lab destroy", first.name);
        }
    }
    let info = crate::ops::info::info(&ctx.lab, &ctx.state_dir)?;
    print!("{}", super::info::render(&info));
    Ok(())
}
