//! `lab halt [NODE...]`: graceful shutdown with a timeout, then force.

use std::time::Duration;

use anyhow::Result;

use crate::cli::Global;
use crate::ops::{LabCtx, halt};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Only these nodes (default: all).
    pub nodes: Vec<String>,
    /// Seconds to wait for a clean shutdown before forcing the VM off.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    let ctx = LabCtx::open_lenient(&global.file)?;
    let reporter = super::node_reporter(&ctx, &args.nodes)?;
    let out = halt::halt(
        &ctx,
        &args.nodes,
        Duration::from_secs(args.timeout),
        reporter.as_ref(),
    )?;
    drop(reporter);
    let forced = out
        .iter()
        .filter(|(_, h)| *h == halt::Halted::Forced)
        .count();
    println!(
        "halted {} node(s){}; `lab up` starts them again",
        out.len(),
        if forced > 0 {
            format!(" ({forced} forced off)")
        } else {
            String::new()
        }
    );
    Ok(())
}
