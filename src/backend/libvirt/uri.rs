//! Which libvirt URI lab uses (<https://libvirt.org/uri.html>), and where
//! the daemon of a URI listens on this machine.

use std::path::{Path, PathBuf};

/// Environment variable that overrides the libvirt URI of every lab.
pub const URI_ENV: &str = "LAB_LIBVIRT_URI";
/// The URI used when neither the environment nor the lab file names one.
pub const DEFAULT_URI: &str = "qemu:///system";

/// The libvirt URI to use: `$LAB_LIBVIRT_URI` if set and not empty, else
/// the lab file's value, else `qemu:///system`.
pub fn resolve_uri(lab_value: Option<&str>) -> String {
    resolve_uri_from(lab_value).0
}

/// Whether `uri` names libvirt on another machine: a server after its
/// `://` (`qemu+ssh://user@server/system`), not `qemu:///system` or
/// `test:///default` (<https://libvirt.org/uri.html>).
pub fn is_remote(uri: &str) -> bool {
    uri.split_once("://")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'))
}

/// [`resolve_uri_from`]'s word for a URI the lab file set.
pub const FROM_LAB_FILE: &str = "the lab file";

/// [`resolve_uri`], and where the URI came from: `LAB_LIBVIRT_URI`, `the
/// lab file` or `default`.
pub fn resolve_uri_from(lab_value: Option<&str>) -> (String, &'static str) {
    pick_uri(std::env::var(URI_ENV).ok().as_deref(), lab_value)
}

fn pick_uri(env: Option<&str>, lab_value: Option<&str>) -> (String, &'static str) {
    let set = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    if let Some(uri) = set(env) {
        (uri, URI_ENV)
    } else if let Some(uri) = set(lab_value) {
        (uri, FROM_LAB_FILE)
    } else {
        (DEFAULT_URI.to_string(), "default")
    }
}

/// Where the `qemu:///system` daemons put their sockets (Debian's
/// `--localstatedir`; `/var/run` is a link to `/run`).
const SYSTEM_SOCKET_DIR: &str = "/run/libvirt";

/// Where a URI's daemon listens on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketPlace {
    /// This Unix socket.
    Local(PathBuf),
    /// No local socket; why not (a remote URI, a driver inside lab).
    None(String),
}

/// The Unix socket a libvirt URI (<https://libvirt.org/uri.html>) connects
/// to: its `socket=` parameter, else for `DRIVER:///system` the
/// monolithic daemon's `/run/libvirt/libvirt-sock` or, when only that
/// exists, the modular one's (`virtqemud-sock` for `qemu`), and for
/// `DRIVER:///session` the same names in `runtime_dir/libvirt`
/// (`$XDG_RUNTIME_DIR`). `exists` says whether a path exists.
pub fn socket_of(
    uri: &str,
    runtime_dir: Option<&Path>,
    exists: &dyn Fn(&Path) -> bool,
) -> SocketPlace {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return SocketPlace::None(format!("`{uri}` is not a libvirt URI (DRIVER://...)"));
    };
    let (driver, transport) = match scheme.split_once('+') {
        Some((d, t)) => (d, Some(t)),
        None => (scheme, None),
    };
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = before_query
        .find('/')
        .map_or((before_query, ""), |i| before_query.split_at(i));
    if let Some(t) = transport.filter(|t| *t != "unix") {
        return SocketPlace::None(format!("`{uri}` connects over {t}, not a local socket"));
    }
    if transport.is_none() && !host.is_empty() {
        return SocketPlace::None(format!("`{uri}` names the remote host {host}"));
    }
    if transport.is_none() && driver == "test" {
        return SocketPlace::None(format!("`{uri}` runs inside lab, without a daemon"));
    }
    if let Some(socket) = query.split('&').find_map(|kv| kv.strip_prefix("socket=")) {
        return SocketPlace::Local(PathBuf::from(socket));
    }
    let dir = match path.trim_end_matches('/') {
        "/system" => PathBuf::from(SYSTEM_SOCKET_DIR),
        "/session" => match runtime_dir {
            Some(d) => d.join("libvirt"),
            None => {
                return SocketPlace::None(format!(
                    "`{uri}`'s socket is in $XDG_RUNTIME_DIR, which is not set"
                ));
            }
        },
        _ => return SocketPlace::None(format!("`{uri}` names no daemon lab knows the socket of")),
    };
    let monolithic = dir.join("libvirt-sock");
    let modular = dir.join(format!("virt{driver}d-sock"));
    if !exists(&monolithic) && exists(&modular) {
        SocketPlace::Local(modular)
    } else {
        SocketPlace::Local(monolithic)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn remote_uris_name_a_server() {
        for uri in [
            "qemu+ssh://root@server/system",
            "qemu://server/system",
            "qemu+tls://10.0.0.2/system",
        ] {
            assert!(is_remote(uri), "{uri}");
        }
        for uri in [
            "qemu:///system",
            "qemu+unix:///system?socket=/x.sock",
            "test:///default",
            "",
        ] {
            assert!(!is_remote(uri), "{uri}");
        }
    }

    #[test]
    fn uri_env_beats_lab_file_beats_default() {
        let pick = |env, lab| pick_uri(env, lab).0;
        assert_eq!(
            pick(Some("test:///default"), Some("qemu:///session")),
            "test:///default"
        );
        assert_eq!(pick(None, Some("qemu:///session")), "qemu:///session");
        assert_eq!(pick(Some("  "), None), DEFAULT_URI);
        assert_eq!(pick(None, None), "qemu:///system");
        assert_eq!(pick_uri(Some(" test:///default "), None).1, URI_ENV);
        assert_eq!(
            pick_uri(Some(""), Some("qemu:///session")).1,
            "the lab file"
        );
        assert_eq!(pick_uri(None, Some(" ")).1, "default");
    }

    fn sock(path: &str) -> SocketPlace {
        SocketPlace::Local(PathBuf::from(path))
    }

    #[test]
    fn sockets_of_uris() {
        let none = |_: &Path| false;
        let at = |uri| socket_of(uri, Some(Path::new("/run/user/1000")), &none);
        assert_eq!(at("qemu:///system"), sock("/run/libvirt/libvirt-sock"));
        assert_eq!(at("qemu+unix:///system"), sock("/run/libvirt/libvirt-sock"));
        assert_eq!(
            at("qemu:///session"),
            sock("/run/user/1000/libvirt/libvirt-sock")
        );
        assert_eq!(
            at("qemu+unix:///system?socket=/tmp/x.sock"),
            sock("/tmp/x.sock")
        );
        assert_eq!(
            at("qemu+unix:///system?mode=legacy&socket=/tmp/x.sock"),
            sock("/tmp/x.sock")
        );
        for (uri, why) in [
            ("test:///default", "runs inside lab"),
            ("qemu+ssh://root@host/system", "over ssh"),
            ("qemu://host/system", "remote host host"),
            ("qemu:///embed?root=/x", "no daemon"),
            ("nonsense", "not a libvirt URI"),
        ] {
            match at(uri) {
                SocketPlace::None(text) => assert!(text.contains(why), "{uri}: {text}"),
                other => panic!("{uri}: {other:?}"),
            }
        }
        match socket_of("qemu:///session", None, &none) {
            SocketPlace::None(text) => assert!(text.contains("XDG_RUNTIME_DIR"), "{text}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn modular_daemon_socket_when_only_it_exists() {
        let modular = |p: &Path| p == Path::new("/run/libvirt/virtqemud-sock");
        assert_eq!(
            socket_of("qemu:///system", None, &modular),
            sock("/run/libvirt/virtqemud-sock")
        );
        let both = |_: &Path| true;
        assert_eq!(
            socket_of("qemu:///system", None, &both),
            sock("/run/libvirt/libvirt-sock")
        );
    }
}
