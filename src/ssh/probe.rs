//! The readiness probe `lab up` waits on: the lab's key is accepted AND
//! cloud-init has finished. One attempt at a time per node, with pauses
//! that grow while the guest's sshd is too slow to finish a handshake: an
//! abandoned handshake keeps an sshd child busy until its LoginGraceTime
//! (120 s by default), and enough of them (sshd's MaxStartups, 10 by
//! default) make sshd drop new connections, so hurrying would only delay
//! the node further under heavy emulation.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::{BOOT_FINISHED, Failure, HostKey, Target, exec_on, host_key, open, vagrant};

/// Why a probe did not succeed yet; the last one is reported on timeout.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeState {
    /// TCP connect failed (VM still booting, or no address yet).
    NoConnection(String),
    /// TCP connected but the SSH handshake failed or took longer than
    /// [`HANDSHAKE_TIMEOUT`]: sshd is starting, or the guest is very slow.
    Handshake(String),
    /// SSH answered but refused the key (cloud-init has not installed it yet).
    AuthRefused,
    /// Logged in with Vagrant's insecure key and put the lab's key in its
    /// place; the next login uses the lab's key.
    KeyInserted,
    /// Logged in; cloud-init is still running.
    CloudInitRunning,
    /// Logged in and cloud-init is done. Carries the host key line.
    Ready(HostKey),
}

/// How long the TCP connection of one attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the SSH handshake of one attempt may take. A key exchange
/// costs the guest seconds of CPU under software emulation, and much more
/// on a loaded host; giving up early only leaves sshd working on a
/// handshake nobody waits for.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// Reports intermediate states from inside a probe.
pub type Progress<'a> = &'a mut dyn FnMut(&ProbeState);

/// One readiness probe, allowed to take up to `remaining`: connect,
/// authenticate, and once logged in wait for cloud-init's marker IN THE
/// GUEST (a shell loop on one session), so the guest does not pay for a new
/// SSH handshake every poll — under software emulation each costs seconds
/// of guest CPU.
pub fn probe(t: &Target, remaining: Duration, progress: Progress<'_>) -> ProbeState {
    let sess = match open(
        t,
        remaining.min(CONNECT_TIMEOUT),
        remaining.min(HANDSHAKE_TIMEOUT),
    ) {
        Ok(sess) => sess,
        Err(Failure::Connect(e)) => return ProbeState::NoConnection(format!("{e:#}")),
        Err(Failure::Handshake(e)) => return ProbeState::Handshake(format!("{e:#}")),
    };
    match logged_in(t, &sess, remaining, progress) {
        Ok(state) => state,
        Err(e) => ProbeState::Handshake(format!("{e:#}")),
    }
}

fn logged_in(
    t: &Target,
    sess: &ssh2::Session,
    remaining: Duration,
    progress: Progress<'_>,
) -> Result<ProbeState> {
    if !sess.authenticated() {
        if t.vagrant_key && vagrant::insert_lab_key(sess, t)? {
            progress(&ProbeState::KeyInserted);
        }
        return Ok(ProbeState::AuthRefused);
    }
    // Done: cloud-init finished, or will not run: not installed, or
    // disabled (by a file, or by its generator finding no datasource) on a
    // Vagrant box reached through the insecure key.
    let done = format!(
        "test -e {BOOT_FINISHED} || ! command -v cloud-init >/dev/null || test -e /run/cloud-init/disabled || test -e /etc/cloud/cloud-init.disabled"
    );
    let (code, _) = exec_on(sess, &done)?;
    if code != 0 {
        progress(&ProbeState::CloudInitRunning);
        sess.set_timeout(remaining.as_millis().clamp(1, u32::MAX as u128) as u32);
        let waited = exec_on(sess, &format!("until {done}; do sleep 0.3; done"));
        if !matches!(waited, Ok((0, _))) {
            return Ok(ProbeState::CloudInitRunning);
        }
    }
    if t.vagrant_key {
        vagrant::remove_insecure_keys(sess)?;
    }
    Ok(ProbeState::Ready(host_key(sess)?))
}

/// A readiness probe: [`probe`], or a stand-in in tests.
pub type Prober =
    std::sync::Arc<dyn Fn(&Target, Duration, Progress<'_>) -> ProbeState + Send + Sync>;

/// The pause after an attempt that ended in `state`, the `failures`-th
/// (1-based) handshake failure in a row: nothing answering yet is retried
/// quickly; a refused key (sshd up, cloud-init not done) after 2 s, since
/// each retry costs the guest a handshake; a failed handshake after 2, 4,
/// 8, … s, at most [`MAX_PAUSE`].
pub fn pause_after(state: &ProbeState, failures: u32) -> Duration {
    match state {
        ProbeState::Handshake(_) => {
            Duration::from_secs(1u64 << failures.clamp(1, 5)).min(MAX_PAUSE)
        }
        ProbeState::AuthRefused => Duration::from_secs(2),
        _ => Duration::from_millis(500),
    }
}

/// Probe until ready or `deadline`, one attempt at a time, pausing
/// [`pause_after`] each; `on_change` sees every new state. Returns the
/// host key, or the last state when the deadline passed.
pub fn wait_ready(
    t: &Target,
    deadline: Instant,
    probe: &(dyn Fn(&Target, Duration, Progress<'_>) -> ProbeState + Send + Sync),
    mut on_change: impl FnMut(&ProbeState),
) -> Result<HostKey, ProbeState> {
    let mut last: Option<std::mem::Discriminant<ProbeState>> = None;
    let mut report = |state: &ProbeState| {
        let d = std::mem::discriminant(state);
        if last != Some(d) {
            last = Some(d);
            on_change(state);
        }
    };
    let mut failures = 0;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let state = probe(t, remaining.max(Duration::from_millis(100)), &mut report);
        report(&state);
        if let ProbeState::Ready(key) = state {
            return Ok(key);
        }
        failures = match state {
            ProbeState::Handshake(_) => failures + 1,
            _ => 0,
        };
        let pause = pause_after(&state, failures);
        if Instant::now() + pause >= deadline {
            return Err(state);
        }
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(port: u16) -> Target {
        Target::local_for_tests(port)
    }

    #[test]
    fn probe_of_closed_port_reports_no_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        assert!(matches!(
            probe(&target(port), Duration::from_secs(1), &mut |_| {}),
            ProbeState::NoConnection(_)
        ));
    }

    #[test]
    fn a_server_that_never_finishes_the_handshake_is_a_handshake_failure() {
        // Accepts the connection and says nothing: an sshd too slow to
        // answer within the attempt's time.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let started = Instant::now();
        let state = probe(&target(port), Duration::from_millis(800), &mut |_| {});
        assert!(matches!(state, ProbeState::Handshake(_)), "{state:?}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "bounded by `remaining`"
        );
        drop(listener);
    }

    #[test]
    fn pauses_grow_while_handshakes_fail_and_stay_short_otherwise() {
        let hs = ProbeState::Handshake("timed out".into());
        let secs: Vec<u64> = (1..=7).map(|n| pause_after(&hs, n).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 30, 30, 30]);
        let closed = ProbeState::NoConnection("refused".into());
        assert_eq!(pause_after(&closed, 0), Duration::from_millis(500));
        assert_eq!(
            pause_after(&ProbeState::AuthRefused, 0),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn wait_ready_makes_one_attempt_at_a_time_and_resets_after_progress() {
        use std::sync::Mutex;
        // Two handshake failures, then sshd answers: the pauses seen are
        // 2 s and 4 s, one attempt at a time (never two in flight).
        let calls = Mutex::new(Vec::<Instant>::new());
        let in_flight = std::sync::atomic::AtomicU32::new(0);
        let prober = |_: &Target, _: Duration, _: Progress<'_>| {
            assert_eq!(
                in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                0
            );
            let mut c = calls.lock().unwrap();
            c.push(Instant::now());
            let n = c.len();
            in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            if n <= 2 {
                ProbeState::Handshake("timed out".into())
            } else {
                ProbeState::Ready(HostKey {
                    key_type: "ssh-ed25519".into(),
                    base64: "AAAA".into(),
                })
            }
        };
        let mut seen = Vec::new();
        let key = wait_ready(
            &target(22),
            Instant::now() + Duration::from_secs(60),
            &prober,
            |s| seen.push(std::mem::discriminant(s)),
        )
        .unwrap();
        assert_eq!(key.base64, "AAAA");
        let c = calls.lock().unwrap();
        let gaps: Vec<f64> = c.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
        assert!(gaps[0] >= 2.0 && gaps[1] >= 4.0, "{gaps:?}");
        assert_eq!(seen.len(), 2, "handshake, then ready: reported once each");
    }
}
