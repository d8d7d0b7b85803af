//! Content compiled into the binary by `build.rs`: the repository's box
//! recipes (`boxes/NAME/box.yaml` and their `files/` overlays) and lab
//! templates (`labs/NAME/`), as a read-only tree of files addressed by
//! their path in the repository (`boxes/debian-12/box.yaml`). A lab's
//! state (`.lab/`) and editor or Python leftovers are never in it
//! (`skip.rs`). Recipe lookup ([`crate::paths::RecipeDir::BuiltIn`]) and
//! `lab init` read through this module, never through the repository, so
//! a `lab` copied anywhere has them. Reading writes nothing; [`write_tree`]
//! writes a subtree out (a box build's overlay, `lab init`).

#[cfg(test)]
mod skip;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::files::FileError;

/// One embedded file.
#[derive(Debug)]
pub struct File {
    /// Its path in the repository, `/`-separated: `labs/smoke/lab.yaml`.
    pub path: &'static str,
    /// Its permission bits as they were in the repository when `lab` was
    /// built (`0o644`, `0o755`).
    pub mode: u32,
    /// Its content.
    pub data: &'static [u8],
}

impl File {
    /// Whether anyone may execute it (a script).
    pub fn executable(&self) -> bool {
        self.mode & 0o111 != 0
    }

    /// The mode of a copy for the user: 0755 for an executable, else 0644.
    pub fn plain_mode(&self) -> u32 {
        if self.executable() { 0o755 } else { 0o644 }
    }
}

// `static FILES: &[File]`, sorted by path (component by component).
include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));

/// Every embedded file, sorted by path component by component (the order
/// of [`std::path::Path`]'s `Ord`: `a/x` before `a-b/x`).
pub fn files() -> &'static [File] {
    FILES
}

/// The file at `path` (`boxes/debian-12/box.yaml`), if embedded.
pub fn file(path: &str) -> Option<&'static File> {
    FILES
        .binary_search_by(|f| Path::new(f.path).cmp(Path::new(path)))
        .ok()
        .map(|i| &FILES[i])
}

/// The files below the directory `dir` (`boxes/debian-12/files`), each
/// with its path relative to `dir`, in the order of [`files`]. Empty when
/// nothing is embedded there.
pub fn under(dir: &str) -> impl Iterator<Item = (&'static str, &'static File)> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    FILES
        .iter()
        .filter_map(move |f| f.path.strip_prefix(prefix.as_str()).map(|rel| (rel, f)))
}

/// Whether `dir` holds any embedded file.
pub fn is_dir(dir: &str) -> bool {
    under(dir).next().is_some()
}

/// The names of the directories directly below `dir` (`labs` gives
/// `django-ha`, `smoke`), sorted.
pub fn subdirs(dir: &str) -> Vec<&'static str> {
    let names: BTreeSet<&'static str> = under(dir)
        .filter_map(|(rel, _)| rel.split_once('/').map(|(first, _)| first))
        .collect();
    names.into_iter().collect()
}

/// Write the files below `dir` into `dest` (created if missing), each with
/// the mode `mode` gives it ([`File::plain_mode`], or `|f| f.mode` for an
/// exact copy), whatever the umask; the directories made are 0755.
/// Returns the paths written, relative to `dest`. Refused like
/// [`crate::files::write_atomic`]: a symbolic link or anything but a
/// regular file where a file goes (callers that must not replace files
/// check first).
pub fn write_tree(
    dir: &str,
    dest: &Path,
    mode: impl Fn(&File) -> u32,
) -> Result<Vec<PathBuf>, FileError> {
    crate::files::create_dir(dest, DIR_MODE)?;
    let mut written = Vec::new();
    for (rel, f) in under(dir) {
        let path = dest.join(rel);
        if let Some(parent) = path.parent() {
            crate::files::create_dir(parent, DIR_MODE)?;
        }
        crate::files::write_atomic(&path, f.data, mode(f))?;
        written.push(PathBuf::from(rel));
    }
    Ok(written)
}

/// The mode of the directories [`write_tree`] makes.
pub const DIR_MODE: u32 = 0o755;
