//! Building a box from its recipe: mmdebstrap a root filesystem, apply the
//! recipe overlay and `lab`'s image hygiene, then `mkfs.ext4 -d` and
//! `qemu-img convert` into a qcow2, with kernel and initrd kept beside it for
//! direct kernel boot; or, for `format: rootfs`, a gzipped tarball of the
//! root filesystem for `docker import`. Everything happens in a staging directory that only
//! becomes a box at the very end (see [`super::store`]).

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use super::recipe::{Format, Overlay, RecipeSource};
use super::store::{BoxMeta, DISK_FILE, INITRD_FILE, KERNEL_FILE, ROOTFS_FILE, Store, StoredBox};
use super::{apt_cache, hygiene};
use crate::process::Cmd;
use crate::ui::progress::{Reporter, run_phase};

/// Label of the root filesystem; the box's fstab mounts it by this label.
pub const ROOT_LABEL: &str = "labroot";

/// What `build` did.
#[derive(Debug)]
pub enum Outcome {
    /// The stored box already matched the recipe.
    UpToDate(StoredBox),
    Built(StoredBox),
}

/// Build `recipe` into `store` unless a box with the same recipe hash is
/// there already (or `force`). `log` receives the output of every tool.
pub fn build(
    store: &Store,
    recipe: &RecipeSource,
    force: bool,
    log: &Path,
    reporter: &dyn Reporter,
) -> Result<Outcome> {
    if !force
        && let Some(existing) = store.get(&recipe.name)?
        && existing.meta.recipe_hash == recipe.hash
        && existing.missing().is_none()
    {
        return Ok(Outcome::UpToDate(existing));
    }
    check_tools()?;
    let started = Instant::now();
    let staging = store.stage(&recipe.name)?;
    start_log(log)?;
    reporter.line(&format!(
        "building box {} (log: {})",
        recipe.name,
        log.display()
    ));

    let r = &recipe.recipe;
    let rootfs = staging.dir().join("rootfs");
    let cache = apt_cache::dir(store, &r.suite)?;
    apt_cache::prune(&cache, SystemTime::now());
    run_phase(reporter, "bootstrap (mmdebstrap)", || {
        // A private mount namespace: if this build is killed, the proc/sys/dev
        // mounts of the chroot vanish with it instead of lingering under the
        // staging directory.
        let mut cmd = Cmd::new("unshare")
            .args(["--mount", "--propagation", "private", "mmdebstrap"])
            .arg(format!("--variant={}", r.variant))
            .arg(format!("--include={}", r.packages.join(",")))
            // The image is written out whole by mkfs.ext4 at the end: dpkg's
            // fsync of every file only costs time.
            .arg("--dpkgopt=force-unsafe-io")
            .args(apt_cache::mmdebstrap_args())
            .env(apt_cache::ENV, &cache);
        if r.format == Format::Rootfs {
            // A container needs no documentation, manual pages or translations.
            cmd = cmd.args(
                ROOTFS_DPKG_EXCLUDES
                    .iter()
                    .map(|o| format!("--dpkgopt={o}")),
            );
        }
        cmd.args([&r.suite, &rootfs.display().to_string(), &r.mirror])
            .args(&r.sources)
            .umask(TOOL_UMASK)
            .log_to(log)
            .run()
    })?;

    run_phase(reporter, "customize", || -> Result<()> {
        for overlay in &recipe.overlays {
            // A built-in overlay is written out first, with its modes.
            let (_written, dir) = overlay_dir(overlay)?;
            Cmd::new("cp")
                .args(["-a", "--no-preserve=ownership"])
                .arg(format!("{}/.", dir.display()))
                .arg(&rootfs)
                .umask(TOOL_UMASK)
                .log_to(log)
                .run()?;
        }
        match r.format {
            Format::Disk => hygiene::apply(&rootfs, ROOT_LABEL)?,
            Format::Rootfs => hygiene::apply_rootfs(&rootfs)?,
        }
        for command in &r.customize {
            Cmd::new("chroot")
                .arg(&rootfs)
                .args(["/bin/sh", "-ec", command])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .umask(TOOL_UMASK)
                .log_to(log)
                .run()?;
        }
        Ok(())
    })?;

    let installed = count_installed(&rootfs)?;
    let artifact = match r.format {
        Format::Disk => make_disk(&staging, &rootfs, r.disk_gib, log, reporter)?,
        Format::Rootfs => make_tarball(&staging, &rootfs, log, reporter)?,
    };
    let disk_sha256 = run_phase(reporter, "checksum", || sha256_file(&artifact))?;
    let meta = BoxMeta {
        name: recipe.name.clone(),
        version: r.version.clone(),
        format: r.format,
        recipe_hash: recipe.hash.clone(),
        disk_sha256,
        disk_gib: r.disk_gib,
        cmdline: r.cmdline.clone(),
        user: r.user.clone(),
        built_at: now_unix(),
        build_seconds: started.elapsed().as_secs(),
        suite: r.suite.clone(),
        packages: r.packages.clone(),
        installed_packages: installed,
        boot: Default::default(),
        firmware: Default::default(),
        source: None,
    };
    Ok(Outcome::Built(staging.commit(&meta)?))
}

/// The directory holding `overlay`'s files: its own, or for a built-in
/// one a temporary directory (removed when the first value is dropped)
/// they are written to with the modes they had in the repository, its
/// directories 0755 (as `cp -a` copies those onto the image's too).
fn overlay_dir(overlay: &Overlay) -> Result<(Option<tempfile::TempDir>, PathBuf)> {
    match overlay {
        Overlay::Dir(dir) => Ok((None, dir.clone())),
        Overlay::BuiltIn(files) => {
            let tmp = tempfile::Builder::new()
                .prefix("lab-overlay-")
                .tempdir()
                .context("cannot create a temporary directory for a built-in recipe's files")?;
            let dir = tmp.path().join("files");
            crate::builtin::write_tree(files, &dir, |f| f.mode)?;
            Ok((Some(tmp), dir))
        }
    }
}

/// The umask of every tool a build runs: whatever `lab`'s own umask is,
/// nothing they make (in the image or beside it) is writable by others.
const TOOL_UMASK: u32 = 0o022;

/// Start a build's log afresh: `$LAB_HOME/logs/` 0700, the log 0600.
pub fn start_log(log: &Path) -> Result<()> {
    if let Some(parent) = log.parent() {
        crate::files::private_dir(parent)?;
    }
    crate::files::open(
        log,
        crate::files::PRIVATE_FILE,
        crate::files::Content::Truncate,
    )?;
    Ok(())
}

/// dpkg options of a `format: rootfs` build.
const ROOTFS_DPKG_EXCLUDES: &[&str] = &[
    "path-exclude=/usr/share/doc/*",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
];

/// The tarball of a `format: rootfs` box (numeric owners, as `docker
/// import` wants them).
fn make_tarball(
    staging: &super::store::Staging,
    rootfs: &Path,
    log: &Path,
    reporter: &dyn Reporter,
) -> Result<PathBuf> {
    let tarball = staging.dir().join(ROOTFS_FILE);
    run_phase(reporter, "pack the root filesystem (tar.gz)", || {
        Cmd::new("tar")
            .args(["--numeric-owner", "-C"])
            .arg(rootfs)
            .arg("-czf")
            .arg(&tarball)
            .arg(".")
            .umask(TOOL_UMASK)
            .log_to(log)
            .run()
    })?;
    remove_tree(rootfs)?;
    Ok(tarball)
}

/// The qcow2 of a `format: disk` box, with kernel and initrd beside it.
fn make_disk(
    staging: &super::store::Staging,
    rootfs: &Path,
    disk_gib: u64,
    log: &Path,
    reporter: &dyn Reporter,
) -> Result<PathBuf> {
    let (kernel, initrd) = find_kernel(&rootfs.join("boot"))?;
    std::fs::copy(&kernel, staging.dir().join(KERNEL_FILE))
        .with_context(|| format!("cannot copy {}", kernel.display()))?;
    std::fs::copy(&initrd, staging.dir().join(INITRD_FILE))
        .with_context(|| format!("cannot copy {}", initrd.display()))?;

    let raw = staging.dir().join("disk.raw");
    run_phase(reporter, "make filesystem (mkfs.ext4 -d)", || {
        Cmd::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "1", "-L", ROOT_LABEL, "-d"])
            .arg(rootfs)
            .arg(&raw)
            .arg(format!("{disk_gib}G"))
            .umask(TOOL_UMASK)
            .log_to(log)
            .run()
    })?;
    let disk = staging.dir().join(DISK_FILE);
    // The tree (tens of thousands of files: seconds to remove) goes while
    // qemu-img converts.
    std::thread::scope(|scope| -> Result<()> {
        let removed = scope.spawn(|| remove_tree(rootfs));
        let converted = run_phase(reporter, "convert to qcow2", || {
            Cmd::new("qemu-img")
                .args(["convert", "-f", "raw", "-O", "qcow2"])
                .arg(&raw)
                .arg(&disk)
                .umask(TOOL_UMASK)
                .log_to(log)
                .run()
        });
        let removed = removed
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("removing the root filesystem panicked")));
        converted?;
        removed
    })?;
    std::fs::remove_file(&raw).with_context(|| format!("cannot remove {}", raw.display()))?;
    Ok(disk)
}

/// The programs a box build runs.
pub const BUILD_TOOLS: &[&str] = &[
    "mmdebstrap",
    "mkfs.ext4",
    "qemu-img",
    "unshare",
    "chroot",
    "cp",
];

/// Whether this process can build boxes: root, and every [`BUILD_TOOLS`]
/// program found ([`crate::process::find_program`]: `$PATH` and the system
/// directories). The error is a sentence with the fix.
pub fn check_tools() -> Result<(), Refused> {
    if !is_root() {
        return Err(Refused(
            "building a box needs root (mmdebstrap, chroot and device nodes); run it with sudo"
                .into(),
        ));
    }
    let missing = missing_tools();
    if !missing.is_empty() {
        let verb = if missing.len() == 1 { "is" } else { "are" };
        return Err(Refused(format!(
            "{} {verb} not installed (building a box runs {}); {}",
            crate::process::and_list(&missing),
            if missing.len() == 1 { "it" } else { "them" },
            crate::process::install_hint(&missing)
        )));
    }
    Ok(())
}

/// A box build refused before it started (no root, tools missing): the
/// sentence says why and what to do; no log was written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The [`BUILD_TOOLS`] programs [`crate::process::find_program`] does not
/// find, in that order.
pub fn missing_tools() -> Vec<&'static str> {
    BUILD_TOOLS
        .iter()
        .copied()
        .filter(|tool| crate::process::find_program(tool).is_none())
        .collect()
}

/// Whether this process runs as root (box builds need it).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // The owner of our own /proc entry is our effective uid.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The newest `vmlinuz-*` and its matching `initrd.img-*` in `boot`.
fn find_kernel(boot: &Path) -> Result<(PathBuf, PathBuf)> {
    let mut versions: Vec<String> = std::fs::read_dir(boot)
        .with_context(|| format!("cannot read {}", boot.display()))?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("vmlinuz-").map(str::to_string)
        })
        .collect();
    versions.sort();
    let Some(version) = versions.pop() else {
        bail!(
            "no kernel in {}: the recipe's packages must include a kernel (e.g. linux-image-cloud-amd64)",
            boot.display()
        );
    };
    let initrd = boot.join(format!("initrd.img-{version}"));
    if !initrd.is_file() {
        bail!(
            "no initrd for kernel {version} in {}: include initramfs-tools in the recipe",
            boot.display()
        );
    }
    let kernel = boot.join(format!("vmlinuz-{version}"));
    // Copied out of the image from the host: a link (an image's absolute
    // link points into the host) is not followed.
    for file in [&kernel, &initrd] {
        if std::fs::symlink_metadata(file).is_ok_and(|m| !m.is_file()) {
            bail!(
                "{} in the image is not a regular file (a symbolic link?); lab copies the kernel and initrd out of the image only as regular files",
                file.display()
            );
        }
    }
    Ok((kernel, initrd))
}

fn count_installed(rootfs: &Path) -> Result<usize> {
    let status = rootfs.join("var/lib/dpkg/status");
    let text = std::fs::read_to_string(&status)
        .with_context(|| format!("cannot read {}", status.display()))?;
    Ok(text
        .lines()
        .filter(|l| *l == "Status: install ok installed")
        .count())
}

/// Remove a directory tree, refusing if anything is still mounted under it
/// (a chroot's /proc or /dev must never be walked into).
pub fn remove_tree(dir: &Path) -> Result<()> {
    let abs = std::path::absolute(dir)?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for line in mounts.lines() {
        if let Some(point) = line.split_whitespace().nth(1)
            && Path::new(point).starts_with(&abs)
        {
            bail!(
                "refusing to delete {}: {point} is still mounted (umount it first)",
                abs.display()
            );
        }
    }
    std::fs::remove_dir_all(&abs).with_context(|| format!("cannot remove {}", abs.display()))
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
