//! Parser events → the spanned tree of `yaml`, within the budget of
//! `bounds`. Every value is charged before it is built. An anchored value
//! is not copied when it is defined: the builder remembers where it sits in
//! the tree (and its size), and an alias copies it from there, charged by
//! that size, so memory is the tree and nothing else. An alias that
//! cannot be resolved (of the value it is inside of, or of no anchor)
//! refuses the file: it is never dropped, which would shift the keys and
//! values after it.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, ScalarStyle, StructureStyle};

use super::bounds::{self, Budget, Charge, Refusal, Weight};
use super::diag::clip;
use super::yaml::{Kind, Node, Span};

/// Builds one document's tree from its events.
pub(super) struct Builder<'s> {
    src: &'s str,
    stack: Vec<Frame>,
    /// Anchored values by id: where they are, and their size.
    anchors: HashMap<usize, (Vec<usize>, Weight)>,
    budget: Budget,
}

/// A list or mapping being built.
struct Frame {
    start: usize,
    flow: bool,
    anchor: usize,
    /// Children in order; a mapping's keys and values alternate.
    items: Vec<Node>,
    is_map: bool,
    /// Size of the children so far (plus the container itself).
    weight: Weight,
}

impl<'s> Builder<'s> {
    pub fn new(src: &'s str) -> Self {
        Builder {
            src,
            stack: Vec::new(),
            anchors: HashMap::new(),
            budget: Budget::default(),
        }
    }

    /// Feeds one event; returns the root node once it is complete, or why
    /// the file is refused (see [`Budget`]).
    pub fn event(&mut self, event: Event<'_>, span: Span) -> Result<Option<Node>, Refusal> {
        let depth = self.stack.len();
        if event.is_node() && event.anchor_id().is_some() {
            self.budget.anchor(span)?;
        }
        let (node, weight, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(refusal) = bounds::scalar_length(text.len(), span) {
                    return Err(refusal);
                }
                let weight = Weight {
                    values: 1,
                    text: text.len(),
                    height: 0,
                };
                self.budget.charge(weight, depth, Charge::Value, span)?;
                let is_str = tag.is_some_and(|t| t.is_yaml_core_schema_tag("str"));
                let plain = style == ScalarStyle::Plain && !is_str;
                let kind = Kind::Scalar {
                    text: text.into_owned(),
                    plain,
                };
                (Node { span, kind }, weight, anchor)
            }
            Event::Alias(id) => {
                let name = self.src.get(span.start..span.end).unwrap_or("*").trim_end();
                let name = &clip(name);
                let Some((path, weight)) = self.anchors.get(&id) else {
                    return Err(unresolved(
                        name,
                        span,
                        self.stack.iter().any(|f| f.anchor == id),
                    ));
                };
                self.budget
                    .charge(*weight, depth, Charge::Alias(name), span)?;
                let weight = *weight;
                let mut node = self.find(path).clone();
                node.span = span;
                (node, weight, 0)
            }
            Event::SequenceStart(style, anchor, _) | Event::MappingStart(style, anchor, _) => {
                let weight = Weight {
                    values: 1,
                    text: 0,
                    height: 1,
                };
                self.budget.charge(weight, depth, Charge::Value, span)?;
                self.stack.push(Frame {
                    start: span.start,
                    flow: style == StructureStyle::Flow,
                    anchor,
                    items: Vec::new(),
                    is_map: matches!(event, Event::MappingStart(..)),
                    weight,
                });
                return Ok(None);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(None);
                };
                let end = match frame.items.last() {
                    _ if frame.flow => span.end,
                    Some(last) => last.span.end,
                    None => frame.start,
                };
                let kind = if frame.is_map {
                    let mut entries = Vec::with_capacity(frame.items.len() / 2);
                    let mut it = frame.items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        entries.push((k, v));
                    }
                    Kind::Map(entries)
                } else {
                    Kind::Seq(frame.items)
                };
                let node = Node {
                    span: Span::new(frame.start, end),
                    kind,
                };
                (node, frame.weight, frame.anchor)
            }
            Event::UnresolvedAlias(name) => {
                return Err(unresolved(&clip(&format!("*{name}")), span, false));
            }
            _ => return Ok(None),
        };
        if anchor != 0 && !self.stack.is_empty() {
            // Where the node goes: the index it gets in the innermost frame,
            // and in each frame above, the index the open child frame gets.
            let path = self.stack.iter().map(|f| f.items.len()).collect();
            self.anchors.insert(anchor, (path, weight));
        }
        match self.stack.last_mut() {
            Some(frame) => {
                frame.items.push(node);
                frame.weight.values += weight.values;
                frame.weight.text += weight.text;
                frame.weight.height = frame.weight.height.max(weight.height + 1);
                Ok(None)
            }
            None => Ok(Some(node)),
        }
    }

    /// The complete node at `path` (see `event`): child indices from the
    /// top frame down, through frames still open (the index of an open
    /// child is its frame's current length), then through complete nodes
    /// (a mapping's children count as key, value, key, ...).
    fn find(&self, path: &[usize]) -> &Node {
        let mut level = 0;
        while path[level] >= self.stack[level].items.len() {
            level += 1; // inside the child still open at this level
        }
        let mut node = &self.stack[level].items[path[level]];
        for &i in &path[level + 1..] {
            node = match &node.kind {
                Kind::Seq(items) => &items[i],
                Kind::Map(entries) if i % 2 == 0 => &entries[i / 2].0,
                Kind::Map(entries) => &entries[i / 2].1,
                Kind::Scalar { .. } => unreachable!("a path runs through lists and mappings"),
            };
        }
        node
    }
}

/// The refusal for the alias `name` (as written, `*n`) at `span` that
/// names no complete value: one it is `inside` of, or none at all.
fn unresolved(name: &str, span: Span, inside: bool) -> Refusal {
    if inside {
        Refusal {
            span,
            message: format!(
                "alias {name} refers to the value it is inside of; an alias repeats a value that is complete"
            ),
            help: "a value cannot contain a copy of itself: write the part to repeat out",
        }
    } else {
        Refusal {
            span,
            message: format!("alias {name} names no anchor defined before it"),
            help: "define the anchor (`&name`) on a value above the alias, or write the value out",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::diag::Diags;
    use super::super::yaml::{Kind, Node, parse};

    fn tree(src: &str) -> Value {
        fn json(node: &Node) -> Value {
            match &node.kind {
                Kind::Scalar { text, .. } => Value::String(text.clone()),
                Kind::Seq(items) => Value::Array(items.iter().map(json).collect()),
                Kind::Map(entries) => Value::Object(
                    entries
                        .iter()
                        .map(|(k, v)| (k.text().unwrap().to_owned(), json(v)))
                        .collect(),
                ),
            }
        }
        let mut d = Diags::new("t.yaml", src);
        let root = parse(src, &mut d).expect("a document");
        assert!(d.is_empty());
        json(&root)
    }

    #[test]
    fn aliases_copy_their_anchor_from_wherever_it_sits() {
        // Anchors on a value, a key, list items, inside frames still open
        // and inside complete nodes; aliases shallower and deeper.
        let src = "\
a: &top {k: [x, y]}
b:
  c:
    - &item [p, q]
    - *item
    - {&key kk: &val vv}
  d: *item
e: {f: {g: [*top, *key, *val]}}
h: [*item]
";
        assert_eq!(
            tree(src),
            json!({
                "a": {"k": ["x", "y"]},
                "b": {"c": [["p", "q"], ["p", "q"], {"kk": "vv"}], "d": ["p", "q"]},
                "e": {"f": {"g": [{"k": ["x", "y"]}, "kk", "vv"]}},
                "h": [["p", "q"]],
            })
        );
    }

    #[test]
    fn an_alias_keeps_its_own_span() {
        let src = "a: &x [1]\nb: *x\n";
        let mut d = Diags::new("t.yaml", src);
        let root = parse(src, &mut d).unwrap();
        let Kind::Map(entries) = &root.kind else {
            panic!()
        };
        let b = &entries[1].1;
        assert_eq!(&src[b.span.start..b.span.end], "*x");
    }
}
