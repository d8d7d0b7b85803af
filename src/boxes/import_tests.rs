use super::*;

/// A tar of `members` (name, bytes), gzipped or not, written into `dir`.
fn archive(dir: &Path, members: &[(&str, &[u8])], gzip: bool) -> PathBuf {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in members {
        // The name is written raw: the builder would refuse `../x`, which
        // a hostile box can hold all the same.
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        tar.append(&h, *data).unwrap();
    }
    let bytes = tar.into_inner().unwrap();
    let path = dir.join(if gzip { "x.box.gz" } else { "x.box" });
    if gzip {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
    } else {
        std::fs::write(&path, bytes).unwrap();
    }
    path
}

const META: &[u8] = br#"{"provider":"libvirt","format":"qcow2","virtual_size":1}"#;

#[test]
fn a_box_gives_its_disk_and_nothing_else_is_kept() {
    for gzip in [false, true] {
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let disk = vec![7u8; 70_000];
        let file = archive(
            src.path(),
            &[
                ("./metadata.json", META),
                ("./Vagrantfile", b"# x"),
                ("./box.img", &disk),
                ("other.img", b"x"),
            ],
            gzip,
        );
        let (path, uefi) = unpack_box(&file, out.path()).unwrap();
        assert!(!uefi);
        assert_eq!(std::fs::read(&path).unwrap(), disk);
        let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the disk is kept");
    }
}

#[test]
fn a_truncated_box_is_refused_whatever_the_cut() {
    for gzip in [false, true] {
        let src = tempfile::tempdir().unwrap();
        let disk = vec![7u8; 200_000];
        let file = archive(
            src.path(),
            &[("metadata.json", META), ("box.img", &disk)],
            gzip,
        );
        let whole = std::fs::read(&file).unwrap();
        for cut in [whole.len() / 2, whole.len() * 3 / 4, 700] {
            std::fs::write(&file, &whole[..cut]).unwrap();
            let out = tempfile::tempdir().unwrap();
            let e = format!("{:#}", unpack_box(&file, out.path()).unwrap_err());
            assert!(
                e.contains("truncated or damaged")
                    || e.contains("has no box.img")
                    || e.contains("no metadata.json"),
                "gzip {gzip} cut {cut}: {e}"
            );
        }
    }
}

#[test]
fn a_box_without_metadata_or_disk_or_of_another_provider_is_refused() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let e = |members: &[(&str, &[u8])]| {
        let f = archive(src.path(), members, false);
        format!("{:#}", unpack_box(&f, out.path()).unwrap_err())
    };
    assert_eq!(e(&[("box.img", b"x")]), "it has no metadata.json");
    assert_eq!(
        e(&[("metadata.json", META)]),
        "it has no box.img (its metadata.json names it)"
    );
    assert!(
        e(&[("metadata.json", br#"{"provider":"virtualbox"}"#)]).contains("virtualbox provider")
    );
    // A member outside the box's top is never written anywhere.
    assert!(e(&[("metadata.json", META), ("../box.img", b"x")]).contains("has no box.img"));
    assert!(!src.path().parent().unwrap().join("box.img").exists());
}

#[test]
fn a_sparse_member_as_vagrant_and_vagrant_libvirt_pack_it_is_read_whole() {
    // `tar -S` (vagrant-libvirt's create_box.sh) writes a disk with holes
    // as a GNU sparse member; bsdtar (vagrant package) a pax sparse one.
    let src = tempfile::tempdir().unwrap();
    let img = src.path().join("box.img");
    let f = std::fs::File::create(&img).unwrap();
    f.set_len(8 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    f.write_all_at(b"start", 0).unwrap();
    f.write_all_at(b"end", (8 << 20) - 3).unwrap();
    drop(f);
    std::fs::write(src.path().join("metadata.json"), META).unwrap();
    let file = src.path().join("s.box");
    let ok = std::process::Command::new("tar")
        .args(["-c", "-z", "-S", "-f"])
        .arg(&file)
        .arg("-C")
        .arg(src.path())
        .args(["metadata.json", "box.img"])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = tempfile::tempdir().unwrap();
    let (path, _) = unpack_box(&file, out.path()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&img).unwrap());
}
