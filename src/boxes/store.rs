//! The box store: `$LAB_HOME/boxes/NAME/{disk.qcow2, vmlinuz, initrd.img,
//! box.json}`.
//!
//! A box appears in the store only complete: it is built in a staging
//! directory beside the store (same filesystem) and renamed into place at the
//! end. Directories are 0700 and a box's files 0644, whatever the umask
//! of `lab` or of the tools that made them. A build that fails or is killed leaves only a `.staging-*` directory,
//! which the next store operation removes once its owner is gone.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files;

pub use super::origin::{BootMode, BoxSource, Firmware, SourceKind};
use super::store_check::check_meta;
use super::store_check::io;
pub use super::store_check::{Broken, StoreError};

/// Metadata file of a stored box.
pub const META_FILE: &str = "box.json";
/// Root disk (qcow2) of a stored box.
pub const DISK_FILE: &str = "disk.qcow2";
/// The root filesystem tarball of a `format: rootfs` box.
pub const ROOTFS_FILE: &str = "rootfs.tar.gz";
/// Kernel for direct kernel boot.
pub const KERNEL_FILE: &str = "vmlinuz";
/// Initial ramdisk for direct kernel boot.
pub const INITRD_FILE: &str = "initrd.img";
const STAGING_PREFIX: &str = ".staging-";
const LOCK_SUFFIX: &str = ".lock";

/// `box.json`: what a stored box is and how it was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BoxMeta {
    pub name: String,
    pub version: String,
    /// `disk` (older box.json files have none: they are disks).
    #[serde(default)]
    pub format: crate::boxes::Format,
    pub recipe_hash: String,
    /// sha256 of the artifact: the qcow2, or the rootfs tarball.
    pub disk_sha256: String,
    /// Virtual size of the disk in GiB.
    pub disk_gib: u64,
    pub cmdline: String,
    pub user: String,
    /// Unix seconds.
    pub built_at: u64,
    pub build_seconds: u64,
    pub suite: String,
    /// Packages the recipe asked for.
    pub packages: Vec<String>,
    /// Number of packages installed in the image.
    pub installed_packages: usize,
    /// How the disk boots (older box.json files have none: kernel).
    #[serde(default)]
    pub boot: BootMode,
    /// The firmware a [`BootMode::Disk`] box starts with.
    #[serde(default)]
    pub firmware: Firmware,
    /// Where an imported box came from; `None` for a box built here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<BoxSource>,
}

/// A box in the store.
#[derive(Debug, Clone)]
pub struct StoredBox {
    pub meta: BoxMeta,
    pub dir: PathBuf,
}

impl StoredBox {
    pub fn disk(&self) -> PathBuf {
        self.dir.join(DISK_FILE)
    }
    /// What the build produced: the disk, or the rootfs tarball.
    pub fn artifact(&self) -> PathBuf {
        match self.meta.format {
            crate::boxes::Format::Disk => self.disk(),
            crate::boxes::Format::Rootfs => self.dir.join(ROOTFS_FILE),
        }
    }
    pub fn kernel(&self) -> PathBuf {
        self.dir.join(KERNEL_FILE)
    }
    pub fn initrd(&self) -> PathBuf {
        self.dir.join(INITRD_FILE)
    }
    /// The first file the box needs that is not a regular file in its
    /// directory: disk, kernel and initrd for a box booted by its kernel; the tarball for
    /// a rootfs; the disk alone for a box that boots from it. `None` when
    /// it is complete.
    pub fn missing(&self) -> Option<&'static str> {
        let needed: &[&'static str] = match (self.meta.format, self.meta.boot) {
            (crate::boxes::Format::Disk, BootMode::Kernel) => {
                &[DISK_FILE, KERNEL_FILE, INITRD_FILE]
            }
            (crate::boxes::Format::Disk, BootMode::Disk) => &[DISK_FILE],
            (crate::boxes::Format::Rootfs, _) => &[ROOTFS_FILE],
        };
        needed.iter().find(|f| !self.dir.join(f).is_file()).copied()
    }

    /// Bytes on disk (all files of the box).
    pub fn size_bytes(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|it| {
                it.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| {
                        use std::os::unix::fs::MetadataExt;
                        m.blocks() * 512
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
}

fn listed_name(b: &Result<StoredBox, Broken>) -> &str {
    match b {
        Ok(b) => &b.meta.name,
        Err(b) => &b.name,
    }
}

/// The store directory and operations on it.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    /// The store at `$LAB_HOME/boxes`.
    pub fn default_location() -> Self {
        Store::new(crate::paths::boxes_dir())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `root/name`, for a box name only.
    fn dir_of(&self, name: &str) -> Result<PathBuf, StoreError> {
        crate::names::box_name(name).map_err(|why| StoreError::BadName {
            name: name.to_string(),
            why,
        })?;
        Ok(self.root.join(name))
    }

    /// The stored box, if present and complete. Its box.json is checked
    /// like any input: it must name this box, and its login user and
    /// checksum must be values `lab` writes ([`check_meta`]).
    pub fn get(&self, name: &str) -> Result<Option<StoredBox>, StoreError> {
        let dir = self.dir_of(name)?;
        let meta_path = dir.join(META_FILE);
        let text = match crate::limits::read_to_string(&meta_path, crate::limits::OWN_JSON_FILE) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let meta: BoxMeta = serde_json::from_str(&text).map_err(|cause| StoreError::BadMeta {
            path: meta_path.clone(),
            name: name.to_string(),
            cause,
        })?;
        check_meta(name, &meta).map_err(|what| StoreError::BadValue {
            path: meta_path,
            name: name.to_string(),
            what,
        })?;
        Ok(Some(StoredBox { meta, dir }))
    }

    /// Every box in the store, sorted by name: each usable one, and each
    /// one that is not ([`Broken`], with why: one bad box.json must not
    /// hide the others). Directories without box.json (not boxes) are
    /// left out.
    pub fn list(&self) -> Result<Vec<Result<StoredBox, Broken>>, StoreError> {
        self.clean_stale();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("cannot read", &self.root)(e)),
        };
        let mut boxes = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            let found = self.get(&name).and_then(|b| match b {
                Some(b) => match b.missing() {
                    Some(file) => Err(StoreError::Incomplete {
                        name: name.clone(),
                        file,
                    }),
                    None => Ok(Some(b)),
                },
                None => Ok(None),
            });
            match found {
                Ok(Some(b)) => boxes.push(Ok(b)),
                Ok(None) => {}
                Err(e) => boxes.push(Err(Broken::new(&name, entry.path(), &e))),
            }
        }
        boxes.sort_by(|a, b| listed_name(a).cmp(listed_name(b)));
        Ok(boxes)
    }

    /// Remove a stored box. A box that is not there is an error before
    /// anything is made (no store directory, no lock file).
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        let dir = self.dir_of(name)?;
        if std::fs::symlink_metadata(dir.join(META_FILE)).is_err() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        let _lock = self.lock(name)?;
        if !dir.join(META_FILE).exists() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        // Rename first so a crash mid-delete never leaves a half box under
        // its real name.
        let doomed = self.root.join(format!(
            "{STAGING_PREFIX}{name}-removing-{}",
            std::process::id()
        ));
        std::fs::rename(&dir, &doomed).map_err(io("cannot move", &dir))?;
        std::fs::remove_dir_all(&doomed).map_err(io("cannot remove", &doomed))
    }

    /// Take the per-box lock (held until the returned file is dropped).
    pub fn lock(&self, name: &str) -> Result<File, StoreError> {
        self.dir_of(name)?;
        files::private_dir(&self.root)?;
        let path = self.root.join(format!(".{name}{LOCK_SUFFIX}"));
        let file = files::open(&path, files::PRIVATE_FILE, files::Content::Keep)?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy(name.to_string(), path)),
            Err(std::fs::TryLockError::Error(e)) => Err(io("cannot lock", &path)(e)),
        }
    }

    /// Start building `name`: a fresh staging directory, removed on drop
    /// unless [`Staging::commit`] moves it into the store.
    pub fn stage(&self, name: &str) -> Result<Staging, StoreError> {
        let lock = self.lock(name)?;
        self.clean_stale();
        let dir = self
            .root
            .join(format!("{STAGING_PREFIX}{name}-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io("cannot remove", &dir))?;
        }
        files::private_dir(&dir)?;
        Ok(Staging {
            store: self.clone(),
            name: name.to_string(),
            dir,
            committed: false,
            _lock: lock,
        })
    }

    /// Remove staging directories whose building process is gone.
    fn clean_stale(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(STAGING_PREFIX) else {
                continue;
            };
            let pid = rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
            let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
            if !alive || pid == Some(std::process::id()) && rest.contains("-removing-") {
                tracing::info!(dir = %entry.path().display(), "removing leftover of an interrupted build");
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// A box being built. Dropping it without `commit` deletes the directory.
#[derive(Debug)]
pub struct Staging {
    store: Store,
    name: String,
    dir: PathBuf,
    committed: bool,
    _lock: File,
}

impl Staging {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write `box.json`, give the box's files mode 0644 (the tools that
    /// made them used their umask), and move the box into the store,
    /// replacing an older build of the same name.
    pub fn commit(mut self, meta: &BoxMeta) -> Result<StoredBox, StoreError> {
        for entry in std::fs::read_dir(&self.dir)
            .map_err(io("cannot read", &self.dir))?
            .flatten()
        {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                files::set_mode(&entry.path(), files::PUBLIC_FILE)?;
            }
        }
        let meta_path = self.dir.join(META_FILE);
        let text = serde_json::to_string_pretty(meta).expect("box metadata serialises");
        files::write_atomic(&meta_path, (text + "\n").as_bytes(), files::PUBLIC_FILE)?;
        let target = self.store.root.join(&self.name);
        let old = self.store.root.join(format!(
            "{STAGING_PREFIX}{}-old-{}",
            self.name,
            std::process::id()
        ));
        let had_old = target.exists();
        if had_old {
            std::fs::rename(&target, &old).map_err(io("cannot move", &target))?;
        }
        std::fs::rename(&self.dir, &target).map_err(io("cannot move", &self.dir))?;
        self.committed = true;
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(StoredBox {
            meta: meta.clone(),
            dir: target,
        })
    }
}

impl Drop for Staging {
    /// An uncommitted build or import leaves nothing: its directory goes,
    /// and so does the lock file when no box of the name is stored (it is
    /// unlinked while still locked, so another `lab` that opened it fails
    /// with [`StoreError::Busy`] rather than wait on it).
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
            if !self.store.root.join(&self.name).exists() {
                let lock = self.store.root.join(format!(".{}{LOCK_SUFFIX}", self.name));
                let _ = std::fs::remove_file(lock);
            }
        }
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
