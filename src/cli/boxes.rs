//! `lab box build|list|remove`.

use crate::cli::Global;

#[derive(Debug, clap::Subcommand)]
pub enum BoxCommand {
    /// Build a box from its recipe (boxes/NAME/box.yaml).
    Build {
        /// Box name, e.g. debian-12.
        name: String,
        /// Rebuild even when the recipe is unchanged.
        #[arg(long)]
        force: bool,
    },
    /// List the boxes in the store.
    List,
    /// Remove a box from the store.
    Remove {
        name: String,
    },
}

pub fn run(_global: &Global, _cmd: BoxCommand) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
