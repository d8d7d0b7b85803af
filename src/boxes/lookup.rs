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

/// How many `extends:` steps a chain may take from the recipe asked for
/// (the built-in chains take 2; README "Boxes" states the limit).
pub const MAX_EXTENDS: usize = 4;

/// The recipes read so far on one `extends:` chain, the one asked for
/// first: to name a loop, or a chain too long, with every step.
type Chain = Vec<(String, RecipeDir)>;

/// Find `NAME/box.yaml` in the first place of `dirs` that has it (a file
/// of any kind there is read, and refused if it is not a regular file,
/// rather than passed over).
pub fn find(name: &str, dirs: &[RecipeDir]) -> Result<RecipeSource, RecipeError> {
    check_name(name)?;
    match locate(name, dirs.iter()) {
        Some(from) => load(name, from, dirs, &mut Vec::new()),
        None => Err(RecipeError::NotFound {
            name: name.to_string(),
            searched: dirs.to_vec(),
        }),
    }
}

/// The recipe `name` in `from` (which must have it), its parents searched
/// as [`find`] would: for `lab box list --recipes`, which reads shadowed
/// recipes too.
pub fn load_from(
    name: &str,
    from: &RecipeDir,
    dirs: &[RecipeDir],
) -> Result<RecipeSource, RecipeError> {
    check_name(name)?;
    load(name, from, dirs, &mut Vec::new())
}

fn check_name(name: &str) -> Result<(), RecipeError> {
    crate::names::box_name(name).map_err(|why| RecipeError::BadName {
        name: name.to_string(),
        why,
    })
}

/// The first of `places` holding something named `name/box.yaml` (any
/// kind of file: one that is not a regular file is refused when read,
/// rather than passed over as "no recipe").
fn locate<'a>(name: &str, places: impl Iterator<Item = &'a RecipeDir>) -> Option<&'a RecipeDir> {
    let mut places = places;
    places.find(|from| match from {
        RecipeDir::Dir(dir) => std::fs::symlink_metadata(dir.join(name).join(RECIPE_FILE)).is_ok(),
        RecipeDir::BuiltIn => from.has(name),
    })
}

/// Where the parent `parent` of recipe `name` (found in `from`) is
/// searched, in order. A recipe of another name is looked up in `from`
/// first, then in `dirs`; `extends: NAME` in recipe NAME means the next
/// recipe of that name after `from` in `dirs` (typically the built-in one
/// that a user recipe of the same name shadows).
fn parent_search<'a>(
    name: &str,
    parent: &str,
    from: &'a RecipeDir,
    dirs: &'a [RecipeDir],
) -> Vec<&'a RecipeDir> {
    if parent == name {
        return match dirs.iter().position(|d| d == from) {
            Some(i) => dirs[i + 1..].iter().collect(),
            None => dirs.iter().collect(),
        };
    }
    std::iter::once(from)
        .chain(dirs.iter().filter(|d| *d != from))
        .collect()
}

/// `a (in DIR) → b (built-in) → a (in DIR)`: the steps of a chain.
fn fmt_chain(chain: &[(String, RecipeDir)]) -> String {
    chain
        .iter()
        .map(|(n, d)| match d {
            RecipeDir::Dir(dir) => format!("{n} (in {})", dir.display()),
            RecipeDir::BuiltIn => format!("{n} (built-in)"),
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// Read and check the recipe `name` in `from`, and the recipes it extends
/// (searched as [`parent_search`] says); `chain` holds the recipes below
/// it on the chain being read.
fn load(
    name: &str,
    from: &RecipeDir,
    dirs: &[RecipeDir],
    chain: &mut Chain,
) -> Result<RecipeSource, RecipeError> {
    chain.push((name.to_string(), from.clone()));
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
            let search = parent_search(name, &p.value, from, dirs);
            let Some(found) = locate(&p.value, search.iter().copied()) else {
                let searched: Vec<RecipeDir> = search.into_iter().cloned().collect();
                let which = if p.value == name {
                    format!(
                        "no other recipe `{name}` to extend (a recipe extending its own name extends the next one of that name in the search order)"
                    )
                } else {
                    format!("no recipe `{}` to extend", p.value)
                };
                return Err(at(format!(
                    "{which}: looked for {}/{RECIPE_FILE} in {}",
                    p.value,
                    fmt_dirs(&searched)
                )));
            };
            let step = (p.value.clone(), found.clone());
            if let Some(i) = chain.iter().position(|c| *c == step) {
                let mut lp = chain[i..].to_vec();
                lp.push(step);
                return Err(at(if lp.len() == 2 {
                    format!(
                        "the recipe extends itself ({}); name another recipe",
                        fmt_chain(&lp)
                    )
                } else {
                    format!(
                        "recipes extend each other in a loop: {}; break it by extending a recipe outside the loop",
                        fmt_chain(&lp)
                    )
                }));
            }
            if chain.len() > MAX_EXTENDS {
                let mut long = chain.clone();
                long.push(step);
                return Err(at(format!(
                    "recipes may extend each other at most {MAX_EXTENDS} levels deep, and this chain is longer: {}; extend a recipe nearer the base",
                    fmt_chain(&long)
                )));
            }
            Some(load(&p.value, found, dirs, chain)?)
        }
    };
    chain.pop();
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
