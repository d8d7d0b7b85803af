//! Reading this host into the plain facts the checks judge: what is at a
//! libvirt socket, the pool directory's ancestors and QEMU's user, which
//! programs are installed, whether an address is local, a TCP connection.
//! Users and groups are looked up through the C library (NSS), as
//! libvirt itself does.

use std::ffi::{CStr, CString};
use std::net::{Ipv4Addr, TcpStream, ToSocketAddrs};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::bounded;
use super::host::{Access, Dir, PoolProbe, SocketProbe, SocketState, User};
use super::tools::ToolsProbe;
use crate::backend::libvirt::{self, Facts, SocketPlace};
use crate::ops::names;
use crate::ops::up::ToolNeeds;

/// The socket `uri` connects to and what is there.
pub(super) fn socket(uri: &str) -> SocketProbe {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let place = libvirt::socket_of(uri, runtime.as_deref(), &|p| p.exists());
    let state = match &place {
        SocketPlace::Local(path) => Some(match std::fs::metadata(path) {
            Err(_) => SocketState::Missing,
            Ok(m) if !m.file_type().is_socket() => SocketState::NotSocket,
            Ok(m) => SocketState::Present {
                mode: m.mode() & 0o7777,
                owner: user_name(m.uid()),
                group: group_name(m.gid()),
                writable: may_write(path),
            },
        }),
        SocketPlace::None(_) => None,
    };
    // SAFETY: geteuid(2) cannot fail.
    let uid = unsafe { libc::geteuid() };
    SocketProbe {
        place,
        state,
        who: format!("{} (uid {uid})", user_name(uid)),
    }
}

/// Whether this process may write `path` (connecting to a socket needs it).
fn may_write(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path; faccessat(2) only checks.
    unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 }
}

/// The pool directory (absolute), libvirt's pool, and QEMU's access.
pub(super) fn pool(uri: &str, facts: Option<&Facts>) -> PoolProbe {
    let dir = names::pool_dir();
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    PoolProbe {
        libvirt: facts.map(|f| f.pool.clone()),
        access: qemu_access(uri, facts, &dir),
        dir,
    }
}

fn qemu_access(uri: &str, facts: Option<&Facts>, dir: &Path) -> Access {
    if let Some(f) = facts.filter(|f| f.driver != "QEMU") {
        return Access::NotChecked(format!("libvirt's {} driver runs no QEMU", f.driver));
    }
    let user = match libvirt::socket_of(uri, None, &|p| p.exists()) {
        SocketPlace::None(why) if !uri.contains("/session") => {
            return Access::NotChecked(format!("QEMU's access not checked: {why}"));
        }
        // A session daemon runs QEMU as the user who runs lab.
        // SAFETY: geteuid(2) cannot fail.
        _ if uri.contains("/session") => user_by_uid(unsafe { libc::geteuid() }),
        _ => {
            let conf = read_conf(Path::new(libvirt::QEMU_CONF));
            match libvirt::qemu_user(conf.as_deref(), &|name| user_by_name(name).is_some()) {
                Some(name) => match name.strip_prefix('+') {
                    Some(uid) => uid.parse().ok().and_then(user_by_uid),
                    None => user_by_name(&name),
                },
                None => None,
            }
        }
    };
    let Some(user) = user else {
        return Access::NotChecked(format!(
            "cannot tell which user QEMU runs as (no `user` readable in {}, no libvirt-qemu or qemu user)",
            libvirt::QEMU_CONF
        ));
    };
    let dirs = dirs_to(dir);
    match super::host::first_unsearchable(&user, &dirs) {
        Some(d) => Access::Blocked {
            user: user.name,
            dir: d.clone(),
        },
        None => Access::Reaches(user.name),
    }
}

/// `qemu.conf`'s text; `None` when it cannot be read (it is often
/// readable by root only). Only a regular file is read, at most 1 MiB.
fn read_conf(path: &Path) -> Option<String> {
    let file = crate::limits::open_regular(path).ok()?;
    crate::limits::read_capped(file, 1 << 20).ok()
}

/// Every directory from `/` down to `dir` that exists, as `stat` gives it.
fn dirs_to(dir: &Path) -> Vec<Dir> {
    let mut ancestors: Vec<&Path> = dir.ancestors().collect();
    ancestors.reverse();
    ancestors
        .into_iter()
        .map_while(|p| {
            let m = std::fs::metadata(p).ok().filter(|m| m.is_dir())?;
            Some(Dir {
                path: p.to_path_buf(),
                uid: m.uid(),
                gid: m.gid(),
                mode: m.mode() & 0o7777,
                owner: user_name(m.uid()),
                group: group_name(m.gid()),
            })
        })
        .collect()
}

/// What the tool checks need: the lab's needs, missing build programs,
/// root or not, and where the other programs are.
pub(super) fn tools(needs: Option<&ToolNeeds>) -> ToolsProbe<'_> {
    ToolsProbe {
        needs,
        missing_build: crate::boxes::build::missing_tools(),
        root: crate::boxes::build::is_root(),
        found: ["ssh-keygen", "ssh", "ansible-playbook"]
            .into_iter()
            .map(|p| (p, crate::process::find_program(p)))
            .collect(),
    }
}

/// Whether `ip` is an address of this host (in this network namespace):
/// only a local address can be bound.
pub(super) fn address_is_here(ip: Ipv4Addr) -> bool {
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// Open (and close) a TCP connection to `host`:`port` within `limit`
/// (the name lookup included), or say why not.
pub(super) fn tcp_connect(host: &str, port: u16, limit: Duration) -> Result<(), String> {
    let target = format!("{host}:{port}");
    let shown = target.clone();
    let host = host.to_string();
    bounded(limit, move || {
        let addrs: Vec<_> = target
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let mut last = format!("{host} has no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, limit) {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("connecting to {addr}: {e}"),
            }
        }
        Err(last)
    })
    .unwrap_or_else(|| {
        Err(format!(
            "no answer from {shown} within {} s",
            limit.as_secs_f64().ceil()
        ))
    })
}

/// Room for the strings of one passwd or group entry.
const NSS_BUF: usize = 16 << 10;

/// A user by name, with its groups.
fn user_by_name(name: &str) -> Option<User> {
    let c = CString::new(name).ok()?;
    passwd(&|pwd, buf: &mut [libc::c_char], out| {
        // SAFETY: valid pointers; buf.len() bytes of buffer.
        unsafe { libc::getpwnam_r(c.as_ptr(), pwd, buf.as_mut_ptr(), buf.len(), out) }
    })
}

/// A user by id, with its groups.
fn user_by_uid(uid: u32) -> Option<User> {
    passwd(&|pwd, buf: &mut [libc::c_char], out| {
        // SAFETY: valid pointers; buf.len() bytes of buffer.
        unsafe { libc::getpwuid_r(uid, pwd, buf.as_mut_ptr(), buf.len(), out) }
    })
}

type PasswdLookup<'a> =
    dyn Fn(*mut libc::passwd, &mut [libc::c_char], *mut *mut libc::passwd) -> libc::c_int + 'a;

fn passwd(lookup: &PasswdLookup) -> Option<User> {
    let mut buf = vec![0 as libc::c_char; NSS_BUF];
    // SAFETY: an all-zero passwd is a valid value to be overwritten.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    if lookup(&mut pwd, &mut buf, &mut out) != 0 || out.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points to a NUL-terminated string in buf.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    let gids = groups_of(&name, pwd.pw_gid);
    Some(User {
        name,
        uid: pwd.pw_uid,
        gids,
    })
}

/// `name`'s primary group `gid` and its supplementary groups.
fn groups_of(name: &str, gid: u32) -> Vec<u32> {
    let Ok(c) = CString::new(name) else {
        return vec![gid];
    };
    let mut n: libc::c_int = 64;
    loop {
        let mut groups = vec![0 as libc::gid_t; n as usize];
        let mut count = n;
        // SAFETY: groups holds `count` entries; getgrouplist(3) writes at
        // most that many and sets `count` to the number it has.
        let rc = unsafe { libc::getgrouplist(c.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(count.max(0) as usize);
            return groups;
        }
        if count <= n || n > 65536 {
            return vec![gid];
        }
        n = count;
    }
}

/// A user id's name, else the number.
fn user_name(uid: u32) -> String {
    user_by_uid(uid).map_or_else(|| uid.to_string(), |u| u.name)
}

/// A group id's name, else the number.
fn group_name(gid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; NSS_BUF];
    // SAFETY: an all-zero group is a valid value to be overwritten.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::group = std::ptr::null_mut();
    // SAFETY: valid pointers; buf.len() bytes of buffer.
    let rc = unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() {
        return gid.to_string();
    }
    // SAFETY: on success gr_name points to a NUL-terminated string in buf.
    unsafe { CStr::from_ptr(grp.gr_name) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_its_groups_are_found() {
        let root = user_by_name("root").expect("every system has root");
        assert_eq!(root.uid, 0);
        assert!(root.gids.contains(&0), "{root:?}");
        assert_eq!(user_by_uid(0).unwrap().name, "root");
        assert_eq!(user_name(0), "root");
        assert_eq!(group_name(0), "root");
        assert_eq!(user_name(4_000_000_000), "4000000000");
        assert!(user_by_name("no-such-user-of-lab").is_none());
    }

    #[test]
    fn directories_down_to_the_first_missing_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dirs = dirs_to(&tmp.path().join("not/yet"));
        assert_eq!(dirs.first().unwrap().path, Path::new("/"));
        assert_eq!(dirs.last().unwrap().path, tmp.path());
    }

    #[test]
    fn local_addresses_and_connections() {
        assert!(address_is_here(Ipv4Addr::LOCALHOST));
        // TEST-NET-1 (RFC 5737) is never an address of a host.
        assert!(!address_is_here(Ipv4Addr::new(192, 0, 2, 1)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        tcp_connect("127.0.0.1", port, Duration::from_secs(5)).unwrap();
        drop(listener);
        let err = tcp_connect("127.0.0.1", port, Duration::from_secs(5)).unwrap_err();
        assert!(err.contains("refused"), "{err}");
    }
}
