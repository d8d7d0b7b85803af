//! Reading `ansible-playbook` output (default callback, no colour) line by
//! line as it streams: the current `PLAY [..]` and `TASK [..]`, the
//! failures (`fatal: [host]: FAILED! => {..}`, `failed: [host] (item=..)`,
//! `UNREACHABLE!`, minus those followed by `...ignoring`), `ERROR!` lines,
//! `[WARNING]:` and `[DEPRECATION WARNING]:` lines, and the `PLAY RECAP`
//! counts per host; the time per role on the way
//! ([`super::timing`]).

use std::time::Instant;

use serde::Serialize;

use super::timing::RoleTimer;

/// What a line meant for progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Play(String),
    /// A task or handler header, as printed (`TASK [x]`, `RUNNING HANDLER [y]`).
    Task(String),
    /// A failure line (already recorded).
    Failed(String),
    /// A warning line, its text as printed after the `[WARNING]: ` (or
    /// `[DEPRECATION WARNING]: `) prefix.
    Warning(String),
    Other,
}

/// One host's line of `PLAY RECAP`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostRecap {
    pub host: String,
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// A task that failed on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub host: String,
    pub play: String,
    pub task: String,
    /// `msg` of the result (plus the end of `stderr` when there is one).
    pub message: String,
    pub unreachable: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.unreachable {
            "could not reach"
        } else {
            "failed on"
        };
        write!(
            f,
            "task \"{}\" {what} {}: {}",
            self.task, self.host, self.message
        )
    }
}

/// Feeds on output lines; see the module docs.
#[derive(Debug, Default)]
pub struct Parser {
    play: String,
    task: String,
    in_recap: bool,
    pub failures: Vec<Failure>,
    pub recap: Vec<HostRecap>,
    /// `ERROR! ...` lines (problems before or outside any task).
    pub errors: Vec<String>,
    /// Ansible's warnings (`[WARNING]: text`, `[DEPRECATION WARNING]:
    /// text`), in order, the first [`MAX_WARNINGS`] of them, each cut at
    /// 300 characters and prefixed with the task it came in, if any.
    pub warnings: Vec<String>,
    /// Seconds per role, from the times the task headers were fed.
    pub roles: RoleTimer,
}

/// How many warnings a run keeps (a play warning on every task of every
/// host would otherwise fill the report).
pub const MAX_WARNINGS: usize = 50;

/// The text in the brackets of `PREFIX [text] *****`.
fn header<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(prefix)?.strip_prefix(" [")?;
    rest.trim_end()
        .trim_end_matches('*')
        .trim_end()
        .strip_suffix(']')
}

impl Parser {
    /// One line of output, read now.
    pub fn feed(&mut self, line: &str) -> Event {
        self.feed_at(line, Instant::now())
    }

    /// One line of output, read at `at` (the start of a task, for the
    /// time per role).
    pub fn feed_at(&mut self, line: &str, at: Instant) -> Event {
        if let Some(name) = header(line, "PLAY") {
            self.roles.stop(at);
            self.play = name.to_string();
            self.in_recap = false;
            return Event::Play(format!("PLAY [{name}]"));
        }
        if line.starts_with("PLAY RECAP") {
            self.roles.stop(at);
            self.in_recap = true;
            return Event::Other;
        }
        for prefix in ["TASK", "RUNNING HANDLER"] {
            if let Some(name) = header(line, prefix) {
                self.roles.task(name, at);
                self.task = name.to_string();
                return Event::Task(format!("{prefix} [{name}]"));
            }
        }
        if let Some(err) = line.strip_prefix("ERROR! ") {
            self.errors.push(err.trim().to_string());
            return Event::Other;
        }
        for prefix in ["[WARNING]: ", "[DEPRECATION WARNING]: "] {
            if let Some(text) = line.strip_prefix(prefix) {
                let text = super::clip(text, 300);
                let kind = if prefix.starts_with("[DEP") {
                    "deprecation: "
                } else {
                    ""
                };
                let full = match self.task.as_str() {
                    "" => format!("{kind}{text}"),
                    task => format!("{kind}{text} (task \"{task}\")"),
                };
                if self.warnings.len() < MAX_WARNINGS {
                    self.warnings.push(full);
                }
                return Event::Warning(text);
            }
        }
        if line.trim() == "...ignoring" {
            self.failures.pop();
            return Event::Other;
        }
        if self.in_recap {
            if let Some(r) = recap_line(line) {
                self.recap.push(r);
            }
            return Event::Other;
        }
        if let Some(f) = self.failure(line) {
            let text = f.to_string();
            self.failures.push(f);
            return Event::Failed(text);
        }
        Event::Other
    }

    fn failure(&self, line: &str) -> Option<Failure> {
        let rest = line
            .strip_prefix("fatal: [")
            .or_else(|| line.strip_prefix("failed: ["))?;
        let (host, rest) = rest.split_once(']')?;
        let host = host.split(" -> ").next().unwrap_or(host);
        let unreachable = rest.starts_with(": UNREACHABLE!");
        let json = rest.split_once("=> ").map_or("", |(_, j)| j);
        let item = rest
            .trim_start()
            .strip_prefix("(item=")
            .and_then(|r| r.rsplit_once(") =>"))
            .map(|(item, _)| format!(" (item={item})"))
            .unwrap_or_default();
        Some(Failure {
            host: host.to_string(),
            play: self.play.clone(),
            task: format!("{}{item}", self.task),
            message: message(json),
            unreachable,
        })
    }
}

/// The readable part of a failed result's JSON.
fn message(json: &str) -> String {
    let clip = |s: &str| -> String {
        let s = s.trim();
        match s.char_indices().nth(300) {
            Some((i, _)) => format!("{}...", &s[..i]),
            None => s.to_string(),
        }
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return clip(json);
    };
    let msg = v["msg"].as_str().unwrap_or("").trim();
    let stderr = v["stderr"].as_str().unwrap_or("").trim();
    let last_err = stderr.lines().rev().find(|l| !l.trim().is_empty());
    match (msg.is_empty(), last_err) {
        (false, Some(e)) => clip(&format!("{msg} (stderr: {e})")),
        (false, None) => clip(msg),
        (true, Some(e)) => clip(e),
        (true, None) => clip(json),
    }
}

/// `host : ok=1 changed=0 ...`.
fn recap_line(line: &str) -> Option<HostRecap> {
    let (host, counts) = line.split_once(" : ")?;
    let mut r = HostRecap {
        host: host.trim().to_string(),
        ..Default::default()
    };
    for pair in counts.split_whitespace() {
        let (key, n) = pair.split_once('=')?;
        let n: u32 = n.parse().ok()?;
        match key {
            "ok" => r.ok = n,
            "changed" => r.changed = n,
            "unreachable" => r.unreachable = n,
            "failed" => r.failed = n,
            "skipped" => r.skipped = n,
            "rescued" => r.rescued = n,
            "ignored" => r.ignored = n,
            _ => {}
        }
    }
    (!r.host.is_empty()).then_some(r)
}

#[cfg(test)]
#[path = "recap_tests.rs"]
mod tests;
