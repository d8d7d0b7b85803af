//! What is wrong with a box recipe, said the way the lab file says it:
//! `PATH:LINE:COLUMN: FIELD: sentence`. A serde-saphyr error (a type that
//! does not match, an unknown or repeated key, a syntax error, a bound of
//! [`crate::limits`]) is turned into a sentence here, its field found by
//! walking the recipe's YAML events up to the error's position; the checks
//! of values (`disk_gib` out of range, a `user` that is not a login name)
//! point at the value through `Spanned`. A recipe that is not valid is
//! invalid input: [`RecipeError::into_anyhow`] gives exit status 2.

use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
use thiserror::Error;

use super::lookup::fmt_dirs;
use super::recipe::RECIPE_FILE;
use super::yaml_limits;
use crate::paths::RecipeDir;

#[derive(Debug, Error, Diagnostic)]
pub enum RecipeError {
    #[error(
        "no recipe for box `{name}`: looked for {RECIPE_FILE} in {}",
        fmt_dirs(searched)
    )]
    #[diagnostic(help(
        "box recipes live in boxes/NAME/box.yaml; set LAB_BOXES_PATH to add a directory; `lab box list --recipes` lists the known ones"
    ))]
    NotFound {
        name: String,
        /// Where it was looked for, in order.
        searched: Vec<RecipeDir>,
    },
    /// Not a box name ([`crate::names::box_name`]): looked up as a
    /// directory, it could lead anywhere (`../x`, `/abs`).
    #[error("box name {} {why}", crate::names::quoted(name))]
    BadName { name: String, why: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(Box<InvalidRecipe>),
    /// box.yaml (or a file of its overlay) could not be read, or is too
    /// large.
    #[error(transparent)]
    File(#[from] crate::limits::ReadError),
}

impl RecipeError {
    /// As `anyhow`: a recipe that is not valid, and a name that is not a
    /// box name, become [`crate::error::InvalidInput`] (exit status 2)
    /// with the same sentence.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            RecipeError::Invalid(_) | RecipeError::BadName { .. } => crate::error::InvalidInput {
                summary: self.to_string(),
            }
            .into(),
            other => other.into(),
        }
    }
}

/// A recipe that is not valid YAML or does not match the recipe format:
/// `PATH:LINE:COLUMN: FIELD: MESSAGE` (lines and columns from 1; no field
/// for the file as a whole).
#[derive(Debug, Error, Diagnostic)]
#[error("{path}:{line}:{column}: {}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct InvalidRecipe {
    pub path: PathBuf,
    pub line: u64,
    pub column: u64,
    /// The field path, `disk_gib` or `packages[2]`; empty for the file.
    pub field: String,
    pub message: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("here")]
    pub span: Option<SourceSpan>,
}

/// One problem of a recipe: where (1-based line and column), which field,
/// and the sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem {
    pub line: u64,
    pub column: u64,
    pub field: String,
    pub message: String,
}

impl Problem {
    /// A problem of the value at `at` (its `Spanned` location).
    pub fn at(at: &serde_saphyr::Location, field: &str, message: String) -> Problem {
        Problem {
            line: at.line().max(1),
            column: at.column().max(1),
            field: field.to_string(),
            message,
        }
    }

    /// A problem of the recipe as a whole (a missing field): line 1.
    pub fn top(field: &str, message: String) -> Problem {
        Problem {
            line: 1,
            column: 1,
            field: field.to_string(),
            message,
        }
    }

    /// The error for the recipe `text` read from `path`.
    pub fn into_error(self, path: &Path, text: &str) -> RecipeError {
        let offset = offset_of(text, self.line, self.column);
        RecipeError::Invalid(Box::new(InvalidRecipe {
            path: path.to_owned(),
            line: self.line,
            column: self.column,
            field: self.field,
            message: self.message,
            src: NamedSource::new(path.display().to_string(), text.to_string()),
            span: offset.map(|o| SourceSpan::from((o, 1))),
        }))
    }
}

/// The byte offset of 1-based `line` and `column` (in characters).
fn offset_of(text: &str, line: u64, column: u64) -> Option<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let rest = text.get(start..)?;
    let col = rest
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(rest.len(), |(i, _)| i);
    Some(start + col)
}

/// The problem a serde-saphyr error of `text` describes.
pub(super) fn from_serde(err: &serde_saphyr::Error, text: &str) -> Problem {
    let (line, column) = err
        .location()
        .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
    let raw =
        serde_saphyr::MessageFormatter::format_message(&serde_saphyr::DefaultMessageFormatter, err);
    let raw = raw.lines().next().unwrap_or_default();
    let node = node_at(text, line, column);
    let field = node.as_ref().map_or(String::new(), |n| n.path.clone());
    let found = || {
        node.as_ref()
            .map_or("something else".to_string(), |n| n.what.clone())
    };
    let problem = |field: String, message: String| Problem {
        line,
        column,
        field,
        message,
    };
    if let Some(message) = yaml_limits::breach(err) {
        return problem(field, message);
    }
    if let Some(key) = between(raw, "missing field `", "`") {
        return Problem::top(key, format!("missing; {}", needs(key)));
    }
    if let Some(key) = between(raw, "unknown field `", "`") {
        return problem(
            key.to_string(),
            format!("unknown key in a box recipe; a recipe takes {KEYS}"),
        );
    }
    if let Some(key) = between(raw, "duplicate mapping key: ", ",") {
        return problem(
            field,
            format!(
                "key `{key}` is given twice; remove one of the two (YAML keeps one value per key)"
            ),
        );
    }
    if let Some(value) = between(raw, "unknown variant `", "`") {
        return problem(
            field,
            format!(
                "unknown format {}; use `disk` (a VM disk) or `rootfs` (a root filesystem for containers)",
                crate::names::quoted(value)
            ),
        );
    }
    let mismatch = raw.starts_with("invalid ")
        || raw.starts_with("expected ")
        || raw.starts_with("cannot deserialize")
        || raw.starts_with("invalid type");
    if mismatch {
        let found = if raw.starts_with("cannot deserialize null") {
            "nothing".to_string()
        } else {
            found()
        };
        return problem(
            field.clone(),
            format!("expected {}, found {found}", expected(&field)),
        );
    }
    if raw.starts_with("unexpected end of input") && node.is_none() {
        return problem(
            String::new(),
            "the recipe is empty; a box recipe needs at least `version`, `suite`, `mirror` and `packages`".into(),
        );
    }
    if raw.starts_with("multiple YAML documents") {
        return problem(
            String::new(),
            "the recipe holds more than one YAML document (a `---` line); a box recipe is one document".into(),
        );
    }
    if raw.contains("recursion limit") {
        return problem(field, yaml_limits::too_deep());
    }
    if raw.starts_with("tabs disallowed") {
        return problem(
            field,
            "a tab is used for indentation; YAML indents with spaces only".into(),
        );
    }
    problem(
        field,
        format!(
            "YAML syntax error: {raw}; the cause may be earlier, e.g. an unclosed bracket or quote, or a wrong indentation"
        ),
    )
}

/// The keys of a recipe, for sentences.
const KEYS: &str = "`extends`, `description`, `version`, `format`, `suite`, `mirror`, `sources`, `variant`, `packages`, `disk_gib`, `cmdline`, `user` or `customize`";

/// What a missing required key is for.
pub(super) fn needs(key: &str) -> String {
    let what = match key {
        "version" => "`version: \"1\"` (shown by `lab box list`)",
        "suite" => "the Debian suite, e.g. `suite: bookworm`",
        "mirror" => "the Debian mirror, e.g. `mirror: http://deb.debian.org/debian`",
        "disk_gib" => "the disk size in GiB, e.g. `disk_gib: 8`",
        "cmdline" => "the kernel command line, e.g. `cmdline: root=LABEL=labroot rw console=ttyS0`",
        "user" => "the login user cloud-init creates, e.g. `user: lab`",
        "packages" => "at least one package, e.g. `packages: [openssh-server]`",
        _ => "it",
    };
    if key == "version" {
        // Never inherited: each recipe has its own.
        return format!("every box recipe needs {what}");
    }
    format!("a box recipe needs {what}, here or in the recipe it `extends`")
}

/// What the field at `path` takes.
fn expected(path: &str) -> &'static str {
    match path {
        "" => "a mapping of recipe keys",
        "disk_gib" => "a whole number of GiB (2 to 1024)",
        "format" => "`disk` or `rootfs`",
        "packages" | "sources" | "customize" => "a list of strings",
        _ => "a string",
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(start)?;
    Some(rest.split(end).next().unwrap_or(rest))
}

/// The field path of the node at 1-based `line` and `column` of `text`.
pub(super) fn field_at(text: &str, line: u64, column: u64) -> Option<String> {
    node_at(text, line, column).map(|n| n.path)
}

/// A node of the YAML text: its field path and how it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    path: String,
    what: String,
}

/// Where a node stands in its parent.
enum Frame {
    /// In a mapping: the key just read (its value comes next), if any.
    Map {
        path: String,
        key: Option<String>,
    },
    Seq {
        path: String,
        index: usize,
    },
}

/// The node at 1-based `line` and `column`, or else the last one before
/// it: its field path (`packages[2]`; a key's own path for a key) and how
/// it reads ("the string \"x\"", "a list"). `None` before the first node.
fn node_at(text: &str, line: u64, column: u64) -> Option<Found> {
    let target = (line as usize, column as usize);
    let mut stack: Vec<Frame> = Vec::new();
    let mut last = None;
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        let stack_depth = stack.len();
        let at = (span.start.line(), span.start.col() + 1);
        if at > target {
            break;
        }
        let what = match &event {
            Event::Scalar(value, style, ..) => describe(value, *style),
            Event::SequenceStart(..) => "a list".into(),
            Event::MappingStart(..) => "a mapping".into(),
            Event::Alias(..) => "an alias".into(),
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                done(&mut stack);
                continue;
            }
            _ => continue,
        };
        // The node's own path; a key's path is the key's. Past
        // MAX_PATH_DEPTH levels, the path stays that of the ancestor.
        let (path, is_key) = match stack.last_mut() {
            Some(Frame::Seq { path, .. } | Frame::Map { path, .. })
                if stack_depth > MAX_PATH_DEPTH =>
            {
                (path.clone(), false)
            }
            None => (String::new(), false),
            Some(Frame::Seq { path, index }) => (format!("{path}[{index}]"), false),
            Some(Frame::Map { path, key: Some(k) }) => (join(path, k), false),
            Some(Frame::Map { path, key }) => {
                let name = match &event {
                    Event::Scalar(value, ..) => value.to_string(),
                    _ => "?".into(),
                };
                *key = Some(name.clone());
                (join(path, &name), true)
            }
        };
        last = Some(Found {
            path: path.clone(),
            what,
        });
        if at == target {
            break;
        }
        match event {
            Event::SequenceStart(..) => stack.push(Frame::Seq { path, index: 0 }),
            Event::MappingStart(..) => stack.push(Frame::Map { path, key: None }),
            _ if !is_key => done(&mut stack),
            _ => {}
        }
    }
    last
}

/// How many levels of nesting a field path names (a recipe has two).
const MAX_PATH_DEPTH: usize = 4;

/// A value of the innermost collection is complete.
fn done(stack: &mut [Frame]) {
    match stack.last_mut() {
        Some(Frame::Map { key, .. }) => *key = None,
        Some(Frame::Seq { index, .. }) => *index += 1,
        None => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// How a scalar reads in a sentence: "the number -3", "the string \"x\"".
fn describe(value: &str, style: ScalarStyle) -> String {
    if style != ScalarStyle::Plain {
        return format!("the string {}", crate::names::quoted(value));
    }
    match value {
        "" | "~" | "null" | "Null" | "NULL" => "nothing".into(),
        "true" | "false" | "True" | "False" | "TRUE" | "FALSE" => format!("the boolean {value}"),
        v if v.parse::<f64>().is_ok() => format!("the number {v}"),
        v => format!("the string {}", crate::names::quoted(v)),
    }
}
