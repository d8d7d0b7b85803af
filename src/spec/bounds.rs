//! The YAML budget of a lab file ([`crate::limits`] gives the numbers):
//! nesting depth, values and text after alias expansion, scalar length,
//! anchors defined.
//! The tree builder (`builder`) charges every value BEFORE building it,
//! an alias by the size of what it names, so an alias bomb is refused at
//! the alias that crosses the limit, having built nothing big.

use crate::limits::{
    Bytes, YAML_MAX_ANCHORS, YAML_MAX_DEPTH, YAML_MAX_SCALAR_BYTES, YAML_MAX_TEXT_BYTES,
    YAML_MAX_VALUES,
};

use serde_saphyr::granit_parser::Options;

use super::yaml::Span;

/// The size of a built value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Weight {
    /// Scalars, lists and mappings in it, itself and keys included.
    pub values: usize,
    /// Bytes of scalar text in it.
    pub text: usize,
    /// Levels of lists and mappings: 0 for a scalar, 1 for `[a]`.
    pub height: usize,
}

/// Why the file is refused: where, and a sentence with a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub span: Span,
    pub message: String,
    pub help: &'static str,
}

/// What is charged: a value written out, or an alias.
#[derive(Debug, Clone, Copy)]
pub(super) enum Charge<'a> {
    Value,
    /// The alias as written, e.g. `*base`.
    Alias(&'a str),
}

/// Running totals of one file.
#[derive(Debug, Default)]
pub(super) struct Budget {
    values: usize,
    text: usize,
    anchors: usize,
}

impl Budget {
    /// Counts one anchor definition, at `span`; refused past
    /// [`YAML_MAX_ANCHORS`].
    pub fn anchor(&mut self, span: Span) -> Result<(), Refusal> {
        self.anchors += 1;
        if self.anchors <= YAML_MAX_ANCHORS {
            return Ok(());
        }
        Err(Refusal {
            span,
            message: format!(
                "the file defines more than {YAML_MAX_ANCHORS} anchors (`&name`) by here; lab files need a handful"
            ),
            help: "an anchor names a value to repeat with `*name`: define each shared value once",
        })
    }

    /// Charges `w` placed `depth` levels deep (0 for the top-level value).
    pub fn charge(
        &mut self,
        w: Weight,
        depth: usize,
        what: Charge<'_>,
        span: Span,
    ) -> Result<(), Refusal> {
        let refuse = |message: String, help: &'static str| {
            Err(Refusal {
                span,
                message,
                help,
            })
        };
        if depth + w.height > YAML_MAX_DEPTH {
            let mut refusal = too_deep(span);
            if let Charge::Alias(alias) = what {
                refusal.message = format!(
                    "alias {alias} would nest lists and mappings more than {YAML_MAX_DEPTH} levels deep; lab files need a handful"
                );
            }
            return Err(refusal);
        }
        self.values = self.values.saturating_add(w.values);
        self.text = self.text.saturating_add(w.text);
        let (past, too_many) = if self.values > YAML_MAX_VALUES {
            (format!("{YAML_MAX_VALUES} values"), true)
        } else if self.text > YAML_MAX_TEXT_BYTES {
            (
                format!("{} of text", Bytes(YAML_MAX_TEXT_BYTES as u64)),
                true,
            )
        } else {
            (String::new(), false)
        };
        if !too_many {
            return Ok(());
        }
        match what {
            Charge::Alias(alias) => refuse(
                format!(
                    "alias {alias} would expand the file past {past}; lab files do not need aliases this large"
                ),
                "each alias counts as a full copy of the value its anchor names: write the shared part once",
            ),
            Charge::Value => refuse(
                format!(
                    "the file holds more than {past} by here; a lab file needs a few hundred values"
                ),
                "check that this is the lab file you meant",
            ),
        }
    }
}

/// The refusal for lists and mappings nested deeper than [`YAML_MAX_DEPTH`]
/// at `span` (the parser stops there too: see [`parser_options`]).
pub(super) fn too_deep(span: Span) -> Refusal {
    Refusal {
        span,
        message: format!(
            "lists and mappings nest more than {YAML_MAX_DEPTH} levels deep here; lab files need a handful"
        ),
        help: "check the brackets and indentation: an unclosed `[` or `{` nests everything after it",
    }
}

/// Parser options whose nesting limits are [`YAML_MAX_DEPTH`]: the parser
/// looks ahead, so without them it would stop at its own limit (255)
/// before the builder sees the 65th level. An alias of no anchor comes as
/// an event, which the builder refuses with the alias's name.
pub(crate) fn parser_options() -> Options {
    let mut options = Options::default();
    options.flow_nesting_limit = YAML_MAX_DEPTH;
    options.block_nesting_limit = YAML_MAX_DEPTH;
    options.emit_unresolved_aliases = true;
    options
}

/// The refusal for a scalar of `len` bytes at `span`, if it is too long.
pub(super) fn scalar_length(len: usize, span: Span) -> Option<Refusal> {
    (len > YAML_MAX_SCALAR_BYTES).then(|| Refusal {
        span,
        message: format!(
            "this value is {} long; values in a lab file may be at most {}",
            Bytes(len as u64),
            Bytes(YAML_MAX_SCALAR_BYTES as u64)
        ),
        help: "keep long scripts in files beside the lab file and name them with `script:`",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> Weight {
        Weight {
            values: 1,
            text: text.len(),
            height: 0,
        }
    }

    #[test]
    fn values_up_to_the_limit_pass_one_more_is_refused_at_its_span() {
        let mut b = Budget::default();
        b.charge(
            Weight {
                values: YAML_MAX_VALUES - 1,
                text: 0,
                height: 1,
            },
            0,
            Charge::Value,
            Span::at(0),
        )
        .unwrap();
        b.charge(scalar("x"), 1, Charge::Value, Span::at(1))
            .unwrap();
        let r = b
            .charge(scalar("x"), 1, Charge::Value, Span::at(7))
            .unwrap_err();
        assert_eq!(r.span, Span::at(7));
        assert_eq!(
            r.message,
            "the file holds more than 100000 values by here; a lab file needs a few hundred values"
        );
    }

    #[test]
    fn aliases_are_charged_by_what_they_expand_to() {
        let mut b = Budget::default();
        let big = Weight {
            values: 60_000,
            text: 0,
            height: 1,
        };
        b.charge(big, 1, Charge::Alias("*e"), Span::at(0)).unwrap();
        let r = b
            .charge(big, 1, Charge::Alias("*e"), Span::at(5))
            .unwrap_err();
        assert_eq!(
            r.message,
            "alias *e would expand the file past 100000 values; lab files do not need aliases this large"
        );
        let mut b = Budget::default();
        let text = Weight {
            values: 1,
            text: 5 << 20,
            height: 0,
        };
        b.charge(text, 1, Charge::Alias("*s"), Span::at(0)).unwrap();
        let r = b
            .charge(text, 1, Charge::Alias("*s"), Span::at(0))
            .unwrap_err();
        assert!(
            r.message
                .starts_with("alias *s would expand the file past 8 MiB of text"),
            "{}",
            r.message
        );
    }

    #[test]
    fn depth_counts_the_levels_an_alias_brings() {
        let mut b = Budget::default();
        let deep = Weight {
            values: 1,
            text: 0,
            height: 10,
        };
        b.charge(deep, YAML_MAX_DEPTH - 10, Charge::Alias("*d"), Span::at(0))
            .unwrap();
        let r = b
            .charge(deep, YAML_MAX_DEPTH - 9, Charge::Alias("*d"), Span::at(0))
            .unwrap_err();
        assert!(
            r.message
                .starts_with("alias *d would nest lists and mappings more than 64 levels deep"),
            "{}",
            r.message
        );
        let r = b.charge(
            Weight {
                values: 1,
                text: 0,
                height: 1,
            },
            YAML_MAX_DEPTH,
            Charge::Value,
            Span::at(0),
        );
        assert!(
            r.unwrap_err()
                .message
                .starts_with("lists and mappings nest more than 64 levels deep here")
        );
    }

    #[test]
    fn scalars_up_to_64_kib_pass() {
        assert_eq!(scalar_length(64 << 10, Span::at(0)), None);
        let r = scalar_length((64 << 10) + 1, Span::at(3)).unwrap();
        assert_eq!(
            r.message,
            "this value is 65537 bytes long; values in a lab file may be at most 64 KiB"
        );
    }
}
