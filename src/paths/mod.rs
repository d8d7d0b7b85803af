//! Where `lab` keeps and finds things on the host: `$LAB_HOME` (boxes),
//! the lab file when none is named ([`find_lab_file`]), and where box
//! recipes are searched ([`recipe_dirs`]: directories, then the built-in
//! ones); which paths no program can take ([`usable`]).

pub mod passwd;
mod recipes;
mod usable;

pub use recipes::{BUILTIN_BOXES, RECIPE_FILE, RecipeDir, builtin_recipe, recipe_dirs};
pub use usable::{check_for_programs, check_lab_path};

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The lab file's name when none is given with `-f`/`LAB_FILE`.
pub const LAB_FILE_NAME: &str = "lab.yaml";

/// `$LAB_HOME`, else `$XDG_DATA_HOME/lab`, else `~/.local/share/lab`
/// (`~` as [`home_dir`] finds it; `/` when there is none at all).
pub fn lab_home() -> PathBuf {
    lab_home_from(|k| std::env::var_os(k), home_dir())
}

/// [`lab_home`] with the environment read through `var` and the user's
/// home directory given.
fn lab_home_from(var: impl Fn(&str) -> Option<OsString>, home: Option<PathBuf>) -> PathBuf {
    let set = |k: &str| var(k).filter(|v| !v.is_empty());
    if let Some(home) = set("LAB_HOME") {
        return PathBuf::from(home);
    }
    if let Some(data) = set("XDG_DATA_HOME") {
        return PathBuf::from(data).join("lab");
    }
    home.unwrap_or_else(|| "/".into()).join(".local/share/lab")
}

/// The user's home directory: `$HOME` when set and not empty; when it is
/// unset or empty (cron, `env -i`, some service managers), the user's
/// entry in the password database (getpwuid_r), as OpenSSH does; `None`
/// when neither gives an absolute path.
pub fn home_dir() -> Option<PathBuf> {
    home_from(std::env::var_os("HOME"), passwd_home)
}

/// The home directory in the password database of the user `lab` runs
/// as (its real uid). Not [`std::env::home_dir`]: that returns an empty
/// `$HOME` as it is.
fn passwd_home() -> Option<PathBuf> {
    // SAFETY: getuid has no preconditions.
    passwd::by_uid(unsafe { libc::getuid() }).map(|e| e.home)
}

/// [`home_dir`] with `$HOME`'s value given and the password database read
/// through `passwd`.
fn home_from(var: Option<OsString>, passwd: impl FnOnce() -> Option<PathBuf>) -> Option<PathBuf> {
    match var.filter(|v| !v.is_empty()) {
        Some(v) => Some(PathBuf::from(v)),
        None => passwd().filter(|p| p.is_absolute()),
    }
}

/// `path` with `suffix` appended to its last component (`KEY` and `.pub`
/// give `KEY.pub`), whatever its bytes.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
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
            "; write one with `lab init` (`lab init --list` shows the templates), create one (`lab schema` lists its keys), or pass -f PATH"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_home_else_the_password_database_and_lab_home_follows_it() {
        let passwd = || Some(PathBuf::from("/root"));
        assert_eq!(home_from(Some("/h".into()), passwd), Some("/h".into()));
        assert_eq!(home_from(None, passwd), Some("/root".into()));
        assert_eq!(home_from(Some("".into()), passwd), Some("/root".into()));
        assert!(passwd_home().is_some_and(|p| p.is_absolute()));
        assert_eq!(home_from(None, || Some("rel".into())), None);
        assert_eq!(home_from(None, || None), None);

        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let root = Some(PathBuf::from("/root"));
        assert_eq!(
            lab_home_from(env(&[]), root.clone()),
            PathBuf::from("/root/.local/share/lab")
        );
        assert_eq!(
            lab_home_from(
                env(&[("XDG_DATA_HOME", "/d"), ("LAB_HOME", "")]),
                root.clone()
            ),
            PathBuf::from("/d/lab")
        );
        assert_eq!(
            lab_home_from(env(&[("XDG_DATA_HOME", "/d"), ("LAB_HOME", "/l")]), root),
            PathBuf::from("/l")
        );
        assert_eq!(
            lab_home_from(env(&[]), None),
            PathBuf::from("/.local/share/lab")
        );
    }

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
                "no lab.yaml in {} or any parent directory; write one with `lab init` (`lab init --list` shows the templates), create one (`lab schema` lists its keys), or pass -f PATH",
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
}
