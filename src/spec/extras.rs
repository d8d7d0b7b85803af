//! The `checks` and `forwards` sections: lists whose entries each refer to
//! one node. Decoded here (a check's `on` is one node, not a list) and
//! checked: node references, ranges with defaults, unique check names and
//! unique host ports.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::context::Context;
use super::decode::MapReader;
use super::diag::{Diags, clip};
use super::model::{Check, CheckRun, Forward};
use super::provision::Names;
use super::raw::{RawCheck, RawForward, Sp, keys};
use super::suggest::closest;
use super::validate::{INTERVAL, PORT, RETRIES, in_range};
use super::values::{Decode, join};
use super::yaml::{Kind, Node, Span};

/// Seconds between the tries of a check when `interval` is not set.
pub const DEFAULT_INTERVAL_SECS: u64 = 3;
/// Where a forward listens when `address` is not set.
pub const DEFAULT_FORWARD_ADDRESS: Ipv4Addr = Ipv4Addr::LOCALHOST;

impl Decode for RawCheck {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        let m = MapReader::new(node, field, Span::at(node.span.start), d)?;
        let help = "a check runs on one node; repeat the check for each node";
        let on = one_node(&m, help, d).and_then(|()| {
            m.required(
                "on",
                "say which node the check runs on, e.g. `on: node1`",
                d,
            )
        });
        let check = RawCheck {
            name: m.required(
                "name",
                "give the check a name; `lab verify` prints it with PASS or FAIL",
                d,
            ),
            on,
            run: m.optional("run", d),
            script: m.optional("script", d),
            args: m.optional("args", d),
            retries: m.optional("retries", d),
            interval: m.optional("interval", d),
        };
        if m.get("run").is_none() && m.get("script").is_none() {
            d.error(
                m.field(),
                Span::at(node.span.start),
                "has neither `run` nor `script`; give exactly one",
            )
            .label("add `run:` or `script:` here")
            .help("`run:` is a shell command that must exit 0; `script:` names a file relative to the lab directory, run with bash on the node (with `args:`)");
        }
        m.finish(keys::CHECK, "a check", d);
        Some(check)
    }
}

impl Decode for RawForward {
    fn decode(node: &Node, field: &str, d: &mut Diags) -> Option<Self> {
        let m = MapReader::new(node, field, Span::at(node.span.start), d)?;
        let forward = RawForward {
            node: m.required("node", "say which node's port to forward", d),
            guest: m.required("guest", "give the port on the node, e.g. `guest: 80`", d),
            host: m.required("host", "give the port on the host, e.g. `host: 8080`", d),
            address: m.optional("address", d),
        };
        m.finish(keys::FORWARD, "a forward", d);
        Some(forward)
    }
}

/// `None` (after reporting, with `help`) when `on:` of `m` is a list.
pub(super) fn one_node(m: &MapReader<'_>, help: &str, d: &mut Diags) -> Option<()> {
    match m.get("on") {
        Some((list, _)) if matches!(list.kind, Kind::Seq(_)) => {
            d.error(
                &join(m.field(), "on"),
                list.span,
                "expected one node name, found a list",
            )
            .help(help);
            None
        }
        _ => Some(()),
    }
}

/// Whether `r` names a node; reports it when not (a role gets its own
/// message). `names` is `None` when the nodes could not be read.
pub(super) fn is_node(
    r: &Sp<String>,
    field: &str,
    what: &str,
    names: Option<&Names>,
    d: &mut Diags,
) -> bool {
    let Some(names) = names else { return true };
    if names.is_node(&r.value) {
        return true;
    }
    if names.is_role(&r.value) {
        d.error(
            field,
            r.span,
            format!("`{}` is a role, but {what} names one node", clip(&r.value)),
        )
        .help_with(|| names.listed());
        return false;
    }
    d.error(field, r.span, format!("`{}` is not a node", clip(&r.value)))
        .help_with(|| match closest(&r.value, names.nodes()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => names.listed(),
        });
    false
}

/// A required text that must not be blank.
pub(super) fn text(
    v: &Option<Sp<String>>,
    field: &str,
    what: &str,
    d: &mut Diags,
) -> Option<String> {
    let v = v.as_ref()?;
    if v.value.trim().is_empty() {
        d.error(field, v.span, format!("is empty; give {what}"));
        return None;
    }
    Some(v.value.clone())
}

/// Reports `name` (a `kind`'s name at `span`) when `seen` has it already;
/// records it otherwise.
pub(super) fn unique(
    seen: &mut HashMap<String, Span>,
    kind: &str,
    name: &str,
    span: Span,
    field: &str,
    d: &mut Diags,
) {
    if let Some(first) = seen.get(name) {
        let line = d.line(first.start);
        d.error(
            field,
            span,
            format!(
                "{kind} `{}` is defined twice (first at line {line})",
                clip(name)
            ),
        )
        .label("used again here")
        .also(*first, "first used here")
        .help(format!("give every {kind} its own name"));
    } else {
        seen.insert(name.to_owned(), span);
    }
}

/// Checks `checks:`; only the valid entries are returned. A `script:`
/// is checked on disk as `provision` scripts are ([`super::files`]).
pub(crate) fn checks(
    raw: &[Sp<RawCheck>],
    names: Option<&Names>,
    ctx: &Context,
    d: &mut Diags,
) -> Vec<Check> {
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut files = super::files::Files::new(ctx);
    let mut out = Vec::new();
    for entry in raw {
        let field = format!("checks[{}]", entry.index);
        let c = &entry.value;
        let name = text(&c.name, &join(&field, "name"), "the check a name", d);
        if let (Some(name), Some(raw_name)) = (&name, &c.name) {
            unique(
                &mut seen,
                "check",
                name,
                raw_name.span,
                &join(&field, "name"),
                d,
            );
        }
        let on =
            c.on.as_ref()
                .filter(|on| is_node(on, &join(&field, "on"), "a check's `on`", names, d));
        let run = what_runs(c, &field, &mut files, d);
        let retries = in_range(&c.retries, &join(&field, "retries"), &RETRIES, d);
        let interval = in_range(&c.interval, &join(&field, "interval"), &INTERVAL, d);
        if let (Some(name), Some(on), Some(run)) = (name, on, run) {
            out.push(Check {
                name,
                on: on.value.clone(),
                run,
                retries: retries.unwrap_or(0) as u32,
                interval: Duration::from_secs(interval.map_or(DEFAULT_INTERVAL_SECS, |s| s as u64)),
            });
        }
    }
    out
}

/// A check's `run:`, or its `script:` with `args:`; exactly one of
/// `run` and `script`, and `args` only with `script`.
fn what_runs(
    c: &RawCheck,
    field: &str,
    files: &mut super::files::Files<'_>,
    d: &mut Diags,
) -> Option<CheckRun> {
    let args = c.args.as_ref();
    match (&c.run, &c.script) {
        (Some(run), Some(script)) => {
            d.error(
                field,
                run.span,
                "has both `run` and `script`; give exactly one",
            )
            .label("command")
            .also(script.span, "script file");
            // The script's own faults (missing, outside the lab) are
            // reported now too, not only once `run` is gone.
            super::provision::script_file(script, field, false, files, d);
            None
        }
        // Reported by the decoder, which knows whether the keys were there
        // (a value of the wrong type is its own error).
        (None, None) => None,
        (Some(_), None) => {
            if let Some(args) = args {
                d.error(
                    &join(field, "args"),
                    args.span,
                    "goes with `script`, not `run`",
                )
                .help("put the arguments in the `run:` command itself");
                return None;
            }
            text(&c.run, &join(field, "run"), "the command to run", d).map(CheckRun::Command)
        }
        (None, Some(script)) => {
            let path = super::provision::script_file(script, field, false, files, d)?;
            Some(CheckRun::Script {
                path: path.into(),
                args: args
                    .map(|a| a.value.iter().map(|s| s.value.clone()).collect())
                    .unwrap_or_default(),
            })
        }
    }
}

/// The most secrets a lab may declare.
pub const MAX_SECRETS: usize = 100;

/// Checks `secrets:`: names of lower-case letters, digits and `_`,
/// starting with a letter, at most 64 characters, each once, at most
/// [`MAX_SECRETS`] of them; only the valid names are returned.
pub(crate) fn secrets(raw: &[Sp<String>], d: &mut Diags) -> Vec<String> {
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut out = Vec::new();
    for name in raw {
        let field = format!("secrets[{}]", name.index);
        if name.index >= MAX_SECRETS {
            d.error(
                &field,
                name.span,
                format!("a lab may declare at most {MAX_SECRETS} secrets"),
            );
            break;
        }
        let n = name.value.as_str();
        let valid = n.len() <= 64
            && n.starts_with(|c: char| c.is_ascii_lowercase())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            d.error(
                &field,
                name.span,
                format!("{:?} is not a secret name", clip(n)),
            )
            .help("use lower-case letters, digits and `_`, starting with a letter, at most 64 characters (Ansible reads it as `lab_secrets.NAME`)");
            continue;
        }
        unique(&mut seen, "secret", n, name.span, &field, d);
        out.push(n.to_owned());
    }
    out
}

/// Checks `forwards:`; only the valid entries are returned.
pub(crate) fn forwards(
    raw: &[Sp<RawForward>],
    names: Option<&Names>,
    d: &mut Diags,
) -> Vec<Forward> {
    let mut seen: HashMap<i64, Span> = HashMap::new();
    let mut out = Vec::new();
    for f in raw {
        let field = format!("forwards[{}]", f.index);
        let f = &f.value;
        let node = f
            .node
            .as_ref()
            .filter(|n| is_node(n, &join(&field, "node"), "a forward", names, d));
        let guest = in_range(&f.guest, &join(&field, "guest"), &PORT, d);
        let host = in_range(&f.host, &join(&field, "host"), &PORT, d);
        if let (Some(port), Some(raw_host)) = (host, &f.host) {
            if let Some(first) = seen.get(&port) {
                let line = d.line(first.start);
                d.error(
                    &join(&field, "host"),
                    raw_host.span,
                    format!("host port {port} is already forwarded (line {line})"),
                )
                .label("used again here")
                .also(*first, "first forwarded here")
                .help("every forward needs its own host port");
            } else {
                seen.insert(port, raw_host.span);
            }
        }
        let address = match &f.address {
            None => Some(DEFAULT_FORWARD_ADDRESS),
            Some(a) => match a.value.trim().parse::<Ipv4Addr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    d.error(
                        &join(&field, "address"),
                        a.span,
                        format!("{:?} is not an IPv4 address", clip(&a.value)),
                    )
                    .help("the host address to listen on, e.g. 127.0.0.1");
                    None
                }
            },
        };
        if let (Some(node), Some(guest), Some(host), Some(address)) = (node, guest, host, address) {
            out.push(Forward {
                node: node.value.clone(),
                guest: guest as u16,
                host: host as u16,
                address,
            });
        }
    }
    out
}
