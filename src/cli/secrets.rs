//! `lab secrets [NAME]`: print the lab's generated secrets (JSON), or one
//! of them. The only command that shows them.

use anyhow::{Result, bail};

use crate::cli::Global;
use crate::provision::secrets;
use crate::state::{SECRETS_FILE, StateDir};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lab: crate::cli::LabFile,
    /// Print only this secret's value (e.g. grafana_admin_password).
    pub name: Option<String>,
}

pub fn run(global: &Global, args: Args) -> Result<()> {
    let lab = crate::spec::load_reported_lenient(&global.file)?;
    let sd = StateDir::for_lab_dir(lab.dir());
    let Some(all) = secrets::load(&sd)? else {
        bail!(
            "lab {} has no secrets yet ({} does not exist); the first `lab provision` (or `lab up`) generates them",
            lab.name,
            sd.file(SECRETS_FILE).display()
        );
    };
    match args.name {
        None => print!("{}", all.to_json()),
        Some(name) => match all.get(&name) {
            Some(v) => println!("{v}"),
            None => bail!(
                "lab {} has no secret `{name}` (secrets: {})",
                lab.name,
                all.names().collect::<Vec<_>>().join(", ")
            ),
        },
    }
    Ok(())
}
