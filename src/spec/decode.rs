//! YAML tree → raw types ([`super::raw`]). Checks shapes, unknown keys
//! (with a suggestion) and duplicate keys, and keeps going after each
//! problem so that one run reports them all; single values are read by
//! [`super::values`]. Values are not judged here (ranges, addresses,
//! names): that is [`super::validate`].

use std::collections::HashMap;

use super::diag::{Diags, clip, one_of};
use super::raw::{HostMap, NodeMap, RawDefaults, RawHost, RawLab, RawNetwork, RawNode, Sp, keys};
use super::suggest::closest;
use super::values::{Decode, join, mismatch};
use super::yaml::{Kind, Node, Span};

/// The entries of a mapping with string keys, duplicates reported (as
/// `what`, e.g. "key" or "node") at their second occurrence and dropped.
/// A YAML merge key (a plain `<<`) is reported and dropped: lab files are
/// YAML 1.2, which has none, and reading it as a key named `<<` would
/// pass an `extra_vars` entry on under that name.
pub(crate) fn entries<'n>(
    node: &'n Node,
    field: &str,
    expected: &str,
    what: &str,
    d: &mut Diags,
) -> Option<Vec<(Sp<String>, &'n Node)>> {
    let Kind::Map(pairs) = &node.kind else {
        mismatch(node, field, expected, d);
        return None;
    };
    let mut out: Vec<(Sp<String>, &Node)> = Vec::with_capacity(pairs.len());
    // Where each key was first seen: a lookup per key, not a scan of `out`.
    let mut seen: HashMap<&str, Span> = HashMap::with_capacity(pairs.len());
    for (key, value) in pairs {
        let Some(text) = key.text().filter(|_| !key.is_null()) else {
            d.error(
                field,
                key.span,
                format!("a {what} must be a plain string, not {}", key.describe()),
            );
            continue;
        };
        if text == "<<" && matches!(key.kind, Kind::Scalar { plain: true, .. }) {
            d.error(
                &join(field, text),
                key.span,
                "YAML merge keys (`<<: *name`) are not supported",
            )
            .label("merge key")
            .help("write the keys out in this mapping; an alias `*name` may still stand for a whole value");
            continue;
        }
        if let Some(&first_span) = seen.get(text) {
            let line = d.line(first_span.start);
            d.error(
                &join(field, text),
                key.span,
                format!(
                    "{what} `{}` is defined twice (first at line {line})",
                    clip(text)
                ),
            )
            .label("defined again here")
            .also(first_span, "first defined here")
            .help(format!(
                "remove one of the two or rename it; YAML keeps only one {what} per name"
            ));
            continue;
        }
        seen.insert(text, key.span);
        out.push((
            Sp {
                value: text.to_owned(),
                span: key.span,
                index: 0,
            },
            value,
        ));
    }
    Some(out)
}

/// Reads a mapping into a struct: hands out values by key, then reports
/// the keys nobody asked for.
pub(crate) struct MapReader<'n> {
    field: String,
    /// Where "missing key" errors point: the key that introduced the map.
    owner: Span,
    entries: Vec<(Sp<String>, &'n Node)>,
}

impl<'n> MapReader<'n> {
    /// `None` (after reporting) when `node` is not a mapping; a null node
    /// counts as an empty mapping.
    pub(crate) fn new(node: &'n Node, field: &str, owner: Span, d: &mut Diags) -> Option<Self> {
        let entries = if node.is_null() {
            Vec::new()
        } else {
            entries(node, field, "a mapping", "key", d)?
        };
        Some(MapReader {
            field: field.to_owned(),
            owner,
            entries,
        })
    }

    pub(crate) fn field(&self) -> &str {
        &self.field
    }

    /// The value of `key` and the span of the key, unless absent or null.
    pub(crate) fn get(&self, key: &str) -> Option<(&'n Node, Span)> {
        self.entries
            .iter()
            .find(|(k, v)| k.value == key && !v.is_null())
            .map(|(k, v)| (*v, k.span))
    }

    pub(crate) fn optional<T: Decode>(&self, key: &str, d: &mut Diags) -> Option<T> {
        let (node, _) = self.get(key)?;
        T::decode(node, &join(&self.field, key), d)
    }

    /// Like [`Self::optional`], but a missing key is an error saying what
    /// the key is for (`about`).
    pub(crate) fn required<T: Decode>(&self, key: &str, about: &str, d: &mut Diags) -> Option<T> {
        if self.get(key).is_none() {
            self.missing(key, about, d);
            return None;
        }
        self.optional(key, d)
    }

    pub(crate) fn missing(&self, key: &str, about: &str, d: &mut Diags) {
        let field = join(&self.field, key);
        if let Some((k, _)) = self.entries.iter().find(|(k, _)| k.value == key) {
            d.error(&field, k.span, format!("is empty; {about}"))
                .label("no value given");
            return;
        }
        let diag = d.error(&field, self.owner, format!("is missing; {about}"));
        if self.field.is_empty() {
            diag.label(format!("add `{key}:` to this file"));
        } else {
            diag.label(format!("add `{key}:` here"));
        }
    }

    /// Reports every key not in `known`, suggesting the closest known one.
    pub(crate) fn finish(self, known: &[&str], what: &str, d: &mut Diags) {
        for (key, _) in &self.entries {
            if known.contains(&key.value.as_str()) {
                continue;
            }
            d.error(
                &join(&self.field, &key.value),
                key.span,
                format!("unknown key in {what}"),
            )
            .label("not a known key")
            .help_with(|| match closest(&key.value, known.iter().copied()) {
                Some(near) => format!("did you mean `{near}`? {what} takes {}", one_of(known)),
                None => format!("{what} takes {}", one_of(known)),
            });
        }
    }

    pub(crate) fn entries(&self) -> &[(Sp<String>, &'n Node)] {
        &self.entries
    }
}

/// Decodes the whole file; the root must be a mapping (checked by the caller).
pub(crate) fn lab(root: &Node, d: &mut Diags) -> RawLab {
    let Some(m) = MapReader::new(root, "", Span::at(root.span.start), d) else {
        return RawLab::default();
    };
    let lab = RawLab {
        name: m.required(
            "name",
            "every lab needs a name (a DNS label such as `smoke`)",
            d,
        ),
        box_name: m.required(
            "box",
            "name the default box of the nodes, e.g. `box: debian-12`",
            d,
        ),
        accel: m.optional("accel", d),
        libvirt_uri: m.optional("libvirt_uri", d),
        hosts: sub(&m, "hosts", false, "", hosts, d),
        network: sub(
            &m,
            "network",
            true,
            "the lab needs a network with a `subnet`",
            network,
            d,
        ),
        proxy: m.optional("proxy", d),
        defaults: sub(&m, "defaults", false, "", defaults, d),
        nodes: sub(&m, "nodes", true, "a lab needs at least one node", nodes, d),
        provision: sub(&m, "provision", false, "", super::provision::decode, d),
        checks: m.optional("checks", d),
        forwards: m.optional("forwards", d),
        links: m.optional("links", d),
        secrets: m.optional("secrets", d),
    };
    m.finish(keys::LAB, "a lab file", d);
    lab
}

/// Decodes the sub-mapping at `key` with `f(node, field, key_span)`.
fn sub<T>(
    m: &MapReader<'_>,
    key: &str,
    required: bool,
    about: &str,
    f: impl FnOnce(&Node, &str, Span, &mut Diags) -> Option<T>,
    d: &mut Diags,
) -> Option<Sp<T>> {
    let Some((node, key_span)) = m.get(key) else {
        if required {
            m.missing(key, about, d);
        }
        return None;
    };
    f(node, &join(m.field(), key), key_span, d).map(|value| Sp {
        value,
        span: node.span,
        index: 0,
    })
}

fn network(node: &Node, field: &str, owner: Span, d: &mut Diags) -> Option<RawNetwork> {
    let m = MapReader::new(node, field, owner, d)?;
    let net = RawNetwork {
        subnet: m.required(
            "subnet",
            "give the lab's IPv4 subnet, e.g. `subnet: 10.77.10.0/24`",
            d,
        ),
        domain: m.optional("domain", d),
    };
    m.finish(keys::NETWORK, "`network`", d);
    Some(net)
}

fn defaults(node: &Node, field: &str, owner: Span, d: &mut Diags) -> Option<RawDefaults> {
    let m = MapReader::new(node, field, owner, d)?;
    let defaults = RawDefaults {
        cpus: m.optional("cpus", d),
        memory: m.optional("memory", d),
        disk: m.optional("disk", d),
    };
    m.finish(keys::DEFAULTS, "`defaults`", d);
    Some(defaults)
}

fn nodes(node: &Node, field: &str, _owner: Span, d: &mut Diags) -> Option<NodeMap> {
    if let Kind::Seq(_) = node.kind {
        d.error(
            field,
            node.span,
            "expected a mapping from node name to its settings, found a list",
        )
        .help("write nodes as `node1: {ip: 10.77.10.21}`, one key per node");
        return None;
    }
    let entries = entries(node, field, "a mapping of nodes", "node", d)?;
    if entries.is_empty() {
        d.error(field, node.span, "has no nodes; a lab needs at least one")
            .help("add a node, e.g. `node1: {ip: 10.77.10.21}`");
    }
    let list = entries
        .into_iter()
        .map(|(name, value)| {
            let raw =
                self::node(value, &join(field, &name.value), name.span, d).unwrap_or_default();
            (name, raw)
        })
        .collect();
    Some(NodeMap(list))
}

fn hosts(node: &Node, field: &str, _owner: Span, d: &mut Diags) -> Option<HostMap> {
    let entries = entries(node, field, "a mapping of hosts", "host name", d)?;
    if entries.is_empty() {
        d.error(
            field,
            node.span,
            "has no hosts; leave `hosts` out to run the lab on this machine",
        )
        .help("add a host, e.g. `server: {uri: qemu+ssh://root@server/system}`");
    }
    let list = entries
        .into_iter()
        .map(|(name, value)| {
            let raw =
                self::host(value, &join(field, &name.value), name.span, d).unwrap_or_default();
            (name, raw)
        })
        .collect();
    Some(HostMap(list))
}

fn host(node: &Node, field: &str, owner: Span, d: &mut Diags) -> Option<RawHost> {
    let m = MapReader::new(node, field, owner, d)?;
    let raw = RawHost {
        uri: m.required(
            "uri",
            "every host needs its libvirt URI, e.g. `uri: qemu+ssh://root@server/system`",
            d,
        ),
        ssh: m.optional("ssh", d),
        address: m.optional("address", d),
    };
    m.finish(keys::HOST, "a host", d);
    Some(raw)
}

fn node(node: &Node, field: &str, owner: Span, d: &mut Diags) -> Option<RawNode> {
    let m = MapReader::new(node, field, owner, d)?;
    let raw = RawNode {
        ip: m.required(
            "ip",
            "every node needs an IPv4 address inside the lab subnet",
            d,
        ),
        cpus: m.optional("cpus", d),
        memory: m.optional("memory", d),
        disk: m.optional("disk", d),
        box_name: m.optional("box", d),
        roles: m.optional("roles", d),
        host: m.optional("host", d),
    };
    m.finish(keys::NODE, "a node", d);
    Some(raw)
}
