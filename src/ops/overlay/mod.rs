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
    /// The texts of files `paths` on this host, in their order, e.g.
    /// `/proc/meminfo` and `/proc/net/route` for preflight: one `cat`
    /// over one SSH login on another machine. Errors: SSH failing, a file
    /// that cannot be read.
    fn read_files(&self, paths: &[&str]) -> Result<Vec<String>>;
}

/// What [`IpHostNet::read_files`] prints between two files' texts.
const FILE_END: &str = "\n--lab-end-of-file--\n";

/// `ssh LOGIN COMMAND` that failed. When ssh itself failed (status 255:
/// no connection, no login), one line: the last thing it said, without
/// the command line, which the error of [`Cmd::run`] repeats whole. A
/// command that failed keeps its error (its status tells, e.g. getent's 2).
fn ssh_failed(login: &str, e: crate::process::ProcessError) -> anyhow::Error {
    match e {
        crate::process::ProcessError::Failed { status, stderr, .. }
            if status == "exit status 255" =>
        {
            let said = stderr.trim().lines().last().unwrap_or("").trim();
            anyhow::anyhow!("`ssh {login}` failed: {said}")
        }
        e => e.into(),
    }
}

/// The shell line that prints files `paths` with [`FILE_END`] between
/// them: `cat -- A && printf '\n%s\n' MARK && cat -- B ...`.
fn cat_line(paths: &[&str]) -> String {
    let mark = FILE_END.trim();
    paths
        .iter()
        .map(|p| shell_join(["cat", "--", p]))
        .collect::<Vec<_>>()
        .join(&format!(" && printf '\\n%s\\n' {mark} && "))
}

/// The `n` texts [`cat_line`] printed in `out`. Errors: another count.
fn split_cat(out: &str, n: usize) -> Result<Vec<String>> {
    let texts: Vec<String> = out.split(FILE_END).map(str::to_string).collect();
    if texts.len() != n {
        anyhow::bail!("{} parts where {n} were expected", texts.len());
    }
    Ok(texts)
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
                    .map_err(|e| ssh_failed(login, e))
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

    fn read_files(&self, paths: &[&str]) -> Result<Vec<String>> {
        let Some(login) = &self.ssh else {
            return paths
                .iter()
                .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {p}")))
                .collect();
        };
        let (user, address) = crate::names::ssh_login(login)
            .map_err(|why| anyhow::anyhow!("the login of host {} {why}", self.host))?;
        let out = Cmd::new("ssh")
            .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"])
            .args(crate::ssh::openssh::login(user, address))
            .arg(cat_line(paths))
            .run()
            .map_err(|e| ssh_failed(login, e))?
            .stdout;
        split_cat(&out, paths.len()).with_context(|| {
            format!(
                "`ssh {login}` printed no {} lab can read",
                paths.join(" and ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cat_line_run_by_a_shell_splits_back_into_each_file() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a b");
        let b = tmp.path().join("b");
        std::fs::write(&a, "MemAvailable: 1 kB\n").unwrap();
        std::fs::write(&b, "Iface\tDestination\n").unwrap();
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        let out = Cmd::new("sh")
            .args(["-c", &cat_line(&[a, b])])
            .run()
            .unwrap()
            .stdout;
        let texts = split_cat(&out, 2).unwrap();
        assert_eq!(texts, ["MemAvailable: 1 kB\n", "Iface\tDestination\n"]);
        assert!(split_cat(&out, 3).is_err());
        // A missing file fails the whole line.
        let line = cat_line(&[a, "/nonexistent/lab"]);
        assert!(Cmd::new("sh").args(["-c", &line]).run().is_err());
    }

    #[test]
    fn ssh_that_cannot_log_in_is_one_line_and_a_failed_command_keeps_its_status() {
        let failed = |status: &str| {
            crate::process::ProcessError::Failed {
            cmdline: "ssh -o BatchMode=yes -l root -- b 'getent ahostsv4 x'".into(),
            status: status.into(),
            stderr: "Warning: Permanently added 'b' (ED25519) to the list of known hosts.\r\nroot@b: Permission denied (publickey).\n".into(),
            log: None,
        }
        };
        let e = ssh_failed("root@b", failed("exit status 255"));
        assert_eq!(
            format!("{e:#}"),
            "`ssh root@b` failed: root@b: Permission denied (publickey)."
        );
        let e = ssh_failed("root@b", failed("exit status 2"));
        assert!(matches!(
            e.downcast_ref::<crate::process::ProcessError>(),
            Some(crate::process::ProcessError::Failed { status, .. }) if status == "exit status 2"
        ));
    }
}
