//! [`Cmd::run_limited`]: run a program whose input is not trusted (a
//! user's Vagrantfile, evaluated by `ruby`) with a time limit and a bound
//! on what it may print. Past either, its whole process group (it and
//! everything it started) is killed with SIGKILL.

use std::io::Read;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Cmd, Output, ProcessError};

/// How often the child is polled while it runs.
const POLL: Duration = Duration::from_millis(10);

/// `N MiB` / `N KiB` / `N bytes`, for messages.
pub(super) fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

impl Cmd {
    /// Run to completion, succeeding only on exit status 0, within `limit`
    /// (wall-clock time) and with at most `max_output` bytes on each of
    /// stdout and stderr. Past the time limit:
    /// [`ProcessError::TimedOut`]; past the output bound:
    /// [`ProcessError::TooMuchOutput`]; in both cases the child's process
    /// group is killed first. Output is decoded as UTF-8, lossily.
    pub fn run_limited(&self, limit: Duration, max_output: usize) -> Result<Output, ProcessError> {
        tracing::debug!(cmd = %self.cmdline(), ?limit, max_output, "running, limited");
        let mut cmd = self.command();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let (mut child, _tracked) = self.spawn_tracked(cmd)?;
        let pgid = child.id() as libc::pid_t;
        let overflow: Arc<[AtomicBool; 2]> =
            Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
        let pipes: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ];
        let readers: Vec<_> = pipes
            .into_iter()
            .enumerate()
            .map(|(i, pipe)| {
                let overflow = Arc::clone(&overflow);
                std::thread::spawn(move || {
                    let mut kept = Vec::new();
                    if let Some(pipe) = pipe {
                        // One byte past the bound tells it was passed.
                        let mut bounded = pipe.take(max_output as u64 + 1);
                        let _ = bounded.read_to_end(&mut kept);
                        if kept.len() > max_output {
                            overflow[i].store(true, Ordering::SeqCst);
                            kept.truncate(max_output);
                        }
                    }
                    kept
                })
            })
            .collect();
        let deadline = Instant::now() + limit;
        let kill = || {
            // SAFETY: kill(2) on the child's own process group.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        };
        let mut failure = None;
        let status = loop {
            if let Some(i) = overflow.iter().position(|o| o.load(Ordering::SeqCst)) {
                kill();
                failure = Some(ProcessError::TooMuchOutput {
                    cmdline: self.cmdline(),
                    stream: ["standard output", "standard error"][i],
                    limit: max_output,
                });
            } else if Instant::now() >= deadline {
                kill();
                failure = Some(ProcessError::TimedOut {
                    cmdline: self.cmdline(),
                    limit,
                });
            }
            if failure.is_some() {
                let _ = child.wait();
                break None;
            }
            match child.try_wait().map_err(|e| self.spawn_error(e))? {
                Some(status) => break Some(status),
                None => std::thread::sleep(POLL),
            }
        };
        // What the program started and left behind would hold the pipes
        // open: nothing it started outlives it.
        kill();
        let mut outputs = readers
            .into_iter()
            .map(|r| String::from_utf8_lossy(&r.join().unwrap_or_default()).into_owned());
        let (stdout, stderr) = (
            outputs.next().unwrap_or_default(),
            outputs.next().unwrap_or_default(),
        );
        if let Some(failure) = failure {
            return Err(failure);
        }
        let status = status.expect("set unless a failure was");
        if !status.success() {
            return Err(self.failed(status, stderr));
        }
        Ok(Output { stdout, stderr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_come_back_within_the_limits() {
        let out = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2"])
            .run_limited(Duration::from_secs(10), 100)
            .unwrap();
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("out\n", "err\n")
        );
        let err = Cmd::new("sh")
            .args(["-c", "echo why >&2; exit 3"])
            .run_limited(Duration::from_secs(10), 100)
            .unwrap_err();
        assert!(err.to_string().contains("exit status 3"), "{err}");
    }

    #[test]
    fn a_program_past_its_time_is_killed_with_what_it_started() {
        let started = Instant::now();
        let err = Cmd::new("sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .run_limited(Duration::from_millis(300), 100)
            .unwrap_err();
        assert!(matches!(err, ProcessError::TimedOut { .. }), "{err}");
        assert!(
            err.to_string()
                .ends_with("did not finish within 0.3 s and was stopped"),
            "{err}"
        );
        // The background sleep held stdout open: it was killed too.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_program_printing_too_much_is_stopped() {
        for (script, stream) in [("yes", "standard output"), ("yes >&2", "standard error")] {
            let err = Cmd::new("sh")
                .args(["-c", script])
                .run_limited(Duration::from_secs(20), 1 << 20)
                .unwrap_err();
            assert!(
                err.to_string().ends_with(&format!(
                    "wrote more than 1 MiB on its {stream} and was stopped"
                )),
                "{err}"
            );
        }
    }
}
