//! The lab file (`lab.yaml`): reading, checking, and the model the rest of
//! `lab` works with ([`Lab`], from [`load`]).
//!
//! Pipeline, one module per step, each step reporting all it finds:
//! `yaml` (text → spanned tree: syntax, tabs, empty file) → `decode` and
//! `values` (tree → `raw` types: shapes, types, unknown and duplicate keys)
//! → `validate`, `nodes`, `hosts`, `provision` and `extras` (raw → [`Lab`]: names,
//! ranges, addresses, boxes, references; `extras` holds `checks` and
//! `forwards`, `links` the `links` section, `files` the files on disk the
//! lab refers to). Problems become [`SpecDiagnostic`]s with
//! the field path and a labelled source snippet, returned together as a
//! [`SpecError`]; `suggest` finds their "did you mean" names. Work grows
//! with the size of the file, never with the product of two of its lists:
//! lookups go through sets and maps, and hints that search are made only
//! for the diagnostics shown. `raw` also yields the JSON schema
//! ([`json_schema`]).

mod bounds;
mod builder;
mod check;
mod context;
mod decode;
mod diag;
mod extras;
mod files;
mod hosts;
mod links;
mod model;
mod nodes;
mod provision;
mod raw;
mod source;
mod suggest;
mod validate;
mod values;
mod yaml;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use context::{Context, KnownBoxes, LabFiles};
pub use diag::{SpecDiagnostic, SpecError, stderr_wants_color};
pub use extras::{DEFAULT_FORWARD_ADDRESS, DEFAULT_INTERVAL_SECS};
pub use files::NOT_COPIED;
pub use model::{
    Accel, Ansible, Check, CheckRun, Controller, Forward, GUEST_PROXY_ENV, Host, Lab, Link,
    Network, Node, Provision, ProvisionerKind, Proxy, ProxyHost, ScriptSource, ScriptStep, Shell,
    SshLogin,
};
pub use raw::json_schema;

/// Checks a proxy URL as the lab file's `proxy:` is checked
/// (`http://HOST:PORT`, HOST `gateway`, an IPv4 address or a DNS name);
/// the error completes "the proxy URL ...".
pub fn parse_proxy(url: &str) -> Result<Proxy, String> {
    check::proxy(url)
}
pub use validate::{DEFAULT_CPUS, DEFAULT_DISK_GIB, DEFAULT_MEMORY_MIB};

use crate::limits::ReadError;
use diag::Diags;
use yaml::{Kind, Span};

/// Reads and checks the lab file at `path`, looking boxes and the files it
/// refers to up on disk ([`Context::for_lab_file`]).
pub fn load(path: &Path) -> Result<Lab, SpecError> {
    load_with(path, &Context::for_lab_file(path))
}

/// Reads and checks the lab file at `path` with the given context.
pub fn load_with(path: &Path, ctx: &Context) -> Result<Lab, SpecError> {
    let name = path.display().to_string();
    let bytes = match crate::limits::read_bytes(path, crate::limits::LAB_FILE) {
        Ok(bytes) => bytes,
        Err(too_large @ ReadError::TooLarge { .. }) => {
            return Err(whole_file(&name, too_large.to_string(), None));
        }
        Err(ReadError::Io { err, .. }) => {
            return Err(SpecError::Read {
                path: path.to_owned(),
                cause: err,
            });
        }
    };
    let text_len = match std::str::from_utf8(&bytes) {
        Ok(_) => bytes.len(),
        Err(err) => err.valid_up_to(),
    };
    let nul = bytes.iter().position(|b| *b == 0);
    let first_bad = nul.unwrap_or(text_len).min(text_len);
    if first_bad < bytes.len() {
        let (before, byte) = (&bytes[..first_bad], bytes[first_bad]);
        return Err(match nul {
            Some(_) => binary(&name, before, byte),
            None => not_utf8(&name, before, byte),
        });
    }
    let text = String::from_utf8(bytes).expect("checked to be UTF-8 above");
    parse(&text, &name, path.to_owned(), ctx)
}

/// Checks lab file text; `name` is used in diagnostics and as [`Lab::path`].
pub fn parse_str(src: &str, name: &str, ctx: &Context) -> Result<Lab, SpecError> {
    parse(src, name, PathBuf::from(name), ctx)
}

/// [`load`], printing the diagnostics to stderr on failure and returning
/// an [`crate::error::InvalidInput`] (exit code 2) in their place. This is
/// what commands that create or provision a lab call (`up`, `provision`,
/// `validate`): boxes and referenced files must exist.
pub fn load_reported(path: &Path) -> anyhow::Result<Lab> {
    reported(load(path))
}

/// [`load_reported`] for commands that manage the lab's existing VMs
/// (`status`, `destroy`, `halt`, `ssh`, ...): boxes and the files the lab
/// refers to are not checked ([`Context::for_existing_lab`]), so these work
/// after a box was removed or a script deleted; the rest of the file is.
pub fn load_reported_lenient(path: &Path) -> anyhow::Result<Lab> {
    reported(load_with(path, &Context::for_existing_lab()))
}

fn reported(loaded: Result<Lab, SpecError>) -> anyhow::Result<Lab> {
    match loaded {
        Ok(lab) => Ok(lab),
        Err(err @ SpecError::Invalid { .. }) => {
            eprint!("{}", err.render(stderr_wants_color()));
            Err(crate::error::InvalidInput {
                summary: err.to_string(),
            }
            .into())
        }
        Err(err) => Err(err.into()),
    }
}

fn parse(src: &str, name: &str, path: PathBuf, ctx: &Context) -> Result<Lab, SpecError> {
    if let Some(nul) = src.find('\0') {
        return Err(binary(name, &src.as_bytes()[..nul], 0));
    }
    let mut d = Diags::new(name, src);
    let lab = yaml::parse(src, &mut d).and_then(|root| match &root.kind {
        Kind::Map(_) => {
            let raw = decode::lab(&root, &mut d);
            validate::lab(&raw, ctx, path, &mut d)
        }
        _ if root.is_null() => {
            d.error("", root.span, format!("{name} has no content; a lab file needs at least `name`, `box`, `network` and `nodes`"));
            None
        }
        Kind::Seq(_) => {
            d.error("", root.span, format!("{name} holds a list at the top level; a lab file is a mapping of keys like `name:` and `nodes:`"))
                .label("a list starts here");
            None
        }
        Kind::Scalar { .. } => {
            d.error("", root.span, format!("{name} is not a lab file: it holds plain text, not `key: value` lines"))
                .label("this text is read as one long string");
            None
        }
    });
    if lab.is_none() && d.is_empty() {
        d.error(
            "",
            Span::at(0),
            format!("{name} was rejected without a reason; this is a bug in lab"),
        );
    }
    d.finish()?;
    lab.ok_or_else(|| unreachable!("finish() reports whenever the lab is missing"))
}

/// The single diagnostic for a file that is not text (it holds a NUL).
fn binary(name: &str, text_before: &[u8], byte: u8) -> SpecError {
    let (line, col) = position_after(text_before);
    whole_file(
        name,
        format!(
            "{name} is not a lab file: it holds binary data (byte 0x{byte:02x} at line {line}, column {col}), not YAML text"
        ),
        None,
    )
}

/// The single diagnostic for text in another encoding than UTF-8 (e.g.
/// Latin-1: `é` is the byte 0xe9).
fn not_utf8(name: &str, text_before: &[u8], byte: u8) -> SpecError {
    let (line, col) = position_after(text_before);
    whole_file(
        name,
        format!(
            "{name} is not UTF-8 text: byte 0x{byte:02x} at line {line}, column {col} is not valid UTF-8; lab files are UTF-8"
        ),
        Some(format!(
            "convert the file to UTF-8, e.g. from Latin-1 with `iconv -f latin1 -t utf-8 {name}`"
        )),
    )
}

/// Line and column just after `text` (valid UTF-8: what precedes the
/// first bad byte), counted as diagnostics count them.
fn position_after(text: &[u8]) -> (usize, usize) {
    let text = std::str::from_utf8(text).expect("the text before the first bad byte");
    source::Source::new(text).line_col(text.len())
}

/// The single diagnostic for a file rejected as a whole, without a snippet.
fn whole_file(name: &str, message: String, help: Option<String>) -> SpecError {
    let mut d = Diags::new(name, "");
    let diag = d.error("", Span::at(0), message);
    if let Some(help) = help {
        diag.help(help);
    }
    d.finish().expect_err("one diagnostic was added")
}
