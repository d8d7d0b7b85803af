//! `lab halt` and `lab up` with guests that take their time to power off
//! (libvirt's "shutting down"), on the fake hypervisor.

use std::time::Duration;

use super::tests::{Fixture, LAB, fixture, ready_probe, rep};
use super::{halt, status, up};
use crate::backend::DomainState;
use crate::ui::nodes::Silent;

/// `lab halt` of every node with `timeout`: each stopped as `how`, and
/// every domain shut off when it returns.
fn halt_all(f: &Fixture, timeout: Duration, how: halt::Halted) {
    let halted = halt::halt(&f.ctx, &[], timeout, &Silent).unwrap();
    assert!(halted.iter().all(|(_, h)| *h == how), "{halted:?}");
    let st = status::status(&f.ctx).unwrap();
    assert!(
        st.nodes
            .iter()
            .all(|n| n.state == status::VmState::Domain(DomainState::ShutOff)),
        "{st:?}"
    );
}

#[test]
fn halt_waits_for_domains_shutting_down_and_forces_them_after_the_timeout() {
    let f = fixture(LAB);
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    // A guest that takes a few polls to power off: halt returns only once
    // libvirt says "shut off", never while it still says "shutting down".
    f.fake.lag_shutdowns(3);
    halt_all(&f, Duration::from_secs(30), halt::Halted::Graceful);
    // One that never finishes shutting down is pulled off at the timeout.
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    f.fake.lag_shutdowns(u32::MAX);
    halt_all(&f, Duration::from_millis(100), halt::Halted::Forced);
}

#[test]
fn up_waits_for_a_node_still_shutting_down_then_starts_it() {
    let f = fixture(LAB);
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    // The guest of node1 was told to power off (`poweroff` inside it, or
    // a halt on its way): libvirt says "shutting down" for a while.
    f.fake.lag_shutdowns(8);
    f.ctx.hv.shutdown_domain("wf.node1").unwrap();
    assert_eq!(
        f.ctx.hv.domain_state("wf.node1").unwrap(),
        Some(DomainState::ShuttingDown)
    );
    up::up(&f.ctx, &ready_probe(), rep()).unwrap();
    let st = status::status(&f.ctx).unwrap();
    assert!(
        st.nodes
            .iter()
            .all(|n| n.state == status::VmState::Domain(DomainState::Running) && n.ready),
        "{st:?}"
    );
}
