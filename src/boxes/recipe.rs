//! Box recipes: `boxes/NAME/box.yaml` (+ an optional `files/` overlay copied
//! into the root filesystem): what one says, checked and with its parent's
//! values filled in. Finding one by name is [`super::lookup`]'s; the
//! recipe hash ([`super::hash`]) decides whether a stored box is still
//! current.

use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

pub use super::lookup::{Overlay, RecipeSource, find, load_from};
pub use super::recipe_diag::{InvalidRecipe, RecipeError};
use super::recipe_diag::{Problem, from_serde, needs};
use super::yaml_limits;

/// File name of a recipe inside its box directory.
pub use crate::paths::RECIPE_FILE;

/// What `boxes/NAME/box.yaml` says, before inheritance is resolved. The
/// values that are checked keep their position (`Spanned`), so a problem
/// is reported at them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRecipe {
    /// Another recipe this one starts from: its packages, customize
    /// commands and `files/` come first; any field given here wins.
    #[serde(default)]
    pub extends: Option<Spanned<String>>,
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
    pub sources: Vec<Spanned<String>>,
    pub variant: Option<String>,
    /// Added to the parent's packages.
    #[serde(default)]
    pub packages: Option<Spanned<Vec<String>>>,
    pub disk_gib: Option<Spanned<u64>>,
    pub cmdline: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
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

/// Fill a raw recipe from its parent (if any) and check it: every field
/// must end up set, and the values given here must be valid (a problem
/// points at the value, or at line 1 for a missing field).
pub(super) fn resolve(raw: RawRecipe, parent: Option<&Recipe>) -> Result<Recipe, Problem> {
    fn pick<T: Clone>(
        own: Option<T>,
        parent: Option<&Recipe>,
        f: impl Fn(&Recipe) -> T,
        field: &str,
    ) -> Result<T, Problem> {
        own.or_else(|| parent.map(f))
            .ok_or_else(|| Problem::top(field, format!("missing; {}", needs(field))))
    }
    check_own(&raw)?;
    let format = raw
        .format
        .or_else(|| parent.map(|p| p.format))
        .unwrap_or_default();
    let mut packages = parent.map(|p| p.packages.clone()).unwrap_or_default();
    let packages_at = raw.packages.as_ref().map(|p| p.referenced);
    packages.extend(raw.packages.map(|p| p.value).unwrap_or_default());
    if packages.is_empty() {
        return Err(match packages_at {
            Some(at) => Problem::at(&at, "packages", format!("is empty; {}", needs("packages"))),
            None => Problem::top("packages", format!("missing; {}", needs("packages"))),
        });
    }
    let mut customize = parent.map(|p| p.customize.clone()).unwrap_or_default();
    customize.extend(raw.customize);
    let mut sources = parent.map(|p| p.sources.clone()).unwrap_or_default();
    sources.extend(raw.sources.into_iter().map(|s| s.value));
    // A rootfs never boots: disk size, kernel command line and login user
    // do not apply.
    let (disk_gib, cmdline, user) = match format {
        Format::Disk => (
            pick(
                raw.disk_gib.map(|d| d.value),
                parent,
                |p| p.disk_gib,
                "disk_gib",
            )?,
            pick(
                raw.cmdline.map(|c| c.value),
                parent,
                |p| p.cmdline.clone(),
                "cmdline",
            )?,
            pick(
                raw.user.map(|u| u.value),
                parent,
                |p| p.user.clone(),
                "user",
            )?,
        ),
        Format::Rootfs => {
            let given = [
                raw.disk_gib.map(|v| (v.referenced, "disk_gib")),
                raw.cmdline.map(|v| (v.referenced, "cmdline")),
                raw.user.map(|v| (v.referenced, "user")),
            ];
            if let Some((at, field)) = given.into_iter().flatten().next() {
                return Err(Problem::at(
                    &at,
                    field,
                    "does not apply to `format: rootfs` (it never boots); remove it".into(),
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
    if let Some(p) = &raw.extends {
        return Err(Problem::at(
            &p.referenced,
            "extends",
            "needs the recipe directories to be looked up: use `find`".into(),
        )
        .into_error(path, text));
    }
    resolve(raw, None).map_err(|p| p.into_error(path, text))
}

/// The YAML of a recipe file, unresolved, within the bounds of
/// [`crate::limits`] (see `yaml_limits`).
pub fn parse_raw(text: &str, path: &Path) -> Result<RawRecipe, RecipeError> {
    if let Some((line, column, _, message)) = yaml_limits::long_scalar(text) {
        let mut p = Problem::top("", message);
        (p.line, p.column) = (line, column);
        if let Some(found) = super::recipe_diag::field_at(text, line, column) {
            p.field = found;
        }
        return Err(p.into_error(path, text));
    }
    serde_saphyr::from_str_with_options(text, yaml_limits::options())
        .map_err(|e| from_serde(&e, text).into_error(path, text))
}

/// The checks of the values this recipe gives itself, each at its value.
fn check_own(raw: &RawRecipe) -> Result<(), Problem> {
    if let Some(d) = &raw.disk_gib
        && !(2..=1024).contains(&d.value)
    {
        return Err(Problem::at(
            &d.referenced,
            "disk_gib",
            format!(
                "{} GiB is out of range; a box's disk is 2 to 1024 GiB",
                d.value
            ),
        ));
    }
    if let Some(u) = &raw.user
        && let Err(why) = crate::names::login_name(&u.value)
    {
        return Err(Problem::at(
            &u.referenced,
            "user",
            format!("{} {why}", crate::names::quoted(&u.value)),
        ));
    }
    for (i, line) in raw.sources.iter().enumerate() {
        if !line.value.starts_with("deb ") || line.value.split_whitespace().count() < 4 {
            return Err(Problem::at(
                &line.referenced,
                &format!("sources[{i}]"),
                format!(
                    "{} is not an apt source line like \"deb URL SUITE COMPONENT\"",
                    crate::names::quoted(&line.value)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "recipe_tests.rs"]
mod tests;
