//! `lab provision [--only TAG] [NODE...]`: run the provisioner again on a
//! running lab and print the per-host recap.

use std::sync::Arc;

use anyhow::Result;

use crate::cli::Global;
use crate::ops::{LabCtx, provision};
use crate::provision::Options;
use crate::ui::{nodes, progress::fmt_duration, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Only the Ansible tasks tagged TAG (comma-separated tags allowed;
    /// ansible-playbook --tags).
    #[arg(long, value_name = "TAG")]
    pub only: Option<String>,
    /// Only these nodes (ansible-playbook --limit; shell steps skip the
    /// others). Default: all.
    pub nodes: Vec<String>,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    let ctx = LabCtx::open(&global.file)?;
    let names: Vec<String> = ctx
        .select_nodes(&args.nodes)?
        .into_iter()
        .map(|n| n.name)
        .collect();
    let reporter: Arc<dyn nodes::NodeReporter> = Arc::from(nodes::stderr_reporter(&names));
    let opts = Options {
        tags: args.only,
        nodes: args.nodes,
        ..Options::default()
    };
    let report = provision::provision(&ctx, &opts, reporter.as_ref());
    drop(reporter);
    let Some(report) = report? else {
        println!(
            "lab {} has no `provision:` section; nothing to do",
            ctx.lab.name
        );
        return Ok(());
    };
    let shell = report.provisioner == "shell";
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
