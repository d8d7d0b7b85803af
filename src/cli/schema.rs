//! `lab schema`: print the lab file's JSON schema.

use crate::cli::Global;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_global: &Global, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("lab schema is not written yet")
}
