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

/// What a proxy is asked: an absolute-URI `HEAD` as a client of an HTTP
/// proxy sends it (RFC 9112 §3.2.2); any proxy answers it with a status
/// line, even when it cannot reach the upstream (then 502 or 503).
const PROXY_REQUEST: &[u8] =
    b"HEAD http://deb.debian.org/debian/ HTTP/1.0\r\nHost: deb.debian.org\r\n\r\n";

/// Ask the HTTP proxy at `host`:`port` for a page, all within `limit`
/// (the name lookup included): its status line, e.g. `HTTP/1.0 200 OK`;
/// else what went wrong: no connection, no answer, or an answer that is
/// not HTTP (its start is quoted).
pub(super) fn http_proxy(host: &str, port: u16, limit: Duration) -> Result<String, String> {
    let target = format!("{host}:{port}");
    let shown = target.clone();
    let host = host.to_string();
    let secs = limit.as_secs_f64().ceil();
    bounded(limit, move || {
        let addrs: Vec<_> = target
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        let mut last = format!("{host} has no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, limit) {
                Ok(stream) => return ask(stream, limit),
                Err(e) => last = format!("connecting to {addr}: {e}"),
            }
        }
        Err(last)
    })
    .unwrap_or_else(|| Err(format!("no HTTP answer from {shown} within {secs} s")))
}

/// Send [`PROXY_REQUEST`] on `stream` and read its status line.
fn ask(mut stream: TcpStream, limit: Duration) -> Result<String, String> {
    use std::io::{Read, Write};
    let secs = limit.as_secs_f64().ceil();
    let _ = stream.set_read_timeout(Some(limit));
    let _ = stream.set_write_timeout(Some(limit));
    stream
        .write_all(PROXY_REQUEST)
        .map_err(|e| format!("the connection took no request: {e}"))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.contains(&b'\n') && got.len() < 512 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if got.is_empty() {
                    return Err(format!(
                        "it took the connection but sent no HTTP answer within {secs} s"
                    ));
                }
                break;
            }
            Err(e) => return Err(format!("reading its answer: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&got);
    let line = text.lines().next().unwrap_or("").trim_end();
    if is_status_line(line) {
        return Ok(line.to_string());
    }
    if got.is_empty() {
        return Err("it closed the connection without an answer".to_string());
    }
    let start: String = line.chars().take(60).collect();
    Err(format!("its answer is not HTTP: {start:?}"))
}

/// `HTTP/1.x NNN ...`: an HTTP status line (RFC 9112 §4).
fn is_status_line(line: &str) -> bool {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    version.starts_with("HTTP/") && code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit())
}

/// A user by name, with its groups.
fn user_by_name(name: &str) -> Option<User> {
    crate::paths::passwd::by_name(name).map(with_groups)
}

/// A user by id, with its groups.
fn user_by_uid(uid: u32) -> Option<User> {
    crate::paths::passwd::by_uid(uid).map(with_groups)
}

fn with_groups(e: crate::paths::passwd::Entry) -> User {
    let gids = groups_of(&e.name, e.gid);
    User {
        name: e.name,
        uid: e.uid,
        gids,
    }
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
    crate::paths::passwd::by_uid(uid).map_or_else(|| uid.to_string(), |e| e.name)
}

/// A group id's name, else the number.
fn group_name(gid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; crate::paths::passwd::NSS_BUF];
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
    fn local_addresses_and_proxies() {
        use std::io::{Read, Write};
        assert!(address_is_here(Ipv4Addr::LOCALHOST));
        // TEST-NET-1 (RFC 5737) is never an address of a host.
        assert!(!address_is_here(Ipv4Addr::new(192, 0, 2, 1)));
        let limit = Duration::from_secs(2);
        // A server that answers each connection with `answer` (None: never).
        let serve = |answer: Option<&'static [u8]>| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            std::thread::spawn(move || {
                for mut conn in listener.incoming().flatten() {
                    let mut req = [0u8; 256];
                    let n = conn.read(&mut req).unwrap_or(0);
                    assert!(
                        req[..n].starts_with(b"HEAD http://"),
                        "an absolute-URI request"
                    );
                    match answer {
                        Some(a) => {
                            let _ = conn.write_all(a);
                        }
                        None => std::thread::sleep(Duration::from_secs(5)),
                    }
                }
            });
            port
        };
        let port = serve(Some(b"HTTP/1.0 503 Service Unavailable\r\n\r\n"));
        assert_eq!(
            http_proxy("127.0.0.1", port, limit).unwrap(),
            "HTTP/1.0 503 Service Unavailable"
        );
        let port = serve(None);
        let err = http_proxy("127.0.0.1", port, limit).unwrap_err();
        assert!(err.contains("no HTTP answer"), "{err}");
        let port = serve(Some(b"SSH-2.0-OpenSSH_9.2\r\n"));
        let err = http_proxy("127.0.0.1", port, limit).unwrap_err();
        assert!(
            err.contains("its answer is not HTTP: \"SSH-2.0-OpenSSH_9.2\""),
            "{err}"
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = http_proxy("127.0.0.1", port, limit).unwrap_err();
        assert!(err.contains("refused"), "{err}");
    }
}
