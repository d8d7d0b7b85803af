//! `lab schema`: print the lab file's JSON schema.

use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    let schema = serde_json::to_string_pretty(&crate::spec::json_schema())?;
    match writeln!(std::io::stdout().lock(), "{schema}") {
        // `lab schema | head` is fine.
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(()),
    }
}
