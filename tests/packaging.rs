//! What the Debian package ships, from the real binary: `lab --version`
//! naming the git commit.

use std::path::Path;
use std::process::Command as Std;

use assert_cmd::Command;

fn lab(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("lab").unwrap();
    cmd.args(args).env("NO_COLOR", "1");
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{:?}: {out:?}", cmd);
    String::from_utf8(out.stdout).unwrap()
}

/// `git ARGS` in the repository: its trimmed stdout, or `None` when git is
/// missing or fails (no checkout: a crate tarball).
fn git(args: &[&str]) -> Option<String> {
    let out = Std::new("git")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

/// What `--version` must print after the command's name, asking git
/// independently of build.rs: the version from Cargo.toml, and in a git
/// checkout the commit (`+dirty` when the sources compiled in differ from
/// it, untracked files aside) and its date.
fn expected_version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join(".git").exists() {
        return version.to_owned();
    }
    let hash = git(&["rev-parse", "--short", "HEAD"]).expect("git rev-parse --short HEAD");
    let date = git(&["show", "-s", "--format=%cd", "--date=short", "HEAD"]).unwrap();
    let sources = [
        "src",
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
        "boxes",
        "labs",
    ];
    let mut diff = vec!["diff", "--quiet", "HEAD", "--"];
    diff.extend(sources);
    let dirty = if git(&diff).is_some() { "" } else { "+dirty" };
    format!("{version} ({hash}{dirty} {date})")
}

#[test]
fn version_names_the_package_version_and_the_git_commit() {
    let expected = expected_version();
    assert!(expected.starts_with(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        stdout(&mut lab(&["--version"])),
        format!("lab {expected}\n")
    );
    assert_eq!(stdout(&mut lab(&["-V"])), format!("lab {expected}\n"));
    // Subcommands print the same version.
    assert_eq!(
        stdout(&mut lab(&["up", "--version"])),
        format!("lab-up {expected}\n")
    );
}
