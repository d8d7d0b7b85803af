//! Every recipe along the search path ([`crate::paths::recipe_dirs`]), for
//! `lab box list --recipes`: where each comes from, which one a name
//! resolves to (the first found) and which ones that shadows.

use serde::Serialize;

use super::recipe::{Format, RECIPE_FILE, load_from};
use crate::paths::RecipeDir;

/// One recipe found in one place of the search path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnownRecipe {
    pub name: String,
    /// Where it is: the recipe directory's path, or `built-in`.
    pub from: String,
    /// Its box.yaml: a path, or `built-in:boxes/NAME/box.yaml`.
    pub file: String,
    /// Its `description:` (or its parent's); null when it cannot be read.
    pub description: Option<String>,
    /// `disk` or `rootfs`; null when it cannot be read.
    pub format: Option<Format>,
    /// Its `version:`; null when it cannot be read.
    pub version: Option<String>,
    /// Where the recipe of this name that is used instead is (`from` of an
    /// earlier place of the search); null for the one that is used.
    pub shadowed_by: Option<String>,
    /// Why it cannot be used (a missing parent, a YAML error with its
    /// position): the sentence `lab box build` would print; null when it
    /// reads fine.
    pub error: Option<String>,
}

/// Every recipe in `dirs` (a search path, first match wins), sorted by
/// name and, for one name, in search order: the first of a name is the one
/// used, each later one is shadowed by it. Reading them writes nothing.
pub fn catalog(dirs: &[RecipeDir]) -> Vec<KnownRecipe> {
    let mut all: Vec<(usize, KnownRecipe)> = Vec::new();
    for (order, from) in dirs.iter().enumerate() {
        for name in from.names() {
            let first = all
                .iter()
                .find(|(_, k)| k.name == name && k.shadowed_by.is_none());
            let shadowed_by = first.map(|(_, k)| k.from.clone());
            let file = match from {
                RecipeDir::Dir(d) => d.join(&name).join(RECIPE_FILE).display().to_string(),
                RecipeDir::BuiltIn => format!("built-in:{}", crate::paths::builtin_recipe(&name)),
            };
            let (description, format, version, error) = match load_from(&name, from, dirs) {
                Ok(r) => (
                    Some(r.recipe.description),
                    Some(r.recipe.format),
                    Some(r.recipe.version),
                    None,
                ),
                Err(e) => (None, None, None, Some(e.to_string())),
            };
            all.push((
                order,
                KnownRecipe {
                    name,
                    from: from.to_string(),
                    file,
                    description,
                    format,
                    version,
                    shadowed_by,
                    error,
                },
            ));
        }
    }
    all.sort_by(|(a_order, a), (b_order, b)| a.name.cmp(&b.name).then(a_order.cmp(b_order)));
    all.into_iter().map(|(_, k)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_used_from_its_first_place_and_shadowed_in_the_later_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let mine = tmp.path().join("mine");
        for (name, text) in [
            (
                "debian-12",
                "version: '9'\ndescription: my debian\nsuite: trixie\nmirror: http://deb.debian.org/debian\npackages: [openssh-server]\ndisk_gib: 8\ncmdline: root=/dev/vda rw\nuser: lab\n",
            ),
            ("solo", "extends: debian-12\nversion: '2'\n"),
            ("broken", "version: [\n"),
        ] {
            std::fs::create_dir_all(mine.join(name)).unwrap();
            std::fs::write(mine.join(name).join("box.yaml"), text).unwrap();
        }
        let dirs = [RecipeDir::Dir(mine.clone()), RecipeDir::BuiltIn];
        let all = catalog(&dirs);
        let of =
            |name: &str| -> Vec<&KnownRecipe> { all.iter().filter(|k| k.name == name).collect() };
        let debian = of("debian-12");
        assert_eq!(debian.len(), 2);
        // Mine is used; the built-in one is shadowed by it.
        assert_eq!(debian[0].from, mine.display().to_string());
        assert_eq!(debian[0].shadowed_by, None);
        assert_eq!(debian[0].description.as_deref(), Some("my debian"));
        assert_eq!(debian[1].from, "built-in");
        assert_eq!(
            debian[1].shadowed_by.as_deref(),
            Some(mine.display().to_string().as_str())
        );
        assert_eq!(debian[1].file, "built-in:boxes/debian-12/box.yaml");
        let solo = of("solo");
        assert_eq!((solo.len(), solo[0].version.as_deref()), (1, Some("2")));
        let broken = of("broken")[0];
        assert!(
            broken
                .error
                .as_deref()
                .unwrap()
                .contains("broken/box.yaml:1:"),
            "{broken:?}"
        );
        assert_eq!(broken.description, None);
        // Every built-in recipe is listed, sorted by name.
        for name in RecipeDir::BuiltIn.names() {
            assert!(of(&name).iter().any(|k| k.from == "built-in"), "{name}");
        }
        let names: Vec<&str> = all.iter().map(|k| k.name.as_str()).collect();
        assert!(names.is_sorted(), "{names:?}");
    }
}
