//! Files and directories `lab` creates on the host (the state directory,
//! the box store, logs), each with an explicit mode whatever the umask:
//! directories [`PRIVATE_DIR`], keys, secrets, state and logs
//! [`PRIVATE_FILE`], box artifacts [`PUBLIC_FILE`]. The mode is set on the
//! file or directory after it is opened or created, so neither a permissive
//! umask (`umask 000`) nor a file an older `lab` left with looser bits keeps
//! them. Also the check that a key `lab` is about to use is still private.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Directories: only the owner may list or enter them.
pub const PRIVATE_DIR: u32 = 0o700;
/// Keys, secrets, state and logs: only the owner may read them.
pub const PRIVATE_FILE: u32 = 0o600;
/// Files others may read but never write (box artifacts, public keys).
pub const PUBLIC_FILE: u32 = 0o644;

/// A file system operation that failed: `cannot create /x: Permission denied`.
#[derive(Debug, Error)]
#[error("{action} {}: {source}", path.display())]
pub struct FileError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> FileError + 'a {
    move |source| FileError {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Create `dir` and its missing parents, each with exactly `mode`;
/// directories that exist are left as they are.
pub fn create_dir(dir: &Path, mode: u32) -> Result<(), FileError> {
    use std::os::unix::fs::DirBuilderExt;
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .collect();
    for d in missing.iter().rev() {
        match std::fs::DirBuilder::new().mode(mode).create(d) {
            Ok(()) => set_mode(d, mode)?,
            // Made meanwhile by someone else: fine, and not ours to chmod.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err("cannot create", d)(e)),
        }
    }
    Ok(())
}

/// A directory of `lab`'s own (state directory, box store, logs): created
/// like [`create_dir`] with [`PRIVATE_DIR`], and `dir` itself set to
/// [`PRIVATE_DIR`] when it exists already.
pub fn private_dir(dir: &Path) -> Result<(), FileError> {
    create_dir(dir, PRIVATE_DIR)?;
    set_mode(dir, PRIVATE_DIR)
}

/// How [`open`] treats existing content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Emptied.
    Truncate,
    /// Kept; writes go to the end.
    Append,
    /// Kept; writes go where the caller seeks (locks, images).
    Keep,
}

/// Open `path` for reading and writing, creating it if missing, and give it
/// `mode` (created or not).
pub fn open(path: &Path, mode: u32, content: Content) -> Result<File, FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = File::options();
    o.read(true).create(true).mode(mode);
    match content {
        Content::Truncate => o.write(true).truncate(true),
        Content::Append => o.append(true),
        Content::Keep => o.write(true),
    };
    let file = o.open(path).map_err(err("cannot open", path))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err("cannot set the mode of", path))?;
    Ok(file)
}

/// Write a file so readers see the old or the new content, never half:
/// a temporary file in the same directory with `mode`, fsync, rename.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), FileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let mut f = open(&tmp, mode, Content::Truncate)?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(err("cannot write", &tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err("cannot replace", path))
}

/// Give `path` (made by another program, or found) exactly `mode`.
pub fn set_mode(path: &Path, mode: u32) -> Result<(), FileError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(err("cannot set the mode of", path))
}

/// This process's effective user id.
fn euid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Refuse a key file that may no longer be only ours: owned by another
/// user, or with any of the mode bits `loose` set (`0o077` for a private
/// key: readable by others; `0o022` for a public one: writable by
/// others, so it could have been replaced). `what` names it in the
/// message (`the lab's SSH key`).
pub fn check_key(path: &Path, loose: u32, what: &str) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).map_err(err("cannot read", path))?;
    let me = euid();
    if meta.uid() != me {
        anyhow::bail!(
            "{what} {} belongs to user id {}, not to you (user id {me}), so lab will not use it; run lab as that user, or remove the lab with `lab destroy` as that user and bring it up again",
            path.display(),
            meta.uid()
        );
    }
    let mode = meta.mode() & 0o777;
    if mode & loose != 0 {
        let who = if loose & 0o044 != 0 {
            "read"
        } else {
            "changed"
        };
        anyhow::bail!(
            "{what} {} can be {who} by other users (mode {mode:04o}), so lab will not use it; if nobody else could have {who} it, run `chmod {:o} {}`, otherwise remove the lab with `lab destroy` and bring it up again (lab makes a new key)",
            path.display(),
            mode & !loose,
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
