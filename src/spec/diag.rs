//! Diagnostics for lab files: one [`SpecDiagnostic`] per problem (a sentence,
//! the field path, and labels pointing into the source), gathered by
//! [`Diags`] while the file is checked, and handed out as a [`SpecError`].

use std::borrow::Cow;
use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use thiserror::Error;

use super::source::{MAX_SNIPPET_BYTES, SNIPPET_CONTEXT, Source};
use super::yaml::Span;

/// One problem in a lab file, with where it is.
#[derive(Debug, Clone, Diagnostic)]
pub struct SpecDiagnostic {
    field: String,
    message: String,
    offset: usize,
    #[source_code]
    source: NamedSource<Source>,
    #[label(collection)]
    labels: Vec<LabeledSpan>,
    #[help]
    help: Option<String>,
    /// Whether it is one of the diagnostics kept and shown (see [`Diags`]).
    shown: bool,
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

    /// 1-based line and column (in characters) of the primary label, as
    /// the human output shows them: lines end at `\n`, `\r\n` or a lone
    /// `\r`.
    pub fn line_col(&self) -> (usize, usize) {
        self.source.inner().line_col(self.offset)
    }

    /// Sets the text of the primary label (the one at the reported location).
    pub(crate) fn label(&mut self, text: impl Into<String>) -> &mut Self {
        self.labels[0].set_label(Some(text.into()));
        self
    }

    /// Adds a secondary label, e.g. "first defined here". A label far
    /// above the primary one is left out (the message says where it is):
    /// miette would show it in a snippet of its own whose header location
    /// comes first and hides the reported one. So is one far away on a
    /// long line: the snippet would hold all that lies between.
    pub(crate) fn also(&mut self, span: Span, text: impl Into<String>) -> &mut Self {
        if self.offset.abs_diff(span.start) > MAX_SNIPPET_BYTES {
            return self;
        }
        let (here, _) = self.line_col();
        let (there, _) = self.source.inner().line_col(span.start);
        if there + 5 >= here {
            let span = first_line(self.source.inner().text(), span);
            self.labels
                .push(LabeledSpan::new_with_span(Some(text.into()), span));
        }
        self
    }

    pub(crate) fn help(&mut self, text: impl Into<String>) -> &mut Self {
        self.help = Some(text.into());
        self
    }

    /// Sets the hint made by `make`, which is called only when this
    /// diagnostic is shown (one of the first [`MAX_DIAGNOSTICS`]): hints
    /// that search ("did you mean", lists of names, directory listings)
    /// cost nothing for the thousands of problems that are only counted.
    pub(crate) fn help_with(&mut self, make: impl FnOnce() -> String) -> &mut Self {
        if self.shown {
            self.help = Some(make());
        }
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
    #[error("cannot read the lab file {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        /// In the message, not a `source()`: the chain would repeat it.
        cause: std::io::Error,
    },
    /// The file was read and has `count` problems; `diagnostics` holds
    /// the first [`MAX_DIAGNOSTICS`] found, in source order.
    #[error("{file}: {count} {}", if *count == 1 { "error" } else { "errors" })]
    Invalid {
        file: String,
        count: usize,
        #[related]
        diagnostics: Vec<SpecDiagnostic>,
    },
}

impl SpecError {
    /// The diagnostics kept, in source order (none for [`SpecError::Read`]).
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
            SpecError::Invalid {
                diagnostics, count, ..
            } => {
                for (i, diag) in diagnostics.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    // Writing into a String cannot fail.
                    let _ = handler.render_report(&mut out, diag);
                }
                if let Some(more) = count.checked_sub(diagnostics.len()).filter(|n| *n > 0) {
                    out.push_str(&format!(
                        "\n... and {more} more {}, not shown; fix these first\n",
                        if more == 1 { "error" } else { "errors" }
                    ));
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

/// Collects diagnostics for one source file: the first
/// [`MAX_DIAGNOSTICS`], and how many more there were.
pub(crate) struct Diags {
    source: NamedSource<Source>,
    list: Vec<SpecDiagnostic>,
    /// Diagnostics past [`MAX_DIAGNOSTICS`], counted only.
    more: usize,
    /// Where a diagnostic past the limit is written, to be dropped.
    spare: Option<SpecDiagnostic>,
    /// The source of the diagnostics past the limit: none.
    empty: NamedSource<Source>,
}

impl Diags {
    pub(crate) fn new(name: &str, text: &str) -> Self {
        Diags {
            source: NamedSource::new(name, Source::new(text)),
            list: Vec::new(),
            more: 0,
            spare: None,
            empty: NamedSource::new(name, Source::new("")),
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
        let shown = self.list.len() < MAX_DIAGNOSTICS;
        let (source, slot, span) = if shown {
            let span = first_line(self.source.inner().text(), span);
            (self.source.clone(), None, span)
        } else {
            // Kept apart with an empty source, so that refining it costs
            // nothing: a file with thousands of problems stays fast.
            self.more += 1;
            (self.empty.clone(), Some(&mut self.spare), span)
        };
        let diag = SpecDiagnostic {
            field: field.to_owned(),
            message: message.into(),
            offset: span.start,
            source,
            labels: vec![LabeledSpan::new_primary_with_span(None, span)],
            help: None,
            shown,
        };
        match slot {
            Some(spare) => spare.insert(diag),
            None => {
                self.list.push(diag);
                self.list.last_mut().expect("just pushed")
            }
        }
    }

    /// The source text (each lone `\r` read as `\n`), to point inside a
    /// scalar.
    pub(crate) fn text(&self) -> &str {
        self.source.inner().text()
    }

    /// 1-based line of a byte offset in this file, counted as
    /// [`SpecDiagnostic::line_col`] counts it.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.source.inner().line_col(offset).0
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
            count: self.list.len() + self.more,
            diagnostics: self.list,
        })
    }
}

/// `span` cut at its first line break (a label under a whole block list
/// or mapping reads worse than one under its first line), and to at most
/// [`SNIPPET_CONTEXT`] bytes.
fn first_line(text: &str, span: Span) -> Span {
    let span = match text
        .get(span.start..span.end)
        .and_then(|s| s.find(['\r', '\n']))
    {
        Some(n) if n > 0 => Span::new(span.start, span.start + n),
        _ => span,
    };
    match text.get(span.start..span.end) {
        Some(s) if s.len() > SNIPPET_CONTEXT => Span::new(
            span.start,
            span.start + s.floor_char_boundary(SNIPPET_CONTEXT),
        ),
        _ => span,
    }
}

/// How many diagnostics of one file are kept and shown; the rest are
/// counted ("and 120 more errors").
pub const MAX_DIAGNOSTICS: usize = 50;

/// Longest text from the lab file quoted whole in a diagnostic (a name, a
/// value, a key in a field path), in characters.
pub(crate) const MAX_QUOTED_CHARS: usize = 60;

/// `text` as diagnostics quote it: its first [`MAX_QUOTED_CHARS`]
/// characters and `…` when it is longer, so that a 64 KiB key or value
/// is not echoed whole in each message about it.
pub(crate) fn clip(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
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
