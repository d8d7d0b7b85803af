//! Tests of the export's checks before any work and of its temporary
//! directories (the whole export: tests/export.rs).

use super::*;

#[test]
fn the_extension_says_what_to_write() {
    assert_eq!(Target::of(Path::new("d.box")).unwrap(), Target::VagrantBox);
    assert_eq!(Target::of(Path::new("/x/d.qcow2")).unwrap(), Target::Qcow2);
    for bad in ["d.img", "d", "d.BOX", "d.box.gz", ".box"] {
        let msg = Target::of(Path::new(bad)).unwrap_err().summary;
        assert_eq!(
            msg,
            format!(
                "{bad} names neither a Vagrant box nor a disk image: end it in .box (a Vagrant box of the libvirt provider) or .qcow2 (the bootable disk alone)"
            )
        );
    }
}

#[test]
fn nothing_in_the_way_is_replaced_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("d.box");
    assert_eq!(check_output(&file, false).unwrap(), tmp.path());
    assert_eq!(
        check_output(Path::new("d.box"), false).unwrap(),
        Path::new(".")
    );
    std::fs::write(&file, "x").unwrap();
    assert_eq!(
        check_output(&file, false).unwrap_err().summary,
        format!(
            "{} exists already; nothing was written: pass --force to replace it, or choose another name",
            file.display()
        )
    );
    assert!(check_output(&file, true).is_ok());
    let link = tmp.path().join("l.box");
    std::os::unix::fs::symlink("nowhere", &link).unwrap();
    assert!(
        check_output(&link, false).is_err(),
        "a dangling link is in the way too"
    );
    let dir = tmp.path().join("d.qcow2");
    std::fs::create_dir(&dir).unwrap();
    assert_eq!(
        check_output(&dir, true).unwrap_err().summary,
        format!(
            "{} is a directory; name the file to write, e.g. {}/box.box",
            dir.display(),
            dir.display()
        )
    );
    let missing = tmp.path().join("no/d.box");
    assert_eq!(
        check_output(&missing, false).unwrap_err().summary,
        format!(
            "cannot write {}: the directory {} does not exist; create it first, or name a file in a directory that exists",
            missing.display(),
            tmp.path().join("no").display()
        )
    );
}

#[test]
fn publishing_never_replaces_a_file_that_appeared_meanwhile() {
    let tmp = tempfile::tempdir().unwrap();
    let made = tmp.path().join("made");
    let out = tmp.path().join("d.box");
    std::fs::write(&made, "new").unwrap();
    std::fs::write(&out, "theirs").unwrap();
    let err = publish(&made, &out, false).unwrap_err();
    assert!(err.downcast_ref::<InvalidInput>().is_some(), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "theirs");
    publish(&made, &out, true).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "new");
    let other = tmp.path().join("e.qcow2");
    std::fs::write(&made, "again").unwrap();
    publish(&made, &other, false).unwrap();
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "again");
}

#[test]
fn only_temporary_directories_of_exports_name_a_process() {
    assert_eq!(export_pid(".d.box.lab-export-1234-aB3xYz"), Some(1234));
    assert_eq!(
        export_pid(".a.lab-export-b.qcow2.lab-export-7-000000"),
        Some(7)
    );
    for other in [
        "d.box.lab-export-1234-aB3xYz",
        ".d.box.lab-export-x-aB3xYz",
        ".d.box.lab-export-1234-aB3xY",
        ".d.box.lab-export-1234-aB3x.z",
        ".d.box.lab-export-1234",
        ".d.box",
    ] {
        assert_eq!(export_pid(other), None, "{other}");
    }
}

#[test]
fn leftovers_of_killed_exports_are_removed_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    // No process has pid 4194305 (above Linux's pid_max limit).
    let dead = tmp.path().join(".d.box.lab-export-4194305-aB3xYz");
    let alive = tmp
        .path()
        .join(format!(".d.box.lab-export-{}-aB3xYz", std::process::id()));
    let file = tmp.path().join(".d.box.lab-export-4194305-zzzzzz");
    let mine = tmp.path().join("d.box");
    for d in [&dead, &alive] {
        std::fs::create_dir_all(d.join("scratch")).unwrap();
    }
    std::fs::write(&file, "x").unwrap();
    std::fs::write(&mine, "x").unwrap();
    clean_stale(tmp.path());
    assert!(!dead.exists());
    assert!(alive.exists() && file.exists() && mine.exists());
}
