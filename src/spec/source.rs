//! A lab file's text as its diagnostics show it: where each line starts,
//! the line and column of a position, and the snippets miette draws. One
//! [`Source::line_col`] serves the human output (miette's `[file:L:C]`
//! header reads it through [`SourceCode::read_span`]) and `--json`, so the
//! two always agree: lines end at `\n`, `\r\n` or a lone `\r` (as YAML
//! reads them), columns count characters (as editors show them), both
//! from 1.

use std::sync::{Arc, OnceLock};

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Longest snippet (in bytes) shown whole under a diagnostic; a longer
/// one is cut to its label's line, at most [`SNIPPET_CONTEXT`] bytes
/// either side.
pub(super) const MAX_SNIPPET_BYTES: usize = 2000;
pub(super) const SNIPPET_CONTEXT: usize = 80;

/// The text of a lab file, with an index of its lines built on first use.
/// A lone `\r` is stored as `\n` (the same length, so every byte offset
/// stays put): miette then draws such a file line by line too.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    text: Arc<str>,
    lines: Arc<OnceLock<Vec<usize>>>,
}

impl Source {
    pub(crate) fn new(text: &str) -> Source {
        let text = if text.contains('\r') {
            Arc::from(lone_cr_as_lf(text))
        } else {
            Arc::from(text)
        };
        Source {
            text,
            lines: Arc::default(),
        }
    }

    /// The text, each lone `\r` turned into `\n`.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Byte offsets where the lines start: 0, then after each `\n`.
    fn starts(&self) -> &[usize] {
        self.lines.get_or_init(|| {
            let breaks = self.text.match_indices('\n').map(|(i, _)| i + 1);
            std::iter::once(0).chain(breaks).collect()
        })
    }

    /// 0-based index of the line holding byte `offset`.
    fn line_index(&self, offset: usize) -> usize {
        self.starts().partition_point(|start| *start <= offset) - 1
    }

    /// Where the line at `index` starts, and where it ends (before its
    /// line break).
    fn line_bounds(&self, index: usize) -> (usize, usize) {
        let starts = self.starts();
        let start = starts[index];
        let end = starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        (start, end.max(start))
    }

    /// 1-based line and column (in characters) of byte `offset`.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.text.floor_char_boundary(offset);
        let index = self.line_index(offset);
        let (start, _) = self.line_bounds(index);
        let column = self.text[start..offset].chars().count();
        (index + 1, column + 1)
    }
}

/// `text` with each `\r` not followed by `\n` replaced by `\n`.
fn lone_cr_as_lf(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        out.push(if rest[i + 1..].starts_with('\n') {
            '\r'
        } else {
            '\n'
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out
}

/// Snippets from the line index, so drawing 50 diagnostics of a 1 MiB file
/// does not scan it from the start 150 times; a snippet over
/// [`MAX_SNIPPET_BYTES`] (a file of one long line) is cut around its label.
impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = self.text();
        if span.offset() + span.len() > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let start = text.floor_char_boundary(span.offset());
        let end = text.ceil_char_boundary(span.offset() + span.len());
        let first = self.line_index(start);
        let last = self.line_index(end.saturating_sub(1).max(start));
        // miette's header asks with no context: start at the label itself
        // so that it names the label's line and column.
        let header = before == 0 && after == 0;
        let mut from = if header {
            start
        } else {
            self.line_bounds(first.saturating_sub(before)).0
        };
        let mut to = if header {
            end
        } else {
            let after_last = last + after + 1;
            self.starts().get(after_last).copied().unwrap_or(text.len())
        };
        // As miette counts it: the line breaks up to the snippet's end.
        let mut line_count = self.line_index(to);
        if to - from > MAX_SNIPPET_BYTES {
            let (line_start, _) = self.line_bounds(first);
            let (_, line_end) = self.line_bounds(last);
            if !header {
                from =
                    text.floor_char_boundary(start.saturating_sub(SNIPPET_CONTEXT).max(line_start));
            }
            to = text.ceil_char_boundary((end + SNIPPET_CONTEXT).min(line_end.max(end)));
            line_count = 1;
        }
        let (line, column) = self.line_col(from);
        Ok(Box::new(MietteSpanContents::new(
            &text.as_bytes()[from..to],
            (from, to - from).into(),
            line - 1,
            column - 1,
            line_count,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_lf_crlf_and_lone_cr_and_columns_count_characters() {
        let s = Source::new("a\nb\r\nc\rdé x");
        assert_eq!(s.text(), "a\nb\r\nc\ndé x");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(2), (2, 1));
        assert_eq!(s.line_col(5), (3, 1));
        assert_eq!(s.line_col(7), (4, 1));
        // `x` follows `dé `: the 4th character, the 5th byte.
        assert_eq!(s.line_col(s.text().find('x').unwrap()), (4, 4));
        assert_eq!(s.line_col(s.text().len()), (4, 5));
    }

    #[test]
    fn miettes_header_gets_the_same_line_and_column() {
        let s = Source::new("ä: 1\r\rkey: ünknown\r");
        let at = s.text().find("ünknown").unwrap();
        let header = s.read_span(&(at, 2).into(), 0, 0).unwrap();
        assert_eq!((header.line() + 1, header.column() + 1), s.line_col(at));
        assert_eq!(s.line_col(at), (3, 6));
        let snippet = s.read_span(&(at, 2).into(), 1, 1).unwrap();
        assert_eq!(
            std::str::from_utf8(snippet.data()).unwrap(),
            "\nkey: ünknown\n"
        );
        assert_eq!(snippet.line(), 1);
    }
}
