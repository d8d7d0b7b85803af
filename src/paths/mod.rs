//! Where `lab` keeps and finds things on the host: `$LAB_HOME` (boxes),
//! the lab file when none is named ([`find_lab_file`]), and the directories
//! searched for box recipes ([`recipe_dirs`]); which paths no program can
//! take ([`usable`]).

mod usable;

pub use usable::{check_for_programs, check_lab_path};

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The lab file's name when none is given with `-f`/`LAB_FILE`.
pub const LAB_FILE_NAME: &str = "lab.yaml";

/// `$LAB_HOME`, else `$XDG_DATA_HOME/lab`, else `~/.local/share/lab`.
pub fn lab_home() -> PathBuf {
    if let Some(home) = std::env::var_os("LAB_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(data).join("lab");
    }
    home_dir()
        .unwrap_or_else(|| "/".into())
        .join(".local/share/lab")
}

/// `$HOME`, when set and not empty.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The box store: `$LAB_HOME/boxes`.
pub fn boxes_dir() -> PathBuf {
    lab_home().join("boxes")
}

/// No `lab.yaml` where [`find_lab_file`] looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabFileNotFound {
    /// Where the search started (the current directory).
    pub start: PathBuf,
    /// The last directory searched when it was `$HOME`, not the root.
    pub stopped_at_home: Option<PathBuf>,
}

impl fmt::Display for LabFileNotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start = self.start.display();
        match &self.stopped_at_home {
            Some(home) if *home == self.start => write!(
                f,
                "no {LAB_FILE_NAME} in {start} (the search does not go above $HOME)"
            )?,
            Some(home) => write!(
                f,
                "no {LAB_FILE_NAME} in {start} or any parent directory up to $HOME ({})",
                home.display()
            )?,
            None => write!(f, "no {LAB_FILE_NAME} in {start} or any parent directory")?,
        }
        write!(
            f,
            "; create one (`lab schema` lists its keys) or pass -f PATH"
        )
    }
}

impl std::error::Error for LabFileNotFound {}

/// The lab file to use when none is named, like git, cargo and Vagrant do:
/// `lab.yaml` in `cwd` (an absolute path, as [`std::env::current_dir`]
/// gives) or in the nearest of its ancestors. When `cwd` is inside `home`
/// (and `home` is not `/`), the search stops at `home`: a stray
/// `/home/lab.yaml` is not someone's lab, and its state directory would be
/// created outside the user's home. Returns `lab.yaml` when the file is in
/// `cwd`, else its absolute path, so that every path `lab` prints works
/// from the current directory.
///
/// Anything named `lab.yaml` counts (a directory, a dangling link, a FIFO):
/// it is reported when read, never skipped for a parent's lab file, which
/// would be another lab. `$HOME` is compared by its real path, so a `$HOME`
/// that is a symbolic link still stops the search.
pub fn find_lab_file(cwd: &Path, home: Option<&Path>) -> Result<PathBuf, LabFileNotFound> {
    let real_home = home.map(|h| std::fs::canonicalize(h).unwrap_or_else(|_| h.to_owned()));
    let home = real_home
        .as_deref()
        .filter(|h| h.parent().is_some() && cwd.starts_with(h));
    for dir in cwd.ancestors() {
        let file = dir.join(LAB_FILE_NAME);
        if std::fs::symlink_metadata(&file).is_ok() {
            return Ok(if dir == cwd {
                PathBuf::from(LAB_FILE_NAME)
            } else {
                file
            });
        }
        if home == Some(dir) {
            break;
        }
    }
    Err(LabFileNotFound {
        start: cwd.to_owned(),
        stopped_at_home: home.map(Path::to_owned),
    })
}

/// Directories searched for box recipes (`NAME/box.yaml`), first match
/// wins, each directory once (only those that exist):
/// 1. `$LAB_BOXES_PATH`, colon-separated like `PATH`;
/// 2. `boxes/` in `lab_dir` (the lab file's directory, when there is a lab
///    file) and in each of its ancestors, nearest first;
/// 3. `boxes/` in the current directory and each of its ancestors;
/// 4. `$LAB_HOME/recipes`;
/// 5. `boxes/` beside the `lab` executable and its ancestors (the
///    repository's recipes, for a binary in `target/debug`).
pub fn recipe_dirs(lab_dir: Option<&Path>) -> Vec<PathBuf> {
    RecipeSearch {
        boxes_path: std::env::var_os("LAB_BOXES_PATH"),
        lab_dir: lab_dir.map(Path::to_owned),
        cwd: std::env::current_dir().ok(),
        lab_home: lab_home(),
        exe: std::env::current_exe().ok(),
    }
    .dirs()
}

/// The inputs of [`recipe_dirs`], so that tests need no environment.
struct RecipeSearch {
    boxes_path: Option<OsString>,
    lab_dir: Option<PathBuf>,
    cwd: Option<PathBuf>,
    lab_home: PathBuf,
    exe: Option<PathBuf>,
}

impl RecipeSearch {
    fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        let mut push = |dir: PathBuf| {
            if dir.is_dir() && !dirs.contains(&dir) {
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
        if let Some(exe) = &self.exe {
            exe.ancestors().skip(1).for_each(|d| push(d.join("boxes")));
        }
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

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    #[test]
    fn the_lab_file_is_found_in_the_current_directory_or_the_nearest_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        mkdirs(&root, &["mylab/scripts/deep", "other"]);
        touch(&root.join("mylab/lab.yaml"));
        assert_eq!(
            find_lab_file(&root.join("mylab"), None).unwrap(),
            Path::new("lab.yaml")
        );
        assert_eq!(
            find_lab_file(&root.join("mylab/scripts/deep"), None).unwrap(),
            root.join("mylab/lab.yaml")
        );
        // The nearest wins.
        touch(&root.join("mylab/scripts/lab.yaml"));
        assert_eq!(
            find_lab_file(&root.join("mylab/scripts/deep"), None).unwrap(),
            root.join("mylab/scripts/lab.yaml")
        );
        // Nothing here or above.
        let err = find_lab_file(&root.join("other"), None).unwrap_err();
        assert_eq!(err.start, root.join("other"));
        assert_eq!(
            err.to_string(),
            format!(
                "no lab.yaml in {} or any parent directory; create one (`lab schema` lists its keys) or pass -f PATH",
                root.join("other").display()
            )
        );
    }

    #[test]
    fn a_lab_yaml_that_is_not_a_file_stops_the_search_instead_of_finding_the_parents_lab() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        mkdirs(&root, &["a/dir/lab.yaml", "a/link"]);
        touch(&root.join("a/lab.yaml"));
        std::os::unix::fs::symlink(root.join("gone"), root.join("a/link/lab.yaml")).unwrap();
        // Reading them fails with a sentence; the parent's lab is not used.
        assert_eq!(
            find_lab_file(&root.join("a/dir"), None).unwrap(),
            Path::new("lab.yaml")
        );
        assert_eq!(
            find_lab_file(&root.join("a/link"), None).unwrap(),
            Path::new("lab.yaml")
        );
    }

    #[test]
    fn a_home_that_is_a_symbolic_link_still_stops_the_search() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        mkdirs(&root, &["real/u/proj"]);
        touch(&root.join("real/lab.yaml"));
        std::os::unix::fs::symlink(root.join("real/u"), root.join("home-link")).unwrap();
        // The current directory comes resolved (getcwd), $HOME as set.
        let err =
            find_lab_file(&root.join("real/u/proj"), Some(&root.join("home-link"))).unwrap_err();
        assert_eq!(
            err.stopped_at_home.as_deref(),
            Some(root.join("real/u").as_path())
        );
    }

    #[test]
    fn the_search_does_not_leave_home() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        mkdirs(&root, &["home/u/proj/sub"]);
        touch(&root.join("home/lab.yaml"));
        let home = root.join("home/u");
        let err = find_lab_file(&home.join("proj/sub"), Some(&home)).unwrap_err();
        assert_eq!(err.stopped_at_home.as_deref(), Some(home.as_path()));
        assert!(
            err.to_string()
                .contains("or any parent directory up to $HOME ("),
            "{err}"
        );
        assert!(
            find_lab_file(&home, Some(&home))
                .unwrap_err()
                .to_string()
                .contains("does not go above $HOME")
        );
        // $HOME itself is searched.
        touch(&home.join("lab.yaml"));
        assert_eq!(
            find_lab_file(&home.join("proj/sub"), Some(&home)).unwrap(),
            home.join("lab.yaml")
        );
        // Outside $HOME (or with HOME=/) the search goes up to the root.
        let elsewhere = root.join("home/u2");
        mkdirs(&root, &["home/u2"]);
        assert_eq!(
            find_lab_file(&elsewhere, Some(&home)).unwrap(),
            root.join("home/lab.yaml")
        );
        assert_eq!(
            find_lab_file(&elsewhere, Some(Path::new("/"))).unwrap(),
            root.join("home/lab.yaml")
        );
    }

    fn search(root: &Path) -> RecipeSearch {
        RecipeSearch {
            boxes_path: None,
            lab_dir: None,
            cwd: Some(root.join("work/sub")),
            lab_home: root.join("home"),
            exe: Some(root.join("repo/target/debug/lab")),
        }
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
        let want: Vec<PathBuf> = [
            "extra1",
            "extra2",
            "labs/x/boxes",
            "labs/boxes",
            "work/sub/boxes",
            "work/boxes",
            "home/recipes",
            "repo/boxes",
        ]
        .iter()
        .map(|d| root.join(d))
        .collect();
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
        assert_eq!(
            s.dirs(),
            [root.join("work/sub/boxes"), root.join("work/boxes")]
        );
        // `..` is the parent of the current directory.
        s.lab_dir = Some(PathBuf::from(".."));
        assert_eq!(
            s.dirs(),
            [root.join("work/boxes"), root.join("work/sub/boxes")]
        );
        // Missing directories are left out; an empty path entry too.
        s.boxes_path = Some(OsString::from(format!(":{}", root.join("nope").display())));
        s.lab_dir = None;
        s.cwd = None;
        assert_eq!(s.dirs(), Vec::<PathBuf>::new());
    }
}
