//! `lab validate`: check a lab file, print every diagnostic.

use crate::cli::Global;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_global: &Global, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("lab validate is not written yet")
}
