//! The embedded files against the repository they were built from: the
//! same files, bytes and modes, both ways; nothing of a lab's state.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

/// Every file of the repository's `boxes/` and `labs/` that is built in,
/// by path: (permission bits, content).
fn repository() -> BTreeMap<String, (u32, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if skip::skipped(entry.file_name().to_str().unwrap()) {
                continue;
            }
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                let mode = meta.permissions().mode() & 0o7777;
                out.insert(rel, (mode, std::fs::read(&path).unwrap()));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = BTreeMap::new();
    for top in ["boxes", "labs"] {
        walk(root, &root.join(top), &mut out);
    }
    out
}

const STALE: &str = "the binary's built-in content differs from the repository: build again (cargo reruns build.rs when a file under boxes/ or labs/ changes; after a chmod alone, touch the file)";

#[test]
fn the_embedded_files_are_the_repositorys_both_ways() {
    let repo = repository();
    let embedded: BTreeMap<&str, &File> = files().iter().map(|f| (f.path, f)).collect();
    for (path, f) in &embedded {
        let Some((mode, data)) = repo.get(*path) else {
            panic!("{path} is built in but not in the repository; {STALE}");
        };
        assert!(f.data == data.as_slice(), "{path}: other content; {STALE}");
        assert_eq!(
            (f.mode, f.executable()),
            (*mode, mode & 0o111 != 0),
            "{path}: other mode; {STALE}"
        );
    }
    for path in repo.keys() {
        assert!(
            embedded.contains_key(path.as_str()),
            "{path} is in the repository but not built in; {STALE}"
        );
    }
    // What the labs need to run is there, scripts executable.
    assert!(file("labs/smoke/lab.yaml").is_some());
    assert!(file("boxes/debian-12/box.yaml").is_some());
    assert!(file("labs/django-ha/app/.dockerignore").is_some());
    assert!(
        file("labs/django-ha/tests/haproxy-retry")
            .unwrap()
            .executable()
    );
    assert!(
        file("labs/django-ha/checks/common.sh")
            .unwrap()
            .executable()
    );
}

#[test]
fn no_lab_state_or_leftovers_are_built_in() {
    for f in files() {
        assert!(
            !f.path.split('/').any(skip::skipped),
            "{} must not be built in",
            f.path
        );
    }
    for name in [
        ".lab",
        ".git",
        "__pycache__",
        "views.pyc",
        "site.retry",
        "lab.yaml~",
        ".lab.yaml.swp",
        ".site.yml.swo",
    ] {
        assert!(skip::skipped(name), "{name}");
    }
    for name in [
        ".dockerignore",
        "lab.yaml",
        ".lab-notes",
        "swp",
        "x.swp.txt",
    ] {
        assert!(!skip::skipped(name), "{name}");
    }
}

#[test]
fn files_are_sorted_as_paths_and_found_by_path() {
    let paths: Vec<&Path> = files().iter().map(|f| Path::new(f.path)).collect();
    assert!(paths.windows(2).all(|w| w[0] < w[1]), "{paths:?}");
    for f in files() {
        assert_eq!(file(f.path).map(|g| g.path), Some(f.path));
    }
    assert!(file("boxes/debian-12").is_none(), "a directory is no file");
    assert!(file("boxes/nope/box.yaml").is_none());
    assert!(is_dir("boxes/debian-12/files") && !is_dir("boxes/debian-12/box.yaml"));
    let labs = subdirs("labs");
    assert!(
        labs.contains(&"django-ha") && labs.contains(&"smoke"),
        "{labs:?}"
    );
    assert!(labs.windows(2).all(|w| w[0] < w[1]), "sorted: {labs:?}");
    assert!(subdirs("boxes").contains(&"debian-12-ansible"));
    assert!(under("boxes/debian-12").map(|(rel, _)| rel).eq([
        "box.yaml",
        "files/etc/cloud/cloud.cfg.d/10-lab.cfg",
        "files/etc/systemd/network/10-lab.network",
        "files/etc/systemd/system/lab-firstboot.service",
        "files/etc/systemd/system/systemd-networkd-wait-online.service.d/10-lab.conf",
        "files/usr/local/sbin/lab-firstboot"
    ]));
}

#[test]
fn write_tree_gives_exact_modes_and_refuses_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("out");
    let written = write_tree("labs/django-ha", &dest, File::plain_mode).unwrap();
    assert_eq!(written.len(), under("labs/django-ha").count());
    for (rel, f) in under("labs/django-ha") {
        let meta = std::fs::metadata(dest.join(rel)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, f.plain_mode(), "{rel}");
        assert_eq!(std::fs::read(dest.join(rel)).unwrap(), f.data, "{rel}");
    }
    let dir_mode = std::fs::metadata(dest.join("provision/roles"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o7777, DIR_MODE);
    // A link where a file goes is not written through.
    let link = tmp.path().join("l");
    std::fs::create_dir_all(&link).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("target"), link.join("lab.yaml")).unwrap();
    assert!(write_tree("labs/smoke", &link, File::plain_mode).is_err());
    assert!(!tmp.path().join("target").exists());
}
