//! Per-node progress for multi-VM work (`lab up`, `lab halt`): on a
//! terminal one live line per node with its phase and elapsed time; not on a
//! terminal plain timestamped lines; nothing in tests.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::progress::{Reporter, fmt_duration};

/// Receives per-node phase changes. Implementations are thread-safe: every
/// node reports from its own task.
pub trait NodeReporter: Send + Sync {
    /// A lab-wide message (not tied to a node).
    fn note(&self, text: &str);
    /// `node` entered `phase` (e.g. "defining", "booting", "waiting for SSH").
    fn phase(&self, node: &str, phase: &str);
    /// `node` finished successfully with a summary.
    fn done(&self, node: &str, summary: &str);
    /// `node` failed.
    fn failed(&self, node: &str, reason: &str);
}

/// A [`Reporter`] of one box build shown through a [`NodeReporter`] as
/// lab-wide notes: `box NAME: PHASE ...`, `box NAME: PHASE done (TIME)`
/// (several boxes build at once, so each line names its box).
pub struct Notes<'a>(pub &'a dyn NodeReporter, pub String);

impl Reporter for Notes<'_> {
    fn phase(&self, name: &str) {
        self.0.note(&format!("box {}: {name} ...", self.1));
    }
    fn phase_done(&self, name: &str, elapsed: std::time::Duration) {
        self.0.note(&format!(
            "box {}: {name} done ({})",
            self.1,
            fmt_duration(elapsed)
        ));
    }
    fn line(&self, text: &str) {
        self.0.note(text);
    }
}

/// Pick a reporter for stderr.
pub fn stderr_reporter(nodes: &[String]) -> Box<dyn NodeReporter> {
    if std::io::stderr().is_terminal() {
        Box::new(Bars::new(nodes))
    } else {
        Box::new(Lines::new())
    }
}

/// Reports nothing.
pub struct Silent;

impl NodeReporter for Silent {
    fn note(&self, _: &str) {}
    fn phase(&self, _: &str, _: &str) {}
    fn done(&self, _: &str, _: &str) {}
    fn failed(&self, _: &str, _: &str) {}
}

/// `HH:MM:SS node1: phase` lines (UTC), for logs and CI.
pub struct Lines {
    start: Instant,
}

impl Lines {
    pub fn new() -> Self {
        Lines {
            start: Instant::now(),
        }
    }

    fn emit(&self, text: &str) {
        eprintln!(
            "{} [{:>6.1}s] {text}",
            clock(),
            self.start.elapsed().as_secs_f64()
        );
    }
}

impl Default for Lines {
    fn default() -> Self {
        Self::new()
    }
}

/// Wall-clock `HH:MM:SS` in UTC.
fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

impl NodeReporter for Lines {
    fn note(&self, text: &str) {
        self.emit(text);
    }
    fn phase(&self, node: &str, phase: &str) {
        self.emit(&format!("{node}: {phase}"));
    }
    fn done(&self, node: &str, summary: &str) {
        self.emit(&format!("{node}: {summary}"));
    }
    fn failed(&self, node: &str, reason: &str) {
        self.emit(&format!("{node}: FAILED: {reason}"));
    }
}

/// One spinner line per node.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn new(nodes: &[String]) -> Self {
        let multi = MultiProgress::new();
        let width = nodes.iter().map(|n| n.len()).max().unwrap_or(4);
        let style = ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
            .expect("valid template");
        let mut bars = HashMap::new();
        for n in nodes {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(style.clone());
            bar.set_prefix(format!("{n:<width$}"));
            bar.set_message("waiting");
            bar.enable_steady_tick(Duration::from_millis(120));
            bars.insert(n.clone(), bar);
        }
        Bars {
            multi,
            bars: Mutex::new(bars),
        }
    }

    fn with_bar(&self, node: &str, f: impl FnOnce(&ProgressBar)) {
        if let Some(bar) = self.bars.lock().expect("bars").get(node) {
            f(bar);
        }
    }
}

impl NodeReporter for Bars {
    fn note(&self, text: &str) {
        let _ = self.multi.println(text);
    }
    fn phase(&self, node: &str, phase: &str) {
        self.with_bar(node, |b| b.set_message(phase.to_string()));
    }
    fn done(&self, node: &str, summary: &str) {
        self.with_bar(node, |b| {
            b.set_style(ProgressStyle::with_template("✓ {prefix} {msg}").expect("valid"));
            b.finish_with_message(summary.to_string());
        });
    }
    fn failed(&self, node: &str, reason: &str) {
        self.with_bar(node, |b| {
            b.set_style(ProgressStyle::with_template("✗ {prefix} {msg}").expect("valid"));
            b.finish_with_message(format!("FAILED: {reason}"));
        });
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        for bar in self.bars.lock().expect("bars").values() {
            if !bar.is_finished() {
                bar.finish();
            }
        }
    }
}
