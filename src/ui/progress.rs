//! Phase progress for long single-threaded jobs (box builds): a spinner with
//! the phase name and elapsed time on a terminal, plain timestamped lines
//! otherwise, nothing at all in tests (`Reporter::silent`).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Receives the phases of a job. Drawn only by the UI layer.
pub trait Reporter: Send + Sync {
    /// A phase starts.
    fn phase(&self, name: &str);
    /// The current phase ended (successfully).
    fn phase_done(&self, name: &str, elapsed: Duration);
    /// A free-form line (a result, a hint).
    fn line(&self, text: &str);
}

/// Pick the reporter for stderr: spinner on a terminal, lines otherwise.
pub fn stderr_reporter() -> Box<dyn Reporter> {
    if std::io::stderr().is_terminal() {
        Box::new(Spinner::new())
    } else {
        Box::new(Lines {
            start: Instant::now(),
        })
    }
}

/// Reports nothing.
pub struct Silent;

impl Reporter for Silent {
    fn phase(&self, _: &str) {}
    fn phase_done(&self, _: &str, _: Duration) {}
    fn line(&self, _: &str) {}
}

/// Plain lines with the time since start, for logs and CI.
pub struct Lines {
    start: Instant,
}

impl Lines {
    fn stamp(&self) -> String {
        format!("[{:>6.1}s]", self.start.elapsed().as_secs_f64())
    }
}

impl Reporter for Lines {
    fn phase(&self, name: &str) {
        eprintln!("{} {name} ...", self.stamp());
    }
    fn phase_done(&self, name: &str, elapsed: Duration) {
        eprintln!("{} {name} done ({})", self.stamp(), fmt_duration(elapsed));
    }
    fn line(&self, text: &str) {
        eprintln!("{} {text}", self.stamp());
    }
}

/// A spinner showing the current phase and its elapsed time.
pub struct Spinner {
    bar: ProgressBar,
}

impl Spinner {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Spinner { bar }
    }
}

impl Reporter for Spinner {
    fn phase(&self, name: &str) {
        self.bar.reset_elapsed();
        self.bar.set_message(name.to_string());
    }
    fn phase_done(&self, name: &str, elapsed: Duration) {
        self.bar
            .println(format!("  ✓ {name} ({})", fmt_duration(elapsed)));
    }
    fn line(&self, text: &str) {
        self.bar.println(text);
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Run one phase: report start, run, report completion with its duration.
pub fn run_phase<T, E>(
    reporter: &dyn Reporter,
    name: &str,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    reporter.phase(name);
    let start = Instant::now();
    let out = f()?;
    reporter.phase_done(name, start.elapsed());
    Ok(out)
}

/// `1.2s`, `2m05s`, `1h02m`.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let s = d.as_secs();
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(fmt_duration(Duration::from_millis(1234)), "1.2s");
        assert_eq!(fmt_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(fmt_duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn run_phase_propagates_errors_without_done() {
        struct Rec(std::sync::Mutex<Vec<String>>);
        impl Reporter for Rec {
            fn phase(&self, n: &str) {
                self.0.lock().unwrap().push(format!("start {n}"));
            }
            fn phase_done(&self, n: &str, _: Duration) {
                self.0.lock().unwrap().push(format!("done {n}"));
            }
            fn line(&self, _: &str) {}
        }
        let rec = Rec(Default::default());
        let ok: Result<u8, ()> = run_phase(&rec, "a", || Ok(1));
        assert_eq!(ok, Ok(1));
        let err: Result<u8, &str> = run_phase(&rec, "b", || Err("no"));
        assert_eq!(err, Err("no"));
        assert_eq!(*rec.0.lock().unwrap(), vec!["start a", "done a", "start b"]);
    }
}
