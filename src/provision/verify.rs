//! The lab's `checks:`: each command runs on its node as root (`sudo -n
//! bash -c`, in the login user's home), a `script:` too, its text read
//! from the lab directory at every try and sent over the session; all
//! checks at once; a check that
//! fails is tried again `retries` times, `interval` apart. One try may
//! take at most [`TRY_TIMEOUT`]. Exit status 0 passes. Progress is
//! reported under each check's name.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use super::remote::{self, Remote};
use crate::process::{shell_join, shell_quote};
use crate::spec::{Check, CheckRun};
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

/// Runs a script received on stdin with its arguments: the text is saved
/// to a private temporary file first, so the script's own commands do not
/// read (and eat) the rest of it from stdin, and removed afterwards.
const RUN_STDIN_SCRIPT: &str =
    r#"f=$(mktemp) || exit 125; cat >"$f"; bash "$f" "$@" </dev/null; rc=$?; rm -f "$f"; exit $rc"#;

/// The remote command of a check and what it reads on stdin: a `run:`
/// command as is (nothing on stdin); a `script:` from `dir` (the lab
/// directory), at most [`crate::limits::CHECK_SCRIPT`], fed to bash with
/// its `args`. Fails when the script cannot be read.
pub fn command(check: &Check, dir: &Path) -> Result<(String, Vec<u8>)> {
    match &check.run {
        CheckRun::Command(c) => Ok((format!("sudo -n bash -c {}", shell_quote(c)), Vec::new())),
        CheckRun::Script { path, args } => {
            let text = crate::limits::read_bytes(&dir.join(path), crate::limits::CHECK_SCRIPT)
                .with_context(|| format!("cannot send the script {}", path.display()))?;
            let cmd = shell_join(
                ["sudo", "-n", "bash", "-c", RUN_STDIN_SCRIPT, "bash"]
                    .into_iter()
                    .chain(args.iter().map(String::as_str)),
            );
            Ok((cmd, text))
        }
    }
}

/// Run `checks` of the lab in `dir` (all at once); results in the same
/// order.
pub fn run(
    checks: &[&Check],
    dir: &Path,
    st: &State,
    sd: &StateDir,
    rep: &dyn NodeReporter,
) -> Vec<CheckResult> {
    crate::fanout::each(checks, |c| one(c, dir, st, sd, rep))
}

fn one(
    check: &Check,
    dir: &Path,
    st: &State,
    sd: &StateDir,
    rep: &dyn NodeReporter,
) -> CheckResult {
    let start = Instant::now();
    let mut attempts = 0;
    let mut sess: Option<ssh2::Session> = None;
    let (passed, outcome, output) = loop {
        attempts += 1;
        let (passed, outcome, output) = match attempt(check, dir, st, sd, &mut sess) {
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
    dir: &Path,
    st: &State,
    sd: &StateDir,
    sess: &mut Option<ssh2::Session>,
) -> Result<(bool, String, Vec<String>)> {
    let (command, stdin) = command(check, dir)?;
    if sess.is_none() {
        *sess = Some(Remote::of(&check.on, st, sd)?.open()?);
    }
    let s = sess.as_ref().expect("opened above");
    s.set_timeout(TRY_TIMEOUT.as_millis() as u32);
    let mut lines: Vec<String> = Vec::new();
    let exit = remote::exec_lines(s, &command, &stdin, &mut |l| {
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
        let (cmd, stdin) = command(&c, Path::new("/nonexistent")).unwrap();
        assert_eq!(cmd, r#"sudo -n bash -c 'mysql -e '\''select 1'\'''"#);
        assert!(stdin.is_empty());
    }

    /// Runs a check's command here, without sudo, its stdin from a file.
    fn run_here(cmd: &str, stdin: &[u8], dir: &Path) -> Result<String, String> {
        let input = dir.join("stdin");
        std::fs::write(&input, stdin).unwrap();
        let local = cmd.strip_prefix("sudo -n ").expect("runs as root");
        crate::process::Cmd::new("bash")
            .args([
                "-c",
                &format!("{local} < {}", shell_quote(&input.to_string_lossy())),
            ])
            .run()
            .map(|o| o.stdout)
            .map_err(|e| format!("{e}"))
    }

    #[test]
    fn a_script_is_sent_whole_with_its_arguments_and_cannot_eat_itself() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("checks")).unwrap();
        // A script whose first command reads stdin: it must see nothing,
        // and the lines after it must still run.
        std::fs::write(
            dir.path().join("checks/x.sh"),
            "read -r line || true\necho \"read [$line]\"\nprintf '<%s>' \"$@\"; echo\nexit \"${EXIT:-0}\"\n",
        )
        .unwrap();
        let mut c = Check {
            name: "x".into(),
            on: "node1".into(),
            run: CheckRun::Script {
                path: "checks/x.sh".into(),
                args: vec!["node 1".into(), "it's".into(), "$HOME".into()],
            },
            retries: 0,
            interval: Duration::from_secs(3),
        };
        let (cmd, stdin) = command(&c, dir.path()).unwrap();
        assert_eq!(
            run_here(&cmd, &stdin, dir.path()).unwrap(),
            "read []\n<node 1><it's><$HOME>\n"
        );
        // The script's exit status is the check's.
        c.run = CheckRun::Script {
            path: "checks/x.sh".into(),
            args: vec![],
        };
        let (cmd, stdin) = command(&c, dir.path()).unwrap();
        let err = run_here(&format!("sudo -n EXIT=3 {}", &cmd[8..]), &stdin, dir.path());
        assert!(err.unwrap_err().contains("exit status 3"));
        // A script that went missing after validation: a clear error.
        std::fs::remove_file(dir.path().join("checks/x.sh")).unwrap();
        let err = command(&c, dir.path()).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("cannot send the script checks/x.sh: "),
            "{err:#}"
        );
    }
}
