//! Reaching a guest through its host's sshd, for `ssh2` (readiness,
//! provisioning, clocks, checks): the system `ssh -W GUEST:PORT JUMP`
//! (OpenSSH's stdio forwarding, ssh(1) `-W`) runs on one end of a Unix
//! socket pair and `ssh2` speaks SSH to the guest on the other, so the
//! login to the host is the user's own (their ssh config, keys and
//! known_hosts for it), and the guest's host key is still checked against
//! the lab's pins by the caller. `lab ssh` and Ansible get the same route
//! as OpenSSH's ProxyJump ([`super::openssh`]).

use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::process::{Cmd, SocketChild};

/// The host's sshd a guest is reached through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    /// `USER@ADDRESS` (checked where it comes from: the lab file's
    /// `hosts.NAME.ssh`, or the state `lab up` wrote from it).
    pub login: String,
    /// ssh(1) options for the login to the host, before the destination
    /// (e.g. `-p PORT`); empty in lab, where the user's ssh config says
    /// how to log in there.
    pub options: Vec<String>,
}

impl Jump {
    /// The jump `USER@ADDRESS`, with the user's ssh config for it.
    pub fn new(login: impl Into<String>) -> Jump {
        Jump {
            login: login.into(),
            options: Vec::new(),
        }
    }

    /// `ssh` relaying its stdin and stdout to `guest` through the host:
    /// `ssh -o BatchMode=yes -o ConnectTimeout=SECS [OPTIONS] -W
    /// GUEST:PORT -l USER -- ADDRESS`. BatchMode: a password or host key
    /// prompt fails instead of waiting on a terminal lab does not show.
    pub fn relay(&self, guest: SocketAddr, timeout: Duration) -> Cmd {
        let (user, address) = self
            .login
            .split_once('@')
            .unwrap_or(("", self.login.as_str()));
        let mut cmd = Cmd::new("ssh").args([
            "-o".to_string(),
            "BatchMode=yes".to_string(),
            "-o".to_string(),
            format!("ConnectTimeout={}", timeout.as_secs().max(1)),
        ]);
        cmd = cmd.args(&self.options).arg("-W").arg(guest.to_string());
        if user.is_empty() {
            cmd.args(["--", address])
        } else {
            cmd.args(super::openssh::login(user, address))
        }
    }

    /// A byte stream to `guest` through the host, and the relay carrying
    /// it (it ends when the stream is closed; keep it to read its stderr
    /// when the SSH handshake over the stream fails).
    pub fn connect(
        &self,
        guest: SocketAddr,
        timeout: Duration,
    ) -> Result<(UnixStream, SocketChild)> {
        let (ours, theirs) = UnixStream::pair().context("cannot make a socket pair")?;
        ours.set_read_timeout(Some(timeout))?;
        let relay = self
            .relay(guest, timeout)
            .spawn_on_socket(theirs)
            .with_context(|| format!("cannot reach {guest} through {}", self.login))?;
        Ok((ours, relay))
    }
}

#[cfg(test)]
#[path = "jump_tests.rs"]
mod tests;
