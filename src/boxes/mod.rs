//! Boxes: base images built from recipes (`boxes/NAME/box.yaml`) into the
//! store under `$LAB_HOME/boxes`.

pub mod build;
pub mod hygiene;
pub mod recipe;
pub mod store;

pub use build::{Outcome, build};
pub use recipe::{Format, Recipe, RecipeSource};
pub use store::{BoxMeta, Store, StoredBox};

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::ui::progress::Reporter;

/// Where a box build writes the output of its tools.
pub fn build_log(name: &str) -> PathBuf {
    crate::paths::lab_home().join("logs").join(format!("box-{name}.log"))
}

/// The box `name` for a lab in `lab_dir`: built (or rebuilt) from its
/// recipe when the recipe is found and the store's copy is missing or
/// stale; without a recipe, whatever the store holds.
pub fn ensure(store: &Store, lab_dir: &Path, name: &str, reporter: &dyn Reporter) -> Result<StoredBox> {
    let dirs = crate::paths::recipe_dirs(lab_dir);
    match recipe::find(name, &dirs) {
        Ok(recipe) => {
            let log = build_log(name);
            let outcome = build(store, &recipe, false, &log, reporter)
                .with_context(|| format!("building box {name} failed (log: {})", log.display()))?;
            Ok(match outcome {
                Outcome::UpToDate(b) | Outcome::Built(b) => b,
            })
        }
        // No recipe: a box that is only in the store is fine.
        Err(e) => store.get(name)?.ok_or_else(|| {
            anyhow::anyhow!("box `{name}` is not in the store and has no recipe ({e}); build it with `lab box build {name}`")
        }),
    }
}
