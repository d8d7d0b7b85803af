//! `lab` as an installed tool: the binary copied into an empty directory
//! outside the repository, `$HOME` and `$LAB_HOME` temporary, no
//! `$LAB_BOXES_PATH`: `lab init` writes a lab that validates as is from
//! anywhere below it, the built-in recipes are there, and a box built from
//! the repository's recipe is current for the copy. No VM is booted and
//! libvirt is never asked (its URI points nowhere).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A temp dir outside the repository: `bin/lab` (the copy), `home/`
/// (`$HOME`), `labhome/` (`$LAB_HOME`), `work/` (where commands run).
struct Installed {
    tmp: tempfile::TempDir,
}

impl Installed {
    fn new() -> Installed {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .canonicalize()
            .unwrap();
        let root = tmp.path().canonicalize().unwrap();
        assert!(
            !root.starts_with(&repo),
            "{} is inside the repository",
            root.display()
        );
        for d in ["bin", "home", "labhome", "work"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        std::fs::copy(assert_cmd::cargo::cargo_bin("lab"), root.join("bin/lab")).unwrap();
        Installed { tmp }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().canonicalize().unwrap().join(rel)
    }

    /// `lab ARGS` (the copy) run in `work/CWD` under `umask 077`.
    fn lab(&self, cwd: &str, args: &[&str]) -> Output {
        let lab = self.path("bin/lab");
        Command::new("sh")
            .arg("-c")
            .arg("umask 077 && exec \"$0\" \"$@\"")
            .arg(&lab)
            .args(args)
            .current_dir(self.path("work").join(cwd))
            .env("HOME", self.path("home"))
            .env("LAB_HOME", self.path("labhome"))
            // Nothing here may need libvirt.
            .env(
                "LAB_LIBVIRT_URI",
                "qemu:///system?socket=/nonexistent/libvirt-sock",
            )
            .env(
                "PATH",
                format!(
                    "{}:/usr/bin:/bin:/usr/sbin:/sbin",
                    self.path("bin").display()
                ),
            )
            .env("NO_COLOR", "1")
            .env_remove("LAB_BOXES_PATH")
            .env_remove("LAB_FILE")
            .env_remove("LAB_LOG")
            .env_remove("XDG_DATA_HOME")
            .write_stdin("")
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap()
    }

    /// `lab ARGS` that must succeed: its stdout.
    fn ok(&self, cwd: &str, args: &[&str]) -> String {
        let out = self.lab(cwd, args);
        assert!(
            out.status.success(),
            "lab {args:?} in work/{cwd}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Every file under `dir`: (content, mode).
fn tree(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            out.extend(tree(&path));
            out.insert(path, (Vec::new(), meta.permissions().mode() & 0o7777));
        } else {
            let mode = meta.permissions().mode() & 0o7777;
            out.insert(path.clone(), (std::fs::read(&path).unwrap(), mode));
        }
    }
    out
}

#[test]
fn a_copied_binary_inits_labs_that_validate_from_anywhere_below_them() {
    let i = Installed::new();
    let out = i.ok("", &["init", "django-ha", "mylab"]);
    assert!(
        out.starts_with("wrote lab template django-ha into mylab ("),
        "{out}"
    );
    assert!(out.contains("\n  cd mylab && lab up "), "{out}");
    // Modes whatever the umask (077 here): scripts executable, the rest
    // readable, directories 0755.
    let mylab = i.path("work/mylab");
    let mode = |rel: &str| {
        std::fs::metadata(mylab.join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode(""), 0o755);
    assert_eq!(mode("provision/roles"), 0o755);
    assert_eq!(mode("lab.yaml"), 0o644);
    assert_eq!(mode("tests/haproxy-retry"), 0o755);
    assert_eq!(mode("checks/common.sh"), 0o755);
    assert!(!mylab.join(".lab").exists());

    let out = i.ok("mylab/provision/roles", &["validate"]);
    assert_eq!(
        out,
        format!(
            "{}/lab.yaml: lab \"django-ha\" is valid (4 nodes, subnet 10.77.20.0/24, box debian-12)\n",
            mylab.display()
        )
    );
    let recipes = i.ok("mylab", &["box", "list", "--recipes"]);
    for name in [
        "debian-12",
        "debian-12-ansible",
        "debian-12-django",
        "debian-12-django-ha-edge",
        "debian-12-django-ha-node",
    ] {
        assert!(
            recipes
                .lines()
                .any(|l| l.split_whitespace().take(2).eq([name, "built-in"])),
            "{name} is not listed as built-in:\n{recipes}"
        );
    }
    let schema: serde_json::Value = serde_json::from_str(&i.ok("", &["schema"])).unwrap();
    assert_eq!(schema["title"], "lab.yaml");

    // Again: refused, nothing touched (not even a file changed since).
    std::fs::write(mylab.join("lab.yaml"), "# mine now\n").unwrap();
    let before = tree(&mylab);
    let out = i.lab("", &["init", "django-ha", "mylab"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: {} files of template django-ha exist already in mylab: README.md, ansible.cfg,",
            tree_files(&before)
        )),
        "{err}"
    );
    assert!(
        err.contains("nothing was written: pass --force to replace them"),
        "{err}"
    );
    assert_eq!(tree(&mylab), before);

    // The default template into the current directory.
    std::fs::create_dir(i.path("work/fresh")).unwrap();
    let out = i.ok("fresh", &["init"]);
    assert!(
        out.starts_with("wrote lab template smoke into the current directory (1 file): lab.yaml\n"),
        "{out}"
    );
    assert!(out.contains("\n  lab up "), "{out}");
    let out = i.ok("fresh", &["validate"]);
    assert_eq!(
        out,
        "lab.yaml: lab \"smoke\" is valid (2 nodes, subnet 10.77.10.0/24, box debian-12)\n"
    );

    // Validating, listing recipes and init wrote nothing of lab's own.
    assert_eq!(tree(&i.path("labhome")), BTreeMap::new());
    assert_eq!(tree(&i.path("home")), BTreeMap::new());
}

/// The number of regular files in a [`tree`].
fn tree_files(tree: &BTreeMap<PathBuf, (Vec<u8>, u32)>) -> usize {
    tree.keys().filter(|p| p.is_file()).count()
}

/// A box in `$LAB_HOME/boxes` as `lab box build` leaves it, built from a
/// recipe of hash `hash`.
fn stored_box(i: &Installed, name: &str, hash: &str) {
    let dir = i.path("labhome/boxes").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["disk.qcow2", "vmlinuz", "initrd.img"] {
        std::fs::write(dir.join(f), "x").unwrap();
    }
    let meta = serde_json::json!({
        "name": name, "version": "1", "format": "disk", "recipe_hash": hash,
        "disk_sha256": "00", "disk_gib": 8, "cmdline": "", "user": "lab",
        "built_at": 0, "build_seconds": 1, "suite": "bookworm", "packages": [],
        "installed_packages": 1
    });
    std::fs::write(dir.join("box.json"), meta.to_string()).unwrap();
}

#[test]
fn a_box_built_from_the_repositorys_recipe_is_current_for_the_copy_until_a_user_recipe_changes() {
    let i = Installed::new();
    // As `lab box build` in the checkout records it.
    let repo = lab::paths::RecipeDir::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("boxes"));
    let hash = lab::boxes::recipe::find("debian-12", &[repo]).unwrap().hash;
    stored_box(&i, "debian-12", &hash);
    let out = i.ok("", &["box", "build", "debian-12"]);
    assert!(
        out.starts_with("box debian-12 is up to date (version 1, recipe unchanged)"),
        "{out}"
    );

    // A copy of it in $LAB_HOME/recipes shadows it and hashes the same...
    let mine = i.path("labhome/recipes/debian-12");
    for (rel, f) in lab::builtin::under("boxes/debian-12") {
        let path = mine.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, f.data).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode)).unwrap();
    }
    let out = i.ok("", &["box", "build", "debian-12"]);
    assert!(out.starts_with("box debian-12 is up to date"), "{out}");
    // ...until it is edited: then it is built again (which fails here, at
    // a stand-in mmdebstrap: no box is ever built by this test).
    let bin = i.path("bin/mmdebstrap");
    std::fs::write(&bin, "#!/bin/sh\nexit 97\n").unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let yaml = mine.join("box.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, text.replace("version: \"1\"", "version: \"2\"")).unwrap();
    let out = i.lab("", &["box", "build", "debian-12"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("\nerror: building box debian-12 failed\n"),
        "{err}"
    );
    assert!(err.contains("failed (exit status 97)"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).is_empty());
}
