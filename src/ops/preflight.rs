//! Checks `lab up` makes before it creates anything: the lab's subnet must
//! not collide with another libvirt network or a host route, and the host
//! must have the memory and disk the new VMs need. Each failure is a
//! [`Refusal`]: what is wrong and what to do, which `lab up` prints as one
//! sentence and `lab doctor` as its two parts.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use crate::backend::{Maker, NetworkInfo};
use crate::network::collides;

/// A failed preflight check: `problem` says what is wrong, `fix` what to
/// do; shown as "PROBLEM; FIX".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}; {fix}")]
pub struct Refusal {
    pub problem: String,
    pub fix: String,
}

impl Refusal {
    fn new(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Refusal {
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// What a preflight check returns: `Ok`, or why `lab up` refuses.
pub type Result<T = (), E = Refusal> = std::result::Result<T, E>;

/// Refuse a subnet that overlaps a libvirt network other than `own` (this
/// lab's own network, when it has one: pass `None` when the network of its
/// name is someone else's). The fix never suggests removing another lab's
/// network: it names that lab and its lab file; `virsh` commands are
/// offered only for a network without lab metadata, after another subnet.
pub fn check_networks(subnet: Ipv4Net, own: Option<&str>, networks: &[NetworkInfo]) -> Result {
    for net in networks.iter().filter(|n| Some(n.name.as_str()) != own) {
        if let Some(other) = net.subnets.iter().find(|s| collides(subnet, **s)) {
            let name = &net.name;
            let (whose, fix) = match &net.maker {
                Maker::Lab(tag) if !tag.file.is_empty() => (
                    format!(", lab `{}`'s network (made from {})", tag.lab, tag.file),
                    format!(
                        "pick another `network.subnet` in the lab file, or destroy that lab (lab destroy --file {})",
                        tag.file
                    ),
                ),
                Maker::Lab(tag) => (
                    format!(", lab `{}`'s network", tag.lab),
                    format!(
                        "pick another `network.subnet` in the lab file, or destroy lab `{}` (lab destroy in its directory)",
                        tag.lab
                    ),
                ),
                Maker::Unknown => (
                    String::new(),
                    format!(
                        "pick another `network.subnet` in the lab file; or, if nothing uses network `{name}`, remove it (virsh net-destroy {name}; virsh net-undefine {name})"
                    ),
                ),
            };
            return Err(Refusal::new(
                format!("subnet {subnet} collides with libvirt network `{name}` ({other}){whose}"),
                fix,
            ));
        }
    }
    Ok(())
}

/// A route of the host's routing table.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub dev: String,
    pub net: Ipv4Net,
}

/// Parse `/proc/net/route` (hex, little-endian addresses).
pub fn parse_routes(text: &str) -> Vec<Route> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let dest = u32::from_str_radix(f[1], 16).ok()?;
            let mask = u32::from_str_radix(f[7], 16).ok()?;
            let addr = Ipv4Addr::from(dest.swap_bytes());
            let prefix = mask.count_ones() as u8;
            Some(Route {
                dev: f[0].to_string(),
                net: Ipv4Net::new(addr, prefix).ok()?.trunc(),
            })
        })
        .collect()
}

/// Refuse a subnet that overlaps a host route (the default route aside, and
/// routes through `own_bridge`, which is this lab's own network: `None`
/// when the network of its name is someone else's).
pub fn check_routes(subnet: Ipv4Net, own_bridge: Option<&str>, routes: &[Route]) -> Result {
    for r in routes {
        if r.net.prefix_len() == 0 || Some(r.dev.as_str()) == own_bridge {
            continue;
        }
        if collides(subnet, r.net) {
            return Err(Refusal::new(
                format!(
                    "subnet {subnet} collides with the host route {} on {}",
                    r.net, r.dev
                ),
                "pick another `network.subnet` in the lab file",
            ));
        }
    }
    Ok(())
}

/// Host routes of the current network namespace.
pub fn host_routes() -> Vec<Route> {
    parse_routes(&std::fs::read_to_string("/proc/net/route").unwrap_or_default())
}

/// `MemAvailable` from /proc/meminfo, in MiB.
pub fn available_memory_mib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

/// `MemAvailable` of a `/proc/meminfo` text, in MiB.
pub fn parse_mem_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Refuse to start VMs needing more memory than is available.
pub fn check_memory(needed_mib: u64, vms: usize, available_mib: Option<u64>) -> Result {
    if let Some(avail) = available_mib
        && needed_mib > avail
    {
        return Err(Refusal::new(
            format!(
                "not enough free memory: starting {vms} VM(s) needs {needed_mib} MiB but only {avail} MiB is available"
            ),
            "lower `memory` in the lab file or stop other VMs",
        ));
    }
    Ok(())
}

/// Free bytes on the filesystem holding `path` (or its nearest existing
/// ancestor).
pub fn free_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// Refuse when the pool's filesystem has less than `needed` bytes free.
pub fn check_disk(dir: &Path, needed: u64, free: Option<u64>) -> Result {
    if let Some(free) = free
        && needed > free
    {
        return Err(Refusal::new(
            format!(
                "not enough free disk in {}: the lab needs about {} MiB, {} MiB is free",
                dir.display(),
                needed / (1 << 20),
                free / (1 << 20)
            ),
            "free some space on that filesystem",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::RunState;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn overlapping_libvirt_network_is_refused_but_own_is_fine() {
        let nets = vec![
            NetworkInfo {
                name: "lab-smoke".into(),
                bridge: None,
                subnets: vec![net("10.77.10.0/24")],
                maker: crate::backend::Maker::Unknown,
                state: RunState::Active,
            },
            NetworkInfo {
                name: "default".into(),
                bridge: None,
                subnets: vec![net("192.168.122.0/24")],
                maker: crate::backend::Maker::Unknown,
                state: RunState::Active,
            },
        ];
        check_networks(net("10.77.10.0/24"), Some("lab-smoke"), &nets).unwrap();
        let msg = check_networks(net("192.168.0.0/16"), Some("lab-x"), &nets)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("`default`") && msg.contains("192.168.122.0/24"),
            "{msg}"
        );
    }

    #[test]
    fn routes_parse_and_collide() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                    labbr\t000A4D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let routes = parse_routes(text);
        assert_eq!(routes.len(), 3);
        assert_eq!(routes[1].net, net("192.168.0.0/24"));
        assert_eq!(routes[2].net, net("10.77.10.0/24"));
        check_routes(net("10.77.10.0/24"), Some("labbr"), &routes).unwrap();
        let msg = check_routes(net("192.168.0.0/16"), Some("labbr"), &routes)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("host route 192.168.0.0/24 on eth0"), "{msg}");
        check_routes(net("10.1.0.0/16"), Some("labbr"), &routes).unwrap();
    }

    #[test]
    fn memory_and_disk_checks() {
        assert_eq!(
            parse_mem_available("MemTotal: 100 kB\nMemAvailable:   2097152 kB\n"),
            Some(2048)
        );
        check_memory(1024, 1, Some(2048)).unwrap();
        let msg = check_memory(4096, 4, Some(2048)).unwrap_err().to_string();
        assert!(
            msg.contains("needs 4096 MiB") && msg.contains("2048 MiB"),
            "{msg}"
        );
        check_memory(4096, 4, None).unwrap();
        let msg = check_disk(Path::new("/x"), 10 << 30, Some(1 << 30))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("not enough free disk"), "{msg}");
        assert!(free_bytes(Path::new("/tmp/does/not/exist")).is_some());
    }
}
