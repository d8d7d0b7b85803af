//! `lab box build|list|remove|export`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use serde::Serialize;

use crate::boxes::catalog::KnownRecipe;
use crate::boxes::{self, Outcome, Store};
use crate::error::InvalidInput;
use crate::ui::{progress, table};

#[derive(Debug, clap::Subcommand)]
pub enum BoxCommand {
    /// Build a box from its recipe (NAME/box.yaml, found as below), or reuse the
    /// stored one when the recipe is unchanged. A recipe with
    /// `format: rootfs` builds a root filesystem tarball for `docker
    /// import` (named by a lab's `provision.images`) instead of a VM disk.
    ///
    /// Recipes are searched, first match wins, in: $LAB_BOXES_PATH
    /// (colon-separated); boxes/ beside the lab file (LAB_FILE, or lab.yaml
    /// here or in a parent directory) and in its parents; boxes/ in the
    /// current directory and its parents; $LAB_HOME/recipes; the recipes
    /// built into lab (`lab box list --recipes` shows them all).
    Build {
        /// Box name, e.g. debian-12.
        name: String,
        /// Rebuild even when the recipe is unchanged.
        #[arg(long)]
        force: bool,
    },
    /// List the boxes in the store ($LAB_HOME/boxes), or with --recipes
    /// every recipe found: name, where it comes from (a directory or
    /// built-in), its description, and which are shadowed by a recipe of
    /// the same name found first.
    List {
        /// The recipes instead of the built boxes.
        #[arg(long)]
        recipes: bool,
        /// Machine-readable output (JSON on stdout).
        #[arg(long)]
        json: bool,
    },
    /// Import a Vagrant box of the libvirt provider (.box: a tar, maybe
    /// gzipped, with metadata.json and box.img) or a qcow2 or raw disk
    /// image with a bootloader (a distribution cloud image) as a box.
    ///
    /// Imported boxes boot from their own bootloader: BIOS, or UEFI (Debian's
    /// OVMF) when the disk has only an EFI system partition, the box's
    /// metadata says `"firmware": "uefi"`, or --firmware uefi. The lab's
    /// key reaches the guest through cloud-init's NoCloud seed; a Vagrant
    /// box without cloud-init is first reached with Vagrant's insecure key,
    /// which lab replaces by the lab's key at once and removes from every
    /// authorized_keys before the node counts as ready. The root disk grows
    /// to the node's `disk:` where the image grows its partition
    /// (cloud-init's growpart). A truncated or damaged file is refused and
    /// leaves nothing in the store.
    Import(super::box_import::Args),
    /// Remove a box from the store.
    Remove {
        /// Box name.
        name: String,
    },
    /// Write a disk box of the store as a disk that boots by itself (BIOS,
    /// GRUB; root found by its label), for Vagrant or other tools: FILE.box
    /// is a Vagrant box of the libvirt provider (metadata.json, Vagrantfile,
    /// box.img), FILE.qcow2 the disk alone, a cloud image (the box has
    /// cloud-init). The image gets a `vagrant` user with Vagrant's insecure
    /// public keys and sudo without a password. The box in the store is not
    /// changed; nothing is written to FILE until the export is complete.
    Export {
        /// Box name, e.g. debian-12.
        name: String,
        /// The file to write: FILE.box or FILE.qcow2.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Replace FILE when it exists.
        #[arg(long)]
        force: bool,
    },
}

/// Refuse a NAME argument that is not a box name (it names a directory
/// under the recipe directories and the store: `../x` would lead out of
/// them) as invalid input (exit status 2).
fn box_name(name: &str) -> Result<()> {
    crate::names::box_name(name).map_err(|why| {
        InvalidInput {
            summary: format!("box name {} {why}", crate::names::quoted(name)),
        }
        .into()
    })
}

pub fn run(cmd: BoxCommand) -> Result<()> {
    let store = Store::default_location();
    match cmd {
        BoxCommand::Build { name, force } => {
            box_name(&name)?;
            let start = Instant::now();
            let dirs = crate::paths::recipe_dirs(lab_dir().as_deref());
            let recipe = boxes::recipe::find(&name, &dirs)
                .map_err(boxes::recipe::RecipeError::into_anyhow)?;
            let log = boxes::build_log(&name);
            let reporter = progress::stderr_reporter();
            let outcome = boxes::build(&store, &recipe, force, &log, reporter.as_ref())
                .map_err(|e| boxes::build_failed(&name, &log, e))?;
            drop(reporter);
            match outcome {
                Outcome::UpToDate(b) => println!(
                    "box {name} is up to date (version {}, recipe unchanged) at {} [{}]",
                    b.meta.version,
                    b.dir.display(),
                    progress::fmt_duration(start.elapsed())
                ),
                Outcome::Built(b) => println!(
                    "built box {name} version {} ({}, {} packages) at {} in {}",
                    b.meta.version,
                    table::fmt_bytes(b.size_bytes()),
                    b.meta.installed_packages,
                    b.dir.display(),
                    progress::fmt_duration(start.elapsed())
                ),
            }
        }
        BoxCommand::List {
            recipes: true,
            json,
        } => {
            let dirs = crate::paths::recipe_dirs(lab_dir().as_deref());
            list_recipes(&boxes::catalog::catalog(&dirs), json)?;
        }
        BoxCommand::List {
            recipes: false,
            json,
        } => list_store(&store, json)?,
        BoxCommand::Import(args) => super::box_import::run(&store, args)?,
        BoxCommand::Remove { name } => {
            box_name(&name)?;
            store.remove(&name)?;
            println!("removed box {name}");
            // Its copies in the pool: gone too, unless a VM's disk is
            // backed by one (then `lab destroy` of that lab removes it).
            match crate::ops::box_pool::prune_removed(&store, &name) {
                Ok(gone) if !gone.is_empty() => {
                    println!("removed its copies from the pool: {}", gone.join(", "));
                }
                Ok(_) => {}
                Err(e) => eprintln!("note: its copies in the libvirt pool were not checked: {e:#}"),
            }
        }
        BoxCommand::Export {
            name,
            output,
            force,
        } => {
            box_name(&name)?;
            let start = Instant::now();
            let log = boxes::export::export_log(&name);
            let reporter = progress::stderr_reporter();
            let done =
                boxes::export::export(&store, &name, &output, force, &log, reporter.as_ref())?;
            drop(reporter);
            println!(
                "exported box {name} as {} to {} ({}) in {}",
                done.target.describe(),
                done.path.display(),
                table::fmt_bytes(done.bytes),
                progress::fmt_duration(start.elapsed())
            );
        }
    }
    Ok(())
}

/// `lab box list [--json]`: the store's boxes, a broken one with why.
fn list_store(store: &Store, json: bool) -> Result<()> {
    let boxes = store.list()?;
    if json {
        let out = StoreJson {
            store: store.root().display().to_string(),
            boxes: boxes.iter().map(BoxJson::from).collect(),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if boxes.is_empty() {
        println!(
            "no boxes in {} (build one: lab box build debian-12)",
            store.root().display()
        );
        return Ok(());
    }
    let now = boxes::build::now_unix();
    let rows: Vec<Vec<String>> = boxes
        .iter()
        .map(|b| match b {
            Ok(b) => vec![
                b.meta.name.clone(),
                b.meta.version.clone(),
                b.meta.format.as_str().to_string(),
                boot_of(&b.meta).to_string(),
                table::fmt_bytes(b.size_bytes()),
                table::fmt_age(now.saturating_sub(b.meta.built_at)),
                match &b.meta.source {
                    Some(s) => format!("{} {}", s.kind.as_str(), s.file),
                    None => "recipe".to_string(),
                },
            ],
            Err(broken) => {
                let mut row = vec![broken.name.clone()];
                row.extend(["-", "-", "-", "-", "-", "broken (below)"].map(String::from));
                row
            }
        })
        .collect();
    print!(
        "{}",
        table::render(
            &[
                "NAME", "VERSION", "FORMAT", "BOOT", "SIZE", "BUILT", "SOURCE"
            ],
            &rows
        )
    );
    for broken in boxes.iter().filter_map(|b| b.as_ref().err()) {
        println!(
            "box `{}` is broken ({}); {}",
            broken.name, broken.reason, broken.fix
        );
    }
    Ok(())
}

/// How a box starts, in a word: `kernel` (direct kernel boot), `bios` or
/// `uefi` (its own bootloader), `-` for a rootfs.
fn boot_of(meta: &boxes::BoxMeta) -> &'static str {
    use boxes::store::BootMode;
    match (meta.format, meta.boot) {
        (boxes::Format::Rootfs, _) => "-",
        (_, BootMode::Kernel) => "kernel",
        (_, BootMode::Disk) => meta.firmware.as_str(),
    }
}

/// `lab box list --json`.
#[derive(Debug, Serialize)]
struct StoreJson {
    /// The store directory (`$LAB_HOME/boxes`).
    store: String,
    /// Sorted by name.
    boxes: Vec<BoxJson>,
}

/// One box of the store; a broken one has only `name`, `broken` and `fix`.
#[derive(Debug, Serialize)]
struct BoxJson {
    name: String,
    version: Option<String>,
    format: Option<boxes::Format>,
    /// `kernel`, `bios` or `uefi` for a disk box, `-` for a rootfs.
    boot: Option<&'static str>,
    /// Where an imported box came from: kind (`vagrant-box`, `qcow2`,
    /// `raw`), file, sha256; null for a box built from a recipe.
    source: Option<boxes::store::BoxSource>,
    /// Bytes on disk, all files of the box.
    size_bytes: Option<u64>,
    /// Unix seconds.
    built_at: Option<u64>,
    /// Seconds its build took (0 for an imported box).
    build_seconds: Option<u64>,
    /// The hash of the recipe it was built from (see `boxes::hash`).
    recipe_hash: Option<String>,
    /// Why it cannot be used.
    broken: Option<String>,
    /// What to do about it.
    fix: Option<String>,
}

impl From<&Result<boxes::StoredBox, boxes::store::Broken>> for BoxJson {
    fn from(b: &Result<boxes::StoredBox, boxes::store::Broken>) -> BoxJson {
        match b {
            Ok(b) => BoxJson {
                name: b.meta.name.clone(),
                version: Some(b.meta.version.clone()),
                format: Some(b.meta.format),
                boot: Some(boot_of(&b.meta)),
                source: b.meta.source.clone(),
                size_bytes: Some(b.size_bytes()),
                built_at: Some(b.meta.built_at),
                build_seconds: Some(b.meta.build_seconds),
                recipe_hash: Some(b.meta.recipe_hash.clone()),
                broken: None,
                fix: None,
            },
            Err(broken) => BoxJson {
                name: broken.name.clone(),
                version: None,
                format: None,
                boot: None,
                source: None,
                size_bytes: None,
                built_at: None,
                build_seconds: None,
                recipe_hash: None,
                broken: Some(broken.reason.clone()),
                fix: Some(broken.fix.clone()),
            },
        }
    }
}

/// `lab box list --recipes --json`.
#[derive(Debug, Serialize)]
struct RecipesJson<'a> {
    /// As the table lists them: sorted by name, the one used first.
    recipes: &'a [KnownRecipe],
}

/// `lab box list --recipes [--json]`: every recipe found, sorted by name,
/// the one used first; a shadowed one says by which, an invalid one why
/// (below the table).
fn list_recipes(recipes: &[KnownRecipe], json: bool) -> Result<()> {
    if json {
        let out = RecipesJson { recipes };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = recipes
        .iter()
        .map(|r| {
            let about = match (&r.shadowed_by, &r.error, r.description.as_deref()) {
                (Some(by), _, _) => format!("shadowed by the one in {by}"),
                (None, Some(_), _) => "invalid (below)".to_string(),
                (None, None, Some(d)) if !d.is_empty() => d.to_string(),
                (None, None, _) => "-".to_string(),
            };
            vec![r.name.clone(), r.from.clone(), about]
        })
        .collect();
    print!("{}", table::render(&["NAME", "FROM", "DESCRIPTION"], &rows));
    for r in recipes.iter().filter(|r| r.shadowed_by.is_none()) {
        if let Some(error) = &r.error {
            println!("recipe `{}` cannot be used: {error}", r.name);
        }
    }
    Ok(())
}

/// The directory of the lab file, if there is one: `LAB_FILE`, else
/// `lab.yaml` here or in a parent directory. `lab box build` needs none.
pub(super) fn lab_dir() -> Option<PathBuf> {
    let file = match std::env::var_os("LAB_FILE").filter(|v| !v.is_empty()) {
        Some(file) => PathBuf::from(file),
        None => crate::paths::find_lab_file(
            &std::env::current_dir().ok()?,
            crate::paths::home_dir().as_deref(),
        )
        .ok()?,
    };
    Some(match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    })
}
