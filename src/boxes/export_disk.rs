//! The disk of an export ([`super::export`]): a box's root file system
//! copied out of the store into a raw file, the vagrant user
//! ([`super::vagrant_user`]) and GRUB's configuration added, the file
//! system checked and shrunk by the 1 MiB before its partition, then
//! GRUB and the partition table ([`super::bootdisk`]) and the file system
//! written at their offsets into a new qcow2. Everything happens in the
//! export's temporary directory; the store's box is only read.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::bootdisk::{self, Layout};
use super::build::ROOT_LABEL;
use super::debugfs::{Edits, Image, Kind};
use super::store::StoredBox;
use super::vagrant_user;
use crate::process::Cmd;
use crate::ui::progress::{Reporter, run_phase};

/// The bootable qcow2 of box `b` in `work`: the root file system copied
/// out of the store, the vagrant user and GRUB's configuration added, the
/// file system fitted into its partition, then GRUB and the partition
/// table in front of it.
pub(super) fn make_disk(
    b: &StoredBox,
    layout: &Layout,
    work: &Path,
    log: &Path,
    reporter: &dyn Reporter,
) -> Result<PathBuf> {
    let root = work.join("root.raw");
    let scratch = work.join("scratch");
    std::fs::create_dir(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    run_phase(
        reporter,
        "copy the root file system (qemu-img convert)",
        || {
            Cmd::new("qemu-img")
                .args(["convert", "-f", "qcow2", "-O", "raw"])
                .arg(b.disk())
                .arg(&root)
                .log_to(log)
                .run()?;
            let label = Cmd::new("e2label").arg(&root).run()?.stdout;
            if label.trim() != ROOT_LABEL {
                bail!(
                    "the root file system of box `{}` is labelled {}, not {ROOT_LABEL}, which the exported disk boots from; build the box again with `lab box build {} --force`",
                    b.meta.name,
                    crate::names::quoted(label.trim()),
                    b.meta.name
                );
            }
            Ok(())
        },
    )?;

    run_phase(
        reporter,
        "add the vagrant user and GRUB's configuration (debugfs)",
        || {
            let img = Image::new(&root, &scratch, log);
            vagrant_user::add_to_image(&img, super::build::now_unix() / 86400)?;
            write_grub_cfg(&img, b)
        },
    )?;

    run_phase(
        reporter,
        "check the file system and fit it into its partition (e2fsck, resize2fs)",
        || {
            Cmd::new("e2fsck").arg("-fn").arg(&root).log_to(log).run()?;
            Cmd::new("resize2fs")
                .arg(&root)
                .arg(format!("{}K", layout.root_bytes() >> 10))
                .log_to(log)
                .run()
        },
    )?;

    let head = run_phase(reporter, "make GRUB's core image (grub-mkimage)", || {
        let core = bootdisk::make_core_img(&work.join("core.img"), log)?;
        let mut id = [0u8; 4];
        getrandom::fill(&mut id).expect("the OS random source works");
        bootdisk::head(
            &bootdisk::read_boot_img()?,
            &core,
            layout,
            u32::from_le_bytes(id),
        )
    })?;
    std::fs::write(work.join("head.raw"), head).context("cannot write the disk's first MiB")?;

    let disk = work.join("box.img");
    run_phase(
        reporter,
        "write the bootable disk (qemu-img)",
        || -> Result<()> {
            let total = layout.disk_bytes.to_string();
            Cmd::new("qemu-img")
                .args(["create", "-f", "qcow2", "box.img", &total])
                .cwd(work)
                .log_to(log)
                .run()?;
            // Into the new (all zero) qcow2 at their offsets: the first MiB,
            // then the root file system. Relative names: no `,` to escape.
            let (offset, size) = (layout.root_offset(), layout.root_bytes());
            let into = |offset: u64, size: u64| {
                format!(
                    "driver=raw,offset={offset},size={size},file.driver=qcow2,file.file.filename=box.img"
                )
            };
            Cmd::new("qemu-img")
                .args(["convert", "-n", "--target-is-zero", "-f", "raw", "head.raw"])
                .args(["--target-image-opts", &into(0, offset)])
                .cwd(work)
                .log_to(log)
                .run()?;
            Cmd::new("qemu-img")
                .args(["convert", "-n", "--target-is-zero", "--image-opts"])
                .arg(format!(
                    "driver=raw,size={size},file.driver=file,file.filename=root.raw"
                ))
                .args(["--target-image-opts", &into(offset, size)])
                .cwd(work)
                .log_to(log)
                .run()?;
            Ok(())
        },
    )?;
    std::fs::remove_file(&root).with_context(|| format!("cannot remove {}", root.display()))?;
    Ok(disk)
}

/// `/boot/grub/grub.cfg` in the image: boot `/vmlinuz` and `/initrd.img`
/// when the image has these links, else the newest `/boot/vmlinuz-*`
/// with its initrd (the kernel `lab box build` copied out), with the
/// box's command line, root by label.
fn write_grub_cfg(img: &Image, b: &StoredBox) -> Result<()> {
    let links = img.stat("/vmlinuz")?.is_some() && img.stat("/initrd.img")?.is_some();
    let (kernel, initrd) = if links {
        ("/vmlinuz".to_string(), "/initrd.img".to_string())
    } else {
        let names = img.list("/boot")?;
        let mut versions: Vec<&str> = names
            .iter()
            .filter_map(|n| n.strip_prefix("vmlinuz-"))
            .filter(|v| names.iter().any(|n| *n == format!("initrd.img-{v}")))
            .collect();
        versions.sort();
        let Some(v) = versions.pop() else {
            bail!(
                "the image of box `{}` has no /vmlinuz link and no kernel with its initrd in /boot; GRUB has nothing to boot",
                b.meta.name
            );
        };
        (
            format!("/boot/vmlinuz-{v}"),
            format!("/boot/initrd.img-{v}"),
        )
    };
    let cmdline = bootdisk::boot_cmdline(&b.meta.cmdline, ROOT_LABEL);
    let cfg = bootdisk::grub_cfg(&b.meta.name, &kernel, &initrd, &cmdline);
    let mut edits = Edits::default();
    match img.stat("/boot/grub")?.map(|i| i.kind) {
        None => edits.mkdir("/boot/grub", 0o755, 0, 0)?,
        Some(Kind::Dir) => {}
        Some(other) => bail!(
            "/boot/grub in the image of box `{}` is not a directory ({other:?})",
            b.meta.name
        ),
    }
    let exists = img.stat(bootdisk::GRUB_CFG_PATH)?.is_some();
    edits.write(
        bootdisk::GRUB_CFG_PATH,
        cfg.as_bytes(),
        exists,
        (0o644, 0, 0),
    )?;
    img.apply(&edits)
}
