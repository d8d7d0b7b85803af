//! The checks of this host, lab or not: libvirt and its socket, QEMU, KVM,
//! the storage pool and whether QEMU's user can reach it (the programs lab
//! runs are in [`super::tools`]). Each takes the facts [`super::probe`]
//! read and returns a [`Check`].

use std::path::PathBuf;

use super::Check;
use crate::backend::accel::{self, HostProbe};
use crate::backend::libvirt::{Facts, PoolInfo, SocketPlace};
use crate::backend::{Accel, BackendError, DENIED_FIX, NO_ANSWER_FIX, UNREACHABLE_FIX};
use crate::ops::names;
use crate::ops::up::choose_accel;
use crate::spec;

/// `libvirt`: the connection to `uri` (set by `from`) and its versions.
pub(super) fn libvirt(uri: &str, from: &str, conn: &Result<Facts, BackendError>) -> Check {
    const NAME: &str = "libvirt";
    match conn {
        Ok(f) => {
            let hv = f
                .hypervisor
                .as_deref()
                .map_or(String::new(), |v| format!(" {v}"));
            Check::pass(
                NAME,
                format!("{uri} ({from}), libvirt {}, {}{hv}", f.libvirt, f.driver),
            )
        }
        Err(BackendError::Unreachable { message, .. }) => Check::fail(
            NAME,
            format!("cannot reach {uri} ({from}): {message}"),
            if crate::backend::libvirt::is_remote(uri) {
                super::hosts::reach_fix("its server", uri)
            } else {
                UNREACHABLE_FIX.to_string()
            },
        ),
        Err(BackendError::PermissionDenied { message, .. }) => Check::fail(
            NAME,
            format!("{uri} ({from}) refused access: {message}"),
            DENIED_FIX,
        ),
        Err(BackendError::NoAnswer { seconds, .. }) => Check::fail(
            NAME,
            format!("{uri} ({from}) did not answer within {seconds} s"),
            NO_ANSWER_FIX,
        ),
        Err(e) => Check::fail(
            NAME,
            format!("{uri} ({from}): {e}"),
            "see libvirtd's log (journalctl -u libvirtd, or /var/log/libvirt/)",
        ),
    }
}

/// What is at the path of a libvirt socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SocketState {
    Missing,
    /// Something else than a socket.
    NotSocket,
    Present {
        /// Its permission bits, its owner and group.
        mode: u32,
        owner: String,
        group: String,
        /// Whether this process may write it (connecting needs that).
        writable: bool,
    },
}

/// A URI's socket and what is there; `who` names this process's user.
#[derive(Debug, Clone)]
pub(super) struct SocketProbe {
    pub place: SocketPlace,
    /// `None` when there is no local socket.
    pub state: Option<SocketState>,
    pub who: String,
}

/// `libvirt-socket`: whether this user may connect to the socket, and why
/// the connection failed when it did because of the socket.
pub(super) fn socket(probe: &SocketProbe, conn: &Result<Facts, BackendError>) -> Check {
    const NAME: &str = "libvirt-socket";
    let (path, state) = match (&probe.place, &probe.state) {
        (SocketPlace::None(why), _) => return Check::skip(NAME, why.clone()),
        (SocketPlace::Local(path), Some(state)) => (path.display(), state),
        (SocketPlace::Local(path), None) => {
            return Check::skip(NAME, format!("{} not examined", path.display()));
        }
    };
    let (mode, owner, group, writable) = match state {
        SocketState::Missing => {
            return match conn {
                Ok(_) => Check::pass(NAME, format!("{path} is absent, but libvirt answered")),
                Err(_) => Check::fail(
                    NAME,
                    format!("{path} does not exist: no libvirt daemon listens there"),
                    UNREACHABLE_FIX,
                ),
            };
        }
        SocketState::NotSocket => {
            return Check::fail(
                NAME,
                format!("{path} is not a socket"),
                "remove it and restart libvirtd",
            );
        }
        SocketState::Present {
            mode,
            owner,
            group,
            writable,
        } => (mode_text('s', *mode), owner, group, *writable),
    };
    let who = &probe.who;
    match conn {
        _ if !writable => Check::fail(
            NAME,
            format!("{who} may not connect to {path} ({mode} {owner}:{group}): permission denied"),
            format!(
                "run lab as root, or add your user to group `{group}` (`sudo usermod -aG {group} $USER`, then log in again)"
            ),
        ),
        Err(BackendError::PermissionDenied { message, .. }) => Check::fail(
            NAME,
            format!("libvirt refused {who} on {path} ({mode} {owner}:{group}): {message}"),
            DENIED_FIX,
        ),
        Err(BackendError::NoAnswer { seconds, .. }) => Check::fail(
            NAME,
            format!("{path} takes connections, but nothing answers on it within {seconds} s"),
            NO_ANSWER_FIX,
        ),
        Err(BackendError::Unreachable { .. }) => Check::fail(
            NAME,
            format!(
                "{path} exists but no daemon listens on it (left behind by a libvirtd that stopped?)"
            ),
            UNREACHABLE_FIX,
        ),
        _ => Check::pass(
            NAME,
            format!("{path} ({mode} {owner}:{group}), {who} may connect"),
        ),
    }
}

/// `qemu`: the emulator libvirt reports for x86_64 guests (its QEMU
/// driver), else `qemu-system-x86_64` as found on `PATH` (`on_path`).
pub(super) fn qemu(facts: Option<&Facts>, on_path: Option<PathBuf>) -> Check {
    const NAME: &str = "qemu";
    if let Some(f) = facts.filter(|f| f.driver == "QEMU") {
        let version = f
            .hypervisor
            .as_deref()
            .map_or(String::new(), |v| format!("QEMU {v}, "));
        return match &f.emulator {
            Some(p) => Check::pass(
                NAME,
                format!("{} ({version}as libvirt reports)", p.display()),
            ),
            None => Check::fail(
                NAME,
                "libvirt's QEMU driver offers no x86_64 guests: qemu-system-x86_64 is missing or does not run",
                "install it (apt-get install qemu-system-x86), then restart libvirtd",
            ),
        };
    }
    let why = match facts {
        Some(f) => format!("libvirt's {} driver runs no QEMU", f.driver),
        None => "libvirt not asked".to_string(),
    };
    match on_path {
        Some(p) => Check::pass(NAME, format!("{} (found on PATH; {why})", p.display())),
        None => Check::fail(
            NAME,
            format!("qemu-system-x86_64 is not installed ({why})"),
            "install it: apt-get install qemu-system-x86",
        ),
    }
}

/// `kvm`: the accelerator `lab up` would pick for the lab's `accel:`
/// (`auto` without a lab) on the host `probe` describes, and why.
pub(super) fn kvm(wanted: Option<spec::Accel>, probe: &HostProbe) -> Check {
    const NAME: &str = "kvm";
    let wanted = wanted.unwrap_or_default();
    let fix = if accel::virt_flag(&probe.cpuinfo).is_none() {
        "run on a host whose CPU offers VT-x/AMD-V to its guests (firmware setting; on a cloud VM, nested virtualisation)"
    } else {
        "let this user open /dev/kvm read-write (add it to group `kvm`, then log in again), or run lab as root"
    };
    match choose_accel(wanted, || accel::decide(probe)) {
        Err(e) => Check::fail(NAME, e.to_string(), fix),
        Ok((Accel::Kvm, why)) => Check::pass(NAME, format!("KVM: {why}")),
        Ok((Accel::Tcg, why)) if wanted == spec::Accel::Tcg => {
            Check::pass(NAME, format!("TCG: {why}"))
        }
        Ok((Accel::Tcg, why)) => Check::warn(
            NAME,
            format!("TCG (software emulation, many times slower than KVM): {why}"),
            format!("{fix}; the lab works under TCG, only slower"),
        ),
    }
}

/// One directory on the way to the pool, as `stat` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Dir {
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub owner: String,
    pub group: String,
}

/// A user's ids: who QEMU runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct User {
    pub name: String,
    pub uid: u32,
    /// Its primary group and every supplementary one.
    pub gids: Vec<u32>,
}

/// The first of `dirs` (each ancestor of the pool directory that exists,
/// from `/` down, then the directory itself) that `user` cannot search
/// (no `x` bit for it as owner, group member or other; root searches
/// everything). POSIX ACLs are not read.
pub(super) fn first_unsearchable<'a>(user: &User, dirs: &'a [Dir]) -> Option<&'a Dir> {
    dirs.iter().find(|d| {
        let bit = if user.uid == 0 {
            return false;
        } else if d.uid == user.uid {
            0o100
        } else if user.gids.contains(&d.gid) {
            0o010
        } else {
            0o001
        };
        d.mode & bit == 0
    })
}

/// Whether QEMU can reach the pool directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Access {
    /// Not checked: why.
    NotChecked(String),
    Reaches(String),
    Blocked {
        user: String,
        dir: Dir,
    },
}

/// The pool directory, what libvirt has (outer `None`: not asked; inner:
/// no such pool) and whether QEMU can reach it.
#[derive(Debug, Clone)]
pub(super) struct PoolProbe {
    pub dir: PathBuf,
    pub libvirt: Option<Option<PoolInfo>>,
    pub access: Access,
}

/// `pool`: the storage pool `lab`, where it is and whether QEMU's user
/// can reach it (every directory on the way searchable). SKIP when libvirt
/// was not reached (the pool was not looked up), unless QEMU's user
/// cannot reach the directory (FAIL).
pub(super) fn pool(p: &PoolProbe) -> Check {
    const NAME: &str = "pool";
    let (pool, dir) = (names::POOL, p.dir.display());
    let state = match &p.libvirt {
        Some(Some(PoolInfo {
            path: Some(there), ..
        })) if *there != p.dir => {
            return Check::fail(
                NAME,
                format!(
                    "storage pool `{pool}` is at {}, but lab uses {dir}",
                    there.display()
                ),
                format!(
                    "set LAB_POOL_DIR={}, or remove the pool (virsh pool-destroy {pool}; virsh pool-undefine {pool}) so that lab up makes it at {dir}",
                    there.display()
                ),
            );
        }
        Some(Some(info)) if info.active => format!("`{pool}` at {dir}"),
        Some(Some(_)) => format!("`{pool}` at {dir} (inactive: lab up starts it)"),
        Some(None) => format!("`{pool}` does not exist yet: lab up makes it at {dir}"),
        None => format!(
            "`{pool}` at {dir} not looked up: libvirt not reachable (see the libvirt check)"
        ),
    };
    // Without libvirt's answer the pool was not checked: SKIP, unless
    // QEMU's user is known not to reach its directory.
    let verdict = match p.libvirt {
        Some(_) => Check::pass,
        None => Check::skip,
    };
    match &p.access {
        Access::NotChecked(why) => verdict(NAME, format!("{state}; {why}")),
        Access::Reaches(user) => verdict(NAME, format!("{state}; QEMU's user {user} can reach it")),
        Access::Blocked { user, dir: d } => Check::fail(
            NAME,
            format!(
                "{state}; but QEMU runs as {user}, who cannot enter {} ({} {}:{})",
                d.path.display(),
                mode_text('d', d.mode),
                d.owner,
                d.group
            ),
            format!(
                "set LAB_POOL_DIR to a directory {user} can reach (the default is {}), or `chmod o+x {}`",
                names::DEFAULT_POOL_DIR,
                d.path.display()
            ),
        ),
    }
}

/// `ls -l`-style permission bits, e.g. `drwx--x--x`, `srw-rw----`.
pub(super) fn mode_text(kind: char, mode: u32) -> String {
    let mut s = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}
