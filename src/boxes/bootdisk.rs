//! The disk of an exported box, bootable by itself from a PC BIOS: an MBR
//! partition table with one partition (the box's ext4 root file system,
//! label [`super::build::ROOT_LABEL`], from 1 MiB to the end of the disk,
//! so it is the last partition and cloud-init's growpart can grow it), and
//! GRUB 2 for BIOS in front of it, laid out as `grub-install` lays it out
//! on a disk but written into the image file directly (no loop device, no
//! root): GRUB's boot sector `boot.img` in the first 440 bytes of the MBR,
//! its core image (`grub-mkimage -O i386-pc`, with the modules to read an
//! ext4 partition and boot Linux) in the sectors between the MBR and the
//! partition. The core reads `/boot/grub/grub.cfg` from the root file
//! system ([`grub_cfg`]), which boots `/vmlinuz` with `/initrd.img`: the
//! links Debian keeps on the newest kernel, so a kernel the guest
//! installs is booted too.
//!
//! Offsets and blocklist format: GRUB's `include/grub/i386/pc/boot.h` and
//! `grub-core/boot/i386/pc/{boot,diskboot}.S`; the partition entry: the
//! MBR format of IBM PC DOS 2.0 as fdisk writes it.

use std::path::Path;

use anyhow::{Result, bail};

use crate::process::Cmd;

/// Bytes per sector of the exported disk (and of GRUB's blocklists).
pub const SECTOR: u64 = 512;
/// First sector of the root partition: 1 MiB, where fdisk and parted put
/// the first partition. GRUB's core image goes in the sectors before it.
pub const ROOT_START_SECTOR: u64 = 2048;
/// Where Debian's `grub-pc-bin` installs GRUB's BIOS images and modules.
pub const GRUB_DIR: &str = "/usr/lib/grub/i386-pc";
/// GRUB's prefix: `/boot/grub` on partition 1 (msdos label) of the disk
/// the BIOS booted from, whatever number the BIOS gave that disk.
pub const GRUB_PREFIX: &str = "(,msdos1)/boot/grub";
/// The modules built into the core image: disk access through the BIOS,
/// the MBR label, ext2/3/4, the configuration file (normal mode), the
/// Linux loader, and a serial console for GRUB's own messages.
pub const GRUB_MODULES: [&str; 7] = [
    "biosdisk",
    "part_msdos",
    "ext2",
    "normal",
    "linux",
    "serial",
    "terminal",
];
/// Where the root file system holds GRUB's configuration.
pub const GRUB_CFG_PATH: &str = "/boot/grub/grub.cfg";

/// boot.img: where it keeps the first sector of the core image (u64 LE).
const KERNEL_SECTOR_AT: usize = 0x5c;
/// boot.img: the BIOS drive to read from; 0xff means "the one booted from".
const BOOT_DRIVE_AT: usize = 0x64;
/// boot.img: a two-byte `jmp` over the check of the BIOS drive number,
/// which `grub-bios-setup` turns into two `nop`s on hard disks (some
/// BIOSes pass a wrong drive number).
const DRIVE_CHECK_AT: usize = 0x66;
/// The MBR: boot code ends here; then the disk id, the partition table
/// (4 entries of 16 bytes) and the signature 0x55 0xaa.
const CODE_END: usize = 440;
const PARTITION_TABLE_AT: usize = 446;
const SIGNATURE_AT: usize = 510;
/// diskboot.img (the core image's first sector): its blocklist, the last
/// 12 bytes of the sector: first sector (u64 LE), count (u16 LE), memory
/// segment to load them to (u16 LE).
const BLOCKLIST_LEN: usize = 12;
/// The segment diskboot.img loads the rest of the core image to
/// (`GRUB_BOOT_MACHINE_KERNEL_SEG + 0x20`).
const CORE_SEGMENT: u16 = 0x820;
/// MBR partition type of a Linux file system.
const LINUX_PARTITION: u8 = 0x83;
/// The largest disk an MBR describes: 2^32 sectors (2 TiB).
const MAX_SECTORS: u64 = 1 << 32;

/// Where the parts of the exported disk go, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Virtual size of the whole disk.
    pub disk_bytes: u64,
}

impl Layout {
    /// The layout of a disk of `disk_bytes`: a whole number of MiB, more
    /// than the 1 MiB before the partition, and at most 2 TiB (the MBR's
    /// limit). `Err` is a sentence.
    pub fn new(disk_bytes: u64) -> Result<Layout, String> {
        let mib = 1 << 20;
        if !disk_bytes.is_multiple_of(mib) {
            return Err(format!(
                "the disk is {disk_bytes} bytes, not a whole number of MiB"
            ));
        }
        if disk_bytes <= ROOT_START_SECTOR * SECTOR {
            return Err(format!(
                "the disk is {disk_bytes} bytes, too small for a partition after the first MiB"
            ));
        }
        if disk_bytes / SECTOR > MAX_SECTORS {
            return Err(format!(
                "the disk is {} GiB, more than the 2048 GiB an MBR partition table describes",
                disk_bytes >> 30
            ));
        }
        Ok(Layout { disk_bytes })
    }

    /// Byte offset of the root partition (1 MiB).
    pub fn root_offset(&self) -> u64 {
        ROOT_START_SECTOR * SECTOR
    }

    /// Size of the root partition (and of the file system in it), bytes.
    pub fn root_bytes(&self) -> u64 {
        self.disk_bytes - self.root_offset()
    }
}

/// The first MiB of the disk: the MBR (GRUB's boot code from `boot_img`,
/// disk id `disk_id`, one bootable Linux partition over the rest of the
/// disk) and GRUB's core image `core_img` from sector 1, its blocklist
/// pointing to its own sectors. `Err` when either image is not what GRUB
/// 2 for i386-pc makes or does not fit.
pub fn head(boot_img: &[u8], core_img: &[u8], layout: &Layout, disk_id: u32) -> Result<Vec<u8>> {
    let sector = SECTOR as usize;
    if boot_img.len() != sector
        || boot_img[SIGNATURE_AT..] != [0x55, 0xaa]
        || boot_img[DRIVE_CHECK_AT] != 0xeb
    {
        bail!(
            "{GRUB_DIR}/boot.img is not GRUB 2's BIOS boot sector (512 bytes, a short jump at 0x66, signature 55 aa); reinstall it: apt-get install --reinstall grub-pc-bin"
        );
    }
    let core_sectors = core_img.len().div_ceil(sector);
    let room = ROOT_START_SECTOR as usize - 1;
    if core_sectors < 2 || core_sectors > room {
        bail!(
            "GRUB's core image is {} bytes; it must fit in the {room} sectors between the MBR and the partition",
            core_img.len()
        );
    }
    let list_at = sector - BLOCKLIST_LEN;
    if core_img[list_at + 10..sector] != CORE_SEGMENT.to_le_bytes() {
        bail!(
            "GRUB's core image does not start with diskboot.img (no blocklist loading segment 0x820 at the end of its first sector); it must be made with grub-mkimage -O i386-pc"
        );
    }

    let mut head = vec![0u8; (ROOT_START_SECTOR * SECTOR) as usize];
    head[..CODE_END].copy_from_slice(&boot_img[..CODE_END]);
    head[KERNEL_SECTOR_AT..KERNEL_SECTOR_AT + 8].copy_from_slice(&1u64.to_le_bytes());
    head[BOOT_DRIVE_AT] = 0xff;
    head[DRIVE_CHECK_AT..DRIVE_CHECK_AT + 2].copy_from_slice(&[0x90, 0x90]);
    head[CODE_END..CODE_END + 4].copy_from_slice(&disk_id.to_le_bytes());
    head[PARTITION_TABLE_AT..PARTITION_TABLE_AT + 16].copy_from_slice(&partition_entry(layout));
    head[SIGNATURE_AT..SIGNATURE_AT + 2].copy_from_slice(&[0x55, 0xaa]);

    // The core image from sector 1; its first sector (diskboot.img) loads
    // the others, sectors 2 onwards.
    let core = &mut head[sector..sector + core_img.len()];
    core.copy_from_slice(core_img);
    let rest = (core_sectors - 1) as u16;
    core[list_at..list_at + 8].copy_from_slice(&2u64.to_le_bytes());
    core[list_at + 8..list_at + 10].copy_from_slice(&rest.to_le_bytes());
    core[list_at + 10..list_at + 12].copy_from_slice(&CORE_SEGMENT.to_le_bytes());
    Ok(head)
}

/// The partition table's first entry: bootable, Linux, from
/// [`ROOT_START_SECTOR`] to the end of the disk.
fn partition_entry(layout: &Layout) -> [u8; 16] {
    let start = ROOT_START_SECTOR;
    let count = layout.root_bytes() / SECTOR;
    let mut entry = [0u8; 16];
    entry[0] = 0x80;
    entry[1..4].copy_from_slice(&chs(start));
    entry[4] = LINUX_PARTITION;
    entry[5..8].copy_from_slice(&chs(start + count - 1));
    entry[8..12].copy_from_slice(&(start as u32).to_le_bytes());
    entry[12..16].copy_from_slice(&(count as u32).to_le_bytes());
    entry
}

/// Cylinder/head/sector of `lba` in an entry (255 heads, 63 sectors per
/// track, as fdisk computes it); past cylinder 1023 the largest value,
/// which tells BIOSes to use the LBA fields.
fn chs(lba: u64) -> [u8; 3] {
    const HEADS: u64 = 255;
    const SECTORS: u64 = 63;
    let cylinder = lba / (HEADS * SECTORS);
    if cylinder > 1023 {
        return [0xfe, 0xff, 0xff];
    }
    let head = (lba / SECTORS) % HEADS;
    let sector = lba % SECTORS + 1;
    [
        head as u8,
        sector as u8 | ((cylinder >> 2) & 0xc0) as u8,
        (cylinder & 0xff) as u8,
    ]
}

/// The box's kernel command line with the root file system found by its
/// label: every `root=` word becomes `root=LABEL=<label>` (added in front
/// when there is none), `cloud-init=disabled` is dropped (lab's direct
/// kernel boot applies the seed without cloud-init; a disk booted on its
/// own, by Vagrant or as a cloud image, needs cloud-init), the other words
/// stay as they are, in order (`console=ttyS0,...` included).
pub fn boot_cmdline(cmdline: &str, label: &str) -> String {
    let root = format!("root=LABEL={label}");
    let mut words: Vec<&str> = Vec::new();
    let mut seen = false;
    for word in cmdline.split_whitespace() {
        if word == "cloud-init=disabled" {
            continue;
        }
        if word.starts_with("root=") {
            if !seen {
                words.push(&root);
                seen = true;
            }
        } else {
            words.push(word);
        }
    }
    if !seen {
        words.insert(0, &root);
    }
    words.join(" ")
}

/// `/boot/grub/grub.cfg` of the exported disk: GRUB's messages on the
/// serial console too, no menu, boot `kernel` with `initrd` and `cmdline`
/// (each word quoted for GRUB's shell-like script) under the menu title
/// `title`.
pub fn grub_cfg(title: &str, kernel: &str, initrd: &str, cmdline: &str) -> String {
    let args: Vec<String> = cmdline.split_whitespace().map(grub_quote).collect();
    format!(
        "# Written by `lab box export`: GRUB for BIOS (in the disk's first MiB)\n\
         # reads this file from the root file system and boots the kernel below.\n\
         serial --unit=0 --speed=115200\n\
         terminal_input serial console\n\
         terminal_output serial console\n\
         set timeout=0\n\
         menuentry {} {{\n\
         \tlinux {} {}\n\
         \tinitrd {}\n\
         }}\n",
        grub_quote(title),
        grub_quote(kernel),
        args.join(" "),
        grub_quote(initrd)
    )
}

/// `word` for GRUB's script: as it is when it has only characters GRUB
/// takes literally, else in single quotes (a `'` inside as `'\''`, as in
/// a POSIX shell).
fn grub_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.,/:=+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// GRUB's boot sector, `boot.img` in [`GRUB_DIR`]; `Err` says to install
/// grub-pc-bin when it is not there.
pub fn read_boot_img() -> Result<Vec<u8>> {
    let path = Path::new(GRUB_DIR).join("boot.img");
    match std::fs::read(&path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(missing_grub()),
        Err(e) => bail!("cannot read {}: {e}", path.display()),
    }
}

/// Whether GRUB's BIOS images are installed ([`GRUB_DIR`] with `boot.img`
/// and the modules' list).
pub fn grub_installed() -> bool {
    let dir = Path::new(GRUB_DIR);
    dir.join("boot.img").is_file() && dir.join("moddep.lst").is_file()
}

/// The sentence for GRUB's BIOS images missing.
pub fn missing_grub() -> String {
    format!(
        "GRUB for BIOS is not installed (no {GRUB_DIR}/boot.img): an exported box boots with it; install it: apt-get install grub-pc-bin (in a checkout of lab: scripts/setup-host)"
    )
}

/// Make GRUB's core image at `out` with `grub-mkimage` (output to `log`)
/// and return it.
pub fn make_core_img(out: &Path, log: &Path) -> Result<Vec<u8>> {
    Cmd::new("grub-mkimage")
        .args(["-O", "i386-pc", "-d", GRUB_DIR, "-p", GRUB_PREFIX, "-o"])
        .arg(out)
        .args(GRUB_MODULES)
        .log_to(log)
        .run()?;
    std::fs::read(out).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", out.display()))
}

#[cfg(test)]
#[path = "bootdisk_tests.rs"]
mod tests;
