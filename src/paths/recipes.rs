//! Where box recipes (`NAME/box.yaml`) are looked up: directories on
//! disk, then the recipes built into the binary ([`crate::builtin`]).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// File name of a recipe inside its box directory (`boxes/NAME/box.yaml`).
pub const RECIPE_FILE: &str = "box.yaml";

/// The directory of the built-in content holding the recipes
/// (`boxes/NAME/box.yaml`, as in the repository).
pub const BUILTIN_BOXES: &str = "boxes";

/// One place where box recipes are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecipeDir {
    /// A directory holding `NAME/box.yaml` (and `NAME/files/`).
    Dir(PathBuf),
    /// The recipes built into the binary (the repository's `boxes/` when
    /// `lab` was built), read from memory: nothing is written to look
    /// them up or read them.
    BuiltIn,
}

impl RecipeDir {
    /// Whether a recipe `name` is here as a regular file (a name already
    /// checked by [`crate::names::box_name`]).
    pub fn has(&self, name: &str) -> bool {
        match self {
            RecipeDir::Dir(dir) => dir.join(name).join(RECIPE_FILE).is_file(),
            RecipeDir::BuiltIn => crate::builtin::file(&builtin_recipe(name)).is_some(),
        }
    }

    /// The names of the recipes here, sorted: every subdirectory holding
    /// something named `box.yaml` (reading it may still fail: lookup
    /// reports that rather than passing over it).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            RecipeDir::Dir(dir) => std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .filter(|e| std::fs::symlink_metadata(e.path().join(RECIPE_FILE)).is_ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            RecipeDir::BuiltIn => crate::builtin::subdirs(BUILTIN_BOXES)
                .into_iter()
                .filter(|n| crate::builtin::file(&builtin_recipe(n)).is_some())
                .map(str::to_owned)
                .collect(),
        };
        names.sort();
        names
    }
}

/// The path of built-in recipe `name` in [`crate::builtin`].
pub fn builtin_recipe(name: &str) -> String {
    format!("{BUILTIN_BOXES}/{name}/{RECIPE_FILE}")
}

/// The directory's path, or `built-in`.
impl fmt::Display for RecipeDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecipeDir::Dir(dir) => write!(f, "{}", dir.display()),
            RecipeDir::BuiltIn => f.write_str("built-in"),
        }
    }
}

/// Where box recipes (`NAME/box.yaml`) are searched, first match wins,
/// each directory once (only those that exist):
/// 1. `$LAB_BOXES_PATH`, colon-separated like `PATH`;
/// 2. `boxes/` in `lab_dir` (the lab file's directory, when there is a lab
///    file) and in each of its ancestors, nearest first;
/// 3. `boxes/` in the current directory and each of its ancestors;
/// 4. `$LAB_HOME/recipes`;
/// 5. the built-in recipes ([`RecipeDir::BuiltIn`]), always last.
pub fn recipe_dirs(lab_dir: Option<&Path>) -> Vec<RecipeDir> {
    RecipeSearch {
        boxes_path: std::env::var_os("LAB_BOXES_PATH"),
        lab_dir: lab_dir.map(Path::to_owned),
        cwd: std::env::current_dir().ok(),
        lab_home: super::lab_home(),
    }
    .dirs()
}

/// The inputs of [`recipe_dirs`], so that tests need no environment.
struct RecipeSearch {
    boxes_path: Option<OsString>,
    lab_dir: Option<PathBuf>,
    cwd: Option<PathBuf>,
    lab_home: PathBuf,
}

impl RecipeSearch {
    fn dirs(&self) -> Vec<RecipeDir> {
        let mut dirs = Vec::new();
        let mut push = |dir: PathBuf| {
            let dir = RecipeDir::Dir(dir);
            if matches!(&dir, RecipeDir::Dir(d) if d.is_dir()) && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        };
        if let Some(p) = &self.boxes_path {
            std::env::split_paths(p)
                .filter(|p| !p.as_os_str().is_empty())
                .for_each(&mut push);
        }
        // Relative directories start from the current one; `..` is resolved
        // through the file system, not by dropping a name.
        let resolve = |dir: &Path| match &self.cwd {
            Some(cwd) => std::fs::canonicalize(cwd.join(dir)).unwrap_or_else(|_| cwd.join(dir)),
            None => std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned()),
        };
        let starts = [self.lab_dir.as_deref().map(resolve), self.cwd.clone()];
        for start in starts.iter().flatten() {
            start.ancestors().for_each(|d| push(d.join("boxes")));
        }
        push(self.lab_home.join("recipes"));
        dirs.push(RecipeDir::BuiltIn);
        dirs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkdirs(root: &Path, dirs: &[&str]) {
        for d in dirs {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
    }

    fn search(root: &Path) -> RecipeSearch {
        RecipeSearch {
            boxes_path: None,
            lab_dir: None,
            cwd: Some(root.join("work/sub")),
            lab_home: root.join("home"),
        }
    }

    fn on_disk(root: &Path, dirs: &[&str]) -> Vec<RecipeDir> {
        let mut want: Vec<RecipeDir> = dirs.iter().map(|d| RecipeDir::Dir(root.join(d))).collect();
        want.push(RecipeDir::BuiltIn);
        want
    }

    #[test]
    fn recipe_dirs_come_in_the_documented_order() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        mkdirs(
            &root,
            &[
                "extra1",
                "extra2",
                "labs/x/boxes",
                "labs/boxes",
                "work/sub/boxes",
                "work/boxes",
                "home/recipes",
                "repo/boxes",
                "repo/target/debug",
            ],
        );
        let mut s = search(&root);
        s.boxes_path =
            Some(std::env::join_paths([root.join("extra1"), root.join("extra2")]).unwrap());
        s.lab_dir = Some(root.join("labs/x"));
        // No step looks beside the executable any more: the built-in
        // recipes come last instead.
        let want = on_disk(
            &root,
            &[
                "extra1",
                "extra2",
                "labs/x/boxes",
                "labs/boxes",
                "work/sub/boxes",
                "work/boxes",
                "home/recipes",
            ],
        );
        assert_eq!(s.dirs(), want);
    }

    #[test]
    fn recipe_dirs_resolve_a_relative_lab_dir_from_the_current_one_and_list_each_once() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        mkdirs(
            &root,
            &["work/sub/boxes", "work/boxes", "repo/target/debug"],
        );
        let mut s = search(&root);
        // The lab file in the current directory (`lab.yaml`, dir `.`).
        s.lab_dir = Some(PathBuf::from("."));
        assert_eq!(s.dirs(), on_disk(&root, &["work/sub/boxes", "work/boxes"]));
        // `..` is the parent of the current directory.
        s.lab_dir = Some(PathBuf::from(".."));
        assert_eq!(s.dirs(), on_disk(&root, &["work/boxes", "work/sub/boxes"]));
        // Missing directories are left out; an empty path entry too; the
        // built-in recipes are always there.
        s.boxes_path = Some(OsString::from(format!(":{}", root.join("nope").display())));
        s.lab_dir = None;
        s.cwd = None;
        assert_eq!(s.dirs(), [RecipeDir::BuiltIn]);
    }

    #[test]
    fn the_built_in_recipes_are_listed_and_found_without_the_repository() {
        let names = RecipeDir::BuiltIn.names();
        for name in ["debian-12", "debian-12-ansible", "debian-12-django"] {
            assert!(names.iter().any(|n| n == name), "{names:?}");
            assert!(RecipeDir::BuiltIn.has(name));
        }
        assert!(!RecipeDir::BuiltIn.has("nope"));
        assert_eq!(RecipeDir::BuiltIn.to_string(), "built-in");
        let tmp = tempfile::tempdir().unwrap();
        mkdirs(tmp.path(), &["a", "b", "c"]);
        std::fs::write(tmp.path().join("a/box.yaml"), "").unwrap();
        std::fs::create_dir(tmp.path().join("b/box.yaml")).unwrap();
        let dir = RecipeDir::Dir(tmp.path().to_owned());
        // Listed: anything named box.yaml; `has` only a regular file.
        assert_eq!(dir.names(), ["a", "b"]);
        assert!(dir.has("a") && !dir.has("b") && !dir.has("c"));
    }
}
