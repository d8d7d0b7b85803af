//! `lab init`: write a lab template built into the binary (each lab of the
//! repository's `labs/`, read through [`crate::builtin`]) into a
//! directory of the user's, ready for `lab up`. Every conflict is found
//! before anything is written: an existing file is replaced only when
//! asked (`force`), and nothing that is not a regular file (a directory,
//! a symbolic link) is ever replaced or written through, and a directory
//! it cannot write into is named before anything is written. Should a
//! write still fail midway, what was written is taken back
//! ([`write::write_all`]).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::builtin;
use crate::files::FileError;

/// Where the templates are in [`crate::builtin`]: `labs/NAME/`.
pub const TEMPLATES: &str = "labs";
/// The template `lab init` writes when none is named.
pub const DEFAULT_TEMPLATE: &str = "smoke";
/// How many paths a refusal names before "and N more".
const SHOWN: usize = 10;

/// One built-in lab template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Its name: the directory under `labs/`.
    pub name: &'static str,
    /// One line about it: the first line of its README.md (without the
    /// heading's `#` and a leading `NAME:`, capitalized), else the first sentence of
    /// the comment that opens its lab.yaml; empty without either.
    pub summary: String,
}

/// Every template, sorted by name.
pub fn templates() -> Vec<Template> {
    builtin::subdirs(TEMPLATES)
        .into_iter()
        .filter(|name| builtin::file(&format!("{TEMPLATES}/{name}/lab.yaml")).is_some())
        .map(|name| Template {
            name,
            summary: summary(name),
        })
        .collect()
}

fn summary(name: &str) -> String {
    let text = |file: &str| {
        builtin::file(&format!("{TEMPLATES}/{name}/{file}"))
            .map(|f| String::from_utf8_lossy(f.data).into_owned())
    };
    if let Some(readme) = text("README.md") {
        let first = readme.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let first = first.trim_start_matches('#').trim();
        let first = first
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or(first);
        let mut chars = first.trim().chars();
        return chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
    }
    let lab = text("lab.yaml").unwrap_or_default();
    let comment: Vec<&str> = lab
        .lines()
        .map_while(|l| l.strip_prefix('#'))
        .map(str::trim)
        .collect();
    let comment = comment.join(" ");
    match comment.find(". ") {
        Some(end) => comment[..=end].to_string(),
        None => comment,
    }
}

/// What [`init`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub template: String,
    /// The directory, as given.
    pub dir: PathBuf,
    /// Every file written, relative to `dir`, sorted.
    pub files: Vec<PathBuf>,
    /// The ones of `files` that existed and were replaced (`force`).
    pub replaced: Vec<PathBuf>,
}

/// Why [`init`] wrote nothing (or, for [`InitError::File`], stopped and
/// took back what it had written).
#[derive(Debug, Error)]
pub enum InitError {
    #[error(
        "there is no lab template `{name}`; the templates are {}; `lab init --list` says what each is (to write the default one into a directory: `lab init {DEFAULT_TEMPLATE} DIR`)",
        known.join(", ")
    )]
    UnknownTemplate { name: String, known: Vec<String> },
    #[error(
        "{} of {template} {} already in {}: {}; nothing was written: pass --force to replace them, or choose another directory",
        count(files.len(), "file"),
        if files.len() == 1 { "exists" } else { "exist" },
        dir.display(),
        shown(files)
    )]
    Exists {
        /// Whose files: `template NAME`, `the converted lab`.
        template: String,
        dir: PathBuf,
        files: Vec<PathBuf>,
    },
    #[error(
        "{}; nothing was written: move {} out of the way, or choose another directory",
        listed(in_the_way),
        if in_the_way.len() == 1 { "it" } else { "them" }
    )]
    InTheWay {
        /// A sentence per thing in the way.
        in_the_way: Vec<String>,
    },
    #[error(
        "you cannot write into {} (permission denied); nothing was written: make {} writable, or choose another directory",
        listed(&dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>()),
        if dirs.len() == 1 { "it" } else { "them" }
    )]
    NotWritable {
        /// Directories (existing) the template would write into.
        dirs: Vec<PathBuf>,
    },
    #[error("{cause}; {}", fmt_taken_back(taken_back, dir))]
    File {
        cause: FileError,
        dir: PathBuf,
        /// See [`write::Failed::taken_back`].
        taken_back: Result<usize, Vec<String>>,
    },
}

/// What became of a failed write's files, in a sentence.
fn fmt_taken_back(undone: &Result<usize, Vec<String>>, dir: &Path) -> String {
    match undone {
        Ok(0) => "nothing was written".into(),
        Ok(n) => format!(
            "lab init took back the {} it had written, so {} is as it was",
            count(*n, "file"),
            dir.display()
        ),
        Err(left) => format!(
            "lab init could not take back all it had written: {}; remove what is left of the template by hand",
            listed(left)
        ),
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The first [`SHOWN`] paths, then how many more.
fn shown(paths: &[PathBuf]) -> String {
    let mut out: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > SHOWN {
        out.push(format!("and {} more", paths.len() - SHOWN));
    }
    out.join(", ")
}

/// The first [`SHOWN`] sentences, then how many more.
fn listed(sentences: &[String]) -> String {
    let mut out: Vec<String> = sentences.iter().take(SHOWN).cloned().collect();
    if sentences.len() > SHOWN {
        out.push(format!("and {} more", sentences.len() - SHOWN));
    }
    out.join("; ")
}

/// Write the template `name` into `dir` (created with its missing parents,
/// 0755): every file with mode 0644, or 0755 for an executable one,
/// whatever the umask. Refused before anything is written: an unknown
/// template; a file of the template that exists (unless `force`); and,
/// even with `force`, anything but a directory where the template has a
/// directory, or anything but a regular file where it has a file (a
/// symbolic link is neither written through nor replaced).
pub fn init(name: &str, dir: &Path, force: bool) -> Result<Written, InitError> {
    init_with(name, dir, force, crate::files::write_atomic)
}

/// [`init`], each file written by `write` (a test's may fail).
fn init_with(
    name: &str,
    dir: &Path,
    force: bool,
    write: impl FnMut(&Path, &[u8], u32) -> Result<(), FileError>,
) -> Result<Written, InitError> {
    let known = templates();
    if !known.iter().any(|t| t.name == name) {
        return Err(InitError::UnknownTemplate {
            name: name.to_string(),
            known: known.iter().map(|t| t.name.to_string()).collect(),
        });
    }
    let root = format!("{TEMPLATES}/{name}");
    let files: Vec<NewFile> = builtin::under(&root)
        .map(|(rel, f)| NewFile {
            path: rel.into(),
            data: f.data.to_vec(),
            mode: f.plain_mode(),
        })
        .collect();
    write_files_with(&format!("template {name}"), name, dir, files, force, write)
}

/// A file to write into a lab directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Relative to the directory.
    pub path: PathBuf,
    pub data: Vec<u8>,
    /// Its mode, e.g. 0o644, whatever the umask.
    pub mode: u32,
}

/// Write `files` into `dir` by the rules of [`init`] (refusals before
/// anything is written, `force`, all or nothing); `what` names them in a
/// refusal (`template smoke`, `the converted lab`), `label` in
/// [`Written::template`].
pub fn write_files(
    what: &str,
    label: &str,
    dir: &Path,
    files: Vec<NewFile>,
    force: bool,
) -> Result<Written, InitError> {
    write_files_with(what, label, dir, files, force, crate::files::write_atomic)
}

fn write_files_with(
    what: &str,
    label: &str,
    dir: &Path,
    mut files: Vec<NewFile>,
    force: bool,
    write: impl FnMut(&Path, &[u8], u32) -> Result<(), FileError>,
) -> Result<Written, InitError> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let whose = if what.starts_with("template ") {
        "the template"
    } else {
        what
    };
    let (existing, in_the_way, unwritable) = survey(dir, &paths, whose);
    if !in_the_way.is_empty() {
        return Err(InitError::InTheWay { in_the_way });
    }
    if !existing.is_empty() && !force {
        return Err(InitError::Exists {
            template: what.to_string(),
            dir: dir.to_owned(),
            files: existing,
        });
    }
    if !unwritable.is_empty() {
        return Err(InitError::NotWritable { dirs: unwritable });
    }
    write::write_all(&files, dir, write).map_err(|f| InitError::File {
        cause: f.cause,
        dir: dir.to_owned(),
        taken_back: f.taken_back,
    })?;
    Ok(Written {
        template: label.to_string(),
        dir: dir.to_owned(),
        files: paths,
        replaced: existing,
    })
}

/// The files of `files` (relative to `dir`) that exist as regular files,
/// and a sentence for each thing in the way: `dir` or a directory of the
/// template being something else, a file of the template being something
/// else than a regular file; and the existing directories it would write
/// into that this process may not (`dir`, its nearest existing parent
/// when it is missing, the template's directories). `dir` itself may be a
/// symbolic link to a directory; below it, nothing is followed.
/// `whose` names the files in those sentences (`the template`).
fn survey(dir: &Path, files: &[PathBuf], whose: &str) -> (Vec<PathBuf>, Vec<String>, Vec<PathBuf>) {
    let mut existing = Vec::new();
    let mut in_the_way = Vec::new();
    let mut unwritable = Vec::new();
    let kind = |path: &Path| std::fs::symlink_metadata(path).ok().map(|m| m.file_type());
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            in_the_way.push(format!(
                "{} is {}, not a directory",
                dir.display(),
                crate::files::kind_of(m.file_type())
            ));
            return (existing, in_the_way, unwritable);
        }
        Ok(_) => {
            if !writable(dir) {
                unwritable.push(dir.to_owned());
            }
        }
        // Missing: everything is written, into its nearest existing
        // parent. (Unreadable: writing says why.)
        Err(_) => {
            let parent = dir
                .ancestors()
                .skip(1)
                .map(|d| {
                    if d.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        d
                    }
                })
                .find(|d| d.exists());
            if let Some(p) = parent
                && !writable(p)
            {
                unwritable.push(p.to_owned());
            }
            return (existing, in_the_way, unwritable);
        }
    }
    let mut checked_dirs: Vec<&Path> = Vec::new();
    for file in files {
        for sub in file
            .ancestors()
            .skip(1)
            .filter(|d| !d.as_os_str().is_empty())
        {
            if checked_dirs.contains(&sub) {
                continue;
            }
            checked_dirs.push(sub);
            let kind = kind(&dir.join(sub));
            if kind.is_some_and(|t| t.is_dir()) && !writable(&dir.join(sub)) {
                unwritable.push(dir.join(sub));
            }
            if let Some(t) = kind
                && !t.is_dir()
            {
                in_the_way.push(format!(
                    "{} is {}, where {whose} has a directory",
                    dir.join(sub).display(),
                    crate::files::kind_of(t)
                ));
            }
        }
        match kind(&dir.join(file)) {
            None => {}
            Some(t) if t.is_file() => existing.push(file.clone()),
            Some(t) => in_the_way.push(format!(
                "{} is {}, where {whose} has a file",
                dir.join(file).display(),
                crate::files::kind_of(t)
            )),
        }
    }
    (existing, in_the_way, unwritable)
}

/// Whether this process may make and replace files in the directory
/// `dir` (access(2) with the effective ids: write and search).
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid C string; faccessat reads it only.
    unsafe {
        libc::faccessat(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::W_OK | libc::X_OK,
            libc::AT_EACCESS,
        ) == 0
    }
}

#[path = "init_write.rs"]
mod write;

#[cfg(test)]
#[path = "init_tests.rs"]
mod tests;
