//! What can be wrong with a box in the store, beyond a box.json that does
//! not parse: values `lab` never writes there ([`check_meta`]), and the
//! short reason `lab box list` shows for a box it cannot use ([`Broken`]),
//! and the errors of store operations ([`StoreError`]).

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::store::BoxMeta;
use crate::limits::{Bytes, ReadError};

/// Refuse box metadata `lab` never writes: `name` other than the box's
/// directory, a login user that is not a login name (a disk box) or not
/// empty (a rootfs), a checksum that is not hex. `Err` is a sentence
/// fragment naming the field and the value.
pub(super) fn check_meta(name: &str, meta: &BoxMeta) -> Result<(), String> {
    if meta.name != name {
        return Err(format!(
            "`name` is {}, not the box's own name `{name}`",
            crate::names::quoted(&meta.name)
        ));
    }
    let user = match meta.format {
        crate::boxes::Format::Disk => {
            crate::names::login_name(&meta.user).map_err(|why| format!("which {why}"))
        }
        crate::boxes::Format::Rootfs if meta.user.is_empty() => Ok(()),
        crate::boxes::Format::Rootfs => Err("but a rootfs box has no login user".into()),
    };
    if let Err(why) = user {
        return Err(format!(
            "`user` is {}, {why}",
            crate::names::quoted(&meta.user)
        ));
    }
    if meta.disk_sha256.is_empty() || !meta.disk_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`disk_sha256` is {}, which is not a hex checksum",
            crate::names::quoted(&meta.disk_sha256)
        ));
    }
    Ok(())
}

/// A directory of the store that is not a usable box: its name, and why
/// in a few words (`box.json is 2 MiB, over the 1 MiB limit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub name: String,
    pub reason: String,
    /// What to do about it: `lab box remove NAME` and build it again, or,
    /// for a directory whose name is not a box name (not made by `lab`),
    /// remove that directory.
    pub fix: String,
}

impl Broken {
    /// The entry `name` at `dir` that `get` refused with `err`.
    pub(super) fn new(name: &str, dir: PathBuf, err: &StoreError) -> Broken {
        let reason = match err {
            StoreError::Read(ReadError::TooLarge { size, limit, .. }) => format!(
                "box.json is {}, over the {} limit",
                Bytes(*size),
                Bytes(limit.bytes)
            ),
            StoreError::Read(ReadError::Io { err, .. }) => {
                format!("box.json cannot be read: {err}")
            }
            StoreError::BadMeta { cause, .. } => format!("box.json is not valid ({cause})"),
            StoreError::BadValue { what, .. } => format!("box.json: {what}"),
            StoreError::Incomplete { file, .. } => format!("incomplete: no {file}"),
            StoreError::BadName { .. } => "not a box name, so not a box lab made".into(),
            other => other.to_string(),
        };
        let fix = match err {
            StoreError::BadName { .. } => format!("remove the directory {}", dir.display()),
            _ => format!("remove it with `lab box remove {name}` and build it again"),
        };
        Broken {
            name: name.to_string(),
            reason,
            fix,
        }
    }
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("box `{0}` is not in the store")]
    NotFound(String),
    /// Not a box name ([`crate::names::box_name`]): it could name a path
    /// outside the store (`../x`).
    #[error("box name {} {why}", crate::names::quoted(name))]
    BadName { name: String, why: String },
    #[error(
        "another lab command is building, importing or removing box `{0}` (lock held on {1}); wait for it to finish"
    )]
    Busy(String, PathBuf),
    #[error("{action} {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        /// In the message, not a `source()`: the chain would repeat it.
        cause: std::io::Error,
    },
    #[error(
        "{} is not valid box metadata ({cause}); remove the box with `lab box remove {name}` and build it again",
        path.display()
    )]
    BadMeta {
        path: PathBuf,
        name: String,
        /// In the message, not a `source()`: the chain would repeat it.
        cause: serde_json::Error,
    },
    /// box.json is there, a file the box needs is not.
    #[error(
        "box `{name}` in the store is incomplete (no {file}); remove it with `lab box remove {name}` and build it again"
    )]
    Incomplete { name: String, file: &'static str },
    /// box.json parses, but holds a value `lab` never writes there.
    #[error(
        "{}: {what}; lab never writes such a value, so the file was changed: remove the box with `lab box remove {name}` and build it again",
        path.display()
    )]
    BadValue {
        path: PathBuf,
        name: String,
        what: String,
    },
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    /// box.json could not be read, or is too large.
    #[error(transparent)]
    Read(#[from] crate::limits::ReadError),
}

pub(super) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |cause| StoreError::Io {
        action,
        path: path.to_owned(),
        cause,
    }
}
