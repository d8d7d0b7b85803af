//! What validation needs to know about the world outside the lab file:
//! which boxes exist, and where the files the lab refers to (scripts, the
//! playbook) are. Real runs look on disk; tests inject names and a temp
//! directory; commands that only manage existing VMs check neither.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::paths::RecipeDir;

/// Facts from outside the lab file that validation depends on.
#[derive(Debug, Clone)]
pub struct Context {
    pub boxes: KnownBoxes,
    /// Whether the files the lab refers to are checked.
    pub files: LabFiles,
}

/// Where the paths in a lab file (`provision.playbook`,
/// `provision.scripts[].script`) are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabFiles {
    /// In this directory, the lab file's: each must be a readable file
    /// there, and the directory must be copyable when provisioning uploads it.
    In(PathBuf),
    /// Not checked.
    Unchecked,
}

/// Which box names a lab may use.
#[derive(Debug, Clone)]
pub enum KnownBoxes {
    /// A box is known if one of the places recipes are searched has it
    /// (`DIR/NAME/box.yaml`, or a built-in recipe), or `STORE/NAME/box.json`
    /// exists in the box store.
    OnDisk {
        recipe_dirs: Vec<RecipeDir>,
        store: PathBuf,
    },
    /// Exactly these names (for tests).
    Names(BTreeSet<String>),
    /// Every name (skips the check).
    Any,
}

impl Context {
    /// The real context for a lab file: recipes found from the lab file's
    /// directory and built in ([`crate::paths::recipe_dirs`]) and the box store
    /// ([`crate::paths::boxes_dir`]).
    pub fn for_lab_file(path: &Path) -> Context {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Context {
            boxes: KnownBoxes::OnDisk {
                recipe_dirs: crate::paths::recipe_dirs(Some(dir)),
                store: crate::paths::boxes_dir(),
            },
            files: LabFiles::In(dir.to_owned()),
        }
    }

    /// For commands that manage a lab's existing VMs (`status`, `destroy`,
    /// `halt`, `ssh`, ...): neither boxes nor referenced files are checked,
    /// so these keep working after a box was removed from the store or a
    /// script deleted. Everything inside the lab file still is.
    pub fn for_existing_lab() -> Context {
        Context {
            boxes: KnownBoxes::Any,
            files: LabFiles::Unchecked,
        }
    }

    /// This context, checking referenced files in `dir` (for tests).
    pub fn with_lab_dir(self, dir: impl Into<PathBuf>) -> Context {
        Context {
            files: LabFiles::In(dir.into()),
            ..self
        }
    }

    /// A context knowing exactly these boxes; files are not checked.
    pub fn with_boxes<I, S>(names: I) -> Context
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Context {
            boxes: KnownBoxes::Names(names.into_iter().map(Into::into).collect()),
            files: LabFiles::Unchecked,
        }
    }

    /// A context that accepts any box name; files are not checked.
    pub fn any_box() -> Context {
        Context {
            boxes: KnownBoxes::Any,
            files: LabFiles::Unchecked,
        }
    }
}

impl KnownBoxes {
    /// Whether `name` (already checked to be a plain name) is a known box.
    pub fn contains(&self, name: &str) -> bool {
        match self {
            KnownBoxes::OnDisk { recipe_dirs, store } => {
                recipe_dirs.iter().any(|dir| dir.has(name))
                    || store.join(name).join("box.json").is_file()
            }
            KnownBoxes::Names(names) => names.contains(name),
            KnownBoxes::Any => true,
        }
    }

    /// Every known name, for "did you mean" hints (empty for `Any`).
    pub fn names(&self) -> BTreeSet<String> {
        match self {
            KnownBoxes::OnDisk { recipe_dirs, store } => {
                let recipes = recipe_dirs.iter().flat_map(|dir| {
                    let names = dir.names();
                    names.into_iter().filter(|n| dir.has(n))
                });
                recipes.chain(subdirs_with(store, "box.json")).collect()
            }
            KnownBoxes::Names(names) => names.clone(),
            KnownBoxes::Any => BTreeSet::new(),
        }
    }
}

/// Names of the directories in `dir` that contain `file`.
fn subdirs_with(dir: &Path, file: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join(file).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}
