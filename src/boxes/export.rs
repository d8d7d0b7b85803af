//! `lab box export NAME -o FILE`: a disk box of the store as a disk that
//! boots by itself from a PC BIOS ([`super::bootdisk`], made by
//! [`super::export_disk`]), with the `vagrant` user Vagrant boxes have
//! ([`super::vagrant_user`]), written as a Vagrant box of the libvirt
//! provider (`FILE.box`, see [`super::vagrant_box`]) or as the bare qcow2
//! (`FILE.qcow2`: a cloud image, since every lab box has cloud-init).
//!
//! The store's box is never changed: its disk is copied to a raw file in
//! a temporary directory beside FILE, changed there (debugfs, e2fsck,
//! resize2fs: no mount, no root), assembled with GRUB into a new qcow2,
//! and only the finished file is moved to FILE. A failed export removes
//! its temporary directory; one that was killed leaves it (named
//! `.FILE.lab-export-PID-XXXXXX`), and the next export into that directory
//! removes it once process PID is gone.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::bootdisk::{self, Layout};
use super::build::Refused;
use super::store::{Store, StoredBox};
use super::{Format, vagrant_box};
use crate::error::InvalidInput;
use crate::process::Cmd;
use crate::ui::progress::{Reporter, run_phase};

/// What `-o FILE` asks for, by FILE's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `.box`: a Vagrant box of the libvirt provider.
    VagrantBox,
    /// `.qcow2`: the bootable disk alone.
    Qcow2,
}

impl Target {
    /// The target `path` names; any extension but `.box` and `.qcow2` is
    /// refused as invalid input.
    pub fn of(path: &Path) -> Result<Target, InvalidInput> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("box") => Ok(Target::VagrantBox),
            Some("qcow2") => Ok(Target::Qcow2),
            _ => Err(InvalidInput {
                summary: format!(
                    "{} names neither a Vagrant box nor a disk image: end it in .box (a Vagrant box of the libvirt provider) or .qcow2 (the bootable disk alone)",
                    path.display()
                ),
            }),
        }
    }

    /// What the file is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Target::VagrantBox => "a Vagrant box (libvirt provider)",
            Target::Qcow2 => "a bootable qcow2 disk",
        }
    }
}

/// The programs an export runs.
pub const EXPORT_TOOLS: [&str; 6] = [
    "qemu-img",
    "debugfs",
    "e2fsck",
    "resize2fs",
    "e2label",
    "grub-mkimage",
];

/// Whether this host can export boxes: every [`EXPORT_TOOLS`] program
/// found and GRUB's BIOS images installed; the error is a sentence with
/// the fix. (No root needed.)
pub fn check_tools() -> Result<(), Refused> {
    let missing: Vec<&str> = EXPORT_TOOLS
        .into_iter()
        .filter(|t| crate::process::find_program(t).is_none())
        .collect();
    if !missing.is_empty() {
        let verb = if missing.len() == 1 { "is" } else { "are" };
        return Err(Refused(format!(
            "{} {verb} not installed (exporting a box runs {}); {}",
            crate::process::and_list(&missing),
            if missing.len() == 1 { "it" } else { "them" },
            crate::process::install_hint(&missing)
        )));
    }
    if !bootdisk::grub_installed() {
        return Err(Refused(bootdisk::missing_grub()));
    }
    Ok(())
}

/// Where an export of box `name` writes the output of its tools.
pub fn export_log(name: &str) -> PathBuf {
    crate::paths::lab_home()
        .join("logs")
        .join(format!("export-{name}.log"))
}

/// A finished export.
#[derive(Debug)]
pub struct Exported {
    pub path: PathBuf,
    pub target: Target,
    /// Size of the file written.
    pub bytes: u64,
}

/// Export box `name` of `store` to `output` ([`Target::of`] its
/// extension), replacing a file there only when `force`; tools write to
/// `log`. Refused before anything is written (invalid input, exit status
/// 2): an unknown extension, a box that is not in the store or is a
/// rootfs, an existing `output` without `force`, a directory that does
/// not exist.
pub fn export(
    store: &Store,
    name: &str,
    output: &Path,
    force: bool,
    log: &Path,
    reporter: &dyn Reporter,
) -> Result<Exported> {
    let target = Target::of(output)?;
    let b = disk_box(store, name)?;
    let dir = check_output(output, force)?;
    // Never into the store: `--force` would overwrite a box's own files.
    if let (Ok(d), Ok(root)) = (dir.canonicalize(), store.root().canonicalize())
        && d.starts_with(&root)
    {
        return Err(InvalidInput {
            summary: format!(
                "{} is inside the box store {}; write the export somewhere else",
                output.display(),
                root.display()
            ),
        }
        .into());
    }
    check_tools()?;
    let layout = layout_of(&b)?;
    clean_stale(&dir);
    let file_name = output.file_name().unwrap_or_default().to_string_lossy();
    let work = tempfile::Builder::new()
        .prefix(&format!(".{file_name}{STALE_MARK}{}-", std::process::id()))
        .tempdir_in(&dir)
        .with_context(|| format!("cannot create a temporary directory in {}", dir.display()))?;
    crate::interrupt::set_message(&format!(
        "interrupted; {} holds the unfinished export (the next `lab box export` into {} removes it)",
        work.path().display(),
        dir.display()
    ));
    super::build::start_log(log)?;
    reporter.line(&format!(
        "exporting box {name} as {} to {} (log: {})",
        target.describe(),
        output.display(),
        log.display()
    ));
    let made = write_target(&b, target, &layout, work.path(), log, reporter)
        .map_err(|e| failed(name, log, e))?;
    crate::files::set_mode(&made, crate::files::PUBLIC_FILE)?;
    publish(&made, output, force)?;
    let bytes = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
    Ok(Exported {
        path: output.to_owned(),
        target,
        bytes,
    })
}

/// The finished file of box `b` for `target`, in `work`.
fn write_target(
    b: &StoredBox,
    target: Target,
    layout: &Layout,
    work: &Path,
    log: &Path,
    reporter: &dyn Reporter,
) -> Result<PathBuf> {
    let disk = super::export_disk::make_disk(b, layout, work, log, reporter)?;
    match target {
        Target::Qcow2 => Ok(disk),
        Target::VagrantBox => {
            let file = work.join("out.box");
            run_phase(reporter, "pack the Vagrant box (tar)", || {
                vagrant_box::write(&file, &disk, &b.meta.name, layout.disk_bytes >> 30)
            })?;
            Ok(file)
        }
    }
}

/// `err` of exporting box `name` with context: "exporting box NAME
/// failed", and where its log is unless the error names it already (a
/// tool that failed does).
fn failed(name: &str, log: &Path, err: anyhow::Error) -> anyhow::Error {
    let shown = log.display().to_string();
    if err.chain().any(|e| e.to_string().contains(&shown)) {
        err.context(format!("exporting box {name} failed"))
    } else {
        err.context(format!("exporting box {name} failed (log: {shown})"))
    }
}

/// The stored disk box `name`, complete; refused as invalid input when
/// it is not in the store or is a rootfs.
fn disk_box(store: &Store, name: &str) -> Result<StoredBox> {
    let Some(b) = store.get(name)? else {
        return Err(InvalidInput {
            summary: format!(
                "box `{name}` is not in the store: `lab box list` shows the boxes there, `lab box build {name}` builds it from its recipe"
            ),
        }
        .into());
    };
    if b.meta.format == Format::Rootfs {
        return Err(InvalidInput {
            summary: format!(
                "box `{name}` is a root filesystem for containers (format: rootfs), not a VM disk; only disk boxes can be exported"
            ),
        }
        .into());
    }
    if b.meta.boot == super::store::BootMode::Disk {
        let from = b
            .meta
            .source
            .as_ref()
            .map(|s| format!(" from {}", s.file))
            .unwrap_or_default();
        return Err(InvalidInput {
            summary: format!(
                "box `{name}` was imported{from} and boots from its own disk: export writes boxes built from recipes; the import's source file is already a box"
            ),
        }
        .into());
    }
    if let Some(file) = b.missing() {
        return Err(super::store::StoreError::Incomplete {
            name: name.to_string(),
            file,
        }
        .into());
    }
    Ok(b)
}

/// The directory `output` goes to, once it is sure nothing is in the
/// way: the directory exists, and `output` is not a directory nor (unless
/// `force`) any other file.
fn check_output(output: &Path, force: bool) -> Result<PathBuf, InvalidInput> {
    let refuse = |summary: String| InvalidInput { summary };
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(refuse(format!(
            "cannot write {}: the directory {} does not exist; create it first, or name a file in a directory that exists",
            output.display(),
            dir.display()
        )));
    }
    match std::fs::symlink_metadata(output) {
        Ok(meta) if meta.is_dir() => Err(refuse(format!(
            "{} is a directory; name the file to write, e.g. {}",
            output.display(),
            output.join("box.box").display()
        ))),
        Ok(_) if !force => Err(refuse(exists(output))),
        _ => Ok(dir),
    }
}

fn exists(output: &Path) -> String {
    format!(
        "{} exists already; nothing was written: pass --force to replace it, or choose another name",
        output.display()
    )
}

/// The disk's layout: its virtual size (from `qemu-img info`) must be the
/// box.json's `disk_gib`.
fn layout_of(b: &StoredBox) -> Result<Layout> {
    let out = Cmd::new("qemu-img")
        .args(["info", "--output=json", "-f", "qcow2"])
        .arg(b.disk())
        .run()?;
    let info: serde_json::Value = serde_json::from_str(&out.stdout)
        .with_context(|| format!("qemu-img info printed no JSON for {}", b.disk().display()))?;
    let bytes = info["virtual-size"].as_u64().unwrap_or(0);
    let name = &b.meta.name;
    if bytes != b.meta.disk_gib << 30 {
        bail!(
            "the disk of box `{name}` is {bytes} bytes but its box.json says {} GiB; remove the box with `lab box remove {name}` and build it again",
            b.meta.disk_gib
        );
    }
    Layout::new(bytes).map_err(|why| anyhow::anyhow!("box `{name}` cannot be exported: {why}"))
}

/// Move the finished file `made` to `output`: replacing what is there
/// when `force`, else only when nothing is (a file that appeared since
/// the check is not replaced).
fn publish(made: &Path, output: &Path, force: bool) -> Result<()> {
    let moved = |e: std::io::Error| {
        anyhow::anyhow!(
            "cannot move {} to {}: {e}",
            made.display(),
            output.display()
        )
    };
    if force {
        return std::fs::rename(made, output).map_err(moved);
    }
    match std::fs::hard_link(made, output) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(InvalidInput {
            summary: exists(output),
        }
        .into()),
        // A file system without hard links: check, then rename.
        Err(_) if std::fs::symlink_metadata(output).is_ok() => Err(InvalidInput {
            summary: exists(output),
        }
        .into()),
        Err(_) => std::fs::rename(made, output).map_err(moved),
    }
}

/// What names an export's temporary directory: `.FILE` + this + `PID-`
/// + 6 random characters.
const STALE_MARK: &str = ".lab-export-";

/// The process id in the name of an export's temporary directory.
fn export_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (_, tail) = rest.rsplit_once(STALE_MARK)?;
    let (pid, random) = tail.split_once('-')?;
    let plain = random.len() == 6 && random.chars().all(|c| c.is_ascii_alphanumeric());
    plain.then(|| pid.parse().ok())?
}

/// Remove the temporary directories in `dir` of exports whose process is
/// gone (killed: a failed export removes its own).
fn clean_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = export_pid(&name) else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && !Path::new(&format!("/proc/{pid}")).exists() {
            tracing::info!(dir = %entry.path().display(), "removing the leftover of an interrupted export");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
