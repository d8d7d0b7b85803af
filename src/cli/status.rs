//! `lab status [--json]`.

use anyhow::Result;

use crate::cli::Global;
use crate::ops::{LabCtx, status};
use crate::ui::table;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub out: crate::cli::LabJson,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    let ctx = LabCtx::open_lenient(&global.file)?;
    let st = status::status(&ctx)?;
    if args.out.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
        return Ok(());
    }
    println!(
        "lab {}: network {} {}",
        st.lab, st.network, st.network_state
    );
    // A HOST column only for a lab with `hosts:` (every node has one).
    let hosts = st.nodes.iter().any(|n| n.host.is_some());
    let rows: Vec<Vec<String>> = st
        .nodes
        .iter()
        .map(|n| {
            let running = n.state == status::VmState::Domain(crate::backend::DomainState::Running);
            let state = if running && !n.ready {
                "running (not ready)".into()
            } else {
                n.state.to_string()
            };
            let accel = n.accel.map_or_else(|| "-".into(), |a| a.to_string());
            let mut row = vec![
                n.node.clone(),
                state,
                n.ip.clone(),
                n.box_name.clone(),
                accel,
            ];
            if hosts {
                row.insert(1, n.host.clone().unwrap_or_else(|| "-".into()));
            }
            row
        })
        .collect();
    let mut header = vec!["NODE", "STATE", "IP", "BOX", "ACCEL"];
    if hosts {
        header.insert(1, "HOST");
    }
    print!("{}", table::render(&header, &rows));
    let pending: Vec<&str> = st
        .nodes
        .iter()
        .filter(|n| n.provision_pending)
        .map(|n| n.node.as_str())
        .collect();
    if !pending.is_empty() {
        println!(
            "provisioning has not finished on {} (never run, failed or interrupted): `lab up` runs it",
            pending.join(", ")
        );
    }
    match &st.restored {
        Some(r) if r.complete => println!("restored from snapshot {} at {}", r.name, r.at),
        Some(r) => println!(
            "the restore of snapshot {} (started {}) was interrupted: run `lab snapshot restore {}` again",
            r.name, r.at, r.name
        ),
        None => {}
    }
    for name in &st.unfinished_saves {
        println!(
            "snapshot {name} is being saved, or its save was interrupted: not usable; if interrupted, `lab up` resumes the nodes it paused and removes it"
        );
    }
    if !st.snapshots.is_empty() {
        println!(
            "snapshots: {} (`lab snapshot list`)",
            st.snapshots.join(", ")
        );
    }
    for what in &st.not_ours {
        println!("not this lab's (left alone): {what}");
    }
    Ok(())
}
