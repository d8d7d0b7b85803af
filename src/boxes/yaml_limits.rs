//! The YAML bounds of a box recipe, the same as a lab file's
//! ([`crate::limits`]): serde-saphyr enforces nesting depth, values and
//! text after alias expansion while it deserializes (its `Budget` and
//! `AliasLimits`), and its breaches are turned into sentences here; the
//! length of one scalar, which it does not bound, is checked first by
//! [`long_scalar`]. The recipe's types stop most of it earlier: unknown
//! keys are refused before their value is read, and a list inside
//! `packages` is not a string.

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::{Event, Parser};

use crate::limits::{
    Bytes, YAML_MAX_DEPTH, YAML_MAX_SCALAR_BYTES, YAML_MAX_TEXT_BYTES, YAML_MAX_VALUES,
};

/// serde-saphyr options with the bounds of [`crate::limits`].
pub(super) fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: YAML_MAX_DEPTH,
            max_nodes: YAML_MAX_VALUES,
            max_total_scalar_bytes: YAML_MAX_TEXT_BYTES,
            max_aliases: YAML_MAX_VALUES,
            max_anchors: YAML_MAX_VALUES,
            // Expansion is bounded by values and text, counted with
            // replays; no guessing from the number of aliases per anchor.
            enforce_alias_anchor_ratio: false,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: YAML_MAX_VALUES,
            max_replay_stack_depth: YAML_MAX_DEPTH,
        },
    }
}

/// The sentence for an error that is a breach of [`options`], if it is one.
pub(super) fn breach(err: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error;
    let mut err = err;
    while let Error::AliasError { error, .. } | Error::WithSnippet { error, .. } = err {
        err = error;
    }
    match err {
        Error::Budget {
            breach: BudgetBreach::Nodes { .. },
            ..
        } => Some(format!(
            "the recipe holds more than {YAML_MAX_VALUES} values by here (an alias counts as a copy of what it names); box recipes need a few dozen"
        )),
        Error::Budget {
            breach: BudgetBreach::ScalarBytes { .. },
            ..
        } => Some(format!(
            "the recipe holds more than {} of text by here (an alias counts as a copy of what it names); box recipes need a few KiB",
            Bytes(YAML_MAX_TEXT_BYTES as u64)
        )),
        Error::Budget {
            breach: BudgetBreach::Depth { .. },
            ..
        } => Some(too_deep()),
        _ => None,
    }
}

/// The sentence for lists and mappings nested past [`YAML_MAX_DEPTH`].
pub(super) fn too_deep() -> String {
    format!(
        "lists and mappings are nested more than {YAML_MAX_DEPTH} levels deep here; box recipes need 2"
    )
}

/// The first scalar longer than [`YAML_MAX_SCALAR_BYTES`]: its 1-based
/// line and column, byte offset, and a sentence. Stops quietly at a syntax
/// error: deserializing reports it.
pub(super) fn long_scalar(text: &str) -> Option<(u64, u64, usize, String)> {
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else {
            return None;
        };
        if let Event::Scalar(value, ..) = event
            && value.len() > YAML_MAX_SCALAR_BYTES
        {
            let at = span.start;
            return Some((
                at.line() as u64,
                at.col() as u64 + 1,
                at.byte_offset().unwrap_or(0),
                format!(
                    "this value is {} long; values in a box recipe may be at most {}: keep long scripts in the recipe's files/ overlay",
                    Bytes(value.len() as u64),
                    Bytes(YAML_MAX_SCALAR_BYTES as u64)
                ),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::recipe::{RecipeError, parse_raw};

    /// `path:line:column: message` of a refused recipe.
    fn refusal(text: &str) -> String {
        match parse_raw(text, Path::new("box.yaml")) {
            Err(err @ RecipeError::Invalid(_)) => err.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn aliases_of_long_text_are_refused_where_they_cross_8_mib_of_text() {
        let big = "x".repeat(60_000);
        let aliases = vec!["*s"; 200].join(",");
        let msg = refusal(&format!(
            "version: '1'\npackages: [&s {big}]\ncustomize: [{aliases}]\n"
        ));
        assert_eq!(
            msg,
            "box.yaml:3:427: customize[138]: the recipe holds more than 8 MiB of text by here (an alias counts as a copy of what it names); box recipes need a few KiB"
        );
    }

    #[test]
    fn too_many_values_are_refused() {
        let items = vec!["x"; 100_001].join(",");
        let msg = refusal(&format!("version: '1'\npackages: [{items}]\n"));
        assert!(msg.starts_with("box.yaml:2:"), "{msg}");
        assert!(msg.ends_with(": the recipe holds more than 100000 values by here (an alias counts as a copy of what it names); box recipes need a few dozen"), "{msg}");
    }

    #[test]
    fn many_aliases_are_refused_where_they_cross_the_limit() {
        // Replayed values count like written ones.
        let aliases = vec!["*s"; 100_001].join(",");
        let msg = refusal(&format!("version: '1'\npackages: [&s x, {aliases}]\n"));
        assert!(
            msg.starts_with(
                "box.yaml:2:300000: packages[99995]: the recipe holds more than 100000 values"
            ),
            "{msg}"
        );
        let items = vec!["x"; 60_000].join(",");
        let msg = refusal(&format!(
            "version: '1'\npackages: &p [{items}]\ncustomize: *p\n"
        ));
        assert_eq!(
            msg,
            "box.yaml:3:12: customize: the recipe holds more than 100000 values by here (an alias counts as a copy of what it names); box recipes need a few dozen"
        );
        // Many aliases of one anchor are fine while they stay small.
        let aliases = vec!["*c"; 500].join(",");
        assert!(
            parse_raw(
                &format!("version: '1'\npackages: [&c x, {aliases}]\n"),
                Path::new("b")
            )
            .is_ok()
        );
    }

    #[test]
    fn deep_nesting_is_refused_by_the_recipe_types() {
        let msg = refusal(&format!(
            "version: '1'\npackages: {}x{}\n",
            "[".repeat(100),
            "]".repeat(100)
        ));
        assert!(msg.starts_with("box.yaml:2:12: "), "{msg}");
    }

    #[test]
    fn a_long_scalar_is_refused_where_it_starts() {
        let ok = format!("version: '1'\ndescription: {}\n", "x".repeat(64 << 10));
        assert!(parse_raw(&ok, Path::new("box.yaml")).is_ok());
        let long = format!(
            "version: '1'\ndescription: {}\n",
            "x".repeat((64 << 10) + 1)
        );
        assert_eq!(
            refusal(&long),
            "box.yaml:2:14: description: this value is 65537 bytes long; values in a box recipe may be at most 64 KiB: keep long scripts in the recipe's files/ overlay"
        );
    }

    #[test]
    fn oversized_recipe_is_refused_naming_size_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("big")).unwrap();
        let path = dir.path().join("big/box.yaml");
        std::fs::write(&path, format!("version: '1'\n# {}\n", "x".repeat(1 << 20))).unwrap();
        let msg = super::super::recipe::find(
            "big",
            &[crate::paths::RecipeDir::Dir(dir.path().to_owned())],
        )
        .unwrap_err()
        .to_string();
        assert!(msg.starts_with(&format!("{} is ", path.display())), "{msg}");
        assert!(
            msg.contains("more than the 1 MiB lab reads for box recipes"),
            "{msg}"
        );
    }
}
