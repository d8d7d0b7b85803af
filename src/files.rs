//! Files and directories `lab` creates on the host (the state directory,
//! the box store, logs), each with an explicit mode whatever the umask:
//! directories [`PRIVATE_DIR`], keys, secrets, state and logs
//! [`PRIVATE_FILE`], box artifacts [`PUBLIC_FILE`]. The mode is set on the
//! file or directory after it is opened or created, so neither a permissive
//! umask (`umask 000`) nor a file an older `lab` left with looser bits keeps
//! them. Also the checks that a file `lab` is about to trust (a key, the
//! secrets, the state) is still its own.
//!
//! Nothing here writes or changes modes through a symbolic link: a link
//! planted where `lab` keeps a file (`.lab/lock -> /etc/passwd`) would
//! otherwise have its target overwritten or made 0600. Files are opened
//! with `O_NOFOLLOW` and must be regular files of this user; the temporary
//! file of an atomic write is created with `O_EXCL` under a random name; a
//! mode is set through a descriptor of the file itself (`O_PATH`), never by
//! path. A directory of `lab`'s own ([`private_dir`]) may be a symbolic
//! link only when the link and the directory it points to are both this
//! user's.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Directories: only the owner may list or enter them.
pub const PRIVATE_DIR: u32 = 0o700;
/// Keys, secrets, state and logs: only the owner may read them.
pub const PRIVATE_FILE: u32 = 0o600;
/// Files others may read but never write (box artifacts, public keys).
pub const PUBLIC_FILE: u32 = 0o644;

/// A file system operation that failed, or a file `lab` will not touch.
#[derive(Debug, Error)]
pub enum FileError {
    /// `cannot create /x: Permission denied`.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// What is at `path` is not what `lab` writes or trusts there (a
    /// symbolic link, a FIFO, a file of another user); `reason` is the
    /// whole sentence, path and fix included.
    #[error("{reason}")]
    Refused { path: PathBuf, reason: String },
}

impl FileError {
    /// The path concerned.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Io { path, .. } | FileError::Refused { path, .. } => path,
        }
    }
}

fn err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> FileError + 'a {
    move |source| FileError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn refused(path: &Path, reason: String) -> FileError {
    FileError::Refused {
        path: path.to_owned(),
        reason,
    }
}

/// How a file of type `t` reads in a sentence: "a symbolic link", "a
/// directory", "a FIFO (named pipe)", "a socket", "a device", "a regular file".
pub fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "a regular file"
    }
}

/// The refusal of a symbolic link found where `lab` writes its own file.
fn link_refused(path: &Path) -> FileError {
    let target = std::fs::read_link(path)
        .map(|t| format!(" (to {})", t.display()))
        .unwrap_or_default();
    refused(
        path,
        format!(
            "{} is a symbolic link{target}; lab never writes through a link, which would overwrite what it points to: remove the link and run the command again",
            path.display()
        ),
    )
}

/// Refuse anything at `path` but a regular file of this user (`meta` is
/// its lstat(2) or fstat(2)).
fn own_regular(path: &Path, meta: &std::fs::Metadata) -> Result<(), FileError> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(link_refused(path));
    }
    if !kind.is_file() {
        return Err(refused(
            path,
            format!(
                "{} is {}, not a regular file; lab keeps its own files only as regular files: remove it and run the command again",
                path.display(),
                kind_of(kind)
            ),
        ));
    }
    not_anothers(path, meta.uid())
}

fn not_anothers(path: &Path, uid: u32) -> Result<(), FileError> {
    let me = euid();
    if uid != me {
        return Err(refused(
            path,
            format!(
                "{} belongs to user id {uid}, not to you (user id {me}), so lab will not use it; run lab as that user, or remove it",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// A descriptor of `path` itself (`O_PATH`): a symbolic link is not
/// followed unless `follow`.
fn path_fd(path: &Path, follow: bool) -> std::io::Result<File> {
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    File::options()
        .read(true)
        .custom_flags(libc::O_PATH | nofollow)
        .open(path)
}

/// chmod(2) of the file `fd` refers to (an `O_PATH` descriptor cannot be
/// given to fchmod(2); its /proc link names exactly that file).
fn chmod_fd(fd: &File, mode: u32) -> std::io::Result<()> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    std::fs::set_permissions(link, std::fs::Permissions::from_mode(mode))
}

/// Create `dir` and its missing parents, each with exactly `mode`;
/// directories that exist are left as they are.
pub fn create_dir(dir: &Path, mode: u32) -> Result<(), FileError> {
    use std::os::unix::fs::DirBuilderExt;
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err())
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
/// [`PRIVATE_DIR`] when it exists already. Refused: a directory of another
/// user, something that is not a directory, and a symbolic link unless
/// both the link and the directory it points to are this user's (a link
/// someone else planted could point `lab`'s keys and state anywhere).
pub fn private_dir(dir: &Path) -> Result<(), FileError> {
    create_dir(dir, PRIVATE_DIR)?;
    let fd = own_dir(dir)?;
    chmod_fd(&fd, PRIVATE_DIR).map_err(err("cannot set the mode of", dir))
}

/// Check that `dir` is a directory `lab` may keep its files in (see
/// [`private_dir`]); a descriptor of it. A missing `dir` is an
/// [`FileError::Io`] of kind `NotFound`.
pub fn own_dir(dir: &Path) -> Result<File, FileError> {
    let link = std::fs::symlink_metadata(dir).map_err(err("cannot read", dir))?;
    if link.file_type().is_symlink() && link.uid() != euid() {
        let target = std::fs::read_link(dir)
            .map(|t| format!(" to {}", t.display()))
            .unwrap_or_default();
        return Err(refused(
            dir,
            format!(
                "{} is a symbolic link{target} made by user id {}, not by you (user id {}); lab keeps its keys and state only in a directory of its own: remove the link",
                dir.display(),
                link.uid(),
                euid()
            ),
        ));
    }
    let fd = path_fd(dir, true).map_err(err("cannot open", dir))?;
    let meta = fd.metadata().map_err(err("cannot read", dir))?;
    if !meta.is_dir() {
        return Err(refused(
            dir,
            format!(
                "{} is {}, not a directory; lab keeps its files there: remove it and run the command again",
                dir.display(),
                kind_of(meta.file_type())
            ),
        ));
    }
    if meta.uid() != euid() {
        let via = if link.file_type().is_symlink() {
            " (where the symbolic link points)"
        } else {
            ""
        };
        return Err(refused(
            dir,
            format!(
                "{}{via} is a directory of user id {}, not yours (user id {}); lab keeps its keys and state only in a directory of its own: run lab as that user, or remove it",
                dir.display(),
                meta.uid(),
                euid()
            ),
        ));
    }
    Ok(fd)
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
/// `mode` (created or not). Refused: a symbolic link (`O_NOFOLLOW`: never
/// followed), anything but a regular file (opened non-blocking, so a FIFO
/// cannot hang), and a file of another user.
pub fn open(path: &Path, mode: u32, content: Content) -> Result<File, FileError> {
    let mut o = File::options();
    o.read(true)
        .create(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    match content {
        Content::Truncate => o.write(true).truncate(true),
        Content::Append => o.append(true),
        Content::Keep => o.write(true),
    };
    let file = match o.open(path) {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(link_refused(path)),
        Err(e) => return Err(err("cannot open", path)(e)),
    };
    let meta = file.metadata().map_err(err("cannot read", path))?;
    own_regular(path, &meta)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(err("cannot set the mode of", path))?;
    Ok(file)
}

/// Write a file so readers see the old or the new content, never half:
/// a temporary file in the same directory, created exclusively (`O_EXCL`,
/// a random name: nothing planted there is opened) with `mode`, fsync,
/// rename over `path`. Refused like [`open`]: `path` being a symbolic
/// link, not a regular file, or another user's.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| err("cannot write", path)(without_path(e)))?;
    // Errors name `path`, the file asked for: the temporary file's name
    // (`.lab.yaml.BRSfHF.tmp`) means nothing to the reader.
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .and_then(|()| tmp.write_all(data))
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(err("cannot write", path))?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) => own_regular(path, &meta)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err("cannot read", path)(e)),
    }
    tmp.persist(path)
        .map(drop)
        .map_err(|e| err("cannot replace", path)(e.error))
}

/// `e` without the path tempfile appends to its message (`... at path
/// "/x/.lab.yaml.BRSfHF.tmp"`): the OS error alone.
fn without_path(e: std::io::Error) -> std::io::Error {
    // tempfile's `PathError` keeps the OS error private (not as its
    // source): its message is `{err} at path {path:?}`.
    if e.raw_os_error().is_some() {
        return e;
    }
    let text = e.to_string();
    match text.split_once(" at path ") {
        Some((os, _)) => std::io::Error::new(e.kind(), os.to_string()),
        None => e,
    }
}

/// Give `path` (made by another program, or found) exactly `mode`. The
/// mode is set through a descriptor of `path` itself: a symbolic link is
/// refused, never followed.
pub fn set_mode(path: &Path, mode: u32) -> Result<(), FileError> {
    let fd = path_fd(path, false).map_err(err("cannot set the mode of", path))?;
    let meta = fd.metadata().map_err(err("cannot read", path))?;
    if meta.file_type().is_symlink() {
        return Err(link_refused(path));
    }
    chmod_fd(&fd, mode).map_err(err("cannot set the mode of", path))
}

/// This process's effective user id.
fn euid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Refuse a key file that may no longer be only ours ([`check_private`]
/// of a file that must exist): `loose` is `0o077` for a private key
/// (readable by others), `0o022` for a public one (writable by others, so
/// it could have been replaced). `what` names it in the message (`the
/// SSH key`).
pub fn check_key(path: &Path, loose: u32, what: &str) -> anyhow::Result<()> {
    let otherwise = "remove the lab with `lab destroy` and bring it up again (lab makes a new key)";
    if !check_private(path, loose, what, otherwise)? {
        return Err(err("cannot read", path)(std::io::ErrorKind::NotFound.into()).into());
    }
    Ok(())
}

/// Refuse a file `lab` is about to trust (a key, the secrets, the state,
/// the pinned host keys) that may no longer be only ours: a symbolic link
/// or anything but a regular file, a file of another user, or one with any
/// of the mode bits `loose` set (`0o077`: others may read or change it;
/// `0o022`: others may change it). The sentence names it with `what` and
/// ends with `otherwise`, what to do when someone else may have read or
/// changed it. `Ok(false)` when there is no file at `path`.
pub fn check_private(path: &Path, loose: u32, what: &str, otherwise: &str) -> anyhow::Result<bool> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(err("cannot read", path)(e).into()),
    };
    let me = euid();
    let kind = meta.file_type();
    if !kind.is_file() {
        anyhow::bail!(
            "{what} {} is {}, not a regular file, so lab will not use it; put the file itself there",
            path.display(),
            kind_of(kind)
        );
    }
    if meta.uid() != me {
        anyhow::bail!(
            "{what} {} belongs to user id {}, not to you (user id {me}), so lab will not use it; run lab as that user, or {otherwise}",
            path.display(),
            meta.uid()
        );
    }
    let mode = meta.mode() & 0o777;
    let open = mode & loose;
    if open != 0 {
        let who = match (open & 0o044 != 0, open & 0o022 != 0) {
            (true, true) => "read or changed",
            (true, false) => "read",
            _ => "changed",
        };
        anyhow::bail!(
            "{what} {} can be {who} by other users (mode {mode:04o}), so lab will not use it; if nobody else could have {who} it, run `chmod {:o} {}`, otherwise {otherwise}",
            path.display(),
            mode & !loose,
            path.display()
        );
    }
    Ok(true)
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
