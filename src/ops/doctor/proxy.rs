//! The guests' proxy (`proxy:` in the lab file, or `$LAB_GUEST_PROXY`):
//! whether it answers where the guests will ask it, the lab's gateway.

use std::net::Ipv4Addr;

use super::Check;
use crate::spec::{self, Lab};

/// The guests' proxy URL and where it is set: `$LAB_GUEST_PROXY` (as
/// given) or the lab file's `proxy:` (`gateway` left as the word).
pub(super) fn setting(lab: &Lab) -> Option<(String, &'static str)> {
    match std::env::var(spec::GUEST_PROXY_ENV) {
        Ok(v) if !v.trim().is_empty() => Some((v.trim().to_string(), spec::GUEST_PROXY_ENV)),
        _ => lab.proxy.as_ref().map(|p| {
            let url = match &p.host {
                spec::ProxyHost::Gateway => format!("http://gateway:{}", p.port),
                spec::ProxyHost::Name(name) => format!("http://{name}:{}", p.port),
            };
            (url, "`proxy:` in the lab file")
        }),
    }
}

/// `proxy`: whether the guests' proxy `setting` (URL, where it is set)
/// answers an HTTP proxy request with an HTTP status line (a port that
/// takes the connection and says nothing, or something else, FAILs). A proxy on the lab's `gateway` is tried there when that
/// address exists on this host (`gateway_here`: the lab's network is up;
/// a connection to a local address comes from that address), else on
/// 127.0.0.1 with a WARN, since the address it must listen on does not
/// exist yet. Any other host is tried from this host. `ask` sends the
/// proxy at (host, port) a request and gives its status line, or says
/// what went wrong.
pub(super) fn proxy(
    setting: Option<&(String, &'static str)>,
    gateway: Ipv4Addr,
    gateway_here: bool,
    ask: &dyn Fn(&str, u16) -> Result<String, String>,
) -> Check {
    const NAME: &str = "proxy";
    let Some((url, from)) = setting else {
        return Check::skip(
            NAME,
            format!(
                "no `proxy:` in the lab file and no {}",
                spec::GUEST_PROXY_ENV
            ),
        );
    };
    let parsed = spec::parse_proxy(url);
    let proxy = match parsed {
        Ok(p) => p,
        Err(why) => {
            return Check::fail(
                NAME,
                format!("the guests' proxy {url:?} ({from}) {why}"),
                format!("set {from} to http://HOST:PORT"),
            );
        }
    };
    let port = proxy.port;
    let gw = gateway.to_string();
    let host = match &proxy.host {
        spec::ProxyHost::Gateway => gw.clone(),
        spec::ProxyHost::Name(name) => name.clone(),
    };
    if host != gw {
        return match ask(&host, port) {
            Ok(status) => Check::pass(
                NAME,
                format!("{url} ({from}) answers from this host ({status})"),
            ),
            Err(e) => Check::fail(
                NAME,
                format!("{url} ({from}) does not answer from this host: {e}"),
                format!("start the proxy, or correct {from}"),
            ),
        };
    }
    let shown = url.replace("//gateway:", &format!("//{gw}:"));
    if gateway_here {
        return match ask(&gw, port) {
            Ok(status) => Check::pass(
                NAME,
                format!("{shown} ({from}) answers on the lab's gateway ({status})"),
            ),
            Err(e) => Check::fail(
                NAME,
                format!(
                    "no HTTP proxy answers on {gw}:{port}, the lab's gateway ({from}): {e}; the guests' apt will fail"
                ),
                format!(
                    "start the proxy listening on {gw} (or on every address), or remove {from}"
                ),
            ),
        };
    }
    let down = format!(
        "the lab's gateway {gw} is not an address of this host yet (its network is down), so {shown} was tried on 127.0.0.1:{port} instead"
    );
    match ask("127.0.0.1", port) {
        Ok(status) => Check::warn(
            NAME,
            format!("{down}: a proxy answers there ({status})"),
            "run lab doctor again once `lab up` made the network, to try the proxy from the gateway",
        ),
        Err(e) => Check::warn(
            NAME,
            format!("{down}: {e}"),
            format!(
                "start a proxy that will listen on {gw} (tinyproxy listens on every address), or remove {from}"
            ),
        ),
    }
}
