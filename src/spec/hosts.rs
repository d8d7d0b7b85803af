//! The `hosts` section and each node's `host`, checked: host names, libvirt
//! URIs lab can use ([`check::libvirt_uri`]), the SSH login through which
//! the guests are reached (given, or taken from a `qemu+ssh://` URI), the
//! host each node names, and each host's optional tunnel `address`.

use std::collections::HashMap;

use super::check;
use super::diag::{Diags, clip};
use super::model::{Host, SshLogin};
use super::raw::{HostMap, RawNode, Sp};
use super::suggest::closest;
use super::values::join;

/// The hosts of `raw`, each checked; a host with a problem is reported
/// and left out. `libvirt_uri` is the file's `libvirt_uri`, refused
/// beside `hosts`.
pub(super) fn hosts(
    raw: &Sp<HostMap>,
    libvirt_uri: Option<&Sp<String>>,
    d: &mut Diags,
) -> Vec<Host> {
    if let Some(uri) = libvirt_uri {
        d.error(
            "libvirt_uri",
            uri.span,
            "`libvirt_uri` and `hosts` are both set; with `hosts`, each host names its own URI",
        )
        .label("set here")
        .also(raw.span, "and hosts here")
        .help(format!(
            "remove `libvirt_uri`, or move it into a host: `hosts: {{server: {{uri: {}}}}}`",
            clip(&uri.value)
        ));
    }
    raw.value
        .0
        .iter()
        .filter_map(|(name, host)| {
            let field = join("hosts", &name.value);
            if let Err(why) = check::dns_label(&name.value) {
                d.error(
                    &field,
                    name.span,
                    format!("the host name {:?} {why}", clip(&name.value)),
                )
                .help("host names are DNS labels such as `server1`");
            }
            let uri = host.uri.as_ref()?;
            let parts = match check::libvirt_uri(&uri.value) {
                Ok(parts) => parts,
                Err(why) => {
                    d.error(
                        &join(&field, "uri"),
                        uri.span,
                        format!("the URI {:?} {why}", clip(&uri.value)),
                    );
                    return None;
                }
            };
            let ssh = match &host.ssh {
                Some(ssh) => match check::ssh_login(&ssh.value) {
                    Ok(login) => Some(login),
                    Err(why) => {
                        d.error(
                            &join(&field, "ssh"),
                            ssh.span,
                            format!("the SSH login {:?} {why}", clip(&ssh.value)),
                        )
                        .help("`ssh` is USER@ADDRESS of the host's sshd, as `ssh USER@ADDRESS` logs in there");
                        return None;
                    }
                },
                None => default_login(&name.value, &field, uri, &parts, d)?,
            };
            let address = match &host.address {
                Some(a) => match a.value.trim().parse::<std::net::Ipv4Addr>() {
                    Ok(ip) if !ip.is_unspecified() && !ip.is_multicast() && !ip.is_broadcast() => {
                        Some(ip)
                    }
                    _ => {
                        d.error(
                            &join(&field, "address"),
                            a.span,
                            format!("{:?} is not a unicast IPv4 address", clip(&a.value)),
                        )
                        .help("`address` is the host's IPv4 address on the link to the other hosts, e.g. 10.254.0.2");
                        return None;
                    }
                },
                None => None,
            };
            Some(Host {
                name: name.value.clone(),
                uri: uri.value.trim().to_owned(),
                ssh,
                address,
            })
        })
        .collect()
}

/// The SSH login of a host without `ssh`: none for this machine, the
/// user and server of an SSH URI; any other remote URI is reported
/// (`Err` in the outer `Option`: `None`).
fn default_login(
    name: &str,
    field: &str,
    uri: &Sp<String>,
    parts: &check::LibvirtUri,
    d: &mut Diags,
) -> Option<Option<SshLogin>> {
    let Some(server) = &parts.server else {
        return Some(None);
    };
    let transport = parts.transport.as_deref().unwrap_or("tls");
    let why = if !check::SSH_TRANSPORTS.contains(&transport) {
        format!(
            "host {name} reaches {} over {transport}, so lab cannot tell how to log in there to reach the guests",
            clip(server)
        )
    } else if let Some(user) = &parts.user {
        match check::ssh_login(&format!("{user}@{server}")) {
            Ok(login) => return Some(Some(login)),
            Err(why) => format!("the login of the URI {why}"),
        }
    } else {
        format!(
            "host {name}'s URI names no user, so lab cannot tell whom to log in as on {} to reach the guests",
            clip(server)
        )
    };
    d.error(&join(field, "ssh"), uri.span, why)
        .label("from this URI")
        .help(format!(
            "add `ssh: USER@{}` to host {name} (the login whose sshd reaches the guests), or write the user in the URI",
            clip(server)
        ));
    None
}

/// The host each node runs on (node name → host name): its `host`, else
/// the only host; every node when `hosts` names any, none without it.
/// Reports a `host` that names no host and a node without one among
/// several hosts. Nodes may be on different hosts: the first node's is
/// the lab's primary ([`super::model::Lab::host`]).
/// `hosts` holds every name in the file's `hosts` (checked or not).
pub(super) fn place(
    nodes: &[(Sp<String>, RawNode)],
    hosts: Option<&[&str]>,
    d: &mut Diags,
) -> HashMap<String, String> {
    let mut placed = HashMap::new();
    for (name, node) in nodes {
        let field = join("nodes", &name.value);
        let host = match (hosts, &node.host) {
            (None, Some(host)) => {
                d.error(
                    &join(&field, "host"),
                    host.span,
                    format!(
                        "node {} names host `{}`, but the lab file has no `hosts`",
                        name.value,
                        clip(&host.value)
                    ),
                )
                .help(format!(
                    "add `hosts: {{{}: {{uri: qemu+ssh://USER@SERVER/system}}}}`, or remove `host` to run the node on this machine",
                    clip(&host.value)
                ));
                continue;
            }
            (None, None) => continue,
            (Some(all), Some(host)) if !all.contains(&host.value.as_str()) => {
                d.error(
                    &join(&field, "host"),
                    host.span,
                    format!("unknown host `{}`", clip(&host.value)),
                )
                .label("not a key of `hosts`")
                .help_with(|| {
                    let list = format!("the hosts are {}", all.join(", "));
                    match closest(&host.value, all.iter().copied()) {
                        Some(near) => format!("did you mean `{near}`? {list}"),
                        None => list,
                    }
                });
                continue;
            }
            (Some(_), Some(host)) => host.value.as_str(),
            (Some([only]), None) => only,
            (Some(all), None) => {
                d.error(
                    &field,
                    name.span,
                    format!(
                        "node {} names no host, and the lab has {} hosts",
                        name.value,
                        all.len()
                    ),
                )
                .help(format!(
                    "add `host: {}` (or another of {})",
                    all[0],
                    all.join(", ")
                ));
                continue;
            }
        };
        placed.insert(name.value.clone(), host.to_owned());
    }
    placed
}
