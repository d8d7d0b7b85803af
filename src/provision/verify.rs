//! The lab's `checks:`: each command runs on its node as root (`sudo -n
//! bash -c`, in the login user's home), all checks at once; a check that
//! fails is tried again `retries` times, `interval` apart. One try may
//! take at most [`TRY_TIMEOUT`]. Exit status 0 passes. Progress is
//! reported under each check's name.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use super::remote::{self, Remote};
use crate::process::shell_quote;
use crate::spec::Check;
use crate::state::{State, StateDir};
use crate::ui::nodes::NodeReporter;
use crate::ui::progress::fmt_duration;

/// The longest one try of a check may run.
pub const TRY_TIMEOUT: Duration = Duration::from_secs(120);
/// Output lines kept for a failed check.
const TAIL: usize = 15;

/// How one check went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub node: String,
    pub passed: bool,
    pub attempts: u32,
    pub seconds: f64,
    /// How the last try ended (`exit status 1`, `cannot reach ...`).
    pub outcome: String,
    /// The last lines of the last try's output.
    pub output: Vec<String>,
}

/// A failed check in a few lines: which, where, how it ended, its output.
pub fn describe(r: &CheckResult) -> String {
    let tries = if r.attempts == 1 { "try" } else { "tries" };
    let mut s = format!(
        "check `{}` on {} failed after {} {tries} ({})",
        r.name, r.node, r.attempts, r.outcome
    );
    if !r.output.is_empty() {
        s.push_str(":\n");
        s.push_str(&remote::tail(&r.output, TAIL));
    }
    s
}

/// The remote command of a check.
pub fn command(check: &Check) -> String {
    format!("sudo -n bash -c {}", shell_quote(&check.run))
}

/// Run `checks` (all at once); results in the same order.
pub fn run(
    checks: &[&Check],
    st: &State,
    sd: &StateDir,
    rep: &dyn NodeReporter,
) -> Vec<CheckResult> {
    crate::fanout::each(checks, |c| one(c, st, sd, rep))
}

fn one(check: &Check, st: &State, sd: &StateDir, rep: &dyn NodeReporter) -> CheckResult {
    let start = Instant::now();
    let mut attempts = 0;
    let mut sess: Option<ssh2::Session> = None;
    let (passed, outcome, output) = loop {
        attempts += 1;
        let (passed, outcome, output) = match attempt(check, st, sd, &mut sess) {
            Ok(result) => result,
            Err(e) => {
                // A broken session is opened afresh on the next try.
                sess = None;
                (false, format!("{e:#}"), Vec::new())
            }
        };
        if passed || attempts > check.retries {
            break (passed, outcome, output);
        }
        rep.phase(
            &check.name,
            &format!(
                "try {attempts} on {} failed ({outcome}); again in {}s",
                check.on,
                check.interval.as_secs()
            ),
        );
        std::thread::sleep(check.interval);
    };
    let took = format!("on {} ({:.1}s)", check.on, start.elapsed().as_secs_f64());
    if passed {
        rep.done(&check.name, &format!("PASS {took}"));
    } else {
        rep.failed(&check.name, &format!("{took}: {outcome}"));
    }
    CheckResult {
        name: check.name.clone(),
        node: check.on.clone(),
        passed,
        attempts,
        seconds: start.elapsed().as_secs_f64(),
        outcome,
        output: if passed { Vec::new() } else { output },
    }
}

/// One try: (passed, how it ended, last output lines).
fn attempt(
    check: &Check,
    st: &State,
    sd: &StateDir,
    sess: &mut Option<ssh2::Session>,
) -> Result<(bool, String, Vec<String>)> {
    if sess.is_none() {
        *sess = Some(Remote::of(&check.on, st, sd)?.open()?);
    }
    let s = sess.as_ref().expect("opened above");
    s.set_timeout(TRY_TIMEOUT.as_millis() as u32);
    let mut lines: Vec<String> = Vec::new();
    let exit = remote::exec_lines(s, &command(check), &[], &mut |l| {
        lines.push(l.to_string());
        if lines.len() > TAIL {
            lines.remove(0);
        }
    });
    // An error (the connection broke, or the try ran out of time) drops
    // the session; the next try opens a new one.
    let exit =
        exit.map_err(|e| e.context(format!("no result within {}", fmt_duration(TRY_TIMEOUT))))?;
    Ok((exit.success(), exit.to_string(), lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_run_as_root_with_bash() {
        let c = Check {
            name: "db".into(),
            on: "node1".into(),
            run: "mysql -e 'select 1'".into(),
            retries: 0,
            interval: Duration::from_secs(3),
        };
        assert_eq!(
            command(&c),
            r#"sudo -n bash -c 'mysql -e '\''select 1'\'''"#
        );
    }
}
