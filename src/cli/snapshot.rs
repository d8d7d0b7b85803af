//! `lab snapshot save|restore|list|delete`: whole-lab snapshots.

use anyhow::Result;

use crate::cli::Global;
use crate::ops::{LabCtx, snapshot};
use crate::ui::nodes;
use crate::ui::table::{self, fmt_bytes};

#[derive(Debug, clap::Subcommand)]
pub enum SnapshotCommand {
    /// Capture the whole lab as NAME (running: memory and disks; halted: disks).
    ///
    /// A running lab's nodes are paused at one instant, their memory and disks saved, and resumed (their clocks
    /// set to the host's); a halted lab's disks. Stored inside each node's
    /// disk; `lab destroy` removes them, `lab halt` and `lab up` keep them.
    Save {
        /// Snapshot name: lowercase letters, digits and '-' (like a node name).
        name: String,
        /// Replace a snapshot of the same name.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        out: crate::cli::LabJson,
    },
    /// Put the whole lab back to snapshot NAME, without a reboot.
    ///
    /// A running snapshot comes back running without a reboot (clocks set to the host's), a halted one
    /// halted. Refused when the lab's nodes, boxes or sizes changed since.
    Restore {
        /// Snapshot name.
        name: String,
        #[command(flatten)]
        out: crate::cli::LabJson,
    },
    /// List the lab's snapshots.
    ///
    /// Name, when taken, running or halted, size on disk, and whether it
    /// can be restored (a save that was killed cannot).
    List {
        #[command(flatten)]
        out: crate::cli::LabJson,
    },
    /// Delete snapshot NAME from every node.
    Delete {
        /// Snapshot name.
        name: String,
        #[command(flatten)]
        lab: crate::cli::LabFile,
    },
}

impl SnapshotCommand {
    /// The lab file option of the subcommand.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            SnapshotCommand::Save { out, .. }
            | SnapshotCommand::Restore { out, .. }
            | SnapshotCommand::List { out } => out.lab.file.as_deref(),
            SnapshotCommand::Delete { lab, .. } => lab.file.as_deref(),
        }
    }
}

pub fn run(global: &Global, cmd: SnapshotCommand) -> Result<()> {
    if let SnapshotCommand::List { out } = &cmd {
        let lab = crate::spec::load_reported_lenient(&global.file)?;
        return list(&lab, out.json);
    }
    let ctx = LabCtx::open_lenient(&global.file)?;
    let reporter = nodes::Lines::new();
    match cmd {
        SnapshotCommand::Save { name, force, out } => {
            let opts = snapshot::SaveOptions { force };
            let r = snapshot::save(&ctx, &name, &opts, &reporter)?;
            if out.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            let paused = if r.state == "halted" {
                "disks only, the lab is halted".to_string()
            } else {
                format!("nodes paused {:.1} s", r.paused_seconds)
            };
            println!(
                "saved snapshot {} of lab {} ({}) in {:.1} s ({paused}), {} on disk{}; `lab snapshot restore {}` brings it back",
                r.name,
                ctx.lab.name,
                r.state,
                r.seconds,
                fmt_bytes(r.bytes),
                if r.replaced {
                    ", replacing the old one"
                } else {
                    ""
                },
                r.name
            );
        }
        SnapshotCommand::Restore { name, out } => {
            let r = snapshot::restore(&ctx, &name, &reporter)?;
            if out.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            let worst = r
                .clocks
                .iter()
                .filter_map(|c| c.offset_seconds)
                .map(f64::abs)
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            let clocks = worst.map_or(String::new(), |w| {
                format!("; clocks set to the host's (within {w:.2} s)")
            });
            println!(
                "restored lab {} to snapshot {} (taken {}, {}) in {:.1} s{clocks}",
                ctx.lab.name, r.name, r.taken, r.state, r.seconds
            );
        }
        SnapshotCommand::Delete { name, .. } => {
            snapshot::delete(&ctx, &name, &reporter)?;
            println!("deleted snapshot {name} of lab {}", ctx.lab.name);
        }
        SnapshotCommand::List { .. } => unreachable!("handled above"),
    }
    Ok(())
}

/// `lab snapshot list`: reads the state only, no libvirt connection.
fn list(lab: &crate::spec::Lab, json: bool) -> Result<()> {
    let sd = crate::state::StateDir::for_lab_dir(lab.dir());
    let snaps = snapshot::list_in(&sd)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&snaps)?);
        return Ok(());
    }
    if snaps.is_empty() {
        println!(
            "lab {} has no snapshots; `lab snapshot save NAME` takes one",
            lab.name
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = snaps
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.taken.replace('T', " ").replace('Z', " UTC"),
                s.state.to_string(),
                fmt_bytes(s.bytes),
                if s.usable {
                    "yes".into()
                } else {
                    "no: being saved, or its save was interrupted".into()
                },
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["NAME", "TAKEN", "STATE", "SIZE", "USABLE"], &rows)
    );
    Ok(())
}
