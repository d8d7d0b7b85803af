//! Boxes: base images built from recipes (`boxes/NAME/box.yaml`) into the
//! store under `$LAB_HOME/boxes`.

mod apt_cache;
pub mod bootdisk;
pub mod build;
pub mod catalog;
mod debugfs;
pub mod export;
mod export_disk;
pub mod hash;
pub mod hygiene;
pub mod import;
mod import_sniff;
mod lookup;
pub mod origin;
pub mod recipe;
mod recipe_diag;
pub mod store;
mod store_check;
mod vagrant_box;
mod vagrant_user;
mod yaml_limits;

pub use build::{Outcome, build};
pub use recipe::{Format, Recipe, RecipeSource};
pub use store::{BoxMeta, Store, StoredBox};

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::ui::progress::Reporter;

/// Where a box build writes the output of its tools.
pub fn build_log(name: &str) -> PathBuf {
    crate::paths::lab_home()
        .join("logs")
        .join(format!("box-{name}.log"))
}

/// `err` of building box `name` with context: "building box NAME
/// failed", and where its log is, unless the error already says (a tool
/// that failed names the log it wrote to). A build refused before it
/// started ([`build::Refused`]) wrote no log: its sentence is all.
pub fn build_failed(name: &str, log: &Path, err: anyhow::Error) -> anyhow::Error {
    if err.downcast_ref::<build::Refused>().is_some() {
        return err;
    }
    let shown = log.display().to_string();
    if err.chain().any(|e| e.to_string().contains(&shown)) {
        err.context(format!("building box {name} failed"))
    } else {
        err.context(format!("building box {name} failed (log: {shown})"))
    }
}

/// What a lab needs done for one box before it can use it.
#[derive(Debug, Clone)]
pub enum BoxPlan {
    /// The stored box is current (or has no recipe to be rebuilt from).
    Ready(StoredBox),
    /// The recipe has no current build in the store: building it takes
    /// minutes (mmdebstrap), so callers check everything cheap first.
    Build(RecipeSource),
}

impl BoxPlan {
    /// The box's name.
    pub fn name(&self) -> &str {
        match self {
            BoxPlan::Ready(b) => &b.meta.name,
            BoxPlan::Build(r) => &r.name,
        }
    }
}

/// Decide, without building anything, what the box `name` of a lab in
/// `lab_dir` needs: it must be of format `want` (a node boots a disk;
/// `provision.images` take rootfs boxes). Recipes are searched as
/// [`crate::paths::recipe_dirs`] says; with one, the store's copy
/// is current when its recipe hash matches; without one, whatever the
/// store holds is used, once it is complete (disk, kernel and initrd, or
/// the tarball: [`StoredBox::missing`]). A recipe that is not valid is
/// refused as invalid input (exit status 2), even when the store has a copy.
pub fn plan(store: &Store, lab_dir: &Path, name: &str, want: Format) -> Result<BoxPlan> {
    let dirs = crate::paths::recipe_dirs(Some(lab_dir));
    let plan = match recipe::find(name, &dirs) {
        // A stored box built from this recipe and complete; else build.
        Ok(recipe) => match store.get(name)? {
            Some(b) if b.meta.recipe_hash == recipe.hash && b.missing().is_none() => {
                BoxPlan::Ready(b)
            }
            _ => BoxPlan::Build(recipe),
        },
        // No recipe: a box that is only in the store is fine, if complete.
        Err(e @ recipe::RecipeError::NotFound { .. }) => {
            let b = store.get(name)?.ok_or_else(|| {
                anyhow::anyhow!("box `{name}` is not in the store and has no recipe ({e}); build it with `lab box build {name}`")
            })?;
            if let Some(file) = b.missing() {
                return Err(store::StoreError::Incomplete {
                    name: name.to_string(),
                    file,
                }
                .into());
            }
            BoxPlan::Ready(b)
        }
        Err(e) => return Err(e.into_anyhow()),
    };
    let got = match &plan {
        BoxPlan::Ready(b) => b.meta.format,
        BoxPlan::Build(r) => r.recipe.format,
    };
    match (want, got) {
        (Format::Disk, Format::Rootfs) => bail!(
            "box `{name}` is a root filesystem for containers (format: rootfs), not a VM disk; a node needs a disk box such as debian-12 (rootfs boxes go under provision.images)"
        ),
        (Format::Rootfs, Format::Disk) => bail!(
            "provision.images names `{name}`, a disk box; images must be root filesystems (`format: rootfs` in the recipe)"
        ),
        _ => Ok(plan),
    }
}

/// Carry out a [`BoxPlan`]: build the box when it needs it.
pub fn realize(store: &Store, plan: BoxPlan, reporter: &dyn Reporter) -> Result<StoredBox> {
    match plan {
        BoxPlan::Ready(b) => Ok(b),
        BoxPlan::Build(recipe) => {
            let name = recipe.name.clone();
            let log = build_log(&name);
            let outcome = build(store, &recipe, false, &log, reporter)
                .map_err(|e| build_failed(&name, &log, e))?;
            match outcome {
                Outcome::UpToDate(b) | Outcome::Built(b) => Ok(b),
            }
        }
    }
}

/// Carry out several [`BoxPlan`]s at once: each build runs in a thread of
/// its own, so their downloads, dpkg runs and `mkfs.ext4` overlap (the
/// boxes of a lab no longer build one after another). Plans of the same
/// name are carried out once. `reporter(name)` reports box `name`'s build.
/// Returns the boxes by name; after every build has ended, the first
/// failure in plan order is the error.
pub fn realize_all<R: Reporter>(
    store: &Store,
    plans: &[BoxPlan],
    reporter: impl Fn(&str) -> R + Sync,
) -> Result<std::collections::BTreeMap<String, StoredBox>> {
    let mut unique: Vec<&BoxPlan> = Vec::new();
    for p in plans {
        if !unique.iter().any(|u| u.name() == p.name()) {
            unique.push(p);
        }
    }
    let results: Vec<Result<StoredBox>> = std::thread::scope(|scope| {
        let handles: Vec<_> = unique
            .iter()
            .map(|p| {
                let reporter = &reporter;
                scope.spawn(move || realize(store, (*p).clone(), &reporter(p.name())))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a box build panicked")))
            })
            .collect()
    });
    let mut out = std::collections::BTreeMap::new();
    for r in results {
        let b = r?;
        out.insert(b.meta.name.clone(), b);
    }
    Ok(out)
}

/// The box `name` for a lab in `lab_dir`, of format `want`: [`plan`], then
/// built when it needs to be ([`realize`]).
pub fn ensure(
    store: &Store,
    lab_dir: &Path,
    name: &str,
    want: Format,
    reporter: &dyn Reporter,
) -> Result<StoredBox> {
    realize(store, plan(store, lab_dir, name, want)?, reporter)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored box (no recipe anywhere) of `format`, in a fresh store.
    fn stored(format: Format) -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("boxes"));
        let staging = store.stage("only-stored").unwrap();
        for f in [
            store::DISK_FILE,
            store::KERNEL_FILE,
            store::INITRD_FILE,
            store::ROOTFS_FILE,
        ] {
            std::fs::write(staging.dir().join(f), "x").unwrap();
        }
        let user = if format == Format::Disk { "lab" } else { "" };
        let meta: BoxMeta = serde_json::from_value(serde_json::json!({
            "name": "only-stored", "version": "1", "format": format.as_str(), "recipe_hash": "h",
            "disk_sha256": "00", "disk_gib": 8, "cmdline": "", "user": user,
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
        let msg = ensure(&store, tmp.path(), "only-stored", Format::Disk, &quiet)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("is a root filesystem for containers (format: rootfs), not a VM disk"),
            "{msg}"
        );
        assert_eq!(
            ensure(&store, tmp.path(), "only-stored", Format::Rootfs, &quiet)
                .unwrap()
                .meta
                .format,
            Format::Rootfs
        );

        let (tmp, store) = stored(Format::Disk);
        let msg = ensure(&store, tmp.path(), "only-stored", Format::Rootfs, &quiet)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("provision.images names `only-stored`, a disk box"),
            "{msg}"
        );
        assert_eq!(
            ensure(&store, tmp.path(), "only-stored", Format::Disk, &quiet)
                .unwrap()
                .meta
                .format,
            Format::Disk
        );
    }

    #[test]
    fn realize_all_carries_out_each_name_once_and_reports_a_failure() {
        let quiet = |_: &str| crate::ui::progress::Silent;
        let (_tmp, store) = stored(Format::Disk);
        let ready = BoxPlan::Ready(store.get("only-stored").unwrap().unwrap());
        let got = realize_all(&store, &[ready.clone(), ready.clone()], quiet).unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), ["only-stored"]);

        // A build that cannot start (another build holds the box's lock)
        // fails; the other plans are still carried out, and its error is
        // the result.
        let recipe = recipe::find("debian-12", &[crate::paths::RecipeDir::BuiltIn]).unwrap();
        let _held = store.lock("debian-12").unwrap();
        let err = realize_all(&store, &[ready, BoxPlan::Build(recipe)], quiet)
            .unwrap_err()
            .to_string();
        assert!(err.contains("debian-12"), "{err}");
    }

    #[test]
    fn a_failed_build_names_its_log_once() {
        let log = Path::new("/x/logs/box-b.log");
        let tool = crate::process::ProcessError::Failed {
            cmdline: "mmdebstrap".into(),
            status: "exit status 1".into(),
            stderr: "E: no network".into(),
            log: Some(log.to_owned()),
        };
        let err = build_failed("b", log, tool.into());
        let text: Vec<String> = err.chain().map(|e| e.to_string()).collect();
        assert_eq!(text[0], "building box b failed");
        assert_eq!(
            text.join("\n").matches("/x/logs/box-b.log").count(),
            1,
            "{text:?}"
        );
        let refused = build::Refused("`mkfs.ext4` is not installed".into());
        let err = build_failed("b", log, refused.into());
        let text: Vec<String> = err.chain().map(|e| e.to_string()).collect();
        assert_eq!(text, ["`mkfs.ext4` is not installed"], "no log was written");
        let err = build_failed("b", log, anyhow::anyhow!("the box has no cloud-init"));
        assert_eq!(
            err.to_string(),
            "building box b failed (log: /x/logs/box-b.log)"
        );
    }

    #[test]
    fn an_incomplete_stored_box_is_refused_before_use() {
        let quiet = crate::ui::progress::Silent;
        let (tmp, store) = stored(Format::Disk);
        std::fs::remove_file(tmp.path().join("boxes/only-stored/vmlinuz")).unwrap();
        assert_eq!(
            plan(&store, tmp.path(), "only-stored", Format::Disk)
                .unwrap_err()
                .to_string(),
            "box `only-stored` in the store is incomplete (no vmlinuz); remove it with `lab box remove only-stored` and build it again"
        );
        let (tmp, store) = stored(Format::Rootfs);
        std::fs::remove_file(tmp.path().join("boxes/only-stored/rootfs.tar.gz")).unwrap();
        let msg = ensure(&store, tmp.path(), "only-stored", Format::Rootfs, &quiet)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("is incomplete (no rootfs.tar.gz)"), "{msg}");
    }
}
