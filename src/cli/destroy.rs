//! `lab destroy [-f]`: remove the lab's VMs, volumes, network and state.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};

use crate::cli::Global;
use crate::ops::{LabCtx, destroy};
use crate::ui::nodes;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFileLong,
    /// Do not ask for confirmation.
    #[arg(short = 'f', long)]
    pub force: bool,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    let ctx = LabCtx::open_lenient(&global.file)?;
    if !args.force {
        if !std::io::stdin().is_terminal() {
            bail!(
                "lab destroy removes every VM and disk of lab {}; pass -f to confirm when not on a terminal",
                ctx.lab.name
            );
        }
        eprint!(
            "Destroy lab {} (all its VMs and their disks; boxes are kept)? [y/N] ",
            ctx.lab.name
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing destroyed");
            return Ok(());
        }
    }
    let reporter = nodes::Lines::new();
    let report = destroy::destroy(&ctx, &reporter)?;
    let forwarders = match report.forwarders.len() {
        0 => String::new(),
        n => format!(", {n} forwarder(s)"),
    };
    let snapshots = match report.snapshots.len() {
        0 => String::new(),
        n => format!(", {n} snapshot(s)"),
    };
    let vxlan = match report.vxlan.is_empty() {
        true => String::new(),
        false => format!(", VXLAN device(s) {}", report.vxlan.join(", ")),
    };
    println!(
        "destroyed lab {}: {} VM(s), {} volume(s), network {}{vxlan}{forwarders}{snapshots}; state removed",
        ctx.lab.name,
        report.domains.len(),
        report.volumes.len(),
        report.network.as_deref().unwrap_or("(none)")
    );
    if !report.stale_boxes.is_empty() {
        println!(
            "removed {} stale box cop(ies) from the pool (older or removed boxes no VM uses): {}",
            report.stale_boxes.len(),
            report.stale_boxes.join(", ")
        );
    }
    if !report.other_snapshots.is_empty() {
        println!(
            "removed with the VMs' disks, not made by lab: snapshot(s) {}",
            report.other_snapshots.join(", ")
        );
    }
    for what in &report.left_alone {
        println!("left alone, not this lab's: {what}");
    }
    Ok(())
}
