//! Raw lab → checked [`Lab`]: the lab name, box, network, proxy, sizes and
//! defaults here; nodes in [`super::nodes`], provisioning in
//! [`super::provision`], checks and forwards in [`super::extras`], links in
//! [`super::links`]. Every problem is reported; the lab is built only when
//! there were none.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

use super::context::Context;
use super::diag::{Diags, clip};
use super::model::{Lab, Network};
use super::provision::{self, Names};
use super::raw::{RawDefaults, RawLab, RawNetwork, Sp};
use super::suggest::closest;
use super::{check, extras, hosts, links, nodes};

/// Built-in node sizes: cpus, memory (MiB), disk (GiB).
pub const DEFAULT_CPUS: u32 = 1;
pub const DEFAULT_MEMORY_MIB: u64 = 1024;
pub const DEFAULT_DISK_GIB: u64 = 10;

pub(super) const CPUS: Range = Range {
    key: "cpus",
    min: 1,
    max: 16,
    unit: "",
};
pub(super) const MEMORY: Range = Range {
    key: "memory",
    min: 256,
    max: 65536,
    unit: " MiB",
};
pub(super) const DISK: Range = Range {
    key: "disk",
    min: 2,
    max: 1024,
    unit: " GiB",
};

pub(super) const RETRIES: Range = Range {
    key: "retries",
    min: 0,
    max: 1000,
    unit: "",
};
pub(super) const INTERVAL: Range = Range {
    key: "interval",
    min: 1,
    max: 3600,
    unit: " s",
};
pub(super) const PORT: Range = Range {
    key: "a port",
    min: 1,
    max: 65535,
    unit: "",
};

pub(super) struct Range {
    key: &'static str,
    min: i64,
    max: i64,
    unit: &'static str,
}

/// Checks `raw`; `Some` only when no problem at all was reported to `d`.
pub(crate) fn lab(raw: &RawLab, ctx: &Context, path: PathBuf, d: &mut Diags) -> Option<Lab> {
    if let Some(name) = &raw.name
        && let Err(why) = check::dns_label(&name.value)
    {
        d.error(
            "name",
            name.span,
            format!("the lab name {:?} {why}", clip(&name.value)),
        )
        .help("the lab name is used in VM and network names; use something like `smoke`");
    }
    let box_ok = raw
        .box_name
        .as_ref()
        .is_some_and(|b| known_box(b, "box", ctx, d));
    if let Some(uri) = &raw.libvirt_uri
        && let Err(why) = check::libvirt_uri(&uri.value)
    {
        d.error(
            "libvirt_uri",
            uri.span,
            format!("the URI {:?} {why}", clip(&uri.value)),
        );
    }
    let hosts = raw
        .hosts
        .as_ref()
        .map(|h| hosts::hosts(h, raw.libvirt_uri.as_ref(), d))
        .unwrap_or_default();
    let host_names: Option<Vec<&str>> = raw
        .hosts
        .as_ref()
        .map(|h| h.value.0.iter().map(|(n, _)| n.value.as_str()).collect());
    let placed = raw
        .nodes
        .as_ref()
        .map(|n| hosts::place(&n.value.0, host_names.as_deref(), d))
        .unwrap_or_default();
    let network = raw.network.as_ref().and_then(|n| network(n, d));
    let proxy = raw
        .proxy
        .as_ref()
        .and_then(|p| match check::proxy(&p.value) {
            Ok(proxy) => Some(proxy),
            Err(why) => {
                d.error(
                    "proxy",
                    p.span,
                    format!("the proxy URL {:?} {why}", clip(&p.value)),
                );
                None
            }
        });
    let defaults = defaults(raw.defaults.as_ref().map(|s| &s.value), d);
    let default_box = raw
        .box_name
        .as_ref()
        .filter(|_| box_ok)
        .map(|b| b.value.clone());
    let nodes = raw.nodes.as_ref().map(|n| {
        let network = network.as_ref();
        nodes::nodes(
            &n.value.0,
            network,
            &defaults,
            default_box.as_deref(),
            ctx,
            d,
        )
    });
    let nodes = nodes.map(|mut nodes| {
        for node in &mut nodes {
            node.host = placed.get(&node.name).cloned();
        }
        nodes
    });
    let names = raw.nodes.as_ref().map(|n| Names::of(&n.value.0));
    let provision = raw
        .provision
        .as_ref()
        .map(|p| provision::validate(p, names.as_ref(), ctx, d));
    let checks = raw
        .checks
        .as_ref()
        .map(|c| extras::checks(&c.value, names.as_ref(), ctx, d))
        .unwrap_or_default();
    let forwards = raw
        .forwards
        .as_ref()
        .map(|f| extras::forwards(&f.value, names.as_ref(), d))
        .unwrap_or_default();
    let links = raw
        .links
        .as_ref()
        .map(|l| links::links(&l.value, names.as_ref(), d))
        .unwrap_or_default();
    let secrets = raw.secrets.as_ref().map(|s| extras::secrets(&s.value, d));

    if !d.is_empty() {
        return None;
    }
    Some(Lab {
        name: raw.name.as_ref()?.value.clone(),
        box_name: default_box?,
        accel: raw.accel.as_ref().map(|a| a.value).unwrap_or_default(),
        libvirt_uri: raw.libvirt_uri.as_ref().map(|u| u.value.clone()),
        hosts,
        network: network?,
        proxy,
        nodes: nodes?,
        provision: provision.flatten(),
        checks,
        forwards,
        links,
        secrets,
        path,
    })
}

/// Whether `b` names a box that exists; reports it when not.
pub(super) fn known_box(b: &Sp<String>, field: &str, ctx: &Context, d: &mut Diags) -> bool {
    if let Err(why) = check::box_name(&b.value) {
        d.error(
            field,
            b.span,
            format!("the box name {:?} {why}", clip(&b.value)),
        );
        return false;
    }
    if ctx.boxes.contains(&b.value) {
        return true;
    }
    let how = "a box is known when a recipe NAME/box.yaml is found (`lab box list --recipes` lists them, the built-in ones included) or it has been built (`lab box list`)";
    d.error(field, b.span, format!("unknown box `{}`", clip(&b.value)))
        .label("no recipe or built box of this name")
        .help_with(|| {
            // Lists the recipe directories and the store: only when shown.
            let known = ctx.boxes.names();
            match closest(&b.value, known.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}`? {how}"),
                None => how.to_owned(),
            }
        });
    false
}

fn network(raw: &Sp<RawNetwork>, d: &mut Diags) -> Option<Network> {
    if let Some(domain) = &raw.value.domain
        && let Err(why) = check::domain(&domain.value)
    {
        d.error(
            "network.domain",
            domain.span,
            format!("the domain {:?} {why}", clip(&domain.value)),
        );
    }
    let subnet = raw.value.subnet.as_ref()?;
    let field = "network.subnet";
    let text = subnet.value.trim();
    let net = match text.parse::<Ipv4Net>() {
        Ok(net) => net,
        Err(_) => {
            let diag = d.error(
                field,
                subnet.span,
                format!("{:?} is not an IPv4 subnet in CIDR form", clip(text)),
            );
            if text.contains(':') {
                diag.help("the lab network is IPv4, e.g. 10.77.10.0/24");
            } else if text.parse::<Ipv4Addr>().is_ok() {
                diag.help(format!("add the prefix length, e.g. {}/24", clip(text)));
            } else {
                diag.help("write it like 10.77.10.0/24");
            }
            return None;
        }
    };
    if !(16..=29).contains(&net.prefix_len()) {
        d.error(
            field,
            subnet.span,
            format!(
                "the prefix length /{} is out of range; use /16 to /29",
                net.prefix_len()
            ),
        )
        .help("/24 leaves room for 252 nodes");
        return None;
    }
    if net.addr() != net.network() {
        d.error(
            field,
            subnet.span,
            format!(
                "{net} has host bits set; the subnet starts at {}",
                net.trunc()
            ),
        )
        .help(format!("write {}", net.trunc()));
        return None;
    }
    let gateway = Ipv4Addr::from(u32::from(net.network()) + 1);
    Some(Network {
        subnet: net,
        gateway,
        domain: raw.value.domain.as_ref().map(|d| d.value.clone()),
    })
}

/// A size value checked against its range.
pub(super) fn in_range(
    v: &Option<Sp<i64>>,
    field: &str,
    range: &Range,
    d: &mut Diags,
) -> Option<i64> {
    let v = v.as_ref()?;
    if (range.min..=range.max).contains(&v.value) {
        return Some(v.value);
    }
    let Range {
        key,
        min,
        max,
        unit,
    } = range;
    d.error(
        field,
        v.span,
        format!(
            "{}{unit} is out of range; {key} must be between {min} and {max}{unit}",
            v.value
        ),
    );
    None
}

pub(super) struct Sizes {
    pub cpus: i64,
    pub memory: i64,
    pub disk: i64,
}

fn defaults(raw: Option<&RawDefaults>, d: &mut Diags) -> Sizes {
    let raw = raw.cloned().unwrap_or_default();
    Sizes {
        cpus: in_range(&raw.cpus, "defaults.cpus", &CPUS, d).unwrap_or(DEFAULT_CPUS.into()),
        memory: in_range(&raw.memory, "defaults.memory", &MEMORY, d)
            .unwrap_or(DEFAULT_MEMORY_MIB as i64),
        disk: in_range(&raw.disk, "defaults.disk", &DISK, d).unwrap_or(DEFAULT_DISK_GIB as i64),
    }
}
