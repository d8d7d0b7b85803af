//! Recipes along the search path: the built-in ones read from memory hash
//! as the repository's copies do, a user recipe shadows or extends them,
//! and an edited user recipe hashes differently.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

const BASE: &str = "version: '1'\nsuite: bookworm\nmirror: http://deb.debian.org/debian\npackages: [openssh-server]\ndisk_gib: 8\ncmdline: root=/dev/vda rw\nuser: lab\n";

fn repo_boxes() -> RecipeDir {
    RecipeDir::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("boxes"))
}

/// Copy of the built-in recipe `name` (box.yaml and files/, modes kept)
/// under `dir`.
fn copy_builtin(name: &str, dir: &Path) {
    for (rel, f) in crate::builtin::under(&format!("boxes/{name}")) {
        let path = dir.join(name).join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, f.data).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode)).unwrap();
    }
}

#[test]
fn a_built_in_recipe_hashes_as_the_repositorys_copy() {
    let names = RecipeDir::BuiltIn.names();
    assert!(names.len() >= 5, "{names:?}");
    for name in &names {
        let built_in = find(name, &[RecipeDir::BuiltIn]).unwrap();
        let repo = find(name, &[repo_boxes()]).unwrap();
        assert_eq!(built_in.hash, repo.hash, "{name}");
        assert_eq!(built_in.recipe, repo.recipe, "{name}");
        assert_eq!(built_in.from, RecipeDir::BuiltIn);
        assert_eq!(
            built_in.file,
            Path::new(&format!("built-in:boxes/{name}/box.yaml"))
        );
        assert!(
            built_in
                .overlays
                .iter()
                .all(|o| matches!(o, Overlay::BuiltIn(_))),
            "{name}: {:?}",
            built_in.overlays
        );
    }
    // One with files, one that extends it.
    let base = find("debian-12", &[RecipeDir::BuiltIn]).unwrap();
    assert_eq!(
        base.overlays,
        [Overlay::BuiltIn("boxes/debian-12/files".into())]
    );
    let child = find("debian-12-ansible", &[RecipeDir::BuiltIn]).unwrap();
    assert_eq!(child.overlays, base.overlays);
}

#[test]
fn a_user_recipe_shadows_a_built_in_one_and_may_extend_one() {
    let tmp = tempfile::tempdir().unwrap();
    let user = RecipeDir::Dir(tmp.path().to_owned());
    let dirs = [user.clone(), RecipeDir::BuiltIn];
    std::fs::create_dir_all(tmp.path().join("mine/files/etc")).unwrap();
    std::fs::write(
        tmp.path().join("mine/box.yaml"),
        "extends: debian-12\nversion: '7'\npackages: [htop]\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("mine/files/etc/motd"), "mine").unwrap();
    let mine = find("mine", &dirs).unwrap();
    let base = find("debian-12", &dirs).unwrap();
    assert_eq!(base.from, RecipeDir::BuiltIn);
    assert_eq!(mine.from, user);
    assert_eq!(mine.recipe.suite, base.recipe.suite);
    assert_eq!(
        mine.recipe.packages.last().map(String::as_str),
        Some("htop")
    );
    assert_eq!(
        mine.overlays,
        [
            Overlay::BuiltIn("boxes/debian-12/files".into()),
            Overlay::Dir(tmp.path().join("mine/files"))
        ]
    );
    // Without the built-in recipes in the search, there is no parent.
    let msg = find("mine", std::slice::from_ref(&user))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("extends: no recipe `debian-12` to extend: looked for debian-12/box.yaml in "),
        "{msg}"
    );

    // A user recipe of the same name comes first; the parent of a
    // user recipe is looked up beside it first, too.
    std::fs::create_dir_all(tmp.path().join("debian-12")).unwrap();
    std::fs::write(tmp.path().join("debian-12/box.yaml"), BASE).unwrap();
    let shadow = find("debian-12", &dirs).unwrap();
    assert_eq!(shadow.from, user);
    assert_eq!(shadow.overlays, []);
    assert_eq!(
        find("mine", &dirs).unwrap().overlays,
        [Overlay::Dir(tmp.path().join("mine/files"))]
    );
    // A built-in recipe extends the built-in parent, not the user's.
    let ansible = find("debian-12-ansible", &dirs).unwrap();
    assert_eq!(ansible.from, RecipeDir::BuiltIn);
    assert_eq!(ansible.overlays, base.overlays);
}

#[test]
fn a_user_copy_of_a_built_in_recipe_hashes_the_same_until_it_is_edited() {
    let tmp = tempfile::tempdir().unwrap();
    copy_builtin("debian-12", tmp.path());
    let user = [RecipeDir::Dir(tmp.path().to_owned())];
    let built_in = find("debian-12", &[RecipeDir::BuiltIn]).unwrap().hash;
    assert_eq!(find("debian-12", &user).unwrap().hash, built_in);
    // An edited recipe, an overlay file's content or mode: another hash,
    // so the stored box (recording the old one) is built again.
    let yaml = tmp.path().join("debian-12/box.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, format!("{text}# edited\n")).unwrap();
    let edited = find("debian-12", &user).unwrap().hash;
    assert_ne!(edited, built_in);
    std::fs::write(&yaml, text).unwrap();
    assert_eq!(find("debian-12", &user).unwrap().hash, built_in);
    let file = tmp
        .path()
        .join("debian-12/files/etc/systemd/network/10-lab.network");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_ne!(find("debian-12", &user).unwrap().hash, built_in);
}

#[test]
fn a_missing_recipe_names_every_place_searched() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = [RecipeDir::Dir(tmp.path().to_owned()), RecipeDir::BuiltIn];
    assert_eq!(
        find("nope", &dirs).unwrap_err().to_string(),
        format!(
            "no recipe for box `nope`: looked for box.yaml in {} and the built-in recipes",
            tmp.path().display()
        )
    );
}

fn write_recipe(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join("box.yaml"), text).unwrap();
}

#[test]
fn a_user_recipe_extends_the_next_recipe_of_its_own_name() {
    let (u1, u2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = RecipeDir::Dir(u1.path().to_owned());
    let two = RecipeDir::Dir(u2.path().to_owned());
    let dirs = [one.clone(), two.clone(), RecipeDir::BuiltIn];
    let built_in = find("debian-12", &[RecipeDir::BuiltIn]).unwrap();
    write_recipe(
        u1.path(),
        "debian-12",
        "version: '1'\nextends: debian-12\npackages: [vim]\n",
    );
    let mine = find("debian-12", &dirs).unwrap();
    assert_eq!(mine.from, one);
    assert_eq!(mine.recipe.suite, built_in.recipe.suite);
    assert_eq!(mine.recipe.packages.last().map(String::as_str), Some("vim"));
    assert_eq!(mine.overlays, built_in.overlays);
    // Recipes extending debian-12 beside it get the user's, which gets
    // the built-in one; so does the shadowed listing of the built-in one.
    write_recipe(
        u1.path(),
        "mine",
        "version: '1'\nextends: debian-12\npackages: [htop]\n",
    );
    let child = find("mine", &dirs).unwrap();
    assert!(
        child
            .recipe
            .packages
            .ends_with(&["vim".into(), "htop".into()])
    );
    assert!(load_from("debian-12", &RecipeDir::BuiltIn, &dirs).is_ok());
    // Two levels of the same name: each extends the next one.
    write_recipe(
        u2.path(),
        "debian-12",
        "version: '2'\nextends: debian-12\npackages: [less]\n",
    );
    let both = find("debian-12", &dirs).unwrap();
    assert!(
        both.recipe
            .packages
            .ends_with(&["less".into(), "vim".into()])
    );
    // Without a next one, the error says what extending its own name means.
    let msg = find("debian-12", std::slice::from_ref(&one))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("extends: no other recipe `debian-12` to extend (a recipe extending its own name extends the next one of that name in the search order): looked for debian-12/box.yaml in no recipe directory"),
        "{msg}"
    );
}

#[test]
fn a_loop_of_recipes_is_named_step_by_step_and_a_long_chain_by_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let dirs = [RecipeDir::Dir(d.to_owned()), RecipeDir::BuiltIn];
    write_recipe(d, "a", "extends: b\nversion: '1'\n");
    write_recipe(d, "b", "extends: a\nversion: '1'\n");
    let msg = find("a", &dirs).unwrap_err().to_string();
    let (a, b) = (
        format!("a (in {})", d.display()),
        format!("b (in {})", d.display()),
    );
    assert!(
        msg.ends_with(&format!("b/box.yaml:1:10: extends: recipes extend each other in a loop: {a} → {b} → {a}; break it by extending a recipe outside the loop")),
        "{msg}"
    );
    // A legitimate chain one step longer than the limit says the limit.
    for i in 0..=MAX_EXTENDS {
        write_recipe(
            d,
            &format!("c{i}"),
            &format!("extends: c{}\nversion: '1'\n", i + 1),
        );
    }
    write_recipe(
        d,
        &format!("c{}", MAX_EXTENDS + 1),
        "extends: debian-12\nversion: '1'\n",
    );
    let msg = find("c1", &dirs).unwrap_err().to_string();
    assert!(msg.contains("extends: recipes may extend each other at most 4 levels deep, and this chain is longer: c1 (in "), "{msg}");
    assert!(
        msg.ends_with("→ debian-12 (built-in); extend a recipe nearer the base"),
        "{msg}"
    );
    assert!(find("c2", &dirs).is_ok());
}
