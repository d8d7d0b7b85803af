//! Checks of the values `state.json` holds, made when it is read: a state
//! edited by hand is input like any other, and its values reach ssh(1)
//! (`-l USER`, the address), ssh_config(5) and known_hosts(5) lines, the
//! Ansible inventory and libvirt. `lab` itself never writes a value these
//! checks refuse.

use std::net::{Ipv4Addr, SocketAddr};

use super::State;
use crate::names;

/// A check of one value: `Err(why)`, a fragment to follow "which".
type Check = fn(&str) -> Result<(), String>;

/// The first value of `st` that `lab` would not have written, as a
/// sentence fragment naming its field path, the value (quoted, clipped)
/// and why it is refused: "`nodes.node1.user` is \"-o...\", which
/// contains '='; ...".
pub(super) fn first_bad(st: &State) -> Option<String> {
    let bad = |field: String, value: &str, why: String| {
        Some(format!(
            "`{field}` is {}, which {why}",
            names::quoted(value)
        ))
    };
    if !st.instance.is_empty()
        && let Err(why) = hex(&st.instance)
    {
        return bad("instance".into(), &st.instance, why);
    }
    for (name, ns) in &st.nodes {
        if let Err(why) = names::dns_label(name) {
            return Some(format!(
                "`nodes` has a node named {}, which {why}",
                names::quoted(name)
            ));
        }
        let field = |f: &str| format!("nodes.{name}.{f}");
        let checks: [(&str, &str, Check); 5] = [
            ("domain", &ns.domain, domain),
            ("ip", &ns.ip, ipv4),
            ("mac", &ns.mac, mac),
            ("user", &ns.user, names::login_name),
            ("box_name", &ns.box_name, names::box_name),
        ];
        // Empty: not recorded yet.
        for (f, value, check) in checks {
            if !value.is_empty()
                && let Err(why) = check(value)
            {
                return bad(field(f), value, why);
            }
        }
        if let Some(key) = &ns.host_key
            && let Err(why) = host_key(key)
        {
            return bad(field("host_key"), key, why);
        }
        for (f, login) in [("jump", &ns.jump), ("host_ssh", &ns.host_ssh)] {
            if let Some(login) = login
                && let Err(why) = names::ssh_login(login)
            {
                return bad(field(f), login, why);
            }
        }
        if let Some(host) = &ns.host
            && let Err(why) = names::dns_label(host)
        {
            return bad(field("host"), host, why);
        }
    }
    for (name, hs) in &st.hosts {
        if let Err(why) = names::dns_label(name) {
            return Some(format!(
                "`hosts` has a host named {}, which {why}",
                names::quoted(name)
            ));
        }
        if let Some(login) = &hs.ssh
            && let Err(why) = names::ssh_login(login)
        {
            return bad(format!("hosts.{name}.ssh"), login, why);
        }
        if let Some(dev) = &hs.vxlan
            && let Err(why) = crate::network::vxlan::check_device(dev)
        {
            return bad(format!("hosts.{name}.vxlan"), dev, why);
        }
    }
    if let Some(vni) = st.vni
        && !(1..crate::network::vxlan::VNI_LIMIT).contains(&vni)
    {
        return bad(
            "vni".into(),
            &vni.to_string(),
            "is not a VXLAN network identifier (1 to 16777215)".into(),
        );
    }
    for (i, f) in st.forwards.iter().enumerate() {
        let field = |n: &str| format!("forwards[{i}].{n}");
        if let Err(why) = names::dns_label(&f.node) {
            return bad(field("node"), &f.node, why);
        }
        for (n, value) in [("listen", &f.listen), ("to", &f.to)] {
            if value.parse::<SocketAddr>().is_err() {
                return bad(field(n), value, "is not ADDRESS:PORT".into());
            }
        }
    }
    for (i, snap) in st.snapshots.iter().enumerate() {
        let field = |n: &str| format!("snapshots[{i}].{n}");
        if let Err(why) = names::dns_label(&snap.name) {
            return bad(field("name"), &snap.name, why);
        }
        if let Err(why) = time(&snap.taken) {
            return bad(field("taken"), &snap.taken, why);
        }
        if snap.nodes.is_empty() {
            return Some(format!(
                "`snapshots[{i}].nodes` is empty, which no snapshot is"
            ));
        }
        if snap.status == super::SnapshotStatus::Complete
            && st.snapshots[..i]
                .iter()
                .any(|o| o.name == snap.name && o.status == super::SnapshotStatus::Complete)
        {
            return bad(
                field("name"),
                &snap.name,
                "names a second whole snapshot".into(),
            );
        }
        if let Some(lv) = &snap.libvirt
            && (lv.is_empty() || lv.contains(['/', '\'', '"', '<', '>', '&']) || lv.len() > 100)
        {
            return bad(
                field("libvirt"),
                lv,
                "is not a name lab gives its snapshots".into(),
            );
        }
        for (node, sn) in &snap.nodes {
            if let Err(why) = names::dns_label(node) {
                return bad(field("nodes"), node, why);
            }
            if let Err(why) = names::box_name(&sn.box_name) {
                return bad(field(&format!("nodes.{node}.box")), &sn.box_name, why);
            }
        }
    }
    if let Some(r) = &st.restored {
        if let Err(why) = names::dns_label(&r.name) {
            return bad("restored.name".into(), &r.name, why);
        }
        if let Err(why) = time(&r.at) {
            return bad("restored.at".into(), &r.at, why);
        }
    }
    None
}

/// A time as lab writes it: RFC 3339.
fn time(t: &str) -> Result<(), String> {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(drop)
        .map_err(|_| "is not an RFC 3339 time (like 2026-11-30T03:40:12Z)".into())
}

/// A libvirt domain name `lab` makes: DNS labels joined by `.`
/// (`LAB.NODE`; older states: `lab-LAB-NODE`).
fn domain(name: &str) -> Result<(), String> {
    for label in name.split('.') {
        names::dns_label(label).map_err(|why| format!("has a part {label:?} that {why}"))?;
    }
    Ok(())
}

fn ipv4(ip: &str) -> Result<(), String> {
    ip.parse::<Ipv4Addr>()
        .map(drop)
        .map_err(|_| "is not an IPv4 address".into())
}

/// `52:54:00:xx:xx:xx`: six pairs of hex digits.
fn mac(mac: &str) -> Result<(), String> {
    let pairs: Vec<&str> = mac.split(':').collect();
    if pairs.len() == 6
        && pairs
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Ok(())
    } else {
        Err("is not a MAC address (six pairs of hex digits joined by ':')".into())
    }
}

fn hex(id: &str) -> Result<(), String> {
    if id
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err("is not a lab instance id (hex digits)".into())
    }
}

/// A host key as known_hosts(5) takes it: `TYPE BASE64`, one space, no
/// other characters.
fn host_key(key: &str) -> Result<(), String> {
    let ok = key.split_once(' ').is_some_and(|(kind, b64)| {
        !kind.is_empty()
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"@.-".contains(&b))
            && !b64.is_empty()
            && b64
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err("is not a host key (`TYPE BASE64`, like `ssh-ed25519 AAAA...`)".into())
    }
}
