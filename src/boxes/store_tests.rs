//! Tests of the box store: staging, commit, stale staging, metadata.

use super::*;

fn meta(name: &str, hash: &str) -> BoxMeta {
    BoxMeta {
        name: name.into(),
        version: "1".into(),
        format: Default::default(),
        recipe_hash: hash.into(),
        disk_sha256: "00".into(),
        disk_gib: 8,
        cmdline: "root=/dev/vda".into(),
        user: "lab".into(),
        built_at: 0,
        build_seconds: 1,
        suite: "bookworm".into(),
        packages: vec![],
        installed_packages: 0,
        boot: Default::default(),
        firmware: Default::default(),
        source: None,
    }
}

#[test]
fn damaged_or_oversized_metadata_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    std::fs::create_dir_all(dir.path().join("b")).unwrap();
    let path = dir.path().join("b").join(META_FILE);
    std::fs::write(&path, format!("{{\"x\": {}", "[".repeat(100_000))).unwrap();
    let err = store.get("b").unwrap_err();
    assert!(
        std::error::Error::source(&err).is_none(),
        "the message says it all"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "{} is not valid box metadata (EOF while parsing a list",
            path.display()
        )),
        "{msg}"
    );
    assert!(
        msg.ends_with("remove the box with `lab box remove b` and build it again"),
        "{msg}"
    );
    std::fs::write(&path, " ".repeat(2 << 20)).unwrap();
    let msg = store.get("b").unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{} is 2 MiB, more than the 1 MiB", path.display())),
        "{msg}"
    );
}

#[test]
fn one_broken_box_does_not_hide_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    for name in ["good", "big", "nokernel"] {
        let s = store.stage(name).unwrap();
        for f in [DISK_FILE, KERNEL_FILE, INITRD_FILE] {
            std::fs::write(s.dir().join(f), "x").unwrap();
        }
        s.commit(&meta(name, "h")).unwrap();
    }
    std::fs::write(tmp.path().join("big").join(META_FILE), " ".repeat(2 << 20)).unwrap();
    std::fs::remove_file(tmp.path().join("nokernel").join(KERNEL_FILE)).unwrap();
    std::fs::create_dir_all(tmp.path().join("Not A Box")).unwrap();
    std::fs::write(tmp.path().join("Not A Box").join(META_FILE), "{}").unwrap();
    let listed = store.list().unwrap();
    let shown: Vec<String> = listed
        .iter()
        .map(|b| match b {
            Ok(b) => format!("{}: ok", b.meta.name),
            Err(b) => format!("{}: {}; {}", b.name, b.reason, b.fix),
        })
        .collect();
    assert_eq!(
        shown,
        [
            format!(
                "Not A Box: not a box name, so not a box lab made; remove the directory {}",
                tmp.path().join("Not A Box").display()
            ),
            "big: box.json is 2 MiB, over the 1 MiB limit; remove it with `lab box remove big` and build it again".into(),
            "good: ok".into(),
            "nokernel: incomplete: no vmlinuz; remove it with `lab box remove nokernel` and build it again".into(),
        ]
    );
}

#[test]
fn uncommitted_staging_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    {
        let s = store.stage("b").unwrap();
        std::fs::write(s.dir().join(DISK_FILE), "half").unwrap();
    }
    assert!(store.get("b").unwrap().is_none());
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(LOCK_SUFFIX))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn commit_publishes_and_replaces() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    let s = store.stage("b").unwrap();
    std::fs::write(s.dir().join(DISK_FILE), "one").unwrap();
    s.commit(&meta("b", "h1")).unwrap();
    let s = store.stage("b").unwrap();
    std::fs::write(s.dir().join(DISK_FILE), "two").unwrap();
    let b = s.commit(&meta("b", "h2")).unwrap();
    assert_eq!(std::fs::read_to_string(b.disk()).unwrap(), "two");
    assert_eq!(store.get("b").unwrap().unwrap().meta.recipe_hash, "h2");
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn killed_build_is_cleaned_by_next_operation() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    // A staging dir of a process that no longer exists (pid 0 never is ours).
    let stale = tmp.path().join(format!("{STAGING_PREFIX}b-999999999"));
    std::fs::create_dir_all(&stale).unwrap();
    store.list().unwrap();
    assert!(!stale.exists());
}

#[test]
fn second_builder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    let _held = store.stage("b").unwrap();
    let err = store.stage("b").unwrap_err();
    assert!(matches!(err, StoreError::Busy(..)), "{err}");
}

#[test]
fn remove_deletes_and_missing_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    let s = store.stage("b").unwrap();
    s.commit(&meta("b", "h")).unwrap();
    store.remove("b").unwrap();
    assert!(store.get("b").unwrap().is_none());
    assert!(matches!(store.remove("b"), Err(StoreError::NotFound(_))));
    // A box never stored: nothing is made, not the store, not a lock.
    let store = Store::new(tmp.path().join("new"));
    assert!(matches!(
        store.remove("nosuch"),
        Err(StoreError::NotFound(_))
    ));
    assert!(!tmp.path().join("new").exists());
}

#[test]
fn a_name_that_leaves_the_store_is_refused_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("boxes"));
    let victim = tmp.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join(META_FILE), "{}").unwrap();
    let said = "box name \"../victim\" contains '/'; only lowercase letters, digits, '-', '.' and '_' are allowed";
    assert_eq!(store.remove("../victim").unwrap_err().to_string(), said);
    assert_eq!(store.get("../victim").unwrap_err().to_string(), said);
    assert_eq!(store.stage("../victim").unwrap_err().to_string(), said);
    assert!(
        victim.join(META_FILE).exists(),
        "nothing outside the store removed"
    );
    assert!(store.lock("/abs").is_err());
    assert!(store.get("..").is_err());
}

#[test]
fn metadata_lab_never_writes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    store.stage("b").unwrap().commit(&meta("b", "h")).unwrap();
    let path = tmp.path().join("b").join(META_FILE);
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (field, value, said) in [
        (
            "user",
            "-oProxyCommand=touch /tmp/x",
            "`user` is \"-oProxyCommand=touch /tmp/x\", which starts with '-'",
        ),
        (
            "user",
            "lab\nProxyCommand x",
            "`user` is \"lab\\nProxyCommand x\", which contains '\\n'",
        ),
        (
            "name",
            "other",
            "`name` is \"other\", not the box's own name `b`",
        ),
        (
            "disk_sha256",
            "é",
            "`disk_sha256` is \"é\", which is not a hex checksum",
        ),
    ] {
        let mut bad = good.clone();
        bad[field] = value.into();
        std::fs::write(&path, bad.to_string()).unwrap();
        let msg = store.get("b").unwrap_err().to_string();
        assert!(
            msg.starts_with(&format!("{}: {said}", path.display())),
            "{msg}"
        );
        assert!(
            msg.ends_with(
                "so the file was changed: remove the box with `lab box remove b` and build it again"
            ),
            "{msg}"
        );
    }
}
