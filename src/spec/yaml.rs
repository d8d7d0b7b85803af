//! The YAML layer: source text → a tree of [`Node`]s that remember their
//! byte spans. Uses the `granit-parser` event parser (re-exported by
//! serde-saphyr) so that types, unknown keys and duplicates can be checked
//! afterwards, all at once, instead of stopping at the first serde error.
//! Syntax errors, tabs, empty files and several documents are reported
//! here, and so is a file over the budget of `bounds` (depth, values after
//! alias expansion, scalar length); `builder` turns the events into the tree.

use serde_saphyr::granit_parser::{ErrorKind, Event, Parser, ScanError};

use super::bounds;
use super::builder::Builder;
use super::diag::{Diags, clip};

/// A byte range in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }

    /// An empty span at `offset`.
    pub fn at(offset: usize) -> Span {
        Span {
            start: offset,
            end: offset,
        }
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.start, s.end - s.start).into()
    }
}

/// A YAML node with its span.
#[derive(Debug, Clone)]
pub struct Node {
    pub span: Span,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    /// `plain` is false for quoted, block and `!!str`-tagged scalars: those
    /// are always strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in file order, duplicates included (the readers report them).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A plain `~`, `null` or nothing at all.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The text of a scalar key or value.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// How the node reads in a sentence: "a list", "the string \"x\"".
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a mapping".into(),
            _ if self.is_null() => "nothing".into(),
            Kind::Scalar { text, plain: true } if text.parse::<f64>().is_ok() => {
                format!("the number {}", clip(text))
            }
            Kind::Scalar { text, plain: true } if matches!(text.as_str(), "true" | "false") => {
                format!("the boolean {text}")
            }
            Kind::Scalar { text, .. } => format!("the string {:?}", clip(text)),
        }
    }
}

/// Parses `src` into one document tree; problems go to `d`. `None` when the
/// file holds no usable document (the reason was reported).
pub(crate) fn parse(src: &str, d: &mut Diags) -> Option<Node> {
    let mut builder = Builder::new(src);
    let mut documents = 0;
    let mut root = None;
    for item in Parser::new_from_str_with_options(src, bounds::parser_options()) {
        let (event, span) = match item {
            Ok(ok) => ok,
            Err(err) => {
                syntax_error(src, &err, d);
                return None;
            }
        };
        let span = Span::new(byte(src, &span.start), byte(src, &span.end));
        if let Event::DocumentStart(..) = event {
            documents += 1;
            if documents > 1 {
                let file = d.file().to_owned();
                d.error("", span, format!("{file} holds more than one YAML document; a lab file is one document"))
                    .label("a second document starts here")
                    .help("remove the `---` line and merge the documents, or split them into separate files");
                return None;
            }
        }
        match builder.event(event, span) {
            Ok(Some(node)) => root = Some(node),
            Ok(None) => {}
            Err(refusal) => {
                d.error("", refusal.span, refusal.message)
                    .label("here")
                    .help(refusal.help);
                return None;
            }
        }
    }
    if root.is_none() {
        let file = d.file().to_owned();
        d.error(
            "",
            Span::at(0),
            format!(
                "{file} is empty; a lab file needs at least `name`, `box`, `network` and `nodes`"
            ),
        );
    }
    root
}

/// Byte offset of a parser marker (falls back to counting characters).
fn byte(src: &str, marker: &serde_saphyr::granit_parser::Marker) -> usize {
    marker.byte_offset().unwrap_or_else(|| {
        src.char_indices()
            .nth(marker.index())
            .map_or(src.len(), |(i, _)| i)
    })
}

fn syntax_error(src: &str, err: &ScanError, d: &mut Diags) {
    let at = byte(src, err.marker());
    if *err.kind() == ErrorKind::RecursionLimitExceeded {
        let refusal = bounds::too_deep(Span::at(at));
        d.error("", refusal.span, refusal.message)
            .label("here")
            .help(refusal.help);
        return;
    }
    let is_tab = matches!(
        err.kind(),
        ErrorKind::TabNotAllowed
            | ErrorKind::TabInBlockIndentation
            | ErrorKind::TabAtBlockScalarStart
            | ErrorKind::TabInIndentation
            | ErrorKind::TabInPlainScalar
    );
    let tab_lines = tab_indented_lines(src);
    if is_tab || tab_lines.iter().any(|t| t.start <= at && at <= t.end + 1) {
        // One diagnostic per tab-indented line from the failure on, so the
        // user can fix them all in one go.
        let line_start = src[..at.min(src.len())]
            .rfind(['\n', '\r'])
            .map_or(0, |i| i + 1);
        for tab in tab_lines.into_iter().filter(|t| t.start >= line_start) {
            d.error(
                "",
                tab,
                "a tab is used for indentation; YAML indents with spaces only",
            )
            .label("tab here")
            .help("replace the tabs at the start of the line with spaces");
        }
        if !d.is_empty() {
            return;
        }
    }
    let info = err.info();
    let what = if info.is_empty() {
        "the text is not valid YAML".to_owned()
    } else {
        info
    };
    d.error("", Span::at(at), format!("YAML syntax error: {what}"))
        .label("here")
        .help(
            "the cause may be earlier, e.g. an unclosed bracket or quote, or a wrong indentation",
        );
}

/// The span of the tab characters in each line's leading whitespace
/// (lines end at `\n`, `\r\n` or a lone `\r`).
fn tab_indented_lines(src: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in src.split_inclusive(['\n', '\r']) {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let lead = &line[..indent];
        if let (Some(first), Some(last)) = (lead.find('\t'), lead.rfind('\t')) {
            out.push(Span::new(offset + first, offset + last + 1));
        }
        offset += line.len();
    }
    out
}
