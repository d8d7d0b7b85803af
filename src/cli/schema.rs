//! `lab schema`: print the lab file's JSON schema.

use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    let schema = serde_json::to_string_pretty(&crate::spec::json_schema())?;
    // A closed stdout (`lab schema | head`) ends lab quietly: see
    // closed_stdout.
    writeln!(std::io::stdout().lock(), "{schema}")?;
    Ok(())
}
