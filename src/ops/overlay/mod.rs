//! The VXLAN overlay of a lab over several hosts, which is not a libvirt
//! object: [`HostNet`], what `lab` runs on a host with iproute2 (list,
//! make and remove VXLAN devices, resolve names, find its own address),
//! [`IpHostNet`] doing it with `ip`/`bridge`/`getent` run on this machine
//! or through `ssh USER@HOST -- ...`, and the steps of `lab up` and
//! `lab destroy` over them ([`tunnel_addresses`], [`ensure`],
//! [`check_vni`]). The commands and parsers are in
//! [`crate::network::vxlan`].

#[cfg(test)]
pub(crate) mod fake;
pub mod guest_mtu;
mod steps;

use std::net::Ipv4Addr;

use anyhow::{Context, Result};

use crate::network::vxlan::{self, VxlanSpec};
use crate::process::{Cmd, shell_join};

pub use guest_mtu::GuestMtu;
pub use steps::{check_tunnel_addresses, check_vni, ensure, tunnel_addresses};

/// What `lab` does on a host outside libvirt, for its VXLAN device.
pub trait HostNet: Send + Sync {
    /// (device, VNI) of every VXLAN device on the host. Errors: `ip`
    /// missing or failing, the host unreachable over SSH.
    fn vxlan_links(&self) -> Result<Vec<(String, u32)>>;
    /// Make `spec`'s device (one of its name is removed first), joined
    /// to its bridge, with a copy of flooded frames to each peer.
    fn add_vxlan(&self, spec: &VxlanSpec) -> Result<()>;
    /// Remove device `dev`; Ok when there is none.
    fn remove_vxlan(&self, dev: &str) -> Result<()>;
    /// `name`'s first IPv4 address as this host resolves it
    /// (`getent ahostsv4`); `None` when it does not resolve.
    fn resolve(&self, name: &str) -> Result<Option<Ipv4Addr>>;
    /// The source address of this host's route to `peer` (`ip route get`).
    fn route_src(&self, peer: Ipv4Addr) -> Result<Option<Ipv4Addr>>;
    /// The text of file `path` on this host (`cat`), e.g. `/proc/meminfo`
    /// and `/proc/net/route` for preflight.
    fn read_file(&self, path: &str) -> Result<String>;
}

/// [`HostNet`] with iproute2 and getent: on this machine, or on the host
/// through `ssh -o BatchMode=yes -l USER -- ADDRESS 'COMMAND'` with the
/// user's own ssh config for it (as the ProxyJump to the guests).
#[derive(Debug, Clone)]
pub struct IpHostNet {
    /// The host's name in the lab file (for messages).
    host: String,
    /// `USER@ADDRESS`; `None`: this machine.
    ssh: Option<String>,
}

impl IpHostNet {
    /// Commands for host `host`, run through `ssh` (`USER@ADDRESS`) or,
    /// with `None`, here.
    pub fn new(host: &str, ssh: Option<&str>) -> Self {
        IpHostNet {
            host: host.to_string(),
            ssh: ssh.map(str::to_string),
        }
    }

    /// Run `argvs` in order, stopping at the first failure; the last
    /// one's stdout. On another host they go as one remote command line
    /// (each word quoted, joined by `&&`), so one SSH login does them all.
    fn run(&self, argvs: &[Vec<String>]) -> Result<String> {
        let mut out = String::new();
        match &self.ssh {
            None => {
                for argv in argvs {
                    let cmd = Cmd::new(&argv[0]).args(&argv[1..]);
                    out = cmd
                        .run()
                        .with_context(|| format!("on host {} (this machine)", self.host))?
                        .stdout;
                }
            }
            Some(login) => {
                let (user, address) = crate::names::ssh_login(login)
                    .map_err(|why| anyhow::anyhow!("the login of host {} {why}", self.host))?;
                let line = argvs
                    .iter()
                    .map(shell_join)
                    .collect::<Vec<_>>()
                    .join(" && ");
                let cmd = Cmd::new("ssh")
                    .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"])
                    .args(crate::ssh::openssh::login(user, address))
                    .arg(line);
                out = cmd
                    .run()
                    .with_context(|| {
                        format!(
                            "on host {} (check that `ssh {login}` logs in without a prompt and that iproute2 is installed there)",
                            self.host
                        )
                    })?
                    .stdout;
            }
        }
        Ok(out)
    }
}

impl HostNet for IpHostNet {
    fn vxlan_links(&self) -> Result<Vec<(String, u32)>> {
        let json = self.run(&[vxlan::list_command()])?;
        vxlan::parse_links(&json).map_err(|why| {
            anyhow::anyhow!(
                "`ip -d -j link show type vxlan` on host {} printed no JSON lab can read ({why}); lab needs iproute2 5.0 or later there",
                self.host
            )
        })
    }

    fn add_vxlan(&self, spec: &VxlanSpec) -> Result<()> {
        self.remove_vxlan(&spec.device)?;
        self.run(&vxlan::add_commands(spec))?;
        Ok(())
    }

    fn remove_vxlan(&self, dev: &str) -> Result<()> {
        if self.vxlan_links()?.iter().any(|(name, _)| name == dev) {
            self.run(&[vxlan::del_command(dev)])?;
        }
        Ok(())
    }

    fn resolve(&self, name: &str) -> Result<Option<Ipv4Addr>> {
        // getent exits 2 for a name it cannot resolve: that is `None`.
        match self.run(&[vxlan::resolve_command(name)]) {
            Ok(out) => Ok(vxlan::parse_getent(&out)),
            Err(e)
                if e.chain().any(|c| {
                    matches!(
                        c.downcast_ref::<crate::process::ProcessError>(),
                        Some(crate::process::ProcessError::Failed { status, .. }) if status == "exit status 2"
                    )
                }) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn route_src(&self, peer: Ipv4Addr) -> Result<Option<Ipv4Addr>> {
        let json = self.run(&[vxlan::route_command(peer)])?;
        Ok(vxlan::parse_route_src(&json))
    }

    fn read_file(&self, path: &str) -> Result<String> {
        self.run(&[vec!["cat".into(), "--".into(), path.into()]])
    }
}
