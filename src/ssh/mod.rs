//! SSH to the lab's VMs: the per-lab key pair, the readiness probe (the lab
//! key is accepted AND cloud-init has finished), host key pinning into a
//! per-lab known_hosts, and running commands; the OpenSSH client's options
//! in [`openssh`]. `ssh2` calls block, so async
//! callers run them in `spawn_blocking`, one session per VM.

use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::process::Cmd;

pub mod jump;
pub mod openssh;
pub mod probe;
pub mod vagrant;
pub mod vagrant_keys;

pub use jump::Jump;
pub use probe::{ProbeState, Prober, Progress, probe, wait_ready};

/// Marker cloud-init writes when its final stage is done.
pub const BOOT_FINISHED: &str = "/var/lib/cloud/instance/boot-finished";

/// Create an ed25519 key pair at `path` (0600, its directory 0700) and
/// `path.pub` (0644) unless it exists; returns the public key line. An
/// existing pair is used only while it is still private: owned by this
/// user, the private key readable by nobody else and the public key
/// writable by nobody else (it is what the VMs are told to trust);
/// otherwise the error says why and what to do
/// ([`crate::files::check_key`]).
pub fn ensure_keypair(path: &Path, comment: &str) -> Result<String> {
    use crate::files::{self, PUBLIC_FILE};
    let pub_path = pub_key_path(path);
    // lstat, not stat: a symbolic link (even one pointing nowhere) is
    // found, and refused by check_key, never written through by ssh-keygen.
    if std::fs::symlink_metadata(path).is_ok() {
        files::check_key(path, 0o077, "the SSH key")?;
        files::check_key(&pub_path, 0o022, "the SSH public key")?;
    } else {
        if let Some(dir) = path.parent() {
            files::private_dir(dir)?;
        }
        // ssh-keygen opens both files by path and follows links: a public
        // key left without its private one (or a link there) goes first.
        match std::fs::remove_file(&pub_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", pub_path.display()));
            }
            _ => {}
        }
        // ssh-keygen writes the private key 0600 itself, the public one
        // with whatever the umask leaves.
        Cmd::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
            .arg(path)
            .run()?;
        files::set_mode(path, files::PRIVATE_FILE)?;
        files::set_mode(&pub_path, PUBLIC_FILE)?;
    }
    let text = crate::limits::read_to_string(&pub_path, crate::limits::OWN_JSON_FILE)?;
    Ok(text.trim().to_string())
}

/// `KEY.pub`.
pub fn pub_key_path(key: &Path) -> PathBuf {
    crate::paths::with_suffix(key, ".pub")
}

/// Where and how to log in to one VM.
#[derive(Debug, Clone)]
pub struct Target {
    pub ip: IpAddr,
    pub port: u16,
    pub user: String,
    pub key: PathBuf,
    /// A box imported from Vagrant: when the lab's key is refused, log in
    /// with Vagrant's insecure key to install it, and before calling the
    /// guest ready remove the insecure key everywhere ([`vagrant`]).
    pub vagrant_key: bool,
    /// The host's sshd the guest is reached through (the lab's host is
    /// another machine); `None`: directly.
    pub jump: Option<Jump>,
}

impl Target {
    /// `lab@127.0.0.1:PORT` with a key that does not exist: for tests of
    /// what happens before a login.
    #[cfg(test)]
    pub fn local_for_tests(port: u16) -> Target {
        Target {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            port,
            user: "lab".into(),
            key: "/nonexistent".into(),
            vagrant_key: false,
            jump: None,
        }
    }
}

/// A guest's SSH host key, as a known_hosts key (`TYPE BASE64`).
#[derive(Debug, Clone, PartialEq)]
pub struct HostKey {
    pub key_type: String,
    pub base64: String,
}

/// Open an SSH session and try the key; the session is returned even when
/// authentication was refused (check `authenticated()`).
/// Through [`Target::jump`] when it is set. `timeout` bounds the TCP
/// connect, the handshake and, later, each blocking call on the session.
pub fn connect(t: &Target, timeout: Duration) -> Result<ssh2::Session> {
    open(t, timeout, timeout).map_err(Failure::into_inner)
}

/// Why [`open`] failed: before an SSH server answered, or during the
/// handshake with one (the readiness probe backs off on the latter).
#[derive(Debug)]
pub enum Failure {
    /// No TCP connection (nothing listens yet, no route, timed out).
    Connect(anyhow::Error),
    /// Connected, but the SSH handshake failed or did not finish within
    /// its timeout.
    Handshake(anyhow::Error),
}

impl Failure {
    pub fn into_inner(self) -> anyhow::Error {
        match self {
            Failure::Connect(e) | Failure::Handshake(e) => e,
        }
    }
}

/// [`connect`] with its own timeouts: `connect_timeout` for the TCP
/// connection (through a jump host: for starting its relay), then
/// `handshake_timeout` for the SSH handshake and every later blocking call
/// on the session.
pub fn open(
    t: &Target,
    connect_timeout: Duration,
    handshake_timeout: Duration,
) -> Result<ssh2::Session, Failure> {
    let addr = SocketAddr::new(t.ip, t.port);
    let mut sess = ssh2::Session::new()
        .context("cannot create an SSH session")
        .map_err(Failure::Connect)?;
    let mut relay = None;
    match &t.jump {
        None => {
            let tcp = TcpStream::connect_timeout(&addr, connect_timeout)
                .with_context(|| format!("cannot connect to {addr}"))
                .map_err(Failure::Connect)?;
            tcp.set_read_timeout(Some(handshake_timeout))
                .map_err(|e| Failure::Connect(e.into()))?;
            sess.set_tcp_stream(tcp);
        }
        Some(jump) => {
            let (stream, child) = jump
                .connect(addr, connect_timeout)
                .map_err(Failure::Connect)?;
            sess.set_tcp_stream(stream);
            relay = Some(child);
        }
    }
    sess.set_timeout(handshake_timeout.as_millis().min(u32::MAX as u128) as u32);
    if let Err(e) = sess.handshake() {
        let err = anyhow::Error::new(e).context(format!("SSH handshake with {addr} failed"));
        return Err(Failure::Handshake(match (relay, &t.jump) {
            (Some(relay), Some(jump)) => {
                let why = relay.finish(Duration::from_secs(2));
                let why = if why.is_empty() {
                    "it printed nothing".into()
                } else {
                    why
                };
                err.context(format!(
                    "cannot reach {addr} through {} (`ssh -W`: {why}); check that `ssh {}` logs in without a prompt and that its sshd allows TCP forwarding",
                    jump.login, jump.login
                ))
            }
            _ => err,
        }));
    }
    let _ = sess.userauth_pubkey_file(&t.user, None, &t.key, None);
    Ok(sess)
}

/// Run a command in an authenticated session: (exit status, the first
/// [`crate::limits::MAX_LINE_BYTES`] of stdout; the rest is read and
/// dropped).
pub fn exec_on(sess: &ssh2::Session, command: &str) -> Result<(i32, String)> {
    let mut ch = sess.channel_session()?;
    ch.exec(command)?;
    let out = crate::limits::read_capped(&mut ch, crate::limits::MAX_LINE_BYTES)?;
    ch.wait_close()?;
    Ok((ch.exit_status()?, out))
}

/// The host key the server presented in this session.
pub fn host_key(sess: &ssh2::Session) -> Result<HostKey> {
    use base64::Engine;
    let Some((bytes, kind)) = sess.host_key() else {
        bail!("the server sent no host key");
    };
    let key_type = match kind {
        ssh2::HostKeyType::Ed25519 => "ssh-ed25519",
        ssh2::HostKeyType::Rsa => "ssh-rsa",
        ssh2::HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        ssh2::HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        ssh2::HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        _ => bail!("unsupported host key type"),
    };
    Ok(HostKey {
        key_type: key_type.to_string(),
        base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypair_is_generated_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_ed25519");
        let pub1 = ensure_keypair(&key, "lab@test").unwrap();
        assert!(pub1.starts_with("ssh-ed25519 "), "{pub1}");
        assert!(pub1.ends_with("lab@test"));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&pub_key_path(&key)), 0o644);
        assert_eq!(ensure_keypair(&key, "lab@test").unwrap(), pub1, "reused");
    }

    #[test]
    fn a_key_others_could_read_or_replace_is_refused_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_ed25519");
        ensure_keypair(&key, "lab@test").unwrap();
        let chmod = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        chmod(&key, 0o640);
        let msg = format!("{:#}", ensure_keypair(&key, "lab@test").unwrap_err());
        assert_eq!(
            msg,
            format!(
                "the SSH key {0} can be read by other users (mode 0640), so lab will not use it; if nobody else could have read it, run `chmod 600 {0}`, otherwise remove the lab with `lab destroy` and bring it up again (lab makes a new key)",
                key.display()
            )
        );
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o640,
            "left as found"
        );
        chmod(&key, 0o600);
        chmod(&pub_key_path(&key), 0o666);
        let msg = format!("{:#}", ensure_keypair(&key, "lab@test").unwrap_err());
        assert!(
            msg.contains("can be changed by other users (mode 0666)"),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("run `chmod 644 {}.pub`", key.display())),
            "{msg}"
        );
    }

    #[test]
    fn ssh_keygen_never_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_ed25519");
        // A link to where a file could be made: refused, nothing made.
        std::os::unix::fs::symlink(outside.path().join("made"), &key).unwrap();
        let msg = format!("{:#}", ensure_keypair(&key, "lab@test").unwrap_err());
        assert!(
            msg.contains("is a symbolic link, not a regular file"),
            "{msg}"
        );
        assert!(!outside.path().join("made").exists());
        // A public key left behind as a link: removed, not written through.
        std::fs::remove_file(&key).unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, pub_key_path(&key)).unwrap();
        ensure_keypair(&key, "lab@test").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!pub_key_path(&key).is_symlink());
    }
}
