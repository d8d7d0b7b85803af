//! Pure helpers for a lab's private network: stable MAC addresses and bridge
//! names derived from the lab and node names, the gateway and DHCP range of
//! a subnet, and subnet collision checks.
//!
//! Nothing here talks to libvirt; [`crate::backend`] turns the results into
//! network and domain XML.

use std::net::Ipv4Addr;

pub mod vxlan;

use ipnet::Ipv4Net;
use sha2::{Digest, Sha256};

/// Linux limits interface names to 15 bytes (IFNAMSIZ minus the NUL).
pub const MAX_BRIDGE_LEN: usize = 15;

/// Prefix of every bridge `lab` creates, so they are easy to recognise.
const BRIDGE_PREFIX: &str = "lab-";

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b"/");
        }
        h.update(p.as_bytes());
    }
    h.finalize().into()
}

/// The MAC address of `node`'s interface in `lab`: QEMU's locally
/// administered, unicast prefix `52:54:00` followed by three bytes of a
/// SHA-256 of `lab/node`, so it is the same on every `lab up`.
pub fn mac_for(lab: &str, node: &str) -> String {
    let d = digest(&[lab, node]);
    format!("52:54:00:{:02x}:{:02x}:{:02x}", d[0], d[1], d[2])
}

/// The bridge name of `lab`'s network: `lab-NAME` when that fits in 15
/// characters and NAME is made of `[a-z0-9-]`; otherwise `lab-` plus up to
/// four characters of the name and six hex digits of its hash, e.g.
/// `lab-djan-1a2b3c`. Stable for a given lab name.
pub fn bridge_name(lab: &str) -> String {
    let simple = lab
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if simple && !lab.is_empty() && BRIDGE_PREFIX.len() + lab.len() <= MAX_BRIDGE_LEN {
        return format!("{BRIDGE_PREFIX}{lab}");
    }
    let short: String = lab
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(4)
        .collect();
    let hash = hex::encode(&digest(&[lab])[..3]);
    if short.is_empty() {
        format!("{BRIDGE_PREFIX}{hash}")
    } else {
        format!("{BRIDGE_PREFIX}{short}-{hash}")
    }
}

/// The gateway (host side of the bridge) of `subnet`: its first host address.
pub fn gateway(subnet: Ipv4Net) -> Ipv4Addr {
    let net = u32::from(subnet.network());
    Ipv4Addr::from(net.saturating_add(1))
}

/// The dynamic DHCP range of `subnet`: the upper half of its host addresses
/// (e.g. `.128`–`.254` of a /24). The lower half is left for the gateway and
/// static reservations. `None` when the subnet is too small (/31, /32).
pub fn dhcp_range(subnet: Ipv4Net) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let subnet = subnet.trunc();
    let net = u32::from(subnet.network());
    let broadcast = u32::from(subnet.broadcast());
    let size = broadcast - net + 1;
    let start = net + size / 2;
    let end = broadcast.checked_sub(1)?;
    let gw = net + 1;
    (start > gw && start <= end).then(|| (Ipv4Addr::from(start), Ipv4Addr::from(end)))
}

/// Whether two subnets overlap (one contains the other's network address).
pub fn collides(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn mac_is_stable_local_and_distinct() {
        let a = mac_for("smoke", "node1");
        assert_eq!(a, mac_for("smoke", "node1"));
        assert_ne!(a, mac_for("smoke", "node2"));
        assert_ne!(a, mac_for("other", "node1"));
        // "lab/node" is hashed with a separator: ("ab", "c") != ("a", "bc").
        assert_ne!(mac_for("ab", "c"), mac_for("a", "bc"));
        assert!(a.starts_with("52:54:00:"));
        assert_eq!(a.len(), 17);
        let first = u8::from_str_radix(&a[..2], 16).unwrap();
        assert_eq!(first & 0b10, 0b10, "locally administered");
        assert_eq!(first & 0b01, 0, "unicast");
    }

    #[test]
    fn bridge_name_short_labs_read_plainly() {
        assert_eq!(bridge_name("smoke"), "lab-smoke");
        assert_eq!(bridge_name("django-ha"), "lab-django-ha");
        assert_eq!(bridge_name("abcdefghijk"), "lab-abcdefghijk");
    }

    #[test]
    fn bridge_name_long_or_odd_labs_are_hashed_and_fit() {
        for lab in [
            "abcdefghijkl",
            "Django_HA",
            "a.b",
            "___",
            "x".repeat(200).as_str(),
        ] {
            let b = bridge_name(lab);
            assert!(b.len() <= MAX_BRIDGE_LEN, "{b} too long");
            assert!(b.starts_with("lab-"), "{b}");
            assert_eq!(b, bridge_name(lab), "stable");
        }
        assert_eq!(bridge_name("abcdefghijkl").len(), 15);
        assert!(bridge_name("abcdefghijkl").starts_with("lab-abcd-"));
        assert_ne!(bridge_name("abcdefghijkl"), bridge_name("abcdefghijkm"));
    }

    #[test]
    fn gateway_is_first_host() {
        assert_eq!(gateway(net("10.77.0.0/24")), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(
            gateway(net("192.168.8.0/22")),
            Ipv4Addr::new(192, 168, 8, 1)
        );
    }

    #[test]
    fn dhcp_range_is_upper_half() {
        assert_eq!(
            dhcp_range(net("10.77.0.0/24")),
            Some((Ipv4Addr::new(10, 77, 0, 128), Ipv4Addr::new(10, 77, 0, 254)))
        );
        assert_eq!(
            dhcp_range(net("10.77.0.0/16")),
            Some((
                Ipv4Addr::new(10, 77, 128, 0),
                Ipv4Addr::new(10, 77, 255, 254)
            ))
        );
        // A host address with a prefix is taken as its network.
        assert_eq!(
            dhcp_range(net("10.77.0.9/29")),
            Some((Ipv4Addr::new(10, 77, 0, 12), Ipv4Addr::new(10, 77, 0, 14)))
        );
        assert_eq!(
            dhcp_range(net("10.77.0.0/30")),
            Some((Ipv4Addr::new(10, 77, 0, 2), Ipv4Addr::new(10, 77, 0, 2)))
        );
        assert_eq!(dhcp_range(net("10.77.0.0/31")), None);
        assert_eq!(dhcp_range(net("10.77.0.0/32")), None);
    }

    #[test]
    fn collisions() {
        assert!(collides(net("10.0.0.0/24"), net("10.0.0.0/24")));
        assert!(collides(net("10.0.0.0/16"), net("10.0.5.0/24")));
        assert!(collides(net("10.0.5.0/24"), net("10.0.0.0/16")));
        assert!(!collides(net("10.0.0.0/24"), net("10.0.1.0/24")));
        assert!(!collides(net("192.168.122.0/24"), net("10.77.0.0/24")));
    }
}
