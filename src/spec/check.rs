//! Small value checks shared by the validators: names, paths, the proxy URL.
//! Each returns `Err(reason)` with a sentence fragment to put in a diagnostic.

use std::net::Ipv4Addr;

use super::diag::clip;
use super::model::{Proxy, ProxyHost, SshLogin};

/// The name rules shared with the rest of `lab` (box recipes, the box
/// store, the state): [`crate::names`].
pub(crate) use crate::names::{box_name, dns_label};

/// A DNS domain: dot-separated DNS labels, at most 253 characters.
pub(crate) fn domain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!(
            "is {} characters long; at most 253 are allowed",
            name.len()
        ));
    }
    for label in name.split('.') {
        dns_label(label).map_err(|why| format!("has a label {:?} that {why}", clip(label)))?;
    }
    Ok(())
}

/// A role (inventory group) name: like a DNS label, and `_` is allowed.
pub(crate) fn role(name: &str) -> Result<(), String> {
    dns_label(&name.replace('_', "-")).map_err(|why| why.replace("and '-'", "'-' and '_'"))
}

/// A path inside the lab directory: relative and not empty.
pub(crate) fn relative_path(path: &str) -> Result<(), String> {
    if path.trim().is_empty() {
        return Err("is empty".into());
    }
    if path.starts_with('/') {
        return Err("is absolute; give a path relative to the lab directory".into());
    }
    Ok(())
}

/// `http://HOST:PORT` with an optional trailing `/`; HOST is `gateway`, an
/// IPv4 address or a DNS name.
pub(crate) fn proxy(url: &str) -> Result<Proxy, String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("must start with http:// (an HTTP proxy, like http://gateway:8888)".into());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '@', '?', '#']) {
        return Err("must be just http://HOST:PORT, without a path or credentials".into());
    }
    let Some((host, port)) = rest.rsplit_once(':') else {
        return Err("needs a port, like http://gateway:8888".into());
    };
    let port = match port.parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => {
            return Err(format!(
                "has port {:?}; a port is a number from 1 to 65535",
                clip(port)
            ));
        }
    };
    let host = if host == "gateway" {
        ProxyHost::Gateway
    } else if host.parse::<Ipv4Addr>().is_ok() {
        ProxyHost::Name(host.to_owned())
    } else if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "has host {:?}, which is not a valid IPv4 address",
            clip(host)
        ));
    } else {
        domain(host).map_err(|why| format!("has host {:?} that {why}", clip(host)))?;
        ProxyHost::Name(host.to_owned())
    };
    Ok(Proxy { host, port })
}

/// The parts of a libvirt URI (<https://libvirt.org/uri.html>) that
/// decide where its VMs run: `DRIVER[+TRANSPORT]://[USER@][SERVER][:PORT]/PATH[?...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LibvirtUri {
    pub transport: Option<String>,
    pub user: Option<String>,
    /// The server; `None` for this machine.
    pub server: Option<String>,
}

/// libvirt's remote transports (<https://libvirt.org/uri.html#transport-configuration>).
const TRANSPORTS: [&str; 7] = ["unix", "ssh", "libssh", "libssh2", "tcp", "tls", "ext"];
/// Transports that reach the server through SSH, as a login.
pub(crate) const SSH_TRANSPORTS: [&str; 3] = ["ssh", "libssh", "libssh2"];

/// A libvirt URI lab can use: driver `qemu` (`/system` or `/session`) or
/// `test` (libvirt's test driver, for lab's own tests), a transport
/// libvirt knows, a server for every transport but `unix`.
pub(crate) fn libvirt_uri(uri: &str) -> Result<LibvirtUri, String> {
    const HOW: &str =
        "a libvirt URI looks like qemu:///system (this machine) or qemu+ssh://USER@SERVER/system";
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(format!("is not a libvirt URI; {HOW}"));
    };
    let (driver, transport) = match scheme.split_once('+') {
        Some((d, t)) => (d, Some(t)),
        None => (scheme, None),
    };
    if !["qemu", "test"].contains(&driver) {
        return Err(format!(
            "names the libvirt driver {:?}; lab runs its VMs with QEMU: {HOW}",
            clip(driver)
        ));
    }
    if let Some(t) = transport.filter(|t| !TRANSPORTS.contains(t)) {
        return Err(format!(
            "names the transport {:?}, which libvirt does not know (it knows {})",
            clip(t),
            TRANSPORTS.join(", ")
        ));
    }
    let before_query = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = before_query
        .find('/')
        .map_or((before_query, ""), |i| before_query.split_at(i));
    if driver == "qemu" && !["/system", "/session"].contains(&path.trim_end_matches('/')) {
        return Err(format!(
            "has the path {:?}; a QEMU URI ends in /system (the system daemon) or /session",
            clip(path)
        ));
    }
    let (user, server) = match authority.rsplit_once('@') {
        Some((u, s)) => (Some(u), s),
        None => (None, authority),
    };
    let server = server
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(server, |(s, _)| s);
    let server = (!server.is_empty()).then_some(server);
    match (transport, server) {
        (Some("unix"), Some(s)) => {
            return Err(format!(
                "names the server {:?} with the unix transport, which reaches this machine only",
                clip(s)
            ));
        }
        (Some(t), None) if t != "unix" => {
            return Err(format!(
                "uses the {t} transport without a server; write qemu+{t}://USER@SERVER/system"
            ));
        }
        _ => {}
    }
    Ok(LibvirtUri {
        transport: transport.map(str::to_owned),
        user: user.map(str::to_owned),
        server: server.map(str::to_owned),
    })
}

/// `USER@ADDRESS` for the login to a lab's host ([`crate::names::ssh_login`]).
pub(crate) fn ssh_login(text: &str) -> Result<SshLogin, String> {
    let (user, address) = crate::names::ssh_login(text)?;
    Ok(SshLogin {
        user: user.to_owned(),
        address: address.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(dns_label("node-1").is_ok());
        assert!(dns_label("a").is_ok());
        assert!(dns_label(&"a".repeat(63)).is_ok());
        for bad in ["", "-a", "a-", "Node1", "a_b", "a.b", &"a".repeat(64)] {
            assert!(dns_label(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn domains_roles_boxes_paths() {
        assert!(domain("smoke.lab").is_ok());
        assert!(domain("smoke..lab").is_err());
        assert!(domain("Smoke.lab").is_err());
        assert!(role("db_primary").is_ok());
        assert!(role("App").is_err());
        assert!(box_name("ubuntu-24.04").is_ok());
        assert!(box_name("../etc").is_err());
        assert!(box_name("a/b").is_err());
        assert!(relative_path("provision/site.yml").is_ok());
        assert!(relative_path("/etc/site.yml").is_err());
        assert!(relative_path(" ").is_err());
    }

    #[test]
    fn libvirt_uris() {
        let here = libvirt_uri("qemu:///system").unwrap();
        assert_eq!((here.transport, here.server), (None, None));
        let far = libvirt_uri("qemu+ssh://root@lab-host-b:2222/system?keyfile=/k").unwrap();
        assert_eq!(far.transport.as_deref(), Some("ssh"));
        assert_eq!(far.user.as_deref(), Some("root"));
        assert_eq!(far.server.as_deref(), Some("lab-host-b"));
        assert!(libvirt_uri("qemu+unix:///session?socket=/tmp/s").is_ok());
        assert!(libvirt_uri("test:///default").is_ok());
        assert!(libvirt_uri("qemu+tls://server/system").is_ok());
        for (bad, why) in [
            ("system", "is not a libvirt URI"),
            ("xen:///system", "driver \"xen\""),
            ("qemu+ftp://h/system", "transport \"ftp\""),
            ("qemu+ssh://h/", "has the path \"/\""),
            ("qemu+ssh:///system", "without a server"),
            ("qemu+unix://h/system", "unix transport"),
        ] {
            let err = libvirt_uri(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn ssh_logins() {
        let l = ssh_login("root@lab-host-b").unwrap();
        assert_eq!(l.to_string(), "root@lab-host-b");
        assert!(ssh_login("ops@10.0.0.5").is_ok());
        for bad in [
            "server",
            "@server",
            "-oProxyCommand=x@h",
            "a@10.0.0.300",
            "a@-h",
            "a@h h",
            "a@",
        ] {
            assert!(ssh_login(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn proxy_urls() {
        let gw: Ipv4Addr = "10.0.0.1".parse().unwrap();
        assert_eq!(
            proxy("http://gateway:8888").unwrap().url_for(gw),
            "http://10.0.0.1:8888"
        );
        assert_eq!(
            proxy("http://10.1.2.3:3128/").unwrap().url_for(gw),
            "http://10.1.2.3:3128"
        );
        assert_eq!(
            proxy("http://cache.example:80").unwrap().host,
            ProxyHost::Name("cache.example".into())
        );
        for bad in [
            "https://gateway:8888",
            "gateway:8888",
            "http://gateway",
            "http://gateway:0",
            "http://gateway:99999",
            "http://gateway:8888/path",
            "http://u@gateway:1",
            "http://10.0.0.300:80",
            "http://Bad_Host:80",
        ] {
            assert!(proxy(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
