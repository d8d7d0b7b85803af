//! Hostile box recipes and stores, through the real binary: names that
//! climb out of the recipe directories or the store, invalid recipes
//! (invalid input, exit status 2, with position and field), a broken or
//! incomplete box in the store, a failed build.

mod common;

use common::{env, stored_box};

#[test]
fn box_names_never_lead_out_of_the_recipes_or_the_store() {
    let e = env();
    let victim = e.home.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("box.json"), "{}").unwrap();
    std::fs::create_dir_all(e.path().join("x")).unwrap();
    std::fs::write(e.path().join("x/box.yaml"), "version: '1'\n").unwrap();
    let said = |name: &str| {
        format!(
            "error: box name {name:?} contains '/'; only lowercase letters, digits, '-', '.' and '_' are allowed\n"
        )
    };
    let run = e.lab(&["box", "remove", "../victim"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, said("../victim").as_str())
    );
    assert!(
        victim.join("box.json").exists(),
        "removed outside the store"
    );
    for name in ["../x", "/abs/x"] {
        let run = e.lab(&["box", "build", name]);
        assert_eq!((run.code, run.stderr.as_str()), (2, said(name).as_str()));
    }
    let run = e.lab(&["box", "build", ".."]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("must start with a letter or digit"),
        "{}",
        run.stderr
    );

    // A recipe may not extend one outside the recipe directories.
    std::fs::create_dir_all(e.recipes.join("child")).unwrap();
    std::fs::write(
        e.recipes.join("child/box.yaml"),
        "extends: ../../x\nversion: '2'\n",
    )
    .unwrap();
    let run = e.lab(&["box", "build", "child"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: [LAB_DIR]/recipes/child/box.yaml:1:10: extends: \"../../x\" is not a box name: it contains '/'; only lowercase letters, digits, '-', '.' and '_' are allowed\n"
    );
}

#[test]
fn an_invalid_recipe_is_invalid_input_with_its_position_and_field() {
    let e = env();
    let recipe = "version: '1'\nsuite: bookworm\nmirror: http://deb.debian.org/debian\npackages: [x]\ndisk_gib: 5000\ncmdline: x\nuser: lab\n";
    std::fs::write(e.recipes.join("debian-12/box.yaml"), recipe).unwrap();
    let said = "error: [LAB_DIR]/recipes/debian-12/box.yaml:5:11: disk_gib: 5000 GiB is out of range; a box's disk is 2 to 1024 GiB\n";
    let run = e.lab(&["box", "build", "debian-12"]);
    assert_eq!((run.code, run.stderr.as_str()), (2, said));
    // `lab up` refuses it before anything is created, even with a stored
    // copy of the box to fall back on.
    let stored = e.home.join("boxes/debian-12");
    std::fs::create_dir_all(&stored).unwrap();
    for f in ["disk.qcow2", "vmlinuz", "initrd.img"] {
        std::fs::write(stored.join(f), "x").unwrap();
    }
    let meta = serde_json::json!({
        "name": "debian-12", "version": "1", "format": "disk", "recipe_hash": "old",
        "disk_sha256": "00", "disk_gib": 8, "cmdline": "", "user": "lab",
        "built_at": 0, "build_seconds": 1, "suite": "bookworm", "packages": [],
        "installed_packages": 1
    });
    std::fs::write(stored.join("box.json"), meta.to_string()).unwrap();
    let run = e.lab(&["up"]);
    assert_eq!((run.code, run.stderr.as_str()), (2, said));
    assert!(!e.path().join(".lab").exists(), "state created");
}

#[test]
fn box_list_shows_every_box_and_why_a_broken_one_is() {
    let e = env();
    stored_box(&e, "good", &["disk.qcow2", "vmlinuz", "initrd.img"]);
    stored_box(&e, "big", &["disk.qcow2", "vmlinuz", "initrd.img"]);
    std::fs::write(e.home.join("boxes/big/box.json"), " ".repeat(2 << 20)).unwrap();
    let run = e.lab(&["box", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[1].starts_with("big ") && lines[1].ends_with("broken (below)"),
        "{}",
        run.stdout
    );
    assert!(lines[2].starts_with("good "), "{}", run.stdout);
    assert_eq!(
        lines[3],
        "box `big` is broken (box.json is 2 MiB, over the 1 MiB limit); remove it with `lab box remove big` and build it again"
    );
}

#[test]
fn an_incomplete_stored_box_is_refused_before_anything_is_created() {
    let e = env();
    // A box no recipe directory has: only the stored box can be used.
    let lab = std::fs::read_to_string(e.path().join("lab.yaml")).unwrap();
    std::fs::write(
        e.path().join("lab.yaml"),
        lab.replace("box: debian-12", "box: only-stored"),
    )
    .unwrap();
    stored_box(&e, "only-stored", &["disk.qcow2", "initrd.img"]);
    let run = e.lab(&["up"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: box `only-stored` in the store is incomplete (no vmlinuz); remove it with `lab box remove only-stored` and build it again\n"
    );
    assert!(!e.path().join(".lab").exists(), "state created");
}

#[test]
fn a_failed_box_build_names_its_log_once() {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: lab refuses to build boxes before running a tool; not exercised");
        return;
    }
    let e = env();
    let recipe = "version: '1'\nsuite: bookworm\nmirror: http://deb.debian.org/debian\npackages: [x]\ndisk_gib: 8\ncmdline: x\nuser: lab\n";
    std::fs::write(e.recipes.join("debian-12/box.yaml"), recipe).unwrap();
    // mmdebstrap is the stand-in that fails at once (see `env`).
    let run = e.lab(&["box", "build", "debian-12"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let error: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("error: "))
        .collect();
    assert_eq!(
        error[0], "error: building box debian-12 failed",
        "{}",
        run.stderr
    );
    let log = "[LAB_DIR]/home/logs/box-debian-12.log";
    assert_eq!(error.join("\n").matches(log).count(), 1, "{}", run.stderr);
}
