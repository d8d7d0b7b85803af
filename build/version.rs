//! The version `lab --version` prints, with the git commit the binary is
//! built from ([`git_version`]).
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files the binary is built from, relative to the package root: the
/// commit is marked `+dirty` when one of these (as far as git tracks them)
/// differs from it. `boxes/` and `labs/` are compiled in as built-in
/// content.
const SOURCES: &[&str] = &[
    "src",
    "build.rs",
    "build",
    "Cargo.toml",
    "Cargo.lock",
    "boxes",
    "labs",
];

/// Sets two environment variables for the crate:
/// - `LAB_VERSION`: `0.1.0 (e4120e9 2026-11-30)`, the package version, the
///   abbreviated commit (`+dirty` appended when a tracked file of
///   [`SOURCES`] differs from it) and the commit's date (YYYY-MM-DD, the
///   committer's); only `0.1.0` when the package is not a git checkout of
///   its own (a crate tarball, a copy) or `git` cannot say;
/// - `LAB_COMMIT_DATE`: that date, or empty.
///
/// The commit is kept current: the script reruns when HEAD moves (`HEAD`,
/// the branch's ref, `packed-refs` or `reftable/`; in a worktree these live
/// where `git rev-parse --git-path` says, `.git` being a file there) and
/// when a tracked file of [`SOURCES`] changes.
pub fn git_version() {
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let (full, date) = match commit(&root) {
        Ok(Some(c)) => {
            let dirty = if c.dirty { "+dirty" } else { "" };
            (format!("{version} ({}{dirty} {})", c.hash, c.date), c.date)
        }
        Ok(None) => (version, String::new()),
        Err(why) => {
            println!("cargo::warning=lab --version will not name the git commit: {why}");
            (version, String::new())
        }
    };
    println!("cargo::rustc-env=LAB_VERSION={full}");
    println!("cargo::rustc-env=LAB_COMMIT_DATE={date}");
}

/// The commit a checkout is at.
struct Commit {
    /// Abbreviated hash, as `git rev-parse --short HEAD` prints it.
    hash: String,
    /// Committer date, YYYY-MM-DD.
    date: String,
    dirty: bool,
}

/// The commit of the git checkout whose top level is `root`: `None` when
/// `root` is not one (no `.git` there: a crate tarball, or a directory
/// inside someone else's repository) or HEAD has no commit yet; an error,
/// as a sentence, when `root` has a `.git` but git cannot answer.
fn commit(root: &Path) -> Result<Option<Commit>, String> {
    // Without git, nothing here changes: no rerun (cargo's default would
    // rerun on any change in the package).
    println!("cargo::rerun-if-changed=build.rs");
    if !root.join(".git").exists() {
        return Ok(None);
    }
    let top = git(root, &["rev-parse", "--show-toplevel"])?;
    let same = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
    if !same(Path::new(&top), root) {
        return Ok(None);
    }
    watch_head(root)?;
    let mut ls_files = vec!["ls-files", "-z", "--"];
    ls_files.extend(SOURCES);
    for file in git(root, &ls_files)?.split('\0').filter(|f| !f.is_empty()) {
        println!("cargo::rerun-if-changed={file}");
    }
    // No commit yet (a fresh `git init`): only the version.
    let Ok(line) = git(
        root,
        &[
            "log",
            "-1",
            "--no-show-signature",
            "--format=%h %cd",
            "--date=short",
        ],
    ) else {
        return Ok(None);
    };
    let Some((hash, date)) = line.split_once(' ') else {
        return Err(format!(
            "`git log -1` printed {line:?}, not a hash and a date"
        ));
    };
    // Exit status 1 when the tracked files differ from HEAD, 0 when not.
    let mut diff = Command::new("git");
    diff.current_dir(root)
        .args([
            "--no-optional-locks",
            "diff",
            "--quiet",
            "--no-ext-diff",
            "HEAD",
            "--",
        ])
        .args(SOURCES);
    let dirty = match diff.status().map(|s| s.code()) {
        Ok(Some(0)) => false,
        Ok(Some(1)) => true,
        Ok(status) => return Err(format!("`git diff --quiet HEAD` failed (exit {status:?})")),
        Err(e) => return Err(format!("`git diff` could not be run: {e}")),
    };
    Ok(Some(Commit {
        hash: hash.to_owned(),
        date: date.to_owned(),
        dirty,
    }))
}

/// Emits `rerun-if-changed` for the files that change when HEAD moves:
/// `HEAD` itself (a branch switch, a detached HEAD), the branch's loose ref
/// and `packed-refs` (a commit, reset or fetch into it), `reftable/` (the
/// reftable ref format). A file that does not exist is left out (cargo
/// would rerun on every build), except the branch's ref of a branch without
/// a commit, which appears with the first one.
fn watch_head(root: &Path) -> Result<(), String> {
    // `git symbolic-ref` fails on a detached HEAD: then HEAD holds the hash.
    let branch = git(root, &["symbolic-ref", "-q", "HEAD"]).ok();
    let mut names = vec!["HEAD", "packed-refs", "reftable"];
    names.extend(branch.as_deref());
    let mut args = vec!["rev-parse"];
    for name in &names {
        args.extend(["--git-path", name]);
    }
    let paths: Vec<PathBuf> = git(root, &args)?.lines().map(|p| root.join(p)).collect();
    let (head, refs) = paths
        .split_first()
        .ok_or("`git rev-parse --git-path` printed nothing")?;
    println!("cargo::rerun-if-changed={}", head.display());
    let stored: Vec<&PathBuf> = refs.iter().filter(|p| p.exists()).collect();
    match (stored.is_empty(), refs.get(2)) {
        // A branch without a commit: its loose ref appears with the first.
        (true, Some(branch)) => println!("cargo::rerun-if-changed={}", branch.display()),
        _ => stored
            .iter()
            .for_each(|p| println!("cargo::rerun-if-changed={}", p.display())),
    }
    Ok(())
}

/// `git ARGS` run in `root`: its stdout, trimmed; an error naming the
/// command, its exit status and stderr.
fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .current_dir(root)
        .arg("--no-optional-locks")
        .args(args)
        .output()
        .map_err(|e| format!("`git` could not be run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`git {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
