//! Finding a recipe by name along the recipe search path
//! ([`crate::paths::recipe_dirs`]: directories, then the built-in recipes)
//! and reading it with the recipes it extends. A built-in recipe is read
//! from memory ([`crate::builtin`]) and hashed exactly as the same files
//! in a directory would be, so a box built from the repository's
//! `boxes/` is current for an installed `lab` too.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::hash::{hash_builtin_recipe, hash_recipe};
use super::recipe::{Recipe, RecipeError, parse_raw, resolve};
use super::recipe_diag::Problem;
use crate::paths::{BUILTIN_BOXES, RECIPE_FILE, RecipeDir, builtin_recipe};

/// The `files/` overlay of one recipe, copied into the root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// A directory on disk (`boxes/NAME/files`).
    Dir(PathBuf),
    /// The built-in files below this path of [`crate::builtin`]
    /// (`boxes/NAME/files`); a build writes them out first.
    BuiltIn(String),
}

/// A recipe found along the search path.
#[derive(Debug, Clone)]
pub struct RecipeSource {
    pub name: String,
    /// Where it was found: a recipe directory, or the built-in recipes.
    pub from: RecipeDir,
    /// Its box.yaml, for messages: the path on disk, or
    /// `built-in:boxes/NAME/box.yaml`.
    pub file: PathBuf,
    pub recipe: Recipe,
    /// sha256 over box.yaml and every file of the `files/` overlay (and
    /// the parent's hash, when it extends one); see [`super::hash`].
    pub hash: String,
    /// `files/` overlays to copy into the root filesystem, parent first.
    pub overlays: Vec<Overlay>,
}

/// How deep `extends:` chains may go.
const MAX_EXTENDS: usize = 4;

/// Find `NAME/box.yaml` in the first place of `dirs` that has it (a file
/// of any kind there is read, and refused if it is not a regular file,
/// rather than passed over).
pub fn find(name: &str, dirs: &[RecipeDir]) -> Result<RecipeSource, RecipeError> {
    find_at_depth(name, dirs, 0)
}

/// The recipe `name` in `from` (which must have it), its parents searched
/// as [`find`] would: for `lab box list --recipes`, which reads shadowed
/// recipes too.
pub fn load_from(
    name: &str,
    from: &RecipeDir,
    dirs: &[RecipeDir],
) -> Result<RecipeSource, RecipeError> {
    crate::names::box_name(name).map_err(|why| RecipeError::BadName {
        name: name.to_string(),
        why,
    })?;
    load_at_depth(name, from, dirs, 0)
}

fn find_at_depth(
    name: &str,
    dirs: &[RecipeDir],
    depth: usize,
) -> Result<RecipeSource, RecipeError> {
    crate::names::box_name(name).map_err(|why| RecipeError::BadName {
        name: name.to_string(),
        why,
    })?;
    for from in dirs {
        let here = match from {
            // Any kind of file: one that is not a regular file is refused
            // when read, rather than passed over as "no recipe".
            RecipeDir::Dir(dir) => {
                std::fs::symlink_metadata(dir.join(name).join(RECIPE_FILE)).is_ok()
            }
            RecipeDir::BuiltIn => from.has(name),
        };
        if here {
            return load_at_depth(name, from, dirs, depth);
        }
    }
    Err(RecipeError::NotFound {
        name: name.to_string(),
        searched: dirs.to_vec(),
    })
}

/// Read and check the recipe `name` in `from`; a parent named by
/// `extends:` is looked up in `from` first, then in `dirs`.
fn load_at_depth(
    name: &str,
    from: &RecipeDir,
    dirs: &[RecipeDir],
    depth: usize,
) -> Result<RecipeSource, RecipeError> {
    let (file, text, own_hash, own_overlay) = match from {
        RecipeDir::Dir(dir) => {
            let path = dir.join(name).join(RECIPE_FILE);
            let text = crate::limits::read_to_string(&path, crate::limits::RECIPE_FILE)?;
            let files = dir.join(name).join("files");
            let hash = hash_recipe(&text, &files)?;
            let overlay = files.is_dir().then_some(Overlay::Dir(files));
            (path, text, hash, overlay)
        }
        RecipeDir::BuiltIn => {
            let path = builtin_recipe(name);
            let data = crate::builtin::file(&path).map_or(&[][..], |f| f.data);
            let text = String::from_utf8_lossy(data).into_owned();
            let files = format!("{BUILTIN_BOXES}/{name}/files");
            let hash = hash_builtin_recipe(&text, &files);
            let overlay = crate::builtin::is_dir(&files).then_some(Overlay::BuiltIn(files));
            (
                PathBuf::from(format!("built-in:{path}")),
                text,
                hash,
                overlay,
            )
        }
    };
    let raw = parse_raw(&text, &file)?;
    let invalid = |p: Problem| p.into_error(&file, &text);
    let parent = match &raw.extends {
        None => None,
        Some(p) => {
            let at = |message| invalid(Problem::at(&p.referenced, "extends", message));
            if let Err(why) = crate::names::box_name(&p.value) {
                return Err(at(format!(
                    "{} is not a box name: it {why}",
                    crate::names::quoted(&p.value)
                )));
            }
            if depth >= MAX_EXTENDS {
                return Err(at(format!(
                    "recipes extend each other more than {MAX_EXTENDS} levels deep from here (a loop?)"
                )));
            }
            let mut search = vec![from.clone()];
            search.extend(dirs.iter().filter(|d| *d != from).cloned());
            match find_at_depth(&p.value, &search, depth + 1) {
                Err(RecipeError::NotFound { searched, .. }) => {
                    return Err(at(format!(
                        "no recipe `{}` to extend: looked for {}/{RECIPE_FILE} in {}",
                        p.value,
                        p.value,
                        fmt_dirs(&searched)
                    )));
                }
                found => Some(found?),
            }
        }
    };
    let recipe = resolve(raw, parent.as_ref().map(|p| &p.recipe)).map_err(invalid)?;
    let mut overlays = parent
        .as_ref()
        .map(|p| p.overlays.clone())
        .unwrap_or_default();
    overlays.extend(own_overlay);
    let hash = match &parent {
        Some(p) => hex::encode(Sha256::digest(format!("{}\0{own_hash}", p.hash))),
        None => own_hash,
    };
    Ok(RecipeSource {
        name: name.to_string(),
        from: from.clone(),
        file,
        recipe,
        hash,
        overlays,
    })
}

/// The places searched, in a sentence: `/a/boxes, /b/recipes and the
/// built-in recipes`.
pub(super) fn fmt_dirs(dirs: &[RecipeDir]) -> String {
    let shown: Vec<String> = dirs
        .iter()
        .map(|d| match d {
            RecipeDir::Dir(dir) => dir.display().to_string(),
            RecipeDir::BuiltIn => "the built-in recipes".to_string(),
        })
        .collect();
    match shown.as_slice() {
        [] => "no recipe directory (none found)".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod tests;
