//! Box recipes: `boxes/NAME/box.yaml` (+ an optional `files/` overlay copied
//! into the root filesystem). The recipe hash decides whether a stored box is
//! still current.

use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::hash::hash_recipe;
use super::yaml_limits;

/// File name of a recipe inside its box directory.
pub const RECIPE_FILE: &str = "box.yaml";

/// What `boxes/NAME/box.yaml` says, before inheritance is resolved.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRecipe {
    /// Another recipe this one starts from: its packages, customize
    /// commands and `files/` come first; any field given here wins.
    #[serde(default)]
    pub extends: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub version: String,
    /// `disk` (default: a bootable VM disk) or `rootfs` (a root filesystem
    /// tarball for `docker import`, uploaded by `provision.images`).
    pub format: Option<Format>,
    pub suite: Option<String>,
    pub mirror: Option<String>,
    /// More apt source lines (`deb URL SUITE COMPONENTS`), added to the parent's.
    #[serde(default)]
    pub sources: Vec<String>,
    pub variant: Option<String>,
    /// Added to the parent's packages.
    #[serde(default)]
    pub packages: Vec<String>,
    pub disk_gib: Option<u64>,
    pub cmdline: Option<String>,
    pub user: Option<String>,
    /// Run after the parent's.
    #[serde(default)]
    pub customize: Vec<String>,
}

/// What a recipe builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A bootable VM disk (qcow2) with kernel and initrd beside it.
    #[default]
    Disk,
    /// A gzipped tarball of the root filesystem, for `docker import`; not
    /// bootable. Labs name these under `provision.images`.
    Rootfs,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Disk => "disk",
            Format::Rootfs => "rootfs",
        }
    }
}

/// A complete recipe (inheritance resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// What the build produces.
    pub format: Format,
    /// One line for `lab box list`.
    pub description: String,
    /// Recipe version; shown in `lab box list`.
    pub version: String,
    /// Debian suite, e.g. `bookworm`.
    pub suite: String,
    /// Debian mirror URL.
    pub mirror: String,
    /// Further apt source lines, e.g. backports or security.
    pub sources: Vec<String>,
    /// mmdebstrap variant (`apt`, `minbase`, ...).
    pub variant: String,
    /// Packages installed on top of the variant.
    pub packages: Vec<String>,
    /// Size of the root disk in GiB (the qcow2's virtual size); 0 for a rootfs.
    pub disk_gib: u64,
    /// Kernel command line for direct kernel boot; empty for a rootfs.
    pub cmdline: String,
    /// The login user that cloud-init creates on first boot; empty for a rootfs.
    pub user: String,
    /// Shell commands run inside the root filesystem (chroot) after the
    /// overlays are copied, in order.
    pub customize: Vec<String>,
}

fn default_variant() -> String {
    "apt".to_string()
}

/// A recipe found on disk.
#[derive(Debug, Clone)]
pub struct RecipeSource {
    pub name: String,
    pub dir: PathBuf,
    pub recipe: Recipe,
    /// sha256 over box.yaml and every file of the `files/` overlay (and
    /// the parent's hash, when it extends one).
    pub hash: String,
    /// `files/` overlays to copy into the root filesystem, parent first.
    pub overlays: Vec<PathBuf>,
}

/// How deep `extends:` chains may go.
const MAX_EXTENDS: usize = 4;

#[derive(Debug, Error, Diagnostic)]
pub enum RecipeError {
    #[error(
        "no recipe for box `{name}`: looked for {RECIPE_FILE} in {}",
        fmt_dirs(searched)
    )]
    #[diagnostic(help(
        "box recipes live in boxes/NAME/box.yaml; set LAB_BOXES_PATH to add a directory"
    ))]
    NotFound {
        name: String,
        searched: Vec<PathBuf>,
    },
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        /// In the message, not a `source()`: the chain would repeat it.
        cause: std::io::Error,
    },
    /// Not a box name ([`crate::names::box_name`]): looked up as a
    /// directory, it could lead anywhere (`../x`, `/abs`).
    #[error("box name {} {why}", crate::names::quoted(name))]
    BadName { name: String, why: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(Box<InvalidRecipe>),
    /// box.yaml could not be read, or is too large.
    #[error(transparent)]
    File(#[from] crate::limits::ReadError),
    #[error("{path}: {message}")]
    Semantic { path: PathBuf, message: String },
}

/// A recipe that is not valid YAML or does not match the recipe format.
#[derive(Debug, Error, Diagnostic)]
#[error("{path}:{line}:{column}: {message}")]
pub struct InvalidRecipe {
    pub path: PathBuf,
    pub line: u64,
    pub column: u64,
    pub message: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("here")]
    pub span: Option<SourceSpan>,
}

fn fmt_dirs(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "no recipe directory (none found)".into();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Find `NAME/box.yaml` in the first directory of `dirs` that has it.
pub fn find(name: &str, dirs: &[PathBuf]) -> Result<RecipeSource, RecipeError> {
    find_at_depth(name, dirs, 0)
}

fn find_at_depth(name: &str, dirs: &[PathBuf], depth: usize) -> Result<RecipeSource, RecipeError> {
    crate::names::box_name(name).map_err(|why| RecipeError::BadName {
        name: name.to_string(),
        why,
    })?;
    for dir in dirs {
        let path = dir.join(name).join(RECIPE_FILE);
        // Any kind of file: one that is not a regular file is refused
        // when read, rather than passed over as "no recipe".
        if std::fs::symlink_metadata(&path).is_ok() {
            return load_at_depth(name, &path, dirs, depth);
        }
    }
    Err(RecipeError::NotFound {
        name: name.to_string(),
        searched: dirs.to_vec(),
    })
}

/// Read and check one recipe file; a parent named by `extends:` is looked
/// up in the recipe's own directory's parent first, then in `dirs`.
pub fn load(name: &str, path: &Path) -> Result<RecipeSource, RecipeError> {
    load_at_depth(name, path, &[], 0)
}

fn load_at_depth(
    name: &str,
    path: &Path,
    dirs: &[PathBuf],
    depth: usize,
) -> Result<RecipeSource, RecipeError> {
    let text = crate::limits::read_to_string(path, crate::limits::RECIPE_FILE)?;
    let raw = parse_raw(&text, path)?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
    let own_files = dir.join("files");
    let own_hash = hash_recipe(&text, &own_files)?;
    let semantic = |message: String| RecipeError::Semantic {
        path: path.to_owned(),
        message,
    };
    let parent = match &raw.extends {
        None => None,
        Some(_) if depth >= MAX_EXTENDS => {
            return Err(semantic(format!(
                "`extends` chains deeper than {MAX_EXTENDS} recipes (a loop?)"
            )));
        }
        Some(p) => {
            if let Err(why) = crate::names::box_name(p) {
                return Err(semantic(format!(
                    "`extends` names {}, which is not a box name: it {why}",
                    crate::names::quoted(p)
                )));
            }
            let mut search = Vec::new();
            if let Some(up) = dir.parent() {
                search.push(up.to_owned());
            }
            search.extend(dirs.iter().cloned());
            Some(find_at_depth(p, &search, depth + 1)?)
        }
    };
    let recipe = resolve(raw, parent.as_ref().map(|p| &p.recipe)).map_err(semantic)?;
    check(&recipe).map_err(semantic)?;
    let mut overlays = parent
        .as_ref()
        .map(|p| p.overlays.clone())
        .unwrap_or_default();
    if own_files.is_dir() {
        overlays.push(own_files);
    }
    let hash = match &parent {
        Some(p) => hex::encode(Sha256::digest(format!("{}\0{own_hash}", p.hash))),
        None => own_hash,
    };
    Ok(RecipeSource {
        name: name.to_string(),
        dir,
        recipe,
        hash,
        overlays,
    })
}

/// Fill a raw recipe from its parent (if any); every field must end up set.
fn resolve(raw: RawRecipe, parent: Option<&Recipe>) -> Result<Recipe, String> {
    fn pick<T: Clone>(
        own: Option<T>,
        parent: Option<&Recipe>,
        f: impl Fn(&Recipe) -> T,
        field: &str,
    ) -> Result<T, String> {
        own.or_else(|| parent.map(f)).ok_or_else(|| {
            format!("missing field `{field}` (and no `extends:` recipe provides it)")
        })
    }
    let mut packages = parent.map(|p| p.packages.clone()).unwrap_or_default();
    packages.extend(raw.packages);
    let mut customize = parent.map(|p| p.customize.clone()).unwrap_or_default();
    customize.extend(raw.customize);
    let mut sources = parent.map(|p| p.sources.clone()).unwrap_or_default();
    sources.extend(raw.sources);
    let format = raw
        .format
        .or_else(|| parent.map(|p| p.format))
        .unwrap_or_default();
    // A rootfs never boots: disk size, kernel command line and login user
    // do not apply.
    let (disk_gib, cmdline, user) = match format {
        Format::Disk => (
            pick(raw.disk_gib, parent, |p| p.disk_gib, "disk_gib")?,
            pick(raw.cmdline, parent, |p| p.cmdline.clone(), "cmdline")?,
            pick(raw.user, parent, |p| p.user.clone(), "user")?,
        ),
        Format::Rootfs => {
            if let Some(field) = [
                raw.disk_gib.map(|_| "disk_gib"),
                raw.cmdline.as_ref().map(|_| "cmdline"),
                raw.user.as_ref().map(|_| "user"),
            ]
            .into_iter()
            .flatten()
            .next()
            {
                return Err(format!(
                    "`{field}` does not apply to `format: rootfs` (it never boots); remove it"
                ));
            }
            (0, String::new(), String::new())
        }
    };
    Ok(Recipe {
        format,
        description: raw
            .description
            .or_else(|| parent.map(|p| p.description.clone()))
            .unwrap_or_default(),
        version: raw.version,
        suite: pick(raw.suite, parent, |p| p.suite.clone(), "suite")?,
        mirror: pick(raw.mirror, parent, |p| p.mirror.clone(), "mirror")?,
        sources,
        variant: raw
            .variant
            .or_else(|| parent.map(|p| p.variant.clone()))
            .unwrap_or_else(default_variant),
        packages,
        disk_gib,
        cmdline,
        user,
        customize,
    })
}

/// Parse a standalone recipe (no `extends:`); errors carry file:line:column.
pub fn parse(text: &str, path: &Path) -> Result<Recipe, RecipeError> {
    let raw = parse_raw(text, path)?;
    let semantic = |message: String| RecipeError::Semantic {
        path: path.to_owned(),
        message,
    };
    if raw.extends.is_some() {
        return Err(semantic(
            "`extends` needs the recipe directories: use `find`".into(),
        ));
    }
    let recipe = resolve(raw, None).map_err(semantic)?;
    check(&recipe).map_err(semantic)?;
    Ok(recipe)
}

/// The YAML of a recipe file, unresolved, within the bounds of
/// [`crate::limits`] (see `yaml_limits`).
pub fn parse_raw(text: &str, path: &Path) -> Result<RawRecipe, RecipeError> {
    let invalid = |line, column, offset: Option<usize>, message| {
        RecipeError::Invalid(Box::new(InvalidRecipe {
            path: path.to_owned(),
            line,
            column,
            message,
            src: NamedSource::new(path.display().to_string(), text.to_string()),
            span: offset.map(|o| SourceSpan::from((o, 1))),
        }))
    };
    if let Some((line, column, offset, message)) = yaml_limits::long_scalar(text) {
        return Err(invalid(line, column, Some(offset), message));
    }
    serde_saphyr::from_str_with_options(text, yaml_limits::options()).map_err(|e| {
        // The bare message: Display adds "error: line L column C: ", which the
        // path:line:column prefix already says.
        let message = yaml_limits::breach(&e).unwrap_or_else(|| {
            first_line(&serde_saphyr::MessageFormatter::format_message(
                &serde_saphyr::DefaultMessageFormatter,
                &e,
            ))
        });
        match e.location() {
            Some(loc) => {
                let offset = loc.span().byte_offset().map(|o| o as usize);
                invalid(loc.line(), loc.column(), offset, message)
            }
            None => invalid(0, 0, None, message),
        }
    })
}

fn check(recipe: &Recipe) -> Result<(), String> {
    if recipe.packages.is_empty() {
        return Err("`packages` must name at least one package".into());
    }
    if let Some(bad) = recipe
        .sources
        .iter()
        .find(|s| !s.starts_with("deb ") || s.split_whitespace().count() < 4)
    {
        return Err(format!(
            "`sources` entry {bad:?} is not an apt source line like \"deb URL SUITE COMPONENT\""
        ));
    }
    if recipe.format == Format::Rootfs {
        return Ok(());
    }
    if !(2..=1024).contains(&recipe.disk_gib) {
        return Err(format!(
            "`disk_gib` is {}; it must be between 2 and 1024",
            recipe.disk_gib
        ));
    }
    if let Err(why) = crate::names::login_name(&recipe.user) {
        return Err(format!(
            "`user` is {}, which {why}",
            crate::names::quoted(&recipe.user)
        ));
    }
    Ok(())
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

#[cfg(test)]
#[path = "recipe_tests.rs"]
mod tests;
