//! The one way `lab` runs external programs (`qemu-img`, `debootstrap`,
//! `mkfs.ext4`, `ssh-keygen`, `ssh`, ...).
//!
//! Every failure carries the full command line, the exit status and the tail
//! of stderr, so a user can rerun the exact command by hand.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use thiserror::Error;

/// How many bytes of stderr an error message keeps (the tail).
const STDERR_TAIL: usize = 4000;

/// An external command that failed to start or exited unsuccessfully.
#[derive(Debug, Error)]
pub enum ProcessError {
    #[error("could not start `{cmdline}`: {cause}{hint}")]
    Spawn {
        cmdline: String,
        hint: String,
        /// In the message, not a `source()`: the chain would repeat it.
        cause: std::io::Error,
    },
    #[error("`{cmdline}` failed ({status}){}", fmt_stderr(stderr, log))]
    Failed {
        cmdline: String,
        status: String,
        stderr: String,
        log: Option<PathBuf>,
    },
    /// [`Cmd::run_limited`]: still running at its time limit (then killed).
    #[error("`{cmdline}` did not finish within {} s and was stopped", limit.as_secs_f64())]
    TimedOut {
        cmdline: String,
        limit: std::time::Duration,
    },
    /// [`Cmd::run_limited`]: wrote more than its limit on stdout or
    /// stderr (then killed).
    #[error("`{cmdline}` wrote more than {} on its {stream} and was stopped", limited::size(*limit))]
    TooMuchOutput {
        cmdline: String,
        /// `standard output` or `standard error`.
        stream: &'static str,
        /// Bytes.
        limit: usize,
    },
}

fn fmt_stderr(stderr: &str, log: &Option<PathBuf>) -> String {
    let mut out = String::new();
    let stderr = stderr.trim_end();
    if !stderr.is_empty() {
        out.push_str(":\n");
        out.push_str(stderr);
    }
    if let Some(log) = log {
        out.push_str(&format!("\nfull log: {}", log.display()));
    }
    out
}

/// Output of a successful command.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// A command to run: program, arguments, environment, working directory and
/// where its output goes.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    log: Option<PathBuf>,
    umask: Option<u32>,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            cwd: None,
            log: None,
            umask: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Run the program with this umask (e.g. `0o022`: nothing it creates is
    /// writable by others), whatever `lab`'s own umask is.
    pub fn umask(mut self, mask: u32) -> Self {
        self.umask = Some(mask);
        self
    }

    /// Send stdout and stderr to this file (created mode 0600) instead of
    /// capturing them; on failure the error quotes the file's tail and
    /// names its path.
    pub fn log_to(mut self, path: impl AsRef<Path>) -> Self {
        self.log = Some(path.as_ref().to_owned());
        self
    }

    /// The command line as a user would type it, quoted where needed.
    pub fn cmdline(&self) -> String {
        shell_join(
            std::iter::once(&self.program)
                .chain(self.args.iter())
                .map(|a| a.to_string_lossy()),
        )
    }

    fn command(&self) -> Command {
        // Found as `find_program` finds it (in this command's own PATH
        // when it sets one, plus the system directories), so what lab
        // doctor finds is what runs; the programs it starts search the
        // same path.
        let path = self
            .envs
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map_or_else(search_path, |(_, v)| search_path_of(v));
        let program = self
            .program
            .to_str()
            .and_then(|p| find_in(p, &path))
            .map_or_else(|| self.program.clone(), PathBuf::into_os_string);
        let mut cmd = Command::new(program);
        cmd.args(&self.args).stdin(Stdio::null());
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd.env("PATH", &path);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        if let Some(mask) = self.umask {
            use std::os::unix::process::CommandExt;
            // SAFETY: umask(2) is async-signal-safe and cannot fail.
            unsafe {
                cmd.pre_exec(move || {
                    libc::umask(mask as libc::mode_t);
                    Ok(())
                });
            }
        }
        cmd
    }

    fn spawn_error(&self, cause: std::io::Error) -> ProcessError {
        let hint = if cause.kind() == std::io::ErrorKind::NotFound {
            let program = self.program.to_string_lossy();
            format!(" (is `{program}` installed? {})", install_hint(&[&program]))
        } else {
            String::new()
        };
        ProcessError::Spawn {
            cmdline: self.cmdline(),
            hint,
            cause,
        }
    }

    fn failed(&self, status: ExitStatus, stderr: String) -> ProcessError {
        ProcessError::Failed {
            cmdline: self.cmdline(),
            status: describe_status(status),
            stderr: tail(&stderr, STDERR_TAIL).to_string(),
            log: self.log.clone(),
        }
    }

    /// Start `cmd` in a process group of its own, which [`crate::interrupt`]
    /// kills (SIGKILL to the group) when lab is interrupted: a program lab
    /// runs never outlives it, whether the signal came from the terminal or
    /// was sent to lab's pid alone. The group is tracked until the returned
    /// guard is dropped (after the child was waited for).
    fn spawn_tracked(
        &self,
        mut cmd: Command,
    ) -> Result<(std::process::Child, Option<crate::interrupt::Tracked>), ProcessError> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let child = cmd.spawn().map_err(|e| self.spawn_error(e))?;
        let tracked = crate::interrupt::track(child.id());
        Ok((child, tracked))
    }

    /// Run to completion; succeed only on exit status 0.
    pub fn run(&self) -> Result<Output, ProcessError> {
        tracing::debug!(cmd = %self.cmdline(), "running");
        if let Some(log) = &self.log {
            let open = || {
                use std::os::unix::fs::OpenOptionsExt;
                File::options()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(log)
            };
            let out = open().map_err(|e| self.spawn_error(e))?;
            let err = out.try_clone().map_err(|e| self.spawn_error(e))?;
            let mut cmd = self.command();
            cmd.stdout(out).stderr(err);
            let (mut child, _tracked) = self.spawn_tracked(cmd)?;
            let status = child.wait().map_err(|e| self.spawn_error(e))?;
            if !status.success() {
                // The log can be long (a whole debootstrap): read its end.
                let text = crate::limits::read_tail(log, STDERR_TAIL as u64).unwrap_or_default();
                return Err(self.failed(status, String::from_utf8_lossy(&text).into_owned()));
            }
            return Ok(Output {
                stdout: String::new(),
                stderr: String::new(),
            });
        }
        let mut cmd = self.command();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let (child, _tracked) = self.spawn_tracked(cmd)?;
        let out = child.wait_with_output().map_err(|e| self.spawn_error(e))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            return Err(self.failed(out.status, stderr));
        }
        Ok(Output { stdout, stderr })
    }

    /// Run to completion, handing every line of stdout and stderr to
    /// `on_line` as it arrives (the two interleaved; a line longer than
    /// [`crate::limits::MAX_LINE_BYTES`] cut); succeed only on exit status
    /// 0. The error quotes the last lines.
    pub fn stream(&self, on_line: &mut dyn FnMut(&str)) -> Result<(), ProcessError> {
        use std::io::BufReader;
        tracing::debug!(cmd = %self.cmdline(), "running, streaming output");
        let mut cmd = self.command();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let (mut child, _tracked) = self.spawn_tracked(cmd)?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|e| Box::new(e) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|pipe| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                while let Ok(Some(line)) = crate::limits::read_text_line(&mut reader) {
                    let _ = tx.send(line);
                }
            })
        })
        .collect();
        drop(tx);
        let mut last: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        for line in rx {
            on_line(&line);
            if last.len() == 40 {
                last.pop_front();
            }
            last.push_back(line);
        }
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait().map_err(|e| self.spawn_error(e))?;
        if !status.success() {
            let text: Vec<String> = last.into();
            return Err(self.failed(status, text.join("\n")));
        }
        Ok(())
    }

    /// Run with the terminal attached (for `lab ssh`); returns the exit code.
    pub fn run_interactive(&self) -> Result<i32, ProcessError> {
        tracing::debug!(cmd = %self.cmdline(), "running interactively");
        let mut cmd = self.command();
        cmd.stdin(Stdio::inherit());
        let status = cmd.status().map_err(|e| self.spawn_error(e))?;
        Ok(status
            .code()
            .unwrap_or(128 + signal_of(status).unwrap_or(0)))
    }

    /// Replace the current process (Unix `exec`): used by `lab ssh` so the
    /// session costs nothing beyond one `ssh`. Returns only on failure.
    pub fn exec(&self) -> ProcessError {
        use std::os::unix::process::CommandExt;
        tracing::debug!(cmd = %self.cmdline(), "exec");
        let mut cmd = self.command();
        cmd.stdin(Stdio::inherit());
        self.spawn_error(cmd.exec())
    }
}

#[path = "process_limited.rs"]
mod limited;
#[path = "process_socket.rs"]
mod socket;
pub use socket::SocketChild;

fn signal_of(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), signal_of(status)) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Directories searched after `$PATH`: where Debian installs the system
/// programs a box build runs (`mkfs.ext4`, `chroot`), which a user's
/// `$PATH` often lacks.
pub const SYSTEM_DIRS: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// The search path of every program lab runs ([`find_program`], [`Cmd`]
/// and the programs they start): `$PATH`, then those of [`SYSTEM_DIRS`]
/// it lacks.
pub fn search_path() -> OsString {
    search_path_of(&std::env::var_os("PATH").unwrap_or_default())
}

/// [`search_path`] of a `$PATH` value.
fn search_path_of(path: &OsStr) -> OsString {
    let mut dirs: Vec<PathBuf> = std::env::split_paths(path)
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    for dir in SYSTEM_DIRS {
        if !dirs.iter().any(|d| d == Path::new(dir)) {
            dirs.push(PathBuf::from(dir));
        }
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| path.to_os_string())
}

/// The path of `program` as lab runs it: an executable file in one of
/// [`search_path`]'s directories (or `program` itself when it holds a `/`).
pub fn find_program(program: &str) -> Option<PathBuf> {
    find_in(program, &search_path())
}

/// [`find_program`] in the directories of `path` (as `$PATH` lists them).
fn find_in(program: &str, path: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return runnable(&p).then_some(p);
    }
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| runnable(p))
}

/// The Debian package that installs `program` (one lab runs), else the
/// program's own name.
pub fn debian_package(program: &str) -> &str {
    match program {
        "ssh" | "ssh-keygen" => "openssh-client",
        "ansible-playbook" => "ansible",
        "mkfs.ext4" | "debugfs" | "e2fsck" | "resize2fs" | "e2label" => "e2fsprogs",
        "grub-mkimage" => "grub-pc-bin",
        "qemu-img" => "qemu-utils",
        "qemu-system-x86_64" => "qemu-system-x86",
        "unshare" => "util-linux",
        "chroot" | "cp" => "coreutils",
        "libvirtd" | "virsh" => "libvirt-daemon-system",
        other => other,
    }
}

/// What to do about missing `programs` (at least one): "install it:
/// apt-get install PKG" or "install them: apt-get install PKG1 PKG2" (each
/// Debian package once), then where a checkout of lab has a script for it.
pub fn install_hint(programs: &[&str]) -> String {
    let mut pkgs: Vec<&str> = Vec::new();
    for p in programs {
        let pkg = debian_package(p);
        if !pkgs.contains(&pkg) {
            pkgs.push(pkg);
        }
    }
    let them = if programs.len() == 1 { "it" } else { "them" };
    format!(
        "install {them}: apt-get install {} (in a checkout of lab: scripts/setup-host)",
        pkgs.join(" ")
    )
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
pub fn and_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Quote a word for a POSIX shell only when it needs it.
pub fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Words as one shell command line: each [`shell_quote`]d, joined by
/// spaces.
pub fn shell_join<S: AsRef<str>>(words: impl IntoIterator<Item = S>) -> String {
    words
        .into_iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cmdline())
    }
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
