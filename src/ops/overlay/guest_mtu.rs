//! The overlay's MTU inside the guests of a lab over several hosts. The
//! primary's dnsmasq hands it out (DHCP option 26, from the network's
//! `<mtu>`), but systemd-networkd takes it only with `UseMTU=yes`
//! (systemd.network(5): the default is no), which lab's boxes up to now
//! do not set. So once a node is ready, lab sets the MTU of the
//! interface holding the node's address and writes a drop-in for the
//! box's `10-lab.network` with `UseMTU=yes`, so later boots take it from
//! DHCP.

use std::sync::Arc;

use anyhow::{Result, bail};

use crate::provision::remote::Remote;
use crate::state::{State, StateDir};

/// What sets the MTU on the named nodes: [`set_all`] (tests put a
/// stand-in). One `(node, error)` per node that failed.
pub type GuestMtu =
    Arc<dyn Fn(&State, &StateDir, &[String], u32) -> Vec<(String, String)> + Send + Sync>;

/// The drop-in lab writes (for the `10-lab.network` of lab's boxes).
pub const DROP_IN: &str = "/etc/systemd/network/10-lab.network.d/50-lab-overlay-mtu.conf";

/// The shell line run on a node (as its login user, through sudo) for
/// address `ip` and MTU `mtu` (bytes).
pub fn script(ip: &str, mtu: u32) -> String {
    format!(
        "dev=$(ip -o -4 addr show to {ip} | awk '{{print $2; exit}}'); \
         [ -n \"$dev\" ] || {{ echo \"no interface holds {ip}\" >&2; exit 3; }}; \
         sudo ip link set dev \"$dev\" mtu {mtu} && \
         sudo mkdir -p {dir} && \
         printf '[DHCPv4]\\nUseMTU=yes\\n' | sudo tee {DROP_IN} >/dev/null",
        dir = DROP_IN.rsplit_once('/').map_or("", |(d, _)| d),
    )
}

/// Set MTU `mtu` on every node of `nodes` (in parallel, over SSH as
/// `lab ssh` logs in); the nodes that failed, with why.
pub fn set_all(st: &State, sd: &StateDir, nodes: &[String], mtu: u32) -> Vec<(String, String)> {
    crate::fanout::each(nodes, |node| (node.clone(), set_one(st, sd, node, mtu)))
        .into_iter()
        .filter_map(|(node, r)| r.err().map(|e| (node, format!("{e:#}"))))
        .collect()
}

fn set_one(st: &State, sd: &StateDir, node: &str, mtu: u32) -> Result<()> {
    let remote = Remote::of(node, st, sd)?;
    let sess = remote.open()?;
    let ip = remote.target.ip.to_string();
    let (status, out) = crate::ssh::exec_on(&sess, &script(&ip, mtu))?;
    if status != 0 {
        bail!(
            "setting the MTU exited with status {status}: {}",
            out.trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_script_sets_the_link_and_writes_the_drop_in() {
        let s = super::script("10.77.10.22", 1450);
        assert!(s.contains("ip -o -4 addr show to 10.77.10.22"), "{s}");
        assert!(s.contains("sudo ip link set dev \"$dev\" mtu 1450"), "{s}");
        assert!(
            s.contains("sudo mkdir -p /etc/systemd/network/10-lab.network.d"),
            "{s}"
        );
        assert!(s.contains("UseMTU=yes"), "{s}");
    }
}
