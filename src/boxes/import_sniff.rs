//! What a file given to `lab box import` is, from its first bytes, and
//! what firmware its disk needs, from its partition table. Pure functions
//! over byte slices.
//!
//! Formats: gzip (RFC 1952 magic `1f 8b`); POSIX tar (`ustar` at offset
//! 257); qcow2 (`QFI\xfb`, <https://qemu-project.gitlab.io/qemu/interop/qcow2.html>);
//! a raw disk has an MBR boot signature `55 aa` at offset 510 (a GPT disk
//! has one too, in its protective MBR; UEFI spec 2.10, section 5).

use super::origin::Firmware;

/// Bytes of a file's head [`sniff`] looks at.
pub const SNIFF_BYTES: usize = 1024;
/// Bytes of a disk's head [`firmware_of`] needs: the MBR, the GPT header
/// (LBA 1) and 32 sectors of partition entries (128 entries of 128 bytes).
pub const TABLE_BYTES: usize = 34 * 512;

/// What kind of file an import was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A tar, gzipped (`gzip: true`) or not: a Vagrant box.
    VagrantBox {
        gzip: bool,
    },
    Qcow2,
    /// A raw disk image with a partition table.
    Raw,
}

/// Tell what `head` (the first [`SNIFF_BYTES`] of a file, or all of a
/// shorter one) starts. `None`: none of the formats `lab` imports.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(Kind::VagrantBox { gzip: true });
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Some(Kind::VagrantBox { gzip: false });
    }
    if head.starts_with(b"QFI\xfb") {
        return Some(Kind::Qcow2);
    }
    if head.len() >= 512 && head[510..512] == [0x55, 0xaa] {
        return Some(Kind::Raw);
    }
    None
}

/// What a qcow2 header (the first bytes of the file, at least 104) says
/// lab must know before any tool opens the image: `Ok(cluster size in
/// bytes)`, or `Err` (a sentence fragment) for an image that would make
/// QEMU open another file: a backing file (header field
/// `backing_file_offset` non-zero) or an external data file (incompatible
/// feature bit 2, qcow2 version 3). Layout: QEMU's `docs/interop/qcow2.txt`.
pub fn qcow2_header(head: &[u8]) -> Result<u64, String> {
    if head.len() < 104 || !head.starts_with(b"QFI\xfb") {
        return Err("is not a qcow2 image".into());
    }
    let be32 = |o: usize| u32::from_be_bytes(head[o..o + 4].try_into().expect("4 bytes"));
    let be64 = |o: usize| u64::from_be_bytes(head[o..o + 8].try_into().expect("8 bytes"));
    let version = be32(4);
    if be64(8) != 0 {
        return Err(
            "has a backing file; give lab a standalone image (`qemu-img convert` makes one)".into(),
        );
    }
    if version >= 3 && be64(72) & 0b100 != 0 {
        return Err("keeps its data in an external file; give lab a standalone image (`qemu-img convert` makes one)".into());
    }
    let bits = be32(20);
    if !(9..=21).contains(&bits) {
        return Err(format!(
            "has a cluster size of 2^{bits} bytes, which qcow2 does not allow"
        ));
    }
    Ok(1 << bits)
}

/// Whether every partition of the table in `head` ends within a disk of
/// `size` bytes; `Err` names the first that does not (the image was cut
/// short, e.g. a raw image truncated by a copy).
pub fn table_fits(head: &[u8], size: u64) -> Result<(), String> {
    let sectors = size / 512;
    let le32 = |o: usize| u32::from_le_bytes(head[o..o + 4].try_into().expect("4 bytes")) as u64;
    let le64 = |o: usize| u64::from_le_bytes(head[o..o + 8].try_into().expect("8 bytes"));
    let protective = (0..4).any(|i| head[446 + i * 16 + 4] == 0xee);
    if !protective {
        for i in 0..4 {
            let e = 446 + i * 16;
            let (start, len) = (le32(e + 8), le32(e + 12));
            if head[e + 4] != 0 && start + len > sectors {
                return Err(format!(
                    "has partition {} ending at {} MiB, past its end at {} MiB: it is truncated",
                    i + 1,
                    (start + len) / 2048,
                    sectors / 2048
                ));
            }
        }
        return Ok(());
    }
    if head.len() < 1024 + 128 || &head[512..520] != b"EFI PART" {
        return Ok(());
    }
    let (count, size_e) = (le32(512 + 80) as usize, le32(512 + 84) as usize);
    for i in 0..count {
        let at = 1024 + i * size_e;
        let Some(entry) = head.get(at..at + 48) else {
            break;
        };
        if entry[..16].iter().any(|&b| b != 0) && le64(at + 40) >= sectors {
            return Err(format!(
                "has partition {} ending past its end at {} MiB: it is truncated",
                i + 1,
                sectors / 2048
            ));
        }
    }
    Ok(())
}

/// GPT partition type GUID of an EFI system partition, in its on-disk
/// byte order (`C12A7328-F81F-11D2-BA4B-00A0C93EC93B`).
const ESP: [u8; 16] = [
    0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
];
/// GPT partition type GUID of a BIOS boot partition, where GRUB keeps its
/// core image on GPT (`21686148-6449-6E6F-744E-656564454649`).
const BIOS_BOOT: [u8; 16] = *b"Hah!IdontNeedEFI";

/// Which firmware boots the disk whose first [`TABLE_BYTES`] are `head`,
/// or why it cannot boot at all:
/// - an MBR disk with boot code: BIOS;
/// - a GPT disk with a BIOS boot partition (GRUB's, as in Debian's cloud
///   images, which have an EFI partition too): BIOS;
/// - a GPT disk with only an EFI system partition: UEFI.
///
/// `Err` is a sentence fragment: "has no partition table", ...
pub fn firmware_of(head: &[u8]) -> Result<Firmware, String> {
    if head.len() < 512 || head[510..512] != [0x55, 0xaa] {
        return Err("has no partition table (no boot signature in its first sector)".into());
    }
    let protective = (0..4).any(|i| head[446 + i * 16 + 4] == 0xee);
    if !protective {
        if head[..440].iter().all(|&b| b == 0) {
            return Err("has an MBR partition table but no boot code, so no bootloader".into());
        }
        return Ok(Firmware::Bios);
    }
    if head.len() < 1024 || &head[512..520] != b"EFI PART" {
        return Err("has a protective MBR but no GPT header".into());
    }
    let u32_at = |o: usize| u32::from_le_bytes(head[o..o + 4].try_into().expect("4 bytes"));
    let entries_lba = u64::from_le_bytes(head[512 + 72..512 + 80].try_into().expect("8 bytes"));
    let count = u32_at(512 + 80) as usize;
    let size = u32_at(512 + 84) as usize;
    if entries_lba != 2 || size < 128 {
        return Err("has a GPT header lab cannot read (entries not at LBA 2)".into());
    }
    let (mut esp, mut bios) = (false, false);
    for i in 0..count {
        let at = 1024 + i * size;
        let Some(entry) = head.get(at..at + 16) else {
            break;
        };
        esp |= entry == ESP;
        bios |= entry == BIOS_BOOT;
    }
    match (bios, esp) {
        (true, _) => Ok(Firmware::Bios),
        (false, true) => Ok(Firmware::Uefi),
        (false, false) if head[..440].iter().any(|&b| b != 0) => Ok(Firmware::Bios),
        (false, false) => Err(
            "has a GPT partition table with neither an EFI system partition nor a BIOS boot partition, so no bootloader lab knows".into(),
        ),
    }
}

/// Whether the GPT in `head` has an EFI system partition (what UEFI boots
/// from).
pub fn has_esp(head: &[u8]) -> bool {
    if head.len() < 1024 || &head[512..520] != b"EFI PART" {
        return false;
    }
    (0..128).any(|i| head.get(1024 + i * 128..1024 + i * 128 + 16) == Some(&ESP[..]))
}

/// What `metadata.json` of a Vagrant box says about its disk: the file in
/// the box holding it and its format. The format is vagrant-libvirt's
/// (<https://vagrant-libvirt.github.io/vagrant-libvirt/boxes.html>):
/// `{"provider": "libvirt", "format": "qcow2", "virtual_size": 40}`, or
/// the newer `"disks": [{"path": "disk1.img", "format": "qcow2"}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxDisk {
    pub path: String,
    pub format: String,
    /// `"firmware": "uefi"` in the metadata (lab's own key).
    pub uefi: bool,
}

/// Read `metadata.json`; `Err` is a sentence fragment about the box.
pub fn box_disk(metadata: &str) -> Result<BoxDisk, String> {
    let v: serde_json::Value = serde_json::from_str(metadata)
        .map_err(|e| format!("has a metadata.json that is not JSON ({e})"))?;
    let provider = v.get("provider").and_then(|p| p.as_str()).unwrap_or("");
    if provider.is_empty() {
        return Err("has a metadata.json that names no provider; lab imports boxes of the libvirt provider (vagrant-libvirt)".into());
    }
    if provider != "libvirt" {
        return Err(format!(
            "is for the {provider} provider; lab imports boxes of the libvirt provider (vagrant-libvirt)"
        ));
    }
    let uefi = match v.get("firmware") {
        None => false,
        Some(f) if f == "uefi" || f == "efi" => true,
        Some(f) if f == "bios" => false,
        Some(f) => {
            return Err(format!(
                "has a metadata.json whose firmware is {f}; lab boots \"bios\" or \"uefi\""
            ));
        }
    };
    let (path, format) = match v.get("disks").and_then(|d| d.as_array()) {
        Some(disks) if disks.len() > 1 => {
            return Err(format!(
                "has {} disks; lab imports boxes with one disk",
                disks.len()
            ));
        }
        Some(disks) if disks.len() == 1 => (
            disks[0]
                .get("path")
                .and_then(|p| p.as_str())
                .unwrap_or("box.img"),
            disks[0]
                .get("format")
                .and_then(|f| f.as_str())
                .unwrap_or("qcow2"),
        ),
        _ => (
            "box.img",
            v.get("format").and_then(|f| f.as_str()).unwrap_or("qcow2"),
        ),
    };
    if format != "qcow2" {
        return Err(format!(
            "has a disk of format {format:?}; vagrant-libvirt boxes hold qcow2"
        ));
    }
    if path.contains('/') || path.starts_with('.') || path.is_empty() {
        return Err(format!(
            "names its disk {path:?}, not a file at the box's top"
        ));
    }
    Ok(BoxDisk {
        path: path.to_string(),
        format: format.to_string(),
        uefi,
    })
}

#[cfg(test)]
#[path = "import_sniff_tests.rs"]
mod tests;
