use super::*;

/// A disk head of [`TABLE_BYTES`]: boot code or not, and MBR partition
/// types.
fn mbr(boot_code: bool, types: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; TABLE_BYTES];
    if boot_code {
        d[0] = 0xeb;
        d[1] = 0x63;
    }
    for (i, t) in types.iter().enumerate() {
        d[446 + i * 16 + 4] = *t;
    }
    d[510] = 0x55;
    d[511] = 0xaa;
    d
}

/// A protective MBR and a GPT header with 128 entries of 128 bytes at LBA
/// 2, whose first entries have these type GUIDs.
fn gpt(boot_code: bool, types: &[[u8; 16]]) -> Vec<u8> {
    let mut d = mbr(boot_code, &[0xee]);
    d[512..520].copy_from_slice(b"EFI PART");
    d[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
    d[512 + 80..512 + 84].copy_from_slice(&128u32.to_le_bytes());
    d[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
    for (i, t) in types.iter().enumerate() {
        d[1024 + i * 128..1024 + i * 128 + 16].copy_from_slice(t);
    }
    d
}

#[test]
fn sniff_tells_the_formats_apart() {
    assert_eq!(
        sniff(&[0x1f, 0x8b, 8, 0]),
        Some(Kind::VagrantBox { gzip: true })
    );
    let mut tar = vec![0u8; 1024];
    tar[257..262].copy_from_slice(b"ustar");
    assert_eq!(sniff(&tar), Some(Kind::VagrantBox { gzip: false }));
    assert_eq!(sniff(b"QFI\xfb\0\0\0\x03"), Some(Kind::Qcow2));
    assert_eq!(sniff(&mbr(true, &[0x83])), Some(Kind::Raw));
    assert_eq!(sniff(b"#!/bin/sh\necho hello\n"), None);
    assert_eq!(sniff(&[]), None);
    assert_eq!(sniff(&[0u8; 1024]), None, "zeros are not a disk");
}

#[test]
fn an_mbr_disk_with_boot_code_boots_with_bios() {
    assert_eq!(firmware_of(&mbr(true, &[0x83])), Ok(Firmware::Bios));
}

#[test]
fn an_mbr_disk_without_boot_code_or_signature_is_refused() {
    let e = firmware_of(&mbr(false, &[0x83])).unwrap_err();
    assert!(e.contains("no boot code"), "{e}");
    let e = firmware_of(&[0u8; TABLE_BYTES]).unwrap_err();
    assert!(e.contains("no partition table"), "{e}");
    let e = firmware_of(&[0u8; 100]).unwrap_err();
    assert!(e.contains("no partition table"), "{e}");
}

#[test]
fn gpt_with_a_bios_boot_partition_boots_with_bios_even_beside_an_esp() {
    // Debian's cloud images: partition 14 BIOS boot, 15 EFI.
    assert_eq!(
        firmware_of(&gpt(true, &[[0x11; 16], BIOS_BOOT, ESP])),
        Ok(Firmware::Bios)
    );
}

#[test]
fn gpt_with_only_an_esp_needs_uefi() {
    assert_eq!(
        firmware_of(&gpt(false, &[ESP, [0x11; 16]])),
        Ok(Firmware::Uefi)
    );
}

#[test]
fn gpt_without_bootloader_partitions_is_refused_unless_it_has_mbr_boot_code() {
    let e = firmware_of(&gpt(false, &[[0x11; 16]])).unwrap_err();
    assert!(e.contains("neither an EFI system partition"), "{e}");
    assert_eq!(firmware_of(&gpt(true, &[[0x11; 16]])), Ok(Firmware::Bios));
    let mut broken = gpt(true, &[ESP]);
    broken[512] = b'X';
    assert!(firmware_of(&broken).unwrap_err().contains("no GPT header"));
}

#[test]
fn box_metadata_of_both_vagrant_libvirt_formats() {
    let old = box_disk(r#"{"provider":"libvirt","format":"qcow2","virtual_size":10}"#).unwrap();
    assert_eq!(old.path, "box.img");
    assert!(!old.uefi);
    let new = box_disk(
        r#"{"provider":"libvirt","disks":[{"path":"disk1.img","format":"qcow2"}],"firmware":"uefi"}"#,
    )
    .unwrap();
    assert_eq!(new.path, "disk1.img");
    assert!(new.uefi);
}

#[test]
fn box_metadata_refusals_say_why() {
    let e = |m: &str| box_disk(m).unwrap_err();
    assert!(e(r#"{"provider":"virtualbox"}"#).contains("virtualbox provider"));
    assert!(e("{}").contains("names no provider"));
    assert!(
        e(r#"{"provider":"libvirt","firmware":"coreboot"}"#).contains("firmware is \"coreboot\"")
    );
    assert!(e("not json").contains("not JSON"));
    assert!(e(r#"{"provider":"libvirt","format":"raw"}"#).contains("\"raw\""));
    assert!(e(r#"{"provider":"libvirt","disks":[{"path":"a"},{"path":"b"}]}"#).contains("2 disks"));
    assert!(e(r#"{"provider":"libvirt","disks":[{"path":"../x"}]}"#).contains("not a file"));
}

/// A qcow2 header: version 3, cluster bits, backing offset, incompatible
/// features.
fn qcow2(bits: u32, backing: u64, incompat: u64) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..4].copy_from_slice(b"QFI\xfb");
    h[4..8].copy_from_slice(&3u32.to_be_bytes());
    h[8..16].copy_from_slice(&backing.to_be_bytes());
    h[20..24].copy_from_slice(&bits.to_be_bytes());
    h[72..80].copy_from_slice(&incompat.to_be_bytes());
    h
}

#[test]
fn a_qcow2_that_would_open_another_file_is_refused_from_its_header() {
    assert_eq!(qcow2_header(&qcow2(16, 0, 0)), Ok(65536));
    assert!(
        qcow2_header(&qcow2(16, 0x200, 0))
            .unwrap_err()
            .contains("backing file")
    );
    assert!(
        qcow2_header(&qcow2(16, 0, 0b100))
            .unwrap_err()
            .contains("external file")
    );
    assert!(
        qcow2_header(&qcow2(40, 0, 0))
            .unwrap_err()
            .contains("cluster size")
    );
    assert!(
        qcow2_header(b"QFI\xfb")
            .unwrap_err()
            .contains("not a qcow2")
    );
}

#[test]
fn a_table_whose_partitions_end_past_the_disk_is_truncated() {
    let mut d = mbr(true, &[0x83]);
    d[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
    d[446 + 12..446 + 16].copy_from_slice(&(20_971_520u32 - 2048).to_le_bytes());
    assert_eq!(table_fits(&d, 10 << 30), Ok(()));
    let e = table_fits(&d, 1 << 20).unwrap_err();
    assert!(
        e.contains("partition 1 ending at 10240 MiB, past its end at 1 MiB"),
        "{e}"
    );
    let mut g = gpt(true, &[ESP]);
    g[1024 + 40..1024 + 48].copy_from_slice(&4096u64.to_le_bytes());
    assert_eq!(table_fits(&g, 4 << 20), Ok(()));
    assert!(table_fits(&g, 1 << 20).unwrap_err().contains("truncated"));
}
