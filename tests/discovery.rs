//! Finding things from where `lab` runs, through the real binary: the lab
//! file in the current directory or a parent (`lab status` from
//! `mylab/scripts/`), the message when there is none, and box recipes
//! beside the lab and in the current directory (`lab box build`). Nothing
//! here boots a VM: libvirt is `test:///default`, and box builds stop at a
//! recipe error before any tool runs.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temp dir holding `mylab/lab.yaml` (a copy of labs/smoke) and
/// `mylab/scripts/`, with `$LAB_HOME` (knowing `debian-12`) and `$HOME`
/// inside it.
struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env { tmp };
        std::fs::create_dir_all(env.path("mylab/scripts")).unwrap();
        std::fs::create_dir_all(env.path("home/recipes/debian-12")).unwrap();
        std::fs::write(env.path("home/recipes/debian-12/box.yaml"), "").unwrap();
        let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/smoke/lab.yaml");
        std::fs::copy(smoke, env.path("mylab/lab.yaml")).unwrap();
        env
    }

    /// `rel` inside the temp dir, with symlinks resolved (as the current
    /// directory of a process is).
    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().canonicalize().unwrap()
    }

    /// `lab ARGS` run in `cwd` (relative to the temp dir).
    fn lab(&self, cwd: &str, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("lab").unwrap();
        cmd.args(args)
            .current_dir(self.path(cwd))
            .env("HOME", self.root())
            .env("LAB_HOME", self.path("home"))
            .env("LAB_LIBVIRT_URI", "test:///default")
            .env("NO_COLOR", "1")
            .env_remove("LAB_FILE")
            .env_remove("LAB_BOXES_PATH")
            .env_remove("LAB_LOG");
        cmd
    }

    /// stdout, stderr (temp paths replaced by `[TMP]`) and the exit code.
    fn run(&self, cmd: &mut Command) -> (String, String, i32) {
        let out = cmd.write_stdin("").output().unwrap();
        let clean = |b: &[u8]| {
            String::from_utf8_lossy(b).replace(&self.root().display().to_string(), "[TMP]")
        };
        (
            clean(&out.stdout),
            clean(&out.stderr),
            out.status.code().unwrap_or(-1),
        )
    }
}

#[test]
fn status_from_a_subdirectory_uses_the_lab_file_above() {
    let env = Env::new();
    let (out, err, code) = env.run(&mut env.lab("mylab/scripts", &["status"]));
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(
        out.starts_with("lab smoke: network lab-smoke not created\n"),
        "{out}"
    );
    // Found in a parent, the file is named by its absolute path; the state
    // directory is beside it, and `lab ssh` from here needs no -f.
    let (out, _, code) = env.run(&mut env.lab("mylab/scripts", &["validate"]));
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "[TMP]/mylab/lab.yaml: lab \"smoke\" is valid (2 nodes, subnet 10.77.10.0/24, box debian-12)\n"
    );
    let (out, _, code) = env.run(&mut env.lab("mylab/scripts", &["info"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("  ssh: lab ssh node1   (nodes: node1, node2)\n"),
        "{out}"
    );
    assert!(out.contains("  state: [TMP]/mylab/.lab\n"), "{out}");
    // In the lab's own directory it is plain `lab.yaml`.
    let (out, _, _) = env.run(&mut env.lab("mylab", &["validate"]));
    assert!(out.starts_with("lab.yaml: lab \"smoke\" is valid"), "{out}");
}

#[test]
fn the_nearest_lab_file_wins_and_f_is_used_exactly() {
    let env = Env::new();
    let text = std::fs::read_to_string(env.path("mylab/lab.yaml")).unwrap();
    std::fs::write(
        env.path("mylab/scripts/lab.yaml"),
        text.replace("name: smoke", "name: inner"),
    )
    .unwrap();
    let (out, _, _) = env.run(&mut env.lab("mylab/scripts", &["validate"]));
    assert!(out.starts_with("lab.yaml: lab \"inner\""), "{out}");
    let (out, _, _) = env.run(&mut env.lab("mylab/scripts", &["validate", "-f", "../lab.yaml"]));
    assert!(out.starts_with("../lab.yaml: lab \"smoke\""), "{out}");
    let mut cmd = env.lab("mylab/scripts", &["validate"]);
    let (out, _, _) = env.run(cmd.env("LAB_FILE", "../lab.yaml"));
    assert!(out.starts_with("../lab.yaml: lab \"smoke\""), "{out}");
    // `LAB_FILE=` (empty) is not set: the search runs.
    let mut cmd = env.lab("mylab/scripts", &["validate"]);
    let (out, err, code) = env.run(cmd.env("LAB_FILE", ""));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("lab.yaml: lab \"inner\""), "{out}");
}

#[test]
fn no_lab_file_says_where_it_looked_in_one_line() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("elsewhere/deeper")).unwrap();
    let (_, err, code) = env.run(&mut env.lab("elsewhere/deeper", &["status"]));
    assert_eq!(code, 2, "missing input: exit status 2");
    insta::assert_snapshot!("no_lab_file_inside_home", err);
    // Outside $HOME the search goes up to the root.
    let mut cmd = env.lab("elsewhere/deeper", &["destroy", "-f"]);
    let (_, err, code) = env.run(cmd.env("HOME", env.path("home")));
    assert_eq!(code, 2, "missing input: exit status 2");
    insta::assert_snapshot!("no_lab_file_outside_home", err);
    // A named file that does not exist: one line, its cause not repeated.
    let (_, err, code) = env.run(&mut env.lab("elsewhere", &["status", "-f", "nope.yaml"]));
    assert_eq!(code, 2, "missing input: exit status 2");
    insta::assert_snapshot!("named_lab_file_missing", err);
}

/// Writes a recipe that fails to parse, so `lab box build` stops at it
/// (naming its path) before running any tool.
fn broken_recipe(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("box.yaml"), "suite: [unclosed\n").unwrap();
}

#[test]
fn box_build_finds_recipes_in_the_current_directory_and_beside_the_lab() {
    let env = Env::new();
    // boxes/ in the current directory (no lab file anywhere).
    broken_recipe(&env.path("plain/boxes/mybox"));
    let (_, err, code) = env.run(&mut env.lab("plain", &["box", "build", "mybox"]));
    assert_eq!(code, 2, "an invalid recipe is invalid input");
    assert!(err.contains("[TMP]/plain/boxes/mybox/box.yaml"), "{err}");
    assert!(!err.contains("no recipe"), "{err}");
    // boxes/ in a parent of the current directory.
    std::fs::create_dir_all(env.path("plain/sub")).unwrap();
    let (_, err, _) = env.run(&mut env.lab("plain/sub", &["box", "build", "mybox"]));
    assert!(err.contains("[TMP]/plain/boxes/mybox/box.yaml"), "{err}");
    // boxes/ beside the lab file named by LAB_FILE, from anywhere.
    broken_recipe(&env.path("mylab/boxes/labbox"));
    let mut cmd = env.lab("plain", &["box", "build", "labbox"]);
    let (_, err, _) = env.run(cmd.env("LAB_FILE", env.path("mylab/lab.yaml")));
    assert!(err.contains("[TMP]/mylab/boxes/labbox/box.yaml"), "{err}");
    // ... and beside the lab file found from a subdirectory; it comes before
    // boxes/ of the current directory.
    broken_recipe(&env.path("mylab/scripts/boxes/labbox"));
    let (_, err, _) = env.run(&mut env.lab("mylab/scripts", &["box", "build", "labbox"]));
    assert!(err.contains("[TMP]/mylab/boxes/labbox/box.yaml"), "{err}");
    // $LAB_HOME/recipes.
    broken_recipe(&env.path("home/recipes/homebox"));
    let (_, err, _) = env.run(&mut env.lab("plain", &["box", "build", "homebox"]));
    assert!(err.contains("[TMP]/home/recipes/homebox/box.yaml"), "{err}");
    // Not found: the message lists where it looked, current directory included.
    let (_, err, code) = env.run(&mut env.lab("plain", &["box", "build", "nobox"]));
    assert_eq!(code, 1);
    assert!(err.contains("no recipe for box `nobox`"), "{err}");
    assert!(err.contains("[TMP]/plain/boxes"), "{err}");
}
