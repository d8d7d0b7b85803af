//! `lab box import FILE --name NAME`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use crate::boxes::Store;
use crate::boxes::import::{ImportRequest, import};
use crate::boxes::store::Firmware;
use crate::error::InvalidInput;
use crate::ui::{progress, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Vagrant box (.box) or disk image (qcow2 or raw) to import.
    pub file: PathBuf,
    /// Name of the new box, as nodes name it in `box:`.
    #[arg(long)]
    pub name: String,
    /// Login user. cloud-init creates it with the lab's key; for a Vagrant
    /// box without cloud-init it must be the box's own user.
    /// [default: vagrant for a .box, lab for an image]
    #[arg(long)]
    pub user: Option<String>,
    /// Firmware to boot with, when the disk's partition table does not
    /// tell (lab picks UEFI for a GPT disk with only an EFI system
    /// partition, BIOS otherwise).
    #[arg(long, value_enum)]
    pub firmware: Option<FirmwareArg>,
    /// Replace a stored box of the same name.
    #[arg(long)]
    pub force: bool,
    /// Print the imported box as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--firmware`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FirmwareArg {
    Bios,
    Uefi,
}

pub fn run(store: &Store, args: Args) -> Result<()> {
    let invalid = |summary: String| -> anyhow::Error { InvalidInput { summary }.into() };
    crate::names::box_name(&args.name).map_err(|why| {
        invalid(format!(
            "box name {} {why}",
            crate::names::quoted(&args.name)
        ))
    })?;
    if let Some(user) = &args.user {
        crate::names::login_name(user)
            .map_err(|why| invalid(format!("--user {} {why}", crate::names::quoted(user))))?;
    }
    // A recipe of that name would be built over the import by `lab up`.
    let dirs = crate::paths::recipe_dirs(super::boxes::lab_dir().as_deref());
    if let Ok(recipe) = crate::boxes::recipe::find(&args.name, &dirs) {
        return Err(invalid(format!(
            "box name `{}` is taken by a recipe ({}): `lab up` would build that recipe instead of using the import; choose another --name",
            args.name,
            recipe.file.display()
        )));
    }
    let start = Instant::now();
    let log = crate::boxes::build_log(&args.name);
    let reporter = progress::stderr_reporter();
    let req = ImportRequest {
        file: args.file,
        name: args.name.clone(),
        user: args.user,
        firmware: args.firmware.map(|f| match f {
            FirmwareArg::Bios => Firmware::Bios,
            FirmwareArg::Uefi => Firmware::Uefi,
        }),
        force: args.force,
    };
    let b = import(store, &req, &log, reporter.as_ref())?;
    drop(reporter);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&b.meta)?);
        return Ok(());
    }
    println!(
        "imported box {} ({}, boots with {}, login user {}, {} GiB disk) at {} in {}",
        b.meta.name,
        table::fmt_bytes(b.size_bytes()),
        b.meta.firmware.as_str(),
        b.meta.user,
        b.meta.disk_gib,
        b.dir.display(),
        progress::fmt_duration(start.elapsed())
    );
    Ok(())
}
