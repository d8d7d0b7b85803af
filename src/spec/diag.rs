//! Diagnostics for lab files: one [`SpecDiagnostic`] per problem (a sentence,
//! the field path, and labels pointing into the source), gathered by
//! [`Diags`] while the file is checked, and handed out as a [`SpecError`].

use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use thiserror::Error;

use super::yaml::Span;

/// One problem in a lab file, with where it is.
#[derive(Debug, Clone, Diagnostic)]
pub struct SpecDiagnostic {
    field: String,
    message: String,
    offset: usize,
    #[source_code]
    source: NamedSource<Arc<str>>,
    #[label(collection)]
    labels: Vec<LabeledSpan>,
    #[help]
    help: Option<String>,
}

impl SpecDiagnostic {
    /// The field path, e.g. `nodes.node2.ip` (empty for whole-file problems).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The sentence describing the problem, without the field path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint shown under the snippet, if any.
    pub fn hint(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// 1-based line and column (in characters) of the primary label.
    pub fn line_col(&self) -> (usize, usize) {
        line_col(self.source.inner(), self.offset)
    }

    /// Sets the text of the primary label (the one at the reported location).
    pub(crate) fn label(&mut self, text: impl Into<String>) -> &mut Self {
        self.labels[0].set_label(Some(text.into()));
        self
    }

    /// Adds a secondary label, e.g. "first defined here". A label far
    /// above the primary one is left out (the message says where it is):
    /// miette would show it in a snippet of its own whose header location
    /// comes first and hides the reported one.
    pub(crate) fn also(&mut self, span: Span, text: impl Into<String>) -> &mut Self {
        let (here, _) = self.line_col();
        let (there, _) = line_col(self.source.inner(), span.start);
        if there + 5 >= here {
            let span = first_line(self.source.inner(), span);
            self.labels
                .push(LabeledSpan::new_with_span(Some(text.into()), span));
        }
        self
    }

    pub(crate) fn help(&mut self, text: impl Into<String>) -> &mut Self {
        self.help = Some(text.into());
        self
    }
}

impl fmt::Display for SpecDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for SpecDiagnostic {}

/// Why a lab file was rejected.
#[derive(Debug, Error, Diagnostic)]
pub enum SpecError {
    /// The file could not be read at all.
    #[error("cannot read the lab file {}: {err}", path.display())]
    Read { path: PathBuf, err: std::io::Error },
    /// The file was read and has `count` problems, all in `diagnostics`.
    #[error("{file}: {count} {}", if *count == 1 { "error" } else { "errors" })]
    Invalid {
        file: String,
        count: usize,
        #[related]
        diagnostics: Vec<SpecDiagnostic>,
    },
}

impl SpecError {
    /// Every diagnostic, in source order (none for [`SpecError::Read`]).
    pub fn diagnostics(&self) -> &[SpecDiagnostic] {
        match self {
            SpecError::Read { .. } => &[],
            SpecError::Invalid { diagnostics, .. } => diagnostics,
        }
    }

    /// Renders every diagnostic miette-style, one after another.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_links(false);
        let mut out = String::new();
        match self {
            SpecError::Read { .. } => out = format!("{self}\n"),
            SpecError::Invalid { diagnostics, .. } => {
                for (i, diag) in diagnostics.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    // Writing into a String cannot fail.
                    let _ = handler.render_report(&mut out, diag);
                }
            }
        }
        out
    }
}

/// Whether diagnostics on stderr should be colored: a terminal, and
/// `NO_COLOR` unset or empty.
pub fn stderr_wants_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Collects diagnostics for one source file.
pub(crate) struct Diags {
    source: NamedSource<Arc<str>>,
    list: Vec<SpecDiagnostic>,
}

impl Diags {
    pub(crate) fn new(name: &str, text: Arc<str>) -> Self {
        Diags {
            source: NamedSource::new(name, text),
            list: Vec::new(),
        }
    }

    /// The file name diagnostics are reported against.
    pub(crate) fn file(&self) -> &str {
        self.source.name()
    }

    /// Records a problem at `span`; refine it with the returned reference.
    pub(crate) fn error(
        &mut self,
        field: &str,
        span: Span,
        message: impl Into<String>,
    ) -> &mut SpecDiagnostic {
        let span = first_line(self.source.inner(), span);
        self.list.push(SpecDiagnostic {
            field: field.to_owned(),
            message: message.into(),
            offset: span.start,
            source: self.source.clone(),
            labels: vec![LabeledSpan::new_primary_with_span(None, span)],
            help: None,
        });
        self.list.last_mut().expect("just pushed")
    }

    /// The source text, to point inside a scalar.
    pub(crate) fn text(&self) -> &str {
        self.source.inner()
    }

    /// 1-based line and column of a byte offset in this file.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(self.source.inner(), offset)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Ends collection: `Ok(())` when nothing was reported.
    pub(crate) fn finish(mut self) -> Result<(), SpecError> {
        if self.list.is_empty() {
            return Ok(());
        }
        self.list.sort_by_key(|d| d.offset);
        Err(SpecError::Invalid {
            file: self.source.name().to_owned(),
            count: self.list.len(),
            diagnostics: self.list,
        })
    }
}

/// `span` cut at its first line break: a label under a whole block list
/// or mapping reads worse than one under its first line.
fn first_line(text: &str, span: Span) -> Span {
    match text.get(span.start..span.end).and_then(|s| s.find('\n')) {
        Some(n) if n > 0 => Span::new(span.start, span.start + n),
        _ => span,
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The candidate closest to `word` by edit distance, if it is close enough
/// to be a plausible typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `a`, `a or b`, `a, b or c`, each in backticks.
pub(crate) fn one_of(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
