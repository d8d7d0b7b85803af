//! `lab verify`: run the lab's `checks:` and print PASS/FAIL per check;
//! exit status 1 when any failed.

use std::sync::Arc;

use anyhow::{Result, bail};

use crate::cli::Global;
use crate::ops::{LabCtx, provision};
use crate::provision::verify;
use crate::ui::{nodes, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub out: crate::cli::LabJson,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    let ctx = LabCtx::open_lenient(&global.file)?;
    if ctx.lab.checks.is_empty() {
        if args.out.json {
            println!("[]");
        } else {
            println!("lab {} has no `checks:`; nothing to verify", ctx.lab.name);
        }
        return Ok(());
    }
    let names: Vec<String> = ctx.lab.checks.iter().map(|c| c.name.clone()).collect();
    let reporter: Arc<dyn nodes::NodeReporter> = Arc::from(nodes::stderr_reporter(&names));
    let results = provision::verify(&ctx, reporter.as_ref());
    drop(reporter);
    let results = results?;
    if args.out.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|r| {
                vec![
                    if r.passed { "PASS" } else { "FAIL" }.to_string(),
                    r.name.clone(),
                    r.node.clone(),
                    format!("{:.1}s", r.seconds),
                    r.attempts.to_string(),
                ]
            })
            .collect();
        print!(
            "{}",
            table::render(&["RESULT", "CHECK", "NODE", "TIME", "TRIES"], &rows)
        );
        for r in results.iter().filter(|r| !r.passed) {
            println!("\n{}", verify::describe(r));
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    if failed > 0 {
        bail!("{failed} of {} checks failed", results.len());
    }
    Ok(())
}
