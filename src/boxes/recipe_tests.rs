//! Tests of recipe parsing, inheritance and hashing; `shipped` loads
//! every recipe of the repository's boxes/.

use super::*;
use crate::boxes::hash::hash_recipe;
use crate::paths::RecipeDir;

/// The search path of one directory on disk (no built-in recipes).
fn on_disk(dir: &Path) -> Vec<RecipeDir> {
    vec![RecipeDir::Dir(dir.to_owned())]
}

const GOOD: &str = "version: '1'\nsuite: bookworm\nmirror: http://deb.debian.org/debian\npackages: [openssh-server]\ndisk_gib: 8\ncmdline: root=/dev/vda rw\nuser: lab\n";

#[test]
fn parses_a_good_recipe_with_defaults() {
    let r = parse(GOOD, Path::new("box.yaml")).unwrap();
    assert_eq!(r.suite, "bookworm");
    assert_eq!(r.variant, "apt");
    assert_eq!(r.packages, vec!["openssh-server"]);
    assert!(r.customize.is_empty());
}

#[test]
fn unknown_key_names_line_and_column() {
    let text = format!("{GOOD}colour: blue\n");
    let err = parse(&text, Path::new("boxes/x/box.yaml")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("boxes/x/box.yaml:8:1:"), "{msg}");
    assert!(
        msg.contains("colour") && !msg.contains("error:") && !msg.contains("line 8"),
        "{msg}"
    );
}

#[test]
fn missing_field_is_reported() {
    let text = GOOD.replace("user: lab\n", "");
    let msg = parse(&text, Path::new("b.yaml")).unwrap_err().to_string();
    assert!(msg.contains("user"), "{msg}");
}

#[test]
fn semantic_checks() {
    let bad_disk = GOOD.replace("disk_gib: 8", "disk_gib: 1");
    assert!(
        parse(&bad_disk, Path::new("b"))
            .unwrap_err()
            .to_string()
            .contains("disk_gib")
    );
    let root = GOOD.replace("user: lab", "user: root");
    assert!(
        parse(&root, Path::new("b"))
            .unwrap_err()
            .to_string()
            .contains("b:7:7: user: \"root\" is root; lab logs in as an ordinary user")
    );
    let empty = GOOD.replace("[openssh-server]", "[]");
    assert!(
        parse(&empty, Path::new("b"))
            .unwrap_err()
            .to_string()
            .contains("packages")
    );
}

const ROOTFS: &str = "version: '1'\nformat: rootfs\nsuite: bookworm\nmirror: http://deb.debian.org/debian\nsources: ['deb http://deb.debian.org/debian bookworm-backports main']\npackages: [python3]\n";

#[test]
fn rootfs_recipe_needs_no_disk_fields_and_refuses_them() {
    let r = parse(ROOTFS, Path::new("b")).unwrap();
    assert_eq!(r.format, Format::Rootfs);
    assert_eq!(
        r.sources,
        vec!["deb http://deb.debian.org/debian bookworm-backports main"]
    );
    assert_eq!((r.disk_gib, r.user.as_str()), (0, ""));
    let msg = parse(&format!("{ROOTFS}user: lab\n"), Path::new("b"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with(":7:7: user: does not apply to `format: rootfs` (it never boots); remove it"),
        "{msg}"
    );
    let bad = ROOTFS.replace("'deb http", "'http");
    let msg = parse(&bad, Path::new("b")).unwrap_err().to_string();
    assert!(msg.contains("not an apt source line"), "{msg}");
    let msg = parse(&ROOTFS.replace("rootfs", "iso"), Path::new("b"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("iso") || msg.contains("format"), "{msg}");
    assert_eq!(parse(GOOD, Path::new("b")).unwrap().format, Format::Disk);
}

#[test]
fn hash_changes_with_recipe_and_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let overlay = dir.path().join("files");
    let h0 = hash_recipe(GOOD, &overlay).unwrap();
    assert_eq!(h0, hash_recipe(GOOD, &overlay).unwrap(), "hash is stable");
    assert_ne!(h0, hash_recipe(&format!("{GOOD}#\n"), &overlay).unwrap());
    std::fs::create_dir_all(overlay.join("etc")).unwrap();
    std::fs::write(overlay.join("etc/motd"), "hi").unwrap();
    let h1 = hash_recipe(GOOD, &overlay).unwrap();
    assert_ne!(h0, h1, "adding an overlay file changes the hash");
    std::fs::write(overlay.join("etc/motd"), "ho").unwrap();
    assert_ne!(h1, hash_recipe(GOOD, &overlay).unwrap(), "content matters");
}

#[test]
fn extends_inherits_and_appends() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("base/files/etc")).unwrap();
    std::fs::write(dir.path().join("base/box.yaml"), GOOD).unwrap();
    std::fs::write(dir.path().join("base/files/etc/motd"), "base").unwrap();
    std::fs::create_dir_all(dir.path().join("child/files")).unwrap();
    std::fs::write(
        dir.path().join("child/box.yaml"),
        "extends: base\nversion: '2'\npackages: [ansible]\ncustomize: [echo child]\n",
    )
    .unwrap();
    let dirs = on_disk(dir.path());
    let base = find("base", &dirs).unwrap();
    let child = find("child", &dirs).unwrap();
    assert_eq!(child.recipe.packages, vec!["openssh-server", "ansible"]);
    assert_eq!(child.recipe.customize, vec!["echo child"]);
    assert_eq!(child.recipe.suite, "bookworm");
    assert_eq!(child.recipe.version, "2");
    assert_eq!(
        child.overlays,
        vec![
            Overlay::Dir(dir.path().join("base/files")),
            Overlay::Dir(dir.path().join("child/files"))
        ]
    );
    // A change in the parent changes the child's hash.
    let h = child.hash.clone();
    std::fs::write(dir.path().join("base/files/etc/motd"), "changed").unwrap();
    assert_ne!(find("child", &dirs).unwrap().hash, h);
    assert_ne!(base.hash, h);
}

#[test]
fn extends_loop_and_missing_parent_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (n, p) in [("a", "b"), ("b", "a")] {
        std::fs::create_dir_all(dir.path().join(n)).unwrap();
        std::fs::write(
            dir.path().join(n).join("box.yaml"),
            format!("extends: {p}\nversion: '1'\n"),
        )
        .unwrap();
    }
    let dirs = on_disk(dir.path());
    assert!(
        find("a", &dirs)
            .unwrap_err()
            .to_string()
            .contains("extends: recipes extend each other in a loop: a (in ")
    );
    std::fs::create_dir_all(dir.path().join("c")).unwrap();
    std::fs::write(
        dir.path().join("c/box.yaml"),
        "extends: nope\nversion: '1'\n",
    )
    .unwrap();
    assert!(find("c", &dirs).unwrap_err().to_string().contains(
        "c/box.yaml:1:10: extends: no recipe `nope` to extend: looked for nope/box.yaml in "
    ));
}

#[test]
fn find_reports_searched_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let err = find("nope", &on_disk(dir.path())).unwrap_err();
    assert!(err.to_string().contains(&dir.path().display().to_string()));
    std::fs::create_dir_all(dir.path().join("ok")).unwrap();
    std::fs::write(dir.path().join("ok/box.yaml"), GOOD).unwrap();
    let src = find("ok", &on_disk(dir.path())).unwrap();
    assert_eq!(src.name, "ok");
    assert_eq!(src.hash.len(), 64);
}

mod shipped {
    use super::*;

    /// Every recipe under the project's boxes/ loads (extends resolved);
    /// the rootfs ones need no disk fields, the disk ones have them.
    #[test]
    fn every_shipped_recipe_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("boxes");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert!(names.len() >= 5, "{names:?}");
        for name in &names {
            let src = find(name, &on_disk(&dir)).unwrap_or_else(|e| panic!("{name}: {e}"));
            match src.recipe.format {
                Format::Disk => assert!(
                    src.recipe.disk_gib >= 2 && !src.recipe.user.is_empty(),
                    "{name}"
                ),
                Format::Rootfs => assert_eq!(src.recipe.disk_gib, 0, "{name}"),
            }
        }
        let django = find("debian-12-django", &on_disk(&dir)).unwrap();
        assert_eq!(django.recipe.format, Format::Rootfs);
        assert!(
            django
                .recipe
                .packages
                .iter()
                .any(|p| p.starts_with("python3-django/"))
        );
    }
}

#[test]
fn names_that_leave_the_recipe_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let recipes = dir.path().join("boxes");
    std::fs::create_dir_all(dir.path().join("outside")).unwrap();
    std::fs::write(dir.path().join("outside/box.yaml"), GOOD).unwrap();
    let dirs = on_disk(&recipes);
    assert_eq!(
        find("../outside", &dirs).unwrap_err().to_string(),
        "box name \"../outside\" contains '/'; only lowercase letters, digits, '-', '.' and '_' are allowed"
    );
    std::fs::create_dir_all(recipes.join("child")).unwrap();
    for parent in ["../outside", "/abs/outside", "..", ".hidden"] {
        std::fs::write(
            recipes.join("child/box.yaml"),
            format!("extends: {parent:?}\nversion: '2'\n"),
        )
        .unwrap();
        let msg = find("child", &dirs).unwrap_err().to_string();
        assert!(
            msg.contains(&format!(
                "box.yaml:1:10: extends: {parent:?} is not a box name: it "
            )),
            "{parent}: {msg}"
        );
    }
}

#[test]
fn the_login_user_must_be_a_login_name() {
    for (user, said) in [
        (
            "'-oProxyCommand=touch /tmp/pwned'",
            "b:7:7: user: \"-oProxyCommand=touch /tmp/pwned\" starts with '-'",
        ),
        (
            "\"lab\\nProxyCommand touch x\"",
            "b:7:7: user: \"lab\\nProxyCommand touch x\" contains '\\n'",
        ),
        ("Lab", "b:7:7: user: \"Lab\" starts with 'L'"),
    ] {
        let text = GOOD.replace("user: lab", &format!("user: {user}"));
        let msg = parse(&text, Path::new("b")).unwrap_err().to_string();
        assert!(msg.contains(said), "{user}: {msg}");
    }
}

/// Every refusal of a recipe names file:line:column and the field, as a
/// sentence (the tester's cases first).
#[test]
fn recipe_errors_name_position_and_field() {
    let good = |from: &str, to: &str| GOOD.replace(from, to);
    let deep = format!("packages: {}x{}", "[".repeat(300), "]".repeat(300));
    let cases = [
        good("disk_gib: 8", "disk_gib: 5000"),
        good("disk_gib: 8", "disk_gib: abc"),
        good("disk_gib: 8", "disk_gib: -3"),
        good("disk_gib: 8", "disk_gib: 5.5"),
        good("disk_gib: 8", "disk_gib: ~"),
        good("disk_gib: 8", "disk_gib: [8]"),
        good("mirror: http://deb.debian.org/debian\n", ""),
        good("version: '1'\n", ""),
        good(
            "suite: bookworm\n",
            "suite: bookworm\nsources: ['deb http://x bookworm main', 'nope x']\n",
        ),
        good("version: '1'\n", "version: '1'\nversion: '2'\n"),
        good("packages: [openssh-server]", &deep),
        good("packages: [openssh-server]", "packages: []"),
        good("packages: [openssh-server]", "packages: openssh-server"),
        good(
            "packages: [openssh-server]",
            "packages: [openssh-server, [x]]",
        ),
        good("user: lab", "user: {name: lab}"),
        good("user: lab", "colour: blue"),
        good("suite: bookworm", "suite: bookworm\nformat: iso"),
        good("suite: bookworm", "suite:\n\t- bookworm"),
        good("suite: bookworm", "suite: 'bookworm"),
        "- version: '1'\n".to_string(),
        "".to_string(),
        format!("{GOOD}---\n{GOOD}"),
    ];
    let out: Vec<String> = cases
        .iter()
        .map(|text| {
            let err = parse(text, Path::new("box.yaml")).unwrap_err();
            assert!(matches!(err, RecipeError::Invalid(_)), "{err:?}");
            err.to_string()
        })
        .collect();
    insta::assert_snapshot!(out.join("\n"));
}
