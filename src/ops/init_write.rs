//! Writing a lab's files (a template's, a converted Vagrantfile's) into a
//! directory all or nothing (for [`super::init`]):
//! every directory made, file written and file replaced is recorded, and
//! on a failure midway (a full disk, a directory that refuses a file) all
//! of it is taken back, so a second `lab init` finds the directory as the
//! first one did. rustup's `dist/component/transaction.rs` is the model.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::builtin::DIR_MODE;
use crate::files::FileError;

/// Why writing stopped, and what became of what had been written.
#[derive(Debug)]
pub struct Failed {
    /// The write that failed (its message names the file asked for).
    pub cause: FileError,
    /// How many files had been written and were taken back (removed, or
    /// their old content put back) when all of it could be.
    pub taken_back: Result<usize, Vec<String>>,
}

/// What was done so far, to take back.
#[derive(Default)]
struct Undo {
    /// Directories made, in the order made.
    made_dirs: Vec<PathBuf>,
    /// Files that did not exist before.
    new_files: Vec<PathBuf>,
    /// Files replaced (`--force`): their old content and mode.
    replaced: Vec<(PathBuf, Vec<u8>, u32)>,
}

/// Write `files` into `dir` (made with its missing parents, 0755), each
/// through `write(path, data, mode)`; a file that exists is replaced (the
/// caller has refused that unless asked). On the first error, everything
/// done is taken back.
pub fn write_all(
    files: &[super::NewFile],
    dir: &Path,
    mut write: impl FnMut(&Path, &[u8], u32) -> Result<(), FileError>,
) -> Result<(), Failed> {
    let mut undo = Undo::default();
    let mut step = |undo: &mut Undo| -> Result<(), FileError> {
        make_dirs(dir, undo)?;
        for f in files {
            let path = dir.join(&f.path);
            if let Some(parent) = path.parent() {
                make_dirs(parent, undo)?;
            }
            let old = match std::fs::symlink_metadata(&path) {
                Ok(m) => Some((
                    std::fs::read(&path).map_err(|e| io("cannot read", &path, e))?,
                    m.permissions().mode() & 0o7777,
                )),
                Err(_) => None,
            };
            write(&path, &f.data, f.mode)?;
            match old {
                Some((data, mode)) => undo.replaced.push((path, data, mode)),
                None => undo.new_files.push(path),
            }
        }
        Ok(())
    };
    step(&mut undo).map_err(|cause| Failed {
        cause,
        taken_back: take_back(undo),
    })
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> FileError {
    FileError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Make `dir` and its missing parents (0755), recording each one made.
fn make_dirs(dir: &Path, undo: &mut Undo) -> Result<(), FileError> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .filter(|d| !d.as_os_str().is_empty())
        .take_while(|d| std::fs::symlink_metadata(d).is_err())
        .collect();
    for d in missing.into_iter().rev() {
        crate::files::create_dir(d, DIR_MODE)?;
        undo.made_dirs.push(d.to_owned());
    }
    Ok(())
}

/// Undo `undo`, newest first: the number of files taken back, or a
/// sentence per thing that could not be.
fn take_back(undo: Undo) -> Result<usize, Vec<String>> {
    let mut left = Vec::new();
    let files = undo.new_files.len() + undo.replaced.len();
    for (path, data, mode) in undo.replaced.iter().rev() {
        if let Err(e) = crate::files::write_atomic(path, data, *mode) {
            left.push(format!(
                "the old content of {} was not put back ({e})",
                path.display()
            ));
        }
    }
    for path in undo.new_files.iter().rev() {
        if let Err(e) = std::fs::remove_file(path) {
            left.push(format!("{} was not removed ({e})", path.display()));
        }
    }
    for d in undo.made_dirs.iter().rev() {
        if let Err(e) = std::fs::remove_dir(d) {
            left.push(format!("{} was not removed ({e})", d.display()));
        }
    }
    if left.is_empty() {
        Ok(files)
    } else {
        Err(left)
    }
}
