//! Boxes: base images built from recipes (`boxes/NAME/box.yaml`) into the
//! store under `$LAB_HOME/boxes`.

pub mod build;
pub mod hygiene;
pub mod recipe;
pub mod store;

pub use build::{Outcome, build};
pub use recipe::{Recipe, RecipeSource};
pub use store::{BoxMeta, Store, StoredBox};

use std::path::PathBuf;

/// Where a box build writes the output of its tools.
pub fn build_log(name: &str) -> PathBuf {
    crate::paths::lab_home().join("logs").join(format!("box-{name}.log"))
}
