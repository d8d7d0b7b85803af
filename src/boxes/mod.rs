//! Boxes: base images built from recipes (`boxes/NAME/box.yaml`) into the
//! store under `$LAB_HOME/boxes`.

pub mod build;
pub mod hygiene;
pub mod recipe;
pub mod store;
mod yaml_limits;

pub use build::{Outcome, build};
pub use recipe::{Format, Recipe, RecipeSource};
pub use store::{BoxMeta, Store, StoredBox};

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::ui::progress::Reporter;

/// Where a box build writes the output of its tools.
pub fn build_log(name: &str) -> PathBuf {
    crate::paths::lab_home().join("logs").join(format!("box-{name}.log"))
}

/// The box `name` for a lab in `lab_dir`, which must be of format `want`
/// (a node boots a disk; `provision.images` take rootfs boxes): built (or
/// rebuilt) from its recipe when the recipe is found and the store's copy
/// is missing or stale; without a recipe, whatever the store holds.
pub fn ensure(store: &Store, lab_dir: &Path, name: &str, want: Format, reporter: &dyn Reporter) -> Result<StoredBox> {
    let dirs = crate::paths::recipe_dirs(lab_dir);
    let b = match recipe::find(name, &dirs) {
        Ok(recipe) => {
            let log = build_log(name);
            let outcome = build(store, &recipe, false, &log, reporter)
                .with_context(|| format!("building box {name} failed (log: {})", log.display()))?;
            match outcome {
                Outcome::UpToDate(b) | Outcome::Built(b) => b,
            }
        }
        // No recipe: a box that is only in the store is fine.
        Err(e) => store.get(name)?.ok_or_else(|| {
            anyhow::anyhow!("box `{name}` is not in the store and has no recipe ({e}); build it with `lab box build {name}`")
        })?,
    };
    match (want, b.meta.format) {
        (Format::Disk, Format::Rootfs) => bail!(
            "box `{name}` is a root filesystem for containers (format: rootfs), not a VM disk; a node needs a disk box such as debian-12 (rootfs boxes go under provision.images)"
        ),
        (Format::Rootfs, Format::Disk) => bail!(
            "provision.images names `{name}`, a disk box; images must be root filesystems (`format: rootfs` in boxes/{name}/box.yaml)"
        ),
        _ => Ok(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored box (no recipe anywhere) of `format`, in a fresh store.
    fn stored(format: Format) -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("boxes"));
        let staging = store.stage("only-stored").unwrap();
        let meta: BoxMeta = serde_json::from_value(serde_json::json!({
            "name": "only-stored", "version": "1", "format": format.as_str(), "recipe_hash": "h",
            "disk_sha256": "00", "disk_gib": 8, "cmdline": "", "user": "lab",
            "built_at": 0, "build_seconds": 1, "suite": "bookworm", "packages": [], "installed_packages": 1
        }))
        .unwrap();
        staging.commit(&meta).unwrap();
        (tmp, store)
    }

    #[test]
    fn ensure_refuses_a_box_of_the_other_format() {
        let quiet = crate::ui::progress::Silent;
        let (tmp, store) = stored(Format::Rootfs);
        let msg = ensure(&store, tmp.path(), "only-stored", Format::Disk, &quiet).unwrap_err().to_string();
        assert!(msg.contains("is a root filesystem for containers (format: rootfs), not a VM disk"), "{msg}");
        assert_eq!(ensure(&store, tmp.path(), "only-stored", Format::Rootfs, &quiet).unwrap().meta.format, Format::Rootfs);

        let (tmp, store) = stored(Format::Disk);
        let msg = ensure(&store, tmp.path(), "only-stored", Format::Rootfs, &quiet).unwrap_err().to_string();
        assert!(msg.contains("provision.images names `only-stored`, a disk box"), "{msg}");
        assert_eq!(ensure(&store, tmp.path(), "only-stored", Format::Disk, &quiet).unwrap().meta.format, Format::Disk);
    }
}
