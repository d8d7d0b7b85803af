//! The `links` section: where to look once the lab is up. Decoded and
//! checked here (unique names, `on` one node, `when` only with `on`, every
//! `{NODE}` placeholder of a URL naming a node, pointed at inside the URL)
//! and expanded by [`expand`], through [`super::Lab::link_url`].

use std::collections::HashMap;

use super::decode::MapReader;
use super::diag::Diags;
use super::extras::{is_node, one_node, text, unique};
use super::model::Link;
use super::provision::Names;
use super::raw::{RawLink, Sp, keys};
use super::values::{Decode, join};
use super::yaml::{Node, Span};

impl Decode for RawLink {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        let m = MapReader::new(node, field, Span::at(node.span.start), d)?;
        let help = "`when` runs on one node; name one node";
        let one = one_node(&m, help, d);
        let on = one.and_then(|()| m.optional("on", d));
        // With `on` a list (reported), `when` is not also "without `on`".
        let when = m.optional("when", d).filter(|_| one.is_some());
        let link = RawLink {
            name: m.required(
                "name",
                "give the link a name, e.g. `name: HAProxy stats`",
                d,
            ),
            url: m.required(
                "url",
                "give the address, e.g. `url: http://{node1}:8080/`",
                d,
            ),
            on,
            when,
        };
        m.finish(keys::LINK, "a link", d);
        Some(link)
    }
}

/// A `{NODE}` placeholder: its byte range in the URL and the name inside.
struct Placeholder<'a> {
    start: usize,
    end: usize,
    name: &'a str,
}

/// The placeholders of `url`, in order; `Err(offset)` of a `{` that is
/// never closed.
fn placeholders(url: &str) -> Result<Vec<Placeholder<'_>>, usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = url[from..].find('{') {
        let start = from + i;
        let Some(len) = url[start + 1..].find('}') else {
            return Err(start);
        };
        let end = start + len + 2;
        out.push(Placeholder {
            start,
            end,
            name: &url[start + 1..end - 1],
        });
        from = end;
    }
    Ok(out)
}

/// `url` with each `{NODE}` replaced by `ip_of(NODE)`. A placeholder
/// `ip_of` does not know (none, in a validated lab) is kept as written.
pub fn expand(url: &str, ip_of: impl Fn(&str) -> Option<String>) -> String {
    let Ok(found) = placeholders(url) else {
        return url.to_owned();
    };
    let mut out = String::with_capacity(url.len());
    let mut last = 0;
    for p in found {
        out.push_str(&url[last..p.start]);
        match ip_of(p.name) {
            Some(ip) => out.push_str(&ip),
            None => out.push_str(&url[p.start..p.end]),
        }
        last = p.end;
    }
    out.push_str(&url[last..]);
    out
}

/// Where `needle` (part of the value) is written inside the scalar at
/// `within`, searching from `*from` (moved past it); the whole scalar when
/// escapes or line folding hide it, and for every later needle too (`*from`
/// moves to the end: searching the rest again for each would take time
/// growing with the square of the length).
fn locate(d: &Diags, within: Span, needle: &str, from: &mut usize) -> Span {
    let src = d.text().get(within.start..within.end).unwrap_or("");
    match src.get(*from..).and_then(|s| s.find(needle)) {
        Some(i) => {
            let start = within.start + *from + i;
            *from += i + needle.len();
            Span::new(start, start + needle.len())
        }
        None => {
            *from = src.len();
            within
        }
    }
}

/// Reports every placeholder of `url` that does not name a node.
fn check_placeholders(url: &Sp<String>, field: &str, names: Option<&Names>, d: &mut Diags) {
    let mut from = 0;
    let found = match placeholders(&url.value) {
        Ok(found) => found,
        Err(at) => {
            let span = locate(d, url.span, &url.value[at..], &mut from);
            d.error(field, span, "has a `{` that is never closed")
                .label("no `}` after this")
                .help("a placeholder is a node name in braces, e.g. `{node1}`");
            return;
        }
    };
    for p in found {
        let span = locate(d, url.span, &url.value[p.start..p.end], &mut from);
        if p.name.trim().is_empty() {
            d.error(field, span, "has an empty placeholder `{}`")
                .help("write a node name inside the braces, e.g. `{node1}`");
            continue;
        }
        let name = Sp {
            value: p.name.to_owned(),
            span,
            index: 0,
        };
        is_node(&name, field, "a `{NODE}` placeholder", names, d);
    }
}

/// Checks `links:`; only the valid entries are returned.
pub(crate) fn links(raw: &[Sp<RawLink>], names: Option<&Names>, d: &mut Diags) -> Vec<Link> {
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut out = Vec::new();
    for l in raw {
        let field = format!("links[{}]", l.index);
        let l = &l.value;
        let name = text(&l.name, &join(&field, "name"), "the link a name", d);
        if let (Some(name), Some(raw_name)) = (&name, &l.name) {
            unique(
                &mut seen,
                "link",
                name,
                raw_name.span,
                &join(&field, "name"),
                d,
            );
        }
        let url = text(&l.url, &join(&field, "url"), "the address", d);
        if let (Some(_), Some(raw_url)) = (&url, &l.url) {
            check_placeholders(raw_url, &join(&field, "url"), names, d);
        }
        let on =
            l.on.as_ref()
                .filter(|on| is_node(on, &join(&field, "on"), "a link's `on`", names, d));
        let when = text(
            &l.when,
            &join(&field, "when"),
            "the command that decides whether the link is shown",
            d,
        );
        if let (Some(raw_when), None) = (&l.when, &l.on) {
            d.error(
                &join(&field, "when"),
                raw_when.span,
                "is set without `on`; say which node runs the command",
            )
            .label("runs on which node?")
            .help("add `on: NODE` to the link, e.g. `on: node1`");
        }
        if let (Some(name), Some(url)) = (name, url) {
            out.push(Link {
                name,
                url,
                on: on.map(|o| o.value.clone()),
                when,
            });
        }
    }
    out
}
