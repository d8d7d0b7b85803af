//! The OpenSSH client options `lab` logs in with, in one place: the key,
//! the pinned known_hosts with `StrictHostKeyChecking yes`,
//! `IdentitiesOnly yes` and `LogLevel ERROR`, and `ProxyJump USER@HOST`
//! when the lab's host is another machine (ssh(1) then logs in to that
//! host as the user's own ssh config says: these options are for the
//! guest only). `lab ssh` gives them as
//! `-o` arguments, `lab ssh-config` as ssh_config lines, and Ansible (on
//! the host or on the controller node) through `ansible_ssh_common_args`.
//! Also the known_hosts text those options point at.
//!
//! Quoting follows OpenSSH 9.2 (Debian 12): an `-o` value and the rest of
//! an ssh_config line are split into words by `argv_split` (misc.c):
//! double quotes group, and inside them `\"` and `\\` are the only escapes;
//! `#` outside quotes starts a comment. IdentityFile and UserKnownHostsFile
//! then undergo `%` token expansion (`%%` is a literal `%`) and `${NAME}`
//! environment expansion (no escape: such paths are refused, see
//! [`crate::paths::check_for_programs`]). `-i FILE` is not used: ssh checks
//! that FILE exists before expanding `%` in it, so a path with `%` could
//! pass one step and fail the other.

use std::path::Path;

use anyhow::Result;

use crate::state::State;

/// Where the key and known_hosts are, as the machine running `ssh` sees
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    identity_file: String,
    known_hosts: String,
    /// `USER@ADDRESS` for ProxyJump (checked: [`crate::names::ssh_login`]).
    jump: Option<String>,
}

/// One option's value: a path (quoted, `%` doubled) or a word written
/// as it is (fixed, or checked to be safe as it is).
enum Value<'a> {
    Path(&'a str),
    Word(&'a str),
}

impl ClientOptions {
    /// Options for the private key `identity_file` and the known_hosts
    /// file `known_hosts`. An error names a path OpenSSH cannot be given
    /// (not UTF-8, a control character, `${`).
    pub fn new(identity_file: &Path, known_hosts: &Path) -> Result<ClientOptions> {
        let text = |what: &str, p: &Path| -> Result<String> {
            crate::paths::check_for_programs(what, p)?;
            Ok(p.to_str().expect("checked: UTF-8").to_string())
        };
        Ok(ClientOptions {
            identity_file: text("the SSH key path", identity_file)?,
            known_hosts: text("the known_hosts path", known_hosts)?,
            jump: None,
        })
    }

    /// These options reaching the guest through the sshd at `jump`
    /// (`USER@ADDRESS`, OpenSSH's ProxyJump), or directly when `None`.
    /// An error says why `jump` is not a login ssh can be given
    /// ([`crate::names::ssh_login`]).
    pub fn through(mut self, jump: Option<&str>) -> Result<ClientOptions> {
        if let Some(jump) = jump
            && let Err(why) = crate::names::ssh_login(jump)
        {
            anyhow::bail!(
                "the host login {} {why}; lab records only such logins, so check where it came from",
                crate::names::quoted(jump)
            );
        }
        self.jump = jump.map(str::to_owned);
        Ok(self)
    }

    /// The lab's own key and pinned known_hosts in its state directory.
    /// Either is refused (when it exists) if it may no longer be only
    /// the lab's ([`crate::files::check_private`]): a key others may read,
    /// pinned host keys others may have changed.
    pub fn for_lab(sd: &crate::state::StateDir) -> Result<ClientOptions> {
        let again = "remove the lab with `lab destroy` and bring it up again (lab makes a new key and pins the host keys anew)";
        crate::files::check_private(&sd.ssh_key(), 0o077, "the SSH key", again)?;
        crate::files::check_private(&sd.known_hosts(), 0o022, "the pinned host keys", again)?;
        ClientOptions::new(&sd.ssh_key(), &sd.known_hosts())
    }

    fn entries(&self) -> Vec<(&'static str, Value<'_>)> {
        let mut entries = vec![
            ("IdentityFile", Value::Path(&self.identity_file)),
            ("UserKnownHostsFile", Value::Path(&self.known_hosts)),
            ("StrictHostKeyChecking", Value::Word("yes")),
            ("IdentitiesOnly", Value::Word("yes")),
            ("LogLevel", Value::Word("ERROR")),
            // A guest under emulation can take many seconds to answer; one
            // that is paused or hung (a killed snapshot save) must still
            // end the login or the session instead of hanging: no answer
            // to 4 keepalives 30 s apart ends it.
            ("ConnectTimeout", Value::Word("30")),
            ("ServerAliveInterval", Value::Word("30")),
            ("ServerAliveCountMax", Value::Word("4")),
        ];
        if let Some(jump) = &self.jump {
            entries.push(("ProxyJump", Value::Word(jump)));
        }
        entries
    }

    /// `-o Keyword=VALUE` pairs for ssh's command line (each a separate
    /// argument; no shell involved).
    pub fn args(&self) -> Vec<String> {
        self.entries()
            .iter()
            .flat_map(|(k, v)| ["-o".to_string(), format!("{k}={}", render(v))])
            .collect()
    }

    /// ssh_config(5) lines, `Keyword VALUE`, without indentation.
    pub fn config_lines(&self) -> Vec<String> {
        self.entries()
            .iter()
            .map(|(k, v)| format!("{k} {}", render(v)))
            .collect()
    }

    /// A `Host ALIAS` block logging in to `user@hostname`, ending with an
    /// empty line. Each of the three must be one plain word ([`plain`]):
    /// a value that could end the line or add a keyword
    /// (`lab\nProxyCommand ...`) is refused, never written.
    pub fn host_block(&self, alias: &str, hostname: &str, user: &str) -> Result<String> {
        for (keyword, value) in [("Host", alias), ("HostName", hostname), ("User", user)] {
            if !plain(value) {
                anyhow::bail!(
                    "{keyword} {value:?} cannot be written into an ssh_config block (one word of letters, digits, '.', '_', ':' and '-' is); lab writes only such values, so check where it came from"
                );
            }
        }
        let mut out = format!("Host {alias}\n  HostName {hostname}\n  User {user}\n");
        for line in self.config_lines() {
            out.push_str(&format!("  {line}\n"));
        }
        out.push('\n');
        Ok(out)
    }
}

/// A word ssh(1) and ssh_config(5) take as it is: not empty, only ASCII
/// letters, digits, `.`, `_`, `:` and `-`, and not starting with `-` (an
/// option). Node names, IPv4 addresses and login names are such words.
pub fn plain(word: &str) -> bool {
    !word.is_empty()
        && !word.starts_with('-')
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(&b))
}

/// The end of an ssh(1) command line that logs in as `user` to `host`:
/// `-l USER -- HOST`. The user is an argument of its own and `--` ends the
/// options, so whatever either holds, ssh never takes it for an option
/// (`USER@HOST` with a user `-oProxyCommand=...` was one); a command to
/// run may follow. Both are also checked when the state is read.
pub fn login(user: &str, host: &str) -> [String; 4] {
    ["-l".into(), user.into(), "--".into(), host.into()]
}

fn render(v: &Value<'_>) -> String {
    match v {
        Value::Path(p) => quote_path(p),
        Value::Word(w) => w.to_string(),
    }
}

/// A path as one OpenSSH word for a keyword with `%` expansion:
/// double-quoted, `\` and `"` escaped, `%` doubled.
pub fn quote_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 2);
    out.push('"');
    for c in path.chars() {
        match c {
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// known_hosts text (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT") pinning each
/// node's recorded host key under its address, its name and, with a lab
/// domain, `NAME.DOMAIN`: `IP,NAME[,NAME.DOMAIN] TYPE BASE64`, one line per
/// node that has a key, in name order. The host's and the controller's
/// copies are both this text.
pub fn known_hosts(st: &State, domain: Option<&str>) -> String {
    let mut text = String::new();
    for (name, ns) in &st.nodes {
        let Some(key) = &ns.host_key else { continue };
        let mut names = vec![ns.ip.clone(), name.clone()];
        if let Some(d) = domain {
            names.push(format!("{name}.{d}"));
        }
        text.push_str(&format!("{} {key}\n", names.join(",")));
    }
    text
}

#[cfg(test)]
#[path = "openssh_tests.rs"]
mod tests;
