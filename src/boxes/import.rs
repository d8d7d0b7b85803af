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
use std::time::Instant;

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
    if !file.is_file() {
        bail!("{shown} is not a file");
    }
    let kind = sniff_file(&file)?;
    if !req.force && store.get(&req.name)?.is_some() {
        bail!(
            "box `{}` is in the store already; choose another --name, or give --force to replace it",
            req.name
        );
    }
    let staging = store.stage(&req.name)?;
    super::build::start_log(log)?;
    let sha256 = run_phase(reporter, "checksum", || super::build::sha256_file(&file))?;
    let (image, format, metadata_uefi) = match kind {
        Kind::VagrantBox { gzip } => {
            let (disk, uefi) = run_phase(reporter, "unpacking the box", || {
                unpack_box(&file, gzip, staging.dir())
            })
            .map_err(|e| anyhow::anyhow!("{shown} is not a usable Vagrant box: {e:#}"))?;
            (disk, "qcow2", uefi)
        }
        Kind::Qcow2 => (file.clone(), "qcow2", false),
        Kind::Raw => {
            let len = std::fs::metadata(&file)?.len();
            if len % 512 != 0 {
                bail!(
                    "{shown} is {len} bytes, not whole 512-byte sectors: it is truncated, or not a raw disk image"
                );
            }
            (file.clone(), "raw", false)
        }
    };
    let info = run_phase(reporter, "checking the image", || {
        check_image(&image, format)
    })
    .map_err(|e| anyhow::anyhow!("{shown} cannot be imported: {e:#}"))?;
    let head = read_table(&image, format, staging.dir(), log)?;
    let found = import_sniff::firmware_of(&head).map_err(|why| {
        let what = if image == file {
            shown.clone()
        } else {
            format!("the disk in {shown}")
        };
        anyhow::anyhow!(
            "{what} {why}; lab imports disks that boot from their own bootloader (BIOS or UEFI)"
        )
    })?;
    let firmware = req
        .firmware
        .unwrap_or(if metadata_uefi { Firmware::Uefi } else { found });
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

/// The kind of `file`, from its first bytes, or a sentence saying it is
/// none lab imports.
fn sniff_file(file: &Path) -> Result<Kind> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(file)
        .with_context(|| format!("cannot open {}", file.display()))?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {}", file.display()))?;
    import_sniff::sniff(&head).ok_or_else(|| {
        anyhow::anyhow!(
            "{} is neither a Vagrant box (.box, a tar), a qcow2 image nor a raw disk image with a partition table",
            file.display()
        )
    })
}

/// Read the box to its end, keeping `metadata.json` and the disk it
/// names (extracted into `dir`); `(disk path, metadata says uefi)`.
/// Member names are only compared, never used as paths: the disk is
/// written under a name of ours.
fn unpack_box(file: &Path, gzip: bool, dir: &Path) -> Result<(PathBuf, bool)> {
    let reader: Box<dyn Read> = {
        let f = std::fs::File::open(file)?;
        if gzip {
            Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(f)))
        } else {
            Box::new(std::io::BufReader::new(f))
        }
    };
    let mut archive = tar::Archive::new(reader);
    let mut metadata = None;
    let mut images: Vec<(String, PathBuf)> = Vec::new();
    let damaged = |e: std::io::Error| anyhow::anyhow!("the archive is truncated or damaged ({e})");
    for (i, entry) in archive.entries().map_err(damaged)?.enumerate() {
        let mut entry = entry.map_err(damaged)?;
        let name = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        let name = name.trim_start_matches("./").to_string();
        if !entry.header().entry_type().is_file() || name.contains('/') {
            continue;
        }
        if name == "metadata.json" {
            let mut text = String::new();
            (&mut entry)
                .take(METADATA_LIMIT + 1)
                .read_to_string(&mut text)
                .map_err(damaged)?;
            if text.len() as u64 > METADATA_LIMIT {
                bail!("its metadata.json is over {} KiB", METADATA_LIMIT / 1024);
            }
            metadata = Some(text);
        } else if name.ends_with(".img") {
            let out = dir.join(format!("member-{i}.img"));
            let mut w = std::fs::File::create(&out)?;
            std::io::copy(&mut entry, &mut w).map_err(damaged)?;
            images.push((name, out));
        }
    }
    // Read on to the end: the tar reader stops at the last member it was
    // asked for, and gzip checks its CRC only at the end of the stream.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).map_err(damaged)?;
    let Some(metadata) = metadata else {
        bail!("it has no metadata.json");
    };
    let want = import_sniff::box_disk(&metadata).map_err(|why| anyhow::anyhow!("it {why}"))?;
    let mut disk = None;
    for (name, path) in images {
        if name == want.path {
            disk = Some(path);
        } else {
            let _ = std::fs::remove_file(path);
        }
    }
    let disk = disk
        .ok_or_else(|| anyhow::anyhow!("it has no {} (its metadata.json names it)", want.path))?;
    Ok((disk, want.uefi))
}

/// What `qemu-img info` says of an image that passed the checks.
struct ImageInfo {
    /// Bytes the guest sees.
    virtual_size: u64,
}

/// `qemu-img check` (qcow2: every cluster inside the file) and `qemu-img
/// info`: refuse a backing file or an external data file, and an empty disk.
fn check_image(image: &Path, format: &str) -> Result<ImageInfo> {
    if format == "qcow2" {
        let damaged = || {
            anyhow::anyhow!(
                "its qcow2 image is damaged or truncated (see `qemu-img check {}`)",
                image.display()
            )
        };
        let checked = Cmd::new("qemu-img")
            .args(["check", "--output=json", "-f", "qcow2"])
            .arg(image)
            .run();
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
        // check; the file still ends before the image does.
        if end.is_some_and(|end| end > std::fs::metadata(image).map_or(0, |m| m.len())) {
            return Err(damaged());
        }
    }
    let out = Cmd::new("qemu-img")
        .args(["info", "--output=json", "-f", format])
        .arg(image)
        .run()?;
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
