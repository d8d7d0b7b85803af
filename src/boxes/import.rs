//! `lab box import`: a Vagrant box of the libvirt provider, or a qcow2 or
//! raw disk image (a distribution cloud image), becomes a box in the store
//! that boots from its own bootloader ([`BootMode::Disk`]).
//!
//! Everything is checked before the box appears: the archive is read to
//! its end (a truncated or damaged one fails), the image passes `qemu-img
//! check`, has no backing or external data file (either could make QEMU
//! read a host file), and has a partition table with a bootloader lab
//! knows. The work happens in a staging directory ([`super::store`]), so a
//! refused or interrupted import leaves nothing in the store.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::import_sniff::{self, Kind, SNIFF_BYTES, TABLE_BYTES};
use super::origin::{BootMode, BoxSource, Firmware, SourceKind};
use super::store::{BoxMeta, DISK_FILE, Store, StoredBox};
use crate::process::Cmd;
use crate::ui::progress::{Reporter, run_phase};

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The .box, .qcow2 or raw image.
    pub file: PathBuf,
    /// Name of the new box.
    pub name: String,
    /// Login user: the one cloud-init creates with the lab's key, or the
    /// image's own user for a Vagrant box without cloud-init. Default:
    /// `vagrant` for Vagrant boxes, `lab` for images.
    pub user: Option<String>,
    /// Firmware, when the partition table does not tell the right one.
    pub firmware: Option<Firmware>,
    /// Replace a stored box of the same name.
    pub force: bool,
}

/// Largest `metadata.json` read from a box.
const METADATA_LIMIT: u64 = 64 * 1024;

/// Import `req.file` as box `req.name`; tools' output goes to `log`.
/// Errors are sentences naming the file and what is wrong with it.
pub fn import(
    store: &Store,
    req: &ImportRequest,
    log: &Path,
    reporter: &dyn Reporter,
) -> Result<StoredBox> {
    let started = Instant::now();
    let file = std::path::absolute(&req.file)
        .with_context(|| format!("cannot resolve {}", req.file.display()))?;
    let shown = file.display().to_string();
    let invalid =
        |summary: String| -> anyhow::Error { crate::error::InvalidInput { summary }.into() };
    match std::fs::metadata(&file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(invalid(format!("{shown} does not exist")));
        }
        Ok(m) if !m.is_file() => return Err(invalid(format!("{shown} is not a regular file"))),
        _ => {}
    }
    let (kind, head) = sniff_file(&file)?;
    // Cluster size in bytes of a qcow2 (0 for raw); the header is read
    // before any tool opens the image.
    let file_cluster = if kind == Kind::Qcow2 {
        import_sniff::qcow2_header(&head).map_err(|why| anyhow::anyhow!("{shown} {why}"))?
    } else {
        0
    };
    if !req.force && store.get(&req.name)?.is_some() {
        return Err(invalid(format!(
            "box `{}` is in the store already; choose another --name, or give --force to replace it",
            req.name
        )));
    }
    let staging = store.stage(&req.name)?;
    super::build::start_log(log)?;
    let sha256 = run_phase(reporter, "checksum", || super::build::sha256_file(&file))?;
    let (image, format, cluster, metadata_uefi) = match kind {
        Kind::VagrantBox { .. } => {
            let (disk, uefi) = run_phase(reporter, "unpacking the box", || {
                unpack_box(&file, staging.dir())
            })
            .map_err(|e| anyhow::anyhow!("{shown} is not a usable Vagrant box: {e:#}"))?;
            let (_, disk_head) = sniff_file(&disk).unwrap_or((Kind::Raw, Vec::new()));
            let cluster = import_sniff::qcow2_header(&disk_head).map_err(|why| {
                anyhow::anyhow!("{shown} is not a usable Vagrant box: its disk {why}")
            })?;
            (disk, "qcow2", cluster, uefi)
        }
        Kind::Qcow2 => (file.clone(), "qcow2", file_cluster, false),
        Kind::Raw => {
            let len = std::fs::metadata(&file)?.len();
            if len % 512 != 0 {
                bail!(
                    "{shown} is {len} bytes, not whole 512-byte sectors: it is truncated, or not a raw disk image"
                );
            }
            (file.clone(), "raw", 0, false)
        }
    };
    let info = run_phase(reporter, "checking the image", || {
        check_image(&image, format, cluster)
    })
    .map_err(|e| anyhow::anyhow!("{shown} cannot be imported: {e:#}"))?;
    let head = read_table(&image, format, staging.dir(), log)?;
    let what = if image == file {
        shown.clone()
    } else {
        format!("the disk in {shown}")
    };
    let found = import_sniff::firmware_of(&head).map_err(|why| {
        anyhow::anyhow!(
            "{what} {why}; lab imports disks that boot from their own bootloader (BIOS or UEFI)"
        )
    })?;
    import_sniff::table_fits(&head, info.virtual_size)
        .map_err(|why| anyhow::anyhow!("{what} {why}"))?;
    let firmware = req
        .firmware
        .unwrap_or(if metadata_uefi { Firmware::Uefi } else { found });
    if firmware == Firmware::Uefi && !import_sniff::has_esp(&head) {
        return Err(invalid(format!(
            "{what} has no EFI system partition, so it cannot boot with UEFI; import it without --firmware uefi"
        )));
    }
    let disk = staging.dir().join(DISK_FILE);
    run_phase(reporter, "copying the disk into the store", || {
        if image.starts_with(staging.dir()) {
            // Unpacked from the box into the staging directory: ours already.
            std::fs::rename(&image, &disk).map_err(anyhow::Error::from)
        } else {
            Cmd::new("qemu-img")
                .args(["convert", "-f", format, "-O", "qcow2"])
                .arg(&image)
                .arg(&disk)
                .log_to(log)
                .run()
                .map(drop)
                .map_err(anyhow::Error::from)
        }
    })?;
    let _ = std::fs::remove_file(staging.dir().join(HEAD_FILE));
    let disk_sha256 = super::build::sha256_file(&disk)?;
    let vagrant = matches!(kind, Kind::VagrantBox { .. });
    let meta = BoxMeta {
        name: req.name.clone(),
        version: "imported".into(),
        format: super::Format::Disk,
        recipe_hash: String::new(),
        disk_sha256,
        disk_gib: info.virtual_size.div_ceil(1 << 30),
        cmdline: String::new(),
        user: req.user.clone().unwrap_or_else(|| {
            if vagrant {
                crate::ssh::vagrant::VAGRANT_USER
            } else {
                "lab"
            }
            .to_string()
        }),
        built_at: super::build::now_unix(),
        build_seconds: started.elapsed().as_secs(),
        suite: String::new(),
        packages: Vec::new(),
        installed_packages: 0,
        boot: BootMode::Disk,
        firmware,
        source: Some(BoxSource {
            kind: match kind {
                Kind::VagrantBox { .. } => SourceKind::VagrantBox,
                Kind::Qcow2 => SourceKind::Qcow2,
                Kind::Raw => SourceKind::Raw,
            },
            file: shown,
            sha256,
            vagrant_key: vagrant,
        }),
    };
    Ok(staging.commit(&meta)?)
}

/// The kind of `file` and its first [`SNIFF_BYTES`], or a sentence
/// saying it is none lab imports.
fn sniff_file(file: &Path) -> Result<(Kind, Vec<u8>)> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(file)
        .with_context(|| format!("cannot open {}", file.display()))?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let kind = import_sniff::sniff(&head).ok_or_else(|| {
        anyhow::anyhow!(
            "{} is neither a Vagrant box (.box, a tar), a qcow2 image nor a raw disk image with a partition table",
            file.display()
        )
    })?;
    Ok((kind, head))
}

/// How long listing or extracting a box may take (a gzipped box of
/// several GiB is read three times).
const TAR_LIMIT: Duration = Duration::from_secs(1800);
/// Most bytes of `tar -t` output read: names of the members.
const LIST_LIMIT: usize = 4 << 20;

/// Read the box with GNU `tar` (which knows every member format Vagrant
/// and vagrant-libvirt write: sparse entries of `tar -S` and of bsdtar
/// included) to its end, then extract `metadata.json` and the one disk it
/// names into `dir`, by their exact member names: nothing else is
/// written. `(disk path, metadata says uefi)`.
fn unpack_box(file: &Path, dir: &Path) -> Result<(PathBuf, bool)> {
    let listed = Cmd::new("tar")
        .args(["-t", "-f"])
        .arg(file)
        .run_limited(TAR_LIMIT, LIST_LIMIT)
        .map_err(|e| match e {
            crate::process::ProcessError::Failed { stderr, .. } => anyhow::anyhow!(
                "the archive is truncated or damaged ({})",
                stderr
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("tar failed")
                    .trim()
            ),
            e => anyhow::anyhow!("the archive cannot be listed ({e})"),
        })?;
    let member = |want: &str| {
        listed
            .stdout
            .lines()
            .find(|l| l.trim_start_matches("./") == want)
            .map(str::to_string)
    };
    let Some(meta_member) = member("metadata.json") else {
        bail!("it has no metadata.json");
    };
    let metadata = extract(file, &meta_member, dir)?;
    let text = crate::limits::read_to_string(&metadata, crate::limits::OWN_JSON_FILE)
        .map_err(|e| anyhow::anyhow!("its metadata.json cannot be read ({e})"))?;
    let _ = std::fs::remove_file(&metadata);
    if text.len() as u64 > METADATA_LIMIT {
        bail!("its metadata.json is over {} KiB", METADATA_LIMIT / 1024);
    }
    let want = import_sniff::box_disk(&text).map_err(|why| anyhow::anyhow!("it {why}"))?;
    let Some(disk_member) = member(&want.path) else {
        bail!("it has no {} (its metadata.json names it)", want.path);
    };
    let disk = extract(file, &disk_member, dir)?;
    Ok((disk, want.uefi))
}

/// Extract the member `name` of `file` into `dir` and return its path;
/// it must come out as a regular file (a link named `box.img` is refused).
fn extract(file: &Path, name: &str, dir: &Path) -> Result<PathBuf> {
    Cmd::new("tar")
        .args(["-x", "--no-same-owner", "--no-same-permissions", "-f"])
        .arg(file)
        .arg("-C")
        .arg(dir)
        .arg("--")
        .arg(name)
        .run_limited(TAR_LIMIT, LIST_LIMIT)
        .map_err(|e| anyhow::anyhow!("{name} cannot be extracted ({e})"))?;
    let path = dir.join(name.trim_start_matches("./"));
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        _ => bail!(
            "its {} is not a regular file",
            name.trim_start_matches("./")
        ),
    }
}

/// What `qemu-img info` says of an image that passed the checks.
struct ImageInfo {
    /// Bytes the guest sees.
    virtual_size: u64,
}

/// `qemu-img check` (qcow2: every cluster inside the file) and `qemu-img
/// info` of an image whose qcow2 header passed
/// [`import_sniff::qcow2_header`] (`cluster`: its cluster size in bytes,
/// 0 for raw): refuse a backing file or an external data file, and an
/// empty disk.
fn check_image(image: &Path, format: &str, cluster: u64) -> Result<ImageInfo> {
    if format == "qcow2" {
        let damaged = || {
            anyhow::anyhow!(
                "its qcow2 image is damaged or truncated (see `qemu-img check {}`)",
                image.display()
            )
        };
        let checked = Cmd::new("qemu-img")
            .args(["check", "-U", "--output=json", "-f", "qcow2"])
            .arg(image)
            .run_limited(QEMU_IMG_LIMIT, QEMU_IMG_OUTPUT);
        let end = match checked {
            Ok(out) => serde_json::from_str::<serde_json::Value>(&out.stdout)
                .ok()
                .and_then(|v| v.get("image-end-offset")?.as_u64()),
            // 3: leaked clusters only, wasted space but intact data.
            Err(crate::process::ProcessError::Failed { status, .. })
                if status == "exit status 3" =>
            {
                None
            }
            Err(_) => return Err(damaged()),
        };
        // A cut through an L2 table hides the clusters it mapped from the
        // check; the file then ends a cluster or more before the image
        // does (a last cluster may be short: compressed ones are).
        let len = std::fs::metadata(image).map_or(0, |m| m.len());
        if end.is_some_and(|end| end > len + cluster) {
            return Err(damaged());
        }
    }
    let out = Cmd::new("qemu-img")
        .args(["info", "-U", "--output=json", "-f", format])
        .arg(image)
        .run_limited(QEMU_IMG_LIMIT, QEMU_IMG_OUTPUT)?;
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).context("qemu-img info printed no JSON")?;
    if let Some(b) = v
        .get("backing-filename")
        .or_else(|| v.get("full-backing-filename"))
    {
        bail!(
            "its image has a backing file ({b}); give lab a standalone image (`qemu-img convert` makes one)"
        );
    }
    if let Some(d) = v.pointer("/format-specific/data/data-file") {
        bail!("its image keeps its data in an external file ({d}); give lab a standalone image");
    }
    let virtual_size = v.get("virtual-size").and_then(|s| s.as_u64()).unwrap_or(0);
    if virtual_size < TABLE_BYTES as u64 {
        bail!("its disk is empty ({virtual_size} bytes)");
    }
    Ok(ImageInfo { virtual_size })
}

/// How long `qemu-img check` or `info` may take (check reads every
/// table of a many-GiB image).
const QEMU_IMG_LIMIT: Duration = Duration::from_secs(600);
/// Most bytes of their output read.
const QEMU_IMG_OUTPUT: usize = 1 << 20;

/// Scratch file for the partition table read out of a qcow2.
const HEAD_FILE: &str = "head.raw";

/// The first [`TABLE_BYTES`] of the disk in `image`.
fn read_table(image: &Path, format: &str, dir: &Path, log: &Path) -> Result<Vec<u8>> {
    let raw = if format == "raw" {
        image.to_path_buf()
    } else {
        let out = dir.join(HEAD_FILE);
        Cmd::new("qemu-img")
            .args(["dd", "-f", format, "-O", "raw", "bs=512"])
            .arg(format!("count={}", TABLE_BYTES / 512))
            .arg(format!("if={}", image.display()))
            .arg(format!("of={}", out.display()))
            .log_to(log)
            .run()?;
        out
    };
    let mut head = Vec::with_capacity(TABLE_BYTES);
    std::fs::File::open(&raw)?
        .take(TABLE_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
