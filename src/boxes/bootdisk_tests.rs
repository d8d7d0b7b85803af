//! Tests of the exported disk's layout, MBR, GRUB placement and
//! configuration (no tool is run).

use super::*;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// A stand-in for GRUB's boot.img: the short jump at 0x66, code bytes
/// 0x11 elsewhere, the signature.
fn boot_img() -> Vec<u8> {
    let mut b = vec![0x11u8; 512];
    b[DRIVE_CHECK_AT] = 0xeb;
    b[DRIVE_CHECK_AT + 1] = 0x05;
    b[KERNEL_SECTOR_AT..KERNEL_SECTOR_AT + 8].copy_from_slice(&7u64.to_le_bytes());
    b[SIGNATURE_AT] = 0x55;
    b[SIGNATURE_AT + 1] = 0xaa;
    b
}

/// A stand-in for a core image of `len` bytes: diskboot.img's default
/// blocklist at the end of its first sector, 0x22 elsewhere.
fn core_img(len: usize) -> Vec<u8> {
    let mut c = vec![0x22u8; len];
    c[500..508].copy_from_slice(&9u64.to_le_bytes());
    c[508..510].copy_from_slice(&1u16.to_le_bytes());
    c[510..512].copy_from_slice(&0x820u16.to_le_bytes());
    c
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
fn the_partition_starts_at_one_mib_and_ends_with_the_disk() {
    let l = Layout::new(10 * GIB).unwrap();
    assert_eq!(l.root_offset(), MIB);
    assert_eq!(l.root_bytes(), 10 * GIB - MIB);
    assert_eq!(
        Layout::new(2048 * GIB).unwrap().root_bytes(),
        2048 * GIB - MIB
    );
    assert_eq!(
        Layout::new(10 * GIB + 512).unwrap_err(),
        "the disk is 10737418752 bytes, not a whole number of MiB"
    );
    assert_eq!(
        Layout::new(MIB).unwrap_err(),
        "the disk is 1048576 bytes, too small for a partition after the first MiB"
    );
    assert_eq!(
        Layout::new(2049 * GIB).unwrap_err(),
        "the disk is 2049 GiB, more than the 2048 GiB an MBR partition table describes"
    );
}

#[test]
fn chs_is_what_fdisk_writes_and_saturates_past_cylinder_1023() {
    assert_eq!(chs(0), [0, 1, 0]);
    assert_eq!(chs(2048), [0x20, 0x21, 0x00]);
    // Cylinder 300 (its two high bits go into the sector byte).
    assert_eq!(chs(300 * 255 * 63), [0, 0x41, 0x2c]);
    assert_eq!(chs(1024 * 255 * 63 - 1), [0xfe, 0xff, 0xff]);
    assert_eq!(chs(1024 * 255 * 63), [0xfe, 0xff, 0xff]);
}

#[test]
fn the_head_holds_grubs_boot_code_the_partition_and_the_core_image() {
    let layout = Layout::new(10 * GIB).unwrap();
    let core = core_img(3 * 512 - 100);
    let head = head(&boot_img(), &core, &layout, 0x7856_3412).unwrap();
    assert_eq!(head.len() as u64, MIB);

    // GRUB's boot code, told where the core is and to use the boot drive,
    // the drive check jumped over by two nops.
    assert_eq!(head[0..0x5c], boot_img()[0..0x5c]);
    assert_eq!(
        head[KERNEL_SECTOR_AT..KERNEL_SECTOR_AT + 8],
        1u64.to_le_bytes()
    );
    assert_eq!(head[BOOT_DRIVE_AT], 0xff);
    assert_eq!(head[DRIVE_CHECK_AT..DRIVE_CHECK_AT + 2], [0x90, 0x90]);
    assert_eq!(head[0x68..CODE_END], boot_img()[0x68..CODE_END]);

    // Disk id, one bootable Linux partition, nothing in the other three.
    assert_eq!(u32_at(&head, 440), 0x7856_3412);
    let entry = &head[446..462];
    assert_eq!(entry[0], 0x80);
    assert_eq!(entry[1..4], [0x20, 0x21, 0x00]);
    assert_eq!(entry[4], 0x83);
    assert_eq!(entry[5..8], [0xfe, 0xff, 0xff]);
    assert_eq!(u32_at(entry, 8), 2048);
    assert_eq!(u32_at(entry, 12) as u64, (10 * GIB - MIB) / 512);
    assert!(head[462..510].iter().all(|b| *b == 0));
    assert_eq!(head[510..512], [0x55, 0xaa]);

    // The core from sector 1, its blocklist: sectors 2.. (2 more) to 0x820.
    assert_eq!(head[512..1012], core[..500]);
    assert_eq!(head[1012..1020], 2u64.to_le_bytes());
    assert_eq!(head[1020..1022], 2u16.to_le_bytes());
    assert_eq!(head[1022..1024], 0x820u16.to_le_bytes());
    assert_eq!(head[1024..512 + core.len()], core[512..]);
    assert!(head[512 + core.len()..].iter().all(|b| *b == 0));
}

#[test]
fn images_that_are_not_grubs_are_refused() {
    let layout = Layout::new(GIB).unwrap();
    let mut no_jump = boot_img();
    no_jump[DRIVE_CHECK_AT] = 0x90;
    for bad in [vec![0u8; 512], no_jump, boot_img()[..400].to_vec()] {
        let msg = head(&bad, &core_img(2048), &layout, 1)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("is not GRUB 2's BIOS boot sector"), "{msg}");
    }
    let msg = head(&boot_img(), &core_img(2047 * 512 + 1), &layout, 1)
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "GRUB's core image is 1048065 bytes; it must fit in the 2047 sectors between the MBR and the partition"
    );
    assert!(head(&boot_img(), &core_img(2047 * 512), &layout, 1).is_ok());
    let mut not_diskboot = core_img(2048);
    not_diskboot[511] = 0;
    let msg = head(&boot_img(), &not_diskboot, &layout, 1)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("does not start with diskboot.img"), "{msg}");
}

#[test]
fn the_root_is_found_by_label_and_the_rest_of_the_cmdline_stays() {
    let label = "labroot";
    assert_eq!(
        boot_cmdline(
            "root=/dev/vda rw console=ttyS0,115200n8 net.ifnames=0",
            label
        ),
        "root=LABEL=labroot rw console=ttyS0,115200n8 net.ifnames=0"
    );
    assert_eq!(
        boot_cmdline("console=ttyS0  quiet", label),
        "root=LABEL=labroot console=ttyS0 quiet"
    );
    assert_eq!(
        boot_cmdline("ro root=/dev/vda1 x root=/dev/sda", label),
        "ro root=LABEL=labroot x"
    );
    assert_eq!(boot_cmdline("", label), "root=LABEL=labroot");
    // The exported disk runs cloud-init: lab's own boot turns it off.
    assert_eq!(
        boot_cmdline("root=/dev/vda rw cloud-init=disabled quiet", label),
        "root=LABEL=labroot rw quiet"
    );
    // A word that only starts like it is not the root.
    assert_eq!(
        boot_cmdline("rootwait rootfstype=ext4", label),
        "root=LABEL=labroot rootwait rootfstype=ext4"
    );
}

#[test]
fn grub_cfg_boots_the_links_with_the_cmdline_quoted_for_grub() {
    let cfg = grub_cfg(
        "debian-12",
        "/vmlinuz",
        "/initrd.img",
        "root=LABEL=labroot rw console=ttyS0,115200n8",
    );
    insta::assert_snapshot!(cfg);
    let cfg = grub_cfg("b", "/vmlinuz", "/initrd.img", "a=$x it's {y};");
    assert!(
        cfg.contains("\tlinux /vmlinuz 'a=$x' 'it'\\''s' '{y};'\n"),
        "{cfg}"
    );
}
