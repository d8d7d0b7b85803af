//! The kernel VXLAN device that joins a lab's bridges on several hosts
//! (RFC 7348, Linux's `vxlan` link type): its network identifier (VNI)
//! and device name derived from the lab name, the iproute2 command lines
//! (`ip` and `bridge`, iproute2 6.1 as in Debian 12) that make and remove
//! it, and parsers of what `ip -j` and `getent ahostsv4` print. Nothing
//! here runs anything: [`crate::ops::overlay`] runs these on each host.

use std::net::Ipv4Addr;

use serde::Deserialize;

/// IANA's VXLAN UDP port (RFC 7348), the `dstport` of every device.
pub const VXLAN_PORT: u16 = 4789;
/// VNIs are 24 bits: 1 to `VNI_LIMIT - 1` (0 is not used).
pub const VNI_LIMIT: u32 = 1 << 24;
/// What VXLAN over IPv4 adds to each frame: outer IPv4 (20), UDP (8),
/// VXLAN (8) and inner Ethernet (14) headers, in bytes.
pub const OVERHEAD: u32 = 50;
/// The MTU of a lab's network over several hosts: a 1500-byte link
/// minus [`OVERHEAD`], so no tunnelled frame is fragmented.
pub const OVERLAY_MTU: u32 = 1500 - OVERHEAD;
/// Prefix of every VXLAN device lab makes (no `-`: it cannot be taken for
/// a bridge, whose names start `lab-`).
const DEVICE_PREFIX: &str = "labvx";

/// The VNI of lab `lab`: 1 + a SHA-256 of `vxlan/LAB` modulo 2^24 - 1, so
/// 1 to 16777215, the same on every host and every `lab up`.
pub fn vni_for(lab: &str) -> u32 {
    use sha2::{Digest, Sha256};
    let d: [u8; 32] = Sha256::new()
        .chain_update(b"vxlan/")
        .chain_update(lab.as_bytes())
        .finalize()
        .into();
    let n = u32::from_be_bytes([0, d[0], d[1], d[2]]);
    1 + n % (VNI_LIMIT - 1)
}

/// The VXLAN device of VNI `vni`: `labvx` and six hex digits, 11
/// characters (Linux allows 15).
pub fn device_name(vni: u32) -> String {
    format!("{DEVICE_PREFIX}{vni:06x}")
}

/// Whether `dev` is a name [`device_name`] gives; `Err(why)` reads after
/// "which".
pub fn check_device(dev: &str) -> Result<(), String> {
    match dev.strip_prefix(DEVICE_PREFIX) {
        Some(hex) if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
        _ => Err(format!(
            "is not a VXLAN device name lab gives ({DEVICE_PREFIX} and six hex digits)"
        )),
    }
}

/// One host's VXLAN device of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VxlanSpec {
    /// Device name ([`device_name`]).
    pub device: String,
    pub vni: u32,
    /// This host's tunnel address.
    pub local: Ipv4Addr,
    /// The lab's bridge on this host, which the device joins.
    pub bridge: String,
    /// The other hosts' tunnel addresses: broadcast, unknown unicast and
    /// multicast frames are copied to each (head-end replication).
    pub peers: Vec<Ipv4Addr>,
    /// Bytes ([`OVERLAY_MTU`]).
    pub mtu: u32,
}

/// The commands that make `spec`'s device, in order (each an argv):
/// `ip link add DEV type vxlan id VNI local LOCAL dstport 4789`, `ip link
/// set DEV mtu MTU master BRIDGE up`, and per peer `bridge fdb append
/// 00:00:00:00:00:00 dev DEV dst PEER` (ip-link(8), bridge(8)).
pub fn add_commands(spec: &VxlanSpec) -> Vec<Vec<String>> {
    let w = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (vni, local, port, mtu) = (
        spec.vni.to_string(),
        spec.local.to_string(),
        VXLAN_PORT.to_string(),
        spec.mtu.to_string(),
    );
    let dev = spec.device.as_str();
    let mut cmds = vec![
        w(&[
            "ip", "link", "add", dev, "type", "vxlan", "id", &vni, "local", &local, "dstport",
            &port,
        ]),
        w(&[
            "ip",
            "link",
            "set",
            dev,
            "mtu",
            &mtu,
            "master",
            &spec.bridge,
            "up",
        ]),
    ];
    for peer in &spec.peers {
        cmds.push(w(&[
            "bridge",
            "fdb",
            "append",
            "00:00:00:00:00:00",
            "dev",
            dev,
            "dst",
            &peer.to_string(),
        ]));
    }
    cmds
}

/// `ip link del DEV`.
pub fn del_command(dev: &str) -> Vec<String> {
    ["ip", "link", "del", dev].map(str::to_string).to_vec()
}

/// `ip -d -j link show type vxlan`: every VXLAN device with its VNI.
pub fn list_command() -> Vec<String> {
    ["ip", "-d", "-j", "link", "show", "type", "vxlan"]
        .map(str::to_string)
        .to_vec()
}

/// `getent ahostsv4 NAME`: NAME's IPv4 addresses as the host resolves it.
pub fn resolve_command(name: &str) -> Vec<String> {
    ["getent", "ahostsv4", name].map(str::to_string).to_vec()
}

/// `ip -j route get PEER`: the route (and source address) to a peer.
pub fn route_command(peer: Ipv4Addr) -> Vec<String> {
    vec![
        "ip".into(),
        "-j".into(),
        "route".into(),
        "get".into(),
        peer.to_string(),
    ]
}

/// (device, VNI) of each VXLAN device in the JSON of [`list_command`]
/// (`[{"ifname": .., "linkinfo": {"info_data": {"id": ..}}}]`); `Err`
/// when it is not such JSON.
pub fn parse_links(json: &str) -> Result<Vec<(String, u32)>, String> {
    #[derive(Deserialize)]
    struct Link {
        ifname: String,
        linkinfo: Option<Info>,
    }
    #[derive(Deserialize)]
    struct Info {
        info_data: Option<Data>,
    }
    #[derive(Deserialize)]
    struct Data {
        id: Option<u32>,
    }
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let links: Vec<Link> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    Ok(links
        .into_iter()
        .filter_map(|l| {
            let id = l.linkinfo?.info_data?.id?;
            Some((l.ifname, id))
        })
        .collect())
}

/// The first address `getent ahostsv4` printed (`ADDRESS STREAM NAME`
/// lines); `None` for none.
pub fn parse_getent(text: &str) -> Option<Ipv4Addr> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .next()
}

/// The `prefsrc` of the route of [`route_command`]'s JSON; `None` when
/// it names none.
pub fn parse_route_src(json: &str) -> Option<Ipv4Addr> {
    #[derive(Deserialize)]
    struct Route {
        prefsrc: Option<String>,
    }
    let routes: Vec<Route> = serde_json::from_str(json).ok()?;
    routes.into_iter().find_map(|r| r.prefsrc?.parse().ok())
}

#[cfg(test)]
#[path = "vxlan_tests.rs"]
mod tests;
