//! Reading single values from the YAML tree: the [`Decode`] trait and its
//! impls for strings, whole numbers, enums, lists, and arbitrary YAML (as
//! JSON, for `extra_vars`). Each reports a type mismatch as "expected X,
//! found Y" at the value and returns `None`.

use super::decode::entries;
use super::diag::{Diags, clip, one_of};
use super::model::Accel;
use super::raw::Sp;
use super::suggest::closest;
use super::yaml::{Kind, Node};

/// Appends `key` to a field path, [`clip`]ped: a field path quotes the
/// keys and node names of the file.
pub(crate) fn join(path: &str, key: &str) -> String {
    let key = clip(key);
    if path.is_empty() {
        key.into_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A value that can be read from a YAML node, reporting what is wrong.
pub(crate) trait Decode: Sized {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self>;

    /// Told its position when read as item `index` of a list; kept by
    /// [`Sp`], ignored by everything else.
    fn at_index(self, _index: usize) -> Self {
        self
    }
}

pub(crate) fn mismatch(node: &Node, field: &str, expected: &str, d: &mut Diags) {
    let found = node.describe();
    let diag = d.error(
        field,
        node.span,
        format!("expected {expected}, found {found}"),
    );
    if matches!(node.kind, Kind::Scalar { plain: false, .. })
        && expected.contains("number")
        && node.text().is_some_and(|t| t.parse::<i64>().is_ok())
    {
        diag.help("remove the quotes: numbers are written without them");
    }
}

impl Decode for String {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        match node.text() {
            Some(text) if !node.is_null() => Some(text.to_owned()),
            _ => {
                mismatch(node, field, "a string", d);
                None
            }
        }
    }
}

impl Decode for i64 {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        let parsed = match &node.kind {
            Kind::Scalar { text, plain: true } => parse_int(text),
            _ => None,
        };
        if parsed.is_none() {
            mismatch(node, field, "a whole number", d);
        }
        parsed
    }
}

impl Decode for bool {
    /// YAML 1.2 core schema booleans: `true` or `false`, unquoted (a
    /// quoted "true" is a string, and `yes`/`no` are YAML 1.1).
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        let parsed = match &node.kind {
            Kind::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if parsed.is_none() {
            mismatch(node, field, "true or false", d);
        }
        parsed
    }
}

/// A YAML 1.2 core-schema integer: decimal, `0x` hex or `0o` octal.
fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Too large for i64 still counts as a number: saturate, the range
        // check will reject it.
        digits.parse::<i64>().unwrap_or(i64::MAX)
    } else {
        return None;
    };
    Some(if neg { -magnitude } else { magnitude })
}

impl Decode for Accel {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        let text = String::decode(node, field, d)?;
        let accel = Accel::from_name(&text);
        if accel.is_none() {
            let diag = d.error(
                field,
                node.span,
                format!(
                    "unknown accelerator {:?}; use {}",
                    clip(&text),
                    one_of(&Accel::NAMES)
                ),
            );
            if let Some(near) = closest(&text, Accel::NAMES) {
                diag.help(format!("did you mean `{near}`?"));
            }
        }
        accel
    }
}

impl<T: Decode> Decode for Sp<T> {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        T::decode(node, field, d).map(|value| Sp {
            value,
            span: node.span,
            index: 0,
        })
    }

    fn at_index(self, index: usize) -> Self {
        Sp { index, ..self }
    }
}

/// A list; a bad item is reported and left out.
impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        match &node.kind {
            Kind::Seq(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| {
                        T::decode(item, &format!("{field}[{i}]"), d).map(|v| v.at_index(i))
                    })
                    .collect(),
            ),
            Kind::Scalar { text, .. } if !node.is_null() => {
                let found = node.describe();
                d.error(field, node.span, format!("expected a list, found {found}"))
                    .help(format!("write a one-element list as [{}]", clip(text)));
                None
            }
            _ => {
                mismatch(node, field, "a list", d);
                None
            }
        }
    }
}

/// Any YAML value, converted to JSON (core-schema typing for plain scalars).
impl Decode for serde_json::Value {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        use serde_json::Value;
        Some(match &node.kind {
            _ if node.is_null() => Value::Null,
            Kind::Scalar { text, plain: false } => Value::String(text.clone()),
            Kind::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Value::Bool(true),
                "false" | "False" | "FALSE" => Value::Bool(false),
                _ => match (
                    parse_int(text),
                    text.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64),
                ) {
                    (Some(i), _) => Value::from(i),
                    (None, Some(f))
                        if text.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c)) =>
                    {
                        Value::Number(f)
                    }
                    _ => Value::String(text.clone()),
                },
            },
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| Value::decode(v, &format!("{field}[{i}]"), d))
                    .collect(),
            ),
            Kind::Map(_) => Value::Object(serde_json::Map::decode(node, field, d)?),
        })
    }
}

impl Decode for serde_json::Map<String, serde_json::Value> {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        let entries = entries(node, field, "a mapping", "key", d)?;
        let mut map = serde_json::Map::new();
        for (key, value) in entries {
            if let Some(v) = serde_json::Value::decode(value, &join(field, &key.value), d) {
                map.insert(key.value, v);
            }
        }
        Some(map)
    }
}
