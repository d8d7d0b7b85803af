//! `lab box build|list|remove`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use crate::boxes::{self, Outcome, Store};
use crate::error::InvalidInput;
use crate::ui::{progress, table};

#[derive(Debug, clap::Subcommand)]
pub enum BoxCommand {
    /// Build a box from its recipe (boxes/NAME/box.yaml), or reuse the
    /// stored one when the recipe is unchanged. A recipe with
    /// `format: rootfs` builds a root filesystem tarball for `docker
    /// import` (named by a lab's `provision.images`) instead of a VM disk.
    ///
    /// Recipes are searched, first match wins, in: $LAB_BOXES_PATH
    /// (colon-separated); boxes/ beside the lab file (LAB_FILE, or lab.yaml
    /// here or in a parent directory) and in its parents; boxes/ in the
    /// current directory and its parents; $LAB_HOME/recipes; the recipes
    /// built into lab.
    Build {
        /// Box name, e.g. debian-12.
        name: String,
        /// Rebuild even when the recipe is unchanged.
        #[arg(long)]
        force: bool,
    },
    /// List the boxes in the store ($LAB_HOME/boxes).
    List,
    /// Remove a box from the store.
    Remove {
        /// Box name.
        name: String,
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
        BoxCommand::List => {
            let boxes = store.list()?;
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
                        table::fmt_bytes(b.size_bytes()),
                        table::fmt_age(now.saturating_sub(b.meta.built_at)),
                    ],
                    Err(broken) => {
                        let mut row = vec![broken.name.clone()];
                        row.extend(["-", "-", "-", "broken (below)"].map(String::from));
                        row
                    }
                })
                .collect();
            print!(
                "{}",
                table::render(&["NAME", "VERSION", "FORMAT", "SIZE", "BUILT"], &rows)
            );
            for broken in boxes.iter().filter_map(|b| b.as_ref().err()) {
                println!(
                    "box `{}` is broken ({}); {}",
                    broken.name, broken.reason, broken.fix
                );
            }
        }
        BoxCommand::Remove { name } => {
            box_name(&name)?;
            store.remove(&name)?;
            println!("removed box {name}");
        }
    }
    Ok(())
}

/// The directory of the lab file, if there is one: `LAB_FILE`, else
/// `lab.yaml` here or in a parent directory. `lab box build` needs none.
fn lab_dir() -> Option<PathBuf> {
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
