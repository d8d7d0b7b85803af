//! The files a lab refers to (`provision.playbook`,
//! `provision.scripts[].script`), checked on disk when the [`Context`] says
//! where the lab directory is: each must be a readable file inside it, and
//! the directory must be copyable when provisioning uploads it to the nodes
//! (shell steps, Ansible on a controller node); then a file the copy leaves
//! out (in a [`NOT_COPIED`] directory, or a link into one) is refused too.
//! Paths have already passed [`super::check::relative_path`].

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use super::context::{Context, LabFiles};
use super::diag::{Diags, clip};
use super::raw::Sp;
use super::suggest::closest;
use super::yaml::Span;

/// Directory names the upload to the nodes leaves out wherever they appear
/// (the state directory, git's); `provision::upload::EXCLUDED` is the same
/// list, which a test checks.
pub const NOT_COPIED: &[&str] = &[".lab", ".git"];

/// What a path names, for messages: `script` or `playbook`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ref<'a> {
    /// The field path, e.g. `provision.scripts[1].script`.
    pub field: &'a str,
    /// `the script` or `the playbook`.
    pub what: &'a str,
    /// Whether the lab directory is copied to a node and the file used there.
    pub copied: bool,
    /// Whether the file must be inside the lab directory even though it
    /// is not copied (a check's script, read from there at every try).
    pub inside: bool,
}

/// Checks the files one lab refers to. The directories that "did you
/// mean" hints look in are listed once each, however many paths point
/// into them.
pub(crate) struct Files<'c> {
    ctx: &'c Context,
    /// The files in each directory listed so far, by its path relative to
    /// the lab directory (`""` for the lab directory itself).
    listings: HashMap<String, Vec<String>>,
}

impl<'c> Files<'c> {
    pub(crate) fn new(ctx: &'c Context) -> Self {
        Files {
            ctx,
            listings: HashMap::new(),
        }
    }

    /// Checks that `path` names a readable file in the lab directory (and,
    /// when the directory is copied to the nodes, inside it). Reports one
    /// problem at the path's span; `true` when there was none or files are
    /// unchecked.
    pub(crate) fn referenced(&mut self, path: &Sp<String>, r: Ref<'_>, d: &mut Diags) -> bool {
        let LabFiles::In(dir) = &self.ctx.files else {
            return true;
        };
        let rel = path.value.as_str();
        match problem(dir, rel, r) {
            None => true,
            Some(Problem::Missing) => {
                let how = "paths are relative to the lab directory, the one holding the lab file";
                d.error(
                    r.field,
                    path.span,
                    format!("{} does not exist", at(dir, rel)),
                )
                .help_with(|| match self.near(dir, rel) {
                    Some(near) => format!("did you mean `{near}`? {how}"),
                    None => how.to_owned(),
                });
                false
            }
            Some(Problem::Other { message, help }) => {
                d.error(r.field, path.span, message).help(help);
                false
            }
        }
    }

    /// An existing file next to where `rel` points whose path is close to it.
    fn near(&mut self, dir: &Path, rel: &str) -> Option<String> {
        let (parent, _) = rel.rsplit_once('/').unwrap_or(("", rel));
        let files = self
            .listings
            .entry(parent.to_owned())
            .or_insert_with(|| files_in(dir, parent));
        closest(rel, files.iter().map(String::as_str)).map(str::to_owned)
    }
}

/// What is wrong with a referenced path.
enum Problem {
    /// Nothing is there (the hint looks for a close name).
    Missing,
    Other {
        message: String,
        help: String,
    },
}

/// What is wrong with the file `rel` in the lab directory `dir`, if anything.
fn problem(dir: &Path, rel: &str, r: Ref<'_>) -> Option<Problem> {
    let shown = at(dir, rel);
    let other = |message: String, help: String| Some(Problem::Other { message, help });
    let unreadable = |kind: ErrorKind| {
        other(
            format!("{shown} cannot be read: {kind}"),
            "make it (and the directories above it) readable for the user running lab".into(),
        )
    };
    if r.inside && !r.copied && leaves(Path::new(rel)) {
        return other(
            format!("{} is outside {}", clip(rel), lab_dir(dir)),
            format!(
                "{} must be a file of the lab directory: move it there",
                r.what
            ),
        );
    }
    if r.copied && leaves(Path::new(rel)) {
        return other(
            format!(
                "{} is outside {}; only that directory is copied to the nodes, so {} would not be there",
                clip(rel),
                lab_dir(dir),
                r.what
            ),
            format!("move {} into the lab directory", r.what),
        );
    }
    if r.copied
        && let Some(skipped) = not_copied_dir(Path::new(rel))
    {
        return other(
            format!(
                "{shown} is inside a {skipped}/ directory, which is not copied to the nodes (the copy leaves out every {}), so {} would not be there",
                not_copied_list(),
                r.what
            ),
            format!("move {} out of {skipped}/", r.what),
        );
    }
    let full = dir.join(rel);
    let meta = match std::fs::metadata(&full) {
        Ok(meta) => meta,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Some(Problem::Missing);
        }
        Err(e) => return unreadable(e.kind()),
    };
    if meta.is_dir() {
        return other(
            format!("{shown} is a directory, not a file"),
            format!("name {} file itself", r.what),
        );
    }
    if !meta.is_file() {
        return other(
            format!("{shown} is not a regular file (a FIFO, socket or device)"),
            format!("{} must be a regular file", r.what),
        );
    }
    if let Err(e) = std::fs::File::open(&full) {
        return unreadable(e.kind());
    }
    if r.inside
        && !r.copied
        && let (Ok(real), Ok(root)) = (full.canonicalize(), dir.canonicalize())
        && !real.starts_with(&root)
    {
        return other(
            format!(
                "{shown} is a symbolic link to {}, outside {}",
                real.display(),
                lab_dir(dir)
            ),
            format!(
                "{} must be a file of the lab directory: copy it there instead of linking to it",
                r.what
            ),
        );
    }
    if r.copied
        && let (Ok(real), Ok(root)) = (full.canonicalize(), dir.canonicalize())
        && !real.starts_with(&root)
    {
        return other(
            format!(
                "{shown} is a symbolic link to {}, outside {}; the nodes get a copy of the directory, where the link points nowhere",
                real.display(),
                lab_dir(dir)
            ),
            "copy the file into the lab directory instead of linking to it".into(),
        );
    }
    if r.copied
        && let (Ok(real), Ok(root)) = (full.canonicalize(), dir.canonicalize())
        && let Ok(inner) = real.strip_prefix(&root)
        && let Some(skipped) = not_copied_dir(inner)
    {
        return other(
            format!(
                "{shown} leads to {}, inside a {skipped}/ directory, which is not copied to the nodes (the copy leaves out every {}), so {} would not be there",
                inner.display(),
                not_copied_list(),
                r.what
            ),
            format!("move {} out of {skipped}/", r.what),
        );
    }
    None
}

/// The first directory on `path` (its last component, the file, aside)
/// that the copy to the nodes leaves out ([`NOT_COPIED`]).
fn not_copied_dir(path: &Path) -> Option<&'static str> {
    let mut components: Vec<Component<'_>> = path.components().collect();
    components.pop();
    components.into_iter().find_map(|c| match c {
        Component::Normal(name) => NOT_COPIED.iter().find(|x| name == **x).copied(),
        _ => None,
    })
}

/// `.lab/ and .git/`.
fn not_copied_list() -> String {
    let dirs: Vec<String> = NOT_COPIED.iter().map(|d| format!("{d}/")).collect();
    dirs.join(" and ")
}

/// Checks that the lab directory can be copied to the nodes: every
/// directory in it can be listed and every file read (symbolic links are
/// copied as links, [`NOT_COPIED`] directories left out). Reports the first
/// problem, at `span` (the `provision` section), under `field`.
pub(crate) fn copyable(field: &str, span: Span, how: &str, ctx: &Context, d: &mut Diags) {
    let LabFiles::In(dir) = &ctx.files else {
        return;
    };
    if let Err(Unreadable { path, kind, is_dir }) = walk(dir) {
        let inner = path.strip_prefix(dir).unwrap_or(&path);
        let what = match (inner.as_os_str().is_empty(), is_dir) {
            (true, _) => "it cannot be listed".to_owned(),
            (false, true) => format!("its directory {} cannot be listed", inner.display()),
            (false, false) => format!("its file {} cannot be read", inner.display()),
        };
        d.error(
            field,
            span,
            format!("{how} copies {} to the nodes, but {what} ({kind})", lab_dir(dir)),
        )
        .help("make everything in the lab directory readable for the user running lab, or move what cannot be read out of it");
    }
}

/// A directory that cannot be listed or a file that cannot be opened.
struct Unreadable {
    path: PathBuf,
    kind: ErrorKind,
    is_dir: bool,
}

/// The first directory in `dir` (itself included) that cannot be listed or
/// file that cannot be opened, in name order.
fn walk(dir: &Path) -> Result<(), Unreadable> {
    let fail = |path: &Path, is_dir| {
        let path = path.to_owned();
        move |e: std::io::Error| Unreadable {
            path,
            kind: e.kind(),
            is_dir,
        }
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(fail(dir, true))?
        .collect::<Result<_, _>>()
        .map_err(fail(dir, true))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(fail(&path, false))?;
        if kind.is_dir() && !NOT_COPIED.iter().any(|x| entry.file_name() == *x) {
            walk(&path)?;
        } else if kind.is_file() {
            std::fs::File::open(&path).map_err(fail(&path, false))?;
        }
    }
    Ok(())
}

/// Whether a relative path climbs above its start with `..`.
fn leaves(path: &Path) -> bool {
    let mut depth = 0usize;
    for c in path.components() {
        match c {
            Component::ParentDir if depth == 0 => return true,
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}

/// The files in the directory `parent` of the lab directory `dir`, as
/// paths relative to `dir`; none when it cannot be listed.
fn files_in(dir: &Path, parent: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join(parent)) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .map(|name| {
            if parent.is_empty() {
                name
            } else {
                format!("{parent}/{name}")
            }
        })
        .collect()
}

/// `the lab directory DIR`, with DIR as the lab file's path gives it
/// (so it reads right from the current directory).
fn lab_dir(dir: &Path) -> String {
    if is_here(dir) {
        "the lab directory (the current one)".into()
    } else {
        format!("the lab directory {}", dir.display())
    }
}

/// `rel` in `dir`, as a path that works from the current directory, with
/// `rel` [`clip`]ped; in double quotes with escapes when it holds a
/// control character (a newline, a NUL, an escape sequence), which must
/// not reach the terminal as such.
fn at(dir: &Path, rel: &str) -> String {
    let rel = clip(rel);
    let path = if is_here(dir) {
        rel.into_owned()
    } else {
        dir.join(&*rel).display().to_string()
    };
    if path.chars().any(char::is_control) {
        format!("{path:?}")
    } else {
        path
    }
}

fn is_here(dir: &Path) -> bool {
    dir.as_os_str().is_empty() || dir == Path::new(".")
}
