//! `lab box import` through the real binary, on small disks made here
//! (`sfdisk`, `qemu-img`): a raw image, a qcow2, a Vagrant box plain and
//! gzipped each import and `lab box list --json` shows how they boot and
//! where they came from; truncated, damaged and non-image files, a disk
//! without a bootloader, a backing file, a recipe's name and a taken name
//! are each refused with one sentence and leave nothing in the store.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// `lab ARGS` in `dir` with its own HOME and LAB_HOME: (code, stdout,
/// stderr with `dir` shown as `[DIR]`).
fn lab(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = common::isolated_lab(dir, &dir.join("home"), &dir.join("labhome"))
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).replace(&dir.display().to_string(), "[DIR]");
    (
        out.status.code().unwrap(),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A 64 MiB raw disk at `dir/NAME`: one MBR partition and, with
/// `boot_code`, two bytes of boot code (enough for lab to call it
/// bootable; nothing here boots it).
fn raw_disk(dir: &Path, name: &str, boot_code: bool) -> PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(64 << 20).unwrap();
    drop(f);
    let mut sfdisk = Command::new("sfdisk");
    sfdisk
        .arg("-q")
        .arg(&path)
        .stdin(std::process::Stdio::piped());
    let mut child = sfdisk.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"label: dos\n,,83,*\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    if boot_code {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&[0xeb, 0x63], 0).unwrap();
    }
    path
}

fn qcow2_of(raw: &Path, name: &str) -> PathBuf {
    let out = raw.with_file_name(name);
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(raw)
        .arg(&out));
    out
}

/// A Vagrant box (tar, `z`: gzipped) of `members` found in `dir`.
fn vagrant_box(dir: &Path, name: &str, z: bool, members: &[&str]) -> PathBuf {
    let out = dir.join(name);
    run(Command::new("tar")
        .arg(if z { "czf" } else { "cf" })
        .arg(&out)
        .arg("-C")
        .arg(dir)
        .args(members));
    out
}

fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("home")).unwrap();
    let raw = raw_disk(tmp.path(), "disk.raw", true);
    let img = qcow2_of(&raw, "box.img");
    std::fs::write(
        tmp.path().join("metadata.json"),
        r#"{"provider":"libvirt","format":"qcow2","virtual_size":1}"#,
    )
    .unwrap();
    std::fs::write(tmp.path().join("Vagrantfile"), "# a box's Vagrantfile\n").unwrap();
    assert!(img.is_file());
    tmp
}

/// Entries of the store directory (hidden ones too), sorted.
fn store_entries(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir.join("labhome/boxes")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn images_and_boxes_import_and_list_shows_boot_and_source() {
    let tmp = setup();
    let d = tmp.path();
    vagrant_box(
        d,
        "plain.box",
        false,
        &["metadata.json", "Vagrantfile", "box.img"],
    );
    vagrant_box(
        d,
        "zipped.box",
        true,
        &["metadata.json", "Vagrantfile", "box.img"],
    );
    for (file, name) in [
        ("disk.raw", "img-raw"),
        ("box.img", "img-qcow2"),
        ("plain.box", "vb"),
        ("zipped.box", "vbz"),
    ] {
        let (code, out, err) = lab(d, &["box", "import", file, "--name", name]);
        assert_eq!(code, 0, "{file}: {err}");
        assert!(out.starts_with(&format!("imported box {name} (")), "{out}");
    }
    let (code, out, _) = lab(d, &["box", "list", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let boxes = v["boxes"].as_array().unwrap();
    let by = |n: &str| boxes.iter().find(|b| b["name"] == n).unwrap().clone();
    assert_eq!(by("img-raw")["source"]["kind"], "raw");
    assert_eq!(by("img-qcow2")["source"]["kind"], "qcow2");
    assert_eq!(by("vb")["source"]["kind"], "vagrant-box");
    assert_eq!(by("vbz")["source"]["file"], "[DIR]/zipped.box");
    for b in boxes {
        assert_eq!(b["boot"], "bios", "{b}");
        assert_eq!(b["source"]["sha256"].as_str().unwrap().len(), 64);
    }
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("labhome/boxes/vb/box.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["user"], "vagrant");
    assert_eq!(meta["source"]["vagrant_key"], true);
    assert_eq!(meta["disk_gib"], 1);
    let (_, table, _) = lab(d, &["box", "list"]);
    assert!(table.contains("vagrant-box [DIR]/plain.box"), "{table}");
    // The stored disk is a standalone qcow2 of the same content.
    let out = Command::new("qemu-img")
        .args(["compare", "-f", "raw", "-F", "qcow2"])
        .arg(d.join("disk.raw"))
        .arg(d.join("labhome/boxes/img-raw/disk.qcow2"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bad_inputs_are_refused_with_one_sentence_and_leave_nothing() {
    let tmp = setup();
    let d = tmp.path();
    let whole = vagrant_box(d, "whole.box", true, &["metadata.json", "box.img"]);
    let bytes = std::fs::read(&whole).unwrap();
    std::fs::write(d.join("truncated.box"), &bytes[..bytes.len() / 2]).unwrap();
    let img = std::fs::read(d.join("box.img")).unwrap();
    std::fs::write(d.join("truncated.qcow2"), &img[..img.len() / 2]).unwrap();
    std::fs::write(d.join("notes.txt"), "not a disk at all\n").unwrap();
    raw_disk(d, "no-boot-code.raw", false);
    let raw = std::fs::read(d.join("disk.raw")).unwrap();
    std::fs::write(d.join("odd.raw"), &raw[..raw.len() - 100]).unwrap();
    // Whole sectors, but its partition runs to 64 MiB.
    std::fs::write(d.join("cut.raw"), &raw[..1 << 20]).unwrap();
    // A backing file that would hang whoever opens it: the header alone
    // must refuse the image.
    common::mkfifo(&d.join("fifo"));
    run(Command::new("qemu-img")
        .args(["create", "-f", "qcow2", "-u", "-F", "raw", "-b"])
        .arg(d.join("fifo"))
        .arg(d.join("fifo-backed.qcow2"))
        .arg("64M"));
    run(Command::new("qemu-img")
        .args(["create", "-f", "qcow2", "-F", "qcow2", "-b"])
        .arg(d.join("box.img"))
        .arg(d.join("overlay.qcow2")));
    std::fs::write(d.join("metadata.json"), r#"{"provider":"virtualbox"}"#).unwrap();
    vagrant_box(d, "virtualbox.box", false, &["metadata.json", "box.img"]);
    std::fs::remove_file(d.join("metadata.json")).unwrap();
    vagrant_box(d, "no-metadata.box", false, &["box.img"]);

    let mut seen = String::new();
    for file in [
        "truncated.box",
        "truncated.qcow2",
        "notes.txt",
        "no-boot-code.raw",
        "odd.raw",
        "cut.raw",
        "overlay.qcow2",
        "fifo-backed.qcow2",
        "virtualbox.box",
        "no-metadata.box",
        "missing.box",
    ] {
        let (code, out, err) = lab(d, &["box", "import", file, "--name", "x"]);
        let want = if file == "missing.box" { 2 } else { 1 };
        assert_eq!(code, want, "{file}: {err}");
        assert!(out.is_empty(), "{out}");
        let last: Vec<&str> = err.lines().filter(|l| !l.starts_with('[')).collect();
        seen.push_str(&format!("{file}:\n{}\n", last.join("\n")));
        assert_eq!(
            store_entries(d),
            Vec::<String>::new(),
            "{file} left something"
        );
    }
    insta::assert_snapshot!(seen);
}

#[test]
fn names_a_recipe_or_a_stored_box_has_are_refused() {
    let tmp = setup();
    let d = tmp.path();
    let (code, _, err) = lab(d, &["box", "import", "disk.raw", "--name", "debian-12"]);
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!("recipe_name", err);
    let (code, _, err) = lab(d, &["box", "import", "disk.raw", "--name", "../up"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("box name \"../up\""), "{err}");
    assert_eq!(lab(d, &["box", "import", "disk.raw", "--name", "a"]).0, 0);
    let (code, _, err) = lab(d, &["box", "import", "box.img", "--name", "a"]);
    assert_eq!(code, 2);
    insta::assert_snapshot!("taken_name", err);
    let (code, _, err) = lab(
        d,
        &[
            "box",
            "import",
            "box.img",
            "--name",
            "u",
            "--firmware",
            "uefi",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("has no EFI system partition"), "{err}");
    // An imported box is not exported again, and nothing goes into the store.
    let (code, _, err) = lab(d, &["box", "export", "a", "-o", "again.box"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("was imported from [DIR]/disk.raw"), "{err}");
    assert!(!d.join("again.box").exists());
    let (code, _, err) = lab(d, &["box", "import", "box.img", "--name", "a", "--force"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = lab(d, &["box", "list", "--json"]);
    assert!(out.contains("\"kind\": \"qcow2\""), "replaced: {out}");
}
