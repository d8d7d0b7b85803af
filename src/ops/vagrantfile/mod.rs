//! `lab init --from-vagrantfile`: a multi-machine Vagrantfile turned into
//! a lab. A Vagrantfile is Ruby, so it is run, as Vagrant runs it, by
//! `ruby` against a recording stand-in for Vagrant's configuration API
//! (`recorder.rb`, built into the binary), with a time limit and bounded
//! output; its JSON ([`model`]) is mapped to a lab ([`map`],
//! [`provision`]) and written as `lab.yaml` ([`emit`]), with the shell
//! scripts it needs, by the rules of `lab init` ([`super::init`]: nothing
//! replaced without `force`, all or nothing). What the lab cannot hold is
//! returned as notes, and named in the file's header comment.

mod emit;
mod machine;
mod map;
mod model;
mod network;
mod provision;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

pub use map::{DEFAULT_BOX, DEFAULT_SUBNET, Note};

use super::init::{self, InitError, NewFile, Written};
use crate::process::{Cmd, ProcessError};

/// The recorder, run as `ruby -e RECORDER VAGRANTFILE` would.
const RECORDER: &str = include_str!("recorder.rb");
/// How long a Vagrantfile may run.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);
/// The most a Vagrantfile (and the recorder) may print on each of stdout
/// and stderr, in bytes.
pub const MAX_OUTPUT: usize = 4 << 20;
/// The largest Vagrantfile read, in bytes.
const MAX_VAGRANTFILE: u64 = 1 << 20;

/// What [`convert`] wrote.
#[derive(Debug)]
pub struct Converted {
    /// lab.yaml and the copied scripts; `template` is the Vagrantfile's
    /// path as given.
    pub written: Written,
    /// Everything not carried over, in Vagrantfile order.
    pub notes: Vec<Note>,
}

/// Why nothing was written.
#[derive(Debug, Error)]
pub enum ConvertError {
    /// The path names no readable Vagrantfile (exit status 2).
    #[error("{0}")]
    Input(String),
    /// Ruby rejected the Vagrantfile, or it stopped (exit status 2).
    #[error("{0}")]
    Ruby(String),
    /// `ruby` is missing or was stopped (time limit, output bound).
    #[error("{0}")]
    Run(String),
    #[error(transparent)]
    Write(#[from] InitError),
}

impl ConvertError {
    /// Whether the Vagrantfile (the user's input) was at fault.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, ConvertError::Input(_) | ConvertError::Ruby(_))
    }
}

/// Convert the Vagrantfile at `path` into `dir/lab.yaml` (and copies of
/// its shell scripts that are not in `dir`), replacing existing files
/// only with `force`. Runs the Vagrantfile's Ruby code.
pub fn convert(path: &Path, dir: &Path, force: bool) -> Result<Converted, ConvertError> {
    let shown = path.display().to_string();
    check_input(path, &shown)?;
    let abs = std::path::absolute(path)
        .map_err(|e| ConvertError::Input(format!("{shown} cannot be read: {e}")))?;
    let abs = provision::normalize(&abs);
    let vagrant_dir = abs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let recorded = record(&abs, &vagrant_dir, &shown)?;
    let vf = match recorded {
        model::Recorded::Failed { error } => {
            return Err(ConvertError::Ruby(ruby_error(&shown, &error)));
        }
        model::Recorded::Settings(vf) => vf,
    };
    if !vf.configured {
        return Err(ConvertError::Input(format!(
            "{shown} defines no machine: it never calls Vagrant.configure, so there is nothing to convert; name a Vagrantfile that configures machines"
        )));
    }
    let lab_dir = provision::normalize(
        &std::path::absolute(dir)
            .map_err(|e| ConvertError::Input(format!("{} cannot be used: {e}", dir.display())))?,
    );
    let lab_file = lab_dir.join("lab.yaml");
    let ctx = crate::spec::Context::for_lab_file(&lab_file);
    let box_known = |name: &str| ctx.boxes.contains(name);
    let inputs = map::Inputs {
        lab_name: lab_dir
            .file_name()
            .and_then(|n| map::label(&n.to_string_lossy()))
            .unwrap_or_else(|| "vagrant".into()),
        vagrant_dir,
        lab_dir,
        box_known: &box_known,
    };
    let plan = map::plan(&vf, &inputs);
    let text = emit::lab_yaml(&plan, &shown);
    // What is written must load; a failure here is lab's own mistake.
    if let Err(e) = crate::spec::parse_str(&text, "lab.yaml", &crate::spec::Context::any_box()) {
        return Err(ConvertError::Run(format!(
            "the lab converted from {shown} does not pass lab's own checks, which is a bug in lab; nothing was written:\n{}",
            e.render(false)
        )));
    }
    let mut files = vec![NewFile {
        path: "lab.yaml".into(),
        data: text.into_bytes(),
        mode: 0o644,
    }];
    if let Some(provision::Provisioning::Shell { copies, .. }) = &plan.provisioning {
        for c in copies {
            let data =
                crate::limits::read_bytes(&c.from, crate::limits::LAB_FILE).map_err(|e| {
                    ConvertError::Input(format!(
                        "the script {} cannot be copied: {e}",
                        c.from.display()
                    ))
                })?;
            files.push(NewFile {
                path: c.to.clone().into(),
                data,
                mode: 0o755,
            });
        }
    }
    let written = init::write_files("the converted lab", &shown, dir, files, force)?;
    Ok(Converted {
        written,
        notes: plan.notes,
    })
}

/// A readable regular file of sane size, else a sentence.
fn check_input(path: &Path, shown: &str) -> Result<(), ConvertError> {
    let limit = crate::limits::FileLimit {
        bytes: MAX_VAGRANTFILE,
        what: "Vagrantfiles",
        hint: "name the Vagrantfile itself",
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(ConvertError::Input(format!(
            "{shown} is a directory; name the Vagrantfile in it, e.g. {}",
            path.join("Vagrantfile").display()
        ))),
        Ok(_) => crate::limits::read_bytes(path, limit)
            .map(drop)
            .map_err(|e| ConvertError::Input(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ConvertError::Input(format!(
            "{shown} does not exist; name a Vagrantfile, e.g. lab init --from-vagrantfile path/to/Vagrantfile"
        ))),
        Err(e) => Err(ConvertError::Input(format!(
            "{shown} cannot be read: {}",
            e.kind()
        ))),
    }
}

/// Run the recorder on the Vagrantfile `abs` in its directory.
fn record(abs: &Path, vagrant_dir: &Path, shown: &str) -> Result<model::Recorded, ConvertError> {
    let out = Cmd::new("ruby")
        .args(["-e", RECORDER, "--"])
        .arg(abs)
        .cwd(vagrant_dir)
        .run_limited(TIME_LIMIT, MAX_OUTPUT)
        .map_err(|e| ConvertError::Run(run_error(shown, e)))?;
    serde_json::from_str(&out.stdout).map_err(|e| {
        ConvertError::Run(format!(
            "the recorder lab runs {shown} with gave no result ({e}); this is a bug in lab"
        ))
    })
}

fn run_error(shown: &str, e: ProcessError) -> String {
    match e {
        ProcessError::Spawn { cause, .. } if cause.kind() == std::io::ErrorKind::NotFound => {
            format!(
                "converting {shown} needs `ruby` (a Vagrantfile is Ruby code), which is not installed: {}",
                crate::process::install_hint(&["ruby"])
            )
        }
        ProcessError::TimedOut { limit, .. } => format!(
            "{shown} was still running after {} s and was stopped; nothing was written: a Vagrantfile that loops or waits cannot be converted",
            limit.as_secs()
        ),
        ProcessError::TooMuchOutput { stream, limit, .. } => format!(
            "{shown} printed more than {} MiB on its {stream} and was stopped; nothing was written: make it print less",
            limit >> 20
        ),
        other => format!("running {shown} failed: {other}"),
    }
}

/// Ruby's error as one sentence naming the Vagrantfile and its line.
fn ruby_error(shown: &str, e: &model::RubyError) -> String {
    let at = match e.line {
        Some(l) => format!("{shown}:{l}"),
        None => shown.to_string(),
    };
    let message = e.message.lines().next().unwrap_or("").trim();
    match e.kind.as_str() {
        "syntax" => {
            format!("{at}: Ruby cannot read the Vagrantfile: {message}; nothing was written")
        }
        "exit" => format!("{at}: the Vagrantfile stopped ({message}); nothing was written"),
        _ => format!(
            "{at}: the Vagrantfile failed when run: {}{message}; nothing was written",
            e.class
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default()
        ),
    }
}

/// A note as printed on stderr: `PATH:LINE: TEXT` (`PATH: TEXT` without a
/// line), PATH the Vagrantfile as the user named it.
pub fn note_line(shown: &str, note: &Note) -> String {
    match note.line {
        Some(l) => format!("{shown}:{l}: {}", note.text),
        None => format!("{shown}: {}", note.text),
    }
}
