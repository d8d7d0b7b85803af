//! `subnet`: the lab's subnet against libvirt's other networks and the
//! primary's routes, as `lab up`'s preflight checks them
//! ([`preflight::check_networks`], [`preflight::check_routes`]).

use super::Check;
use crate::backend::NetworkInfo;
use crate::ops::names;
use crate::ops::owner::{self, Owner};
use crate::ops::preflight::{self, Route};
use crate::spec::Lab;
use crate::state::State;

/// `subnet`: the lab's subnet against libvirt's other networks (`None`:
/// libvirt not reachable) and this machine's routes (`None`: the primary
/// is another machine, its routes are in its `host-NAME` check). The network of the lab's
/// name (and its bridge's routes) count as its own only when they are
/// this lab's (`st`: its state; [`owner::classify`]).
pub(super) fn subnet(
    lab: &Lab,
    st: &State,
    networks: Option<&[NetworkInfo]>,
    routes: Option<&[Route]>,
) -> Check {
    const NAME: &str = "subnet";
    let subnet = lab.network.subnet;
    let own = st
        .network
        .clone()
        .unwrap_or_else(|| names::network(&lab.name));
    let ours = networks.is_none_or(|nets| {
        matches!(
            owner::network_owner_in(nets, &lab.name, st, &own),
            Owner::Ours | Owner::Missing
        )
    });
    let bridge = crate::network::bridge_name(&lab.name);
    let (own, bridge) = match ours {
        true => (Some(own.as_str()), Some(bridge.as_str())),
        false => (None, None),
    };
    let refused = networks
        .map(|nets| preflight::check_networks(subnet, own, nets))
        .unwrap_or(Ok(()))
        .and_then(|()| preflight::check_routes(subnet, bridge, routes.unwrap_or_default()));
    if let Err(refusal) = refused {
        return Check::fail(NAME, refusal.problem, refusal.fix);
    }
    let routes = match (routes, lab.host()) {
        (None, Some(h)) => format!("the routes are host {}'s (its host-{0} check)", h.name),
        _ => "no host route overlaps it".to_string(),
    };
    match networks {
        Some(nets) => Check::pass(
            NAME,
            format!(
                "{subnet}: no other libvirt network ({} checked) and {routes}",
                nets.iter().filter(|n| Some(n.name.as_str()) != own).count()
            ),
        ),
        None => Check::warn(
            NAME,
            format!(
                "{subnet}: {routes}; libvirt's networks were not checked (libvirt not reachable)"
            ),
            "make libvirt reachable (see the libvirt check) and run lab doctor again",
        ),
    }
}
