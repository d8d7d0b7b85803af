//! `lab box list [--recipes] [--json]` through the real binary: every
//! recipe along the search path (a directory's, the built-in ones), which
//! one a name resolves to and which are shadowed, an invalid one with
//! why; the store as JSON. Nothing is built or booted.

use std::path::{Path, PathBuf};

mod common;

/// A temp dir that is `$HOME`, with `home/` as `$LAB_HOME` and `work/` as
/// the current directory.
struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(env.path("work")).unwrap();
        std::fs::create_dir_all(env.path("home")).unwrap();
        env
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().canonicalize().unwrap()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `lab ARGS` in `work/`: stdout with the temp dir as `[TMP]`.
    fn lab(&self, args: &[&str]) -> String {
        let out = common::isolated_lab(&self.path("work"), &self.root(), &self.path("home"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "lab {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .replace(&self.root().display().to_string(), "[TMP]")
    }
}

/// Every file under `dir`, for "nothing was written".
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree(&path));
        }
        out.push(path);
    }
    out.sort();
    out
}

/// A table with its columns two spaces apart (the temp dir's path, made
/// `[TMP]`, had widened them).
fn columns(table: &str) -> String {
    table
        .lines()
        .map(|line| {
            let cells: Vec<&str> = line
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            cells.join("  ") + "\n"
        })
        .collect()
}

const DEBIAN: &str = "description: my own Debian 12\nversion: '9'\nsuite: bookworm\nmirror: http://deb.debian.org/debian\npackages: [openssh-server]\ndisk_gib: 8\ncmdline: root=/dev/vda rw\nuser: lab\n";

#[test]
fn recipes_are_listed_with_where_they_come_from_and_what_shadows_what() {
    let e = Env::new();
    // Mine shadows the built-in debian-12; a recipe of the current
    // directory's boxes/ extends a built-in one; one is invalid.
    e.write("home/recipes/debian-12/box.yaml", DEBIAN);
    e.write(
        "work/boxes/mine/box.yaml",
        "extends: debian-12-ansible\ndescription: mine, with Ansible\nversion: '2'\n",
    );
    e.write("work/boxes/bad/box.yaml", "version: [\n");
    let before = tree(&e.path("home"));
    insta::assert_snapshot!("recipes", columns(&e.lab(&["box", "list", "--recipes"])));
    insta::assert_snapshot!(
        "recipes_json",
        e.lab(&["box", "list", "--recipes", "--json"])
    );
    assert_eq!(tree(&e.path("home")), before, "listing wrote something");
}

#[test]
fn the_store_is_listed_as_json_a_broken_box_with_why() {
    let e = Env::new();
    let meta = serde_json::json!({
        "name": "stored", "version": "1", "format": "disk", "recipe_hash": "h",
        "disk_sha256": "00", "disk_gib": 8, "cmdline": "", "user": "lab",
        "built_at": 0, "build_seconds": 1, "suite": "bookworm", "packages": [],
        "installed_packages": 1
    });
    e.write("home/boxes/stored/box.json", &meta.to_string());
    for f in ["disk.qcow2", "vmlinuz", "initrd.img"] {
        e.write(&format!("home/boxes/stored/{f}"), "x");
    }
    e.write("home/boxes/broken/box.json", "{");
    let text = e.lab(&["box", "list", "--json"]);
    let out: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Blocks on disk depend on the file system.
    let size = out["boxes"][1]["size_bytes"].as_u64().unwrap();
    assert!(size > 0);
    let text = text.replace(
        &format!("\"size_bytes\": {size},"),
        "\"size_bytes\": \"[size]\",",
    );
    insta::assert_snapshot!("store_json", text);
    // Empty store: an empty list, not a sentence.
    let e = Env::new();
    let out: serde_json::Value = serde_json::from_str(&e.lab(&["box", "list", "--json"])).unwrap();
    assert_eq!(out["boxes"], serde_json::json!([]));
}

#[test]
fn a_box_without_recipe_or_copy_is_refused_before_anything_is_made() {
    let e = Env::new();
    for args in [["box", "build", "nosuch"], ["box", "remove", "nosuch"]] {
        let out = common::isolated_lab(&e.path("work"), &e.root(), &e.path("home"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "lab {args:?}");
        assert_eq!(tree(&e.path("home")), Vec::<PathBuf>::new(), "lab {args:?}");
    }
}
