//! `lab validate`: check a lab file, print every diagnostic.

use crate::cli::Global;
use crate::spec;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
}

pub fn run(global: &Global, _args: Args) -> anyhow::Result<()> {
    let lab = spec::load_reported(&global.file)?;
    let nodes = match lab.nodes.len() {
        1 => "1 node".to_owned(),
        n => format!("{n} nodes"),
    };
    println!(
        "{}: lab {:?} is valid ({nodes}, subnet {}, box {})",
        global.file.display(),
        lab.name,
        lab.network.subnet,
        lab.box_name
    );
    Ok(())
}
