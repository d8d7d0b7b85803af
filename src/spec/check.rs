//! Small value checks shared by the validators: names, paths, the proxy URL.
//! Each returns `Err(reason)` with a sentence fragment to put in a diagnostic.

use std::net::Ipv4Addr;

use super::diag::clip;
use super::model::{Proxy, ProxyHost};

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
