//! [`Cmd::spawn_on_socket`]: start a program whose stdin and stdout are
//! one end of a socket, for a relay such as `ssh -W HOST:PORT JUMP`
//! (OpenSSH's stdio forwarding) that carries a connection `lab` speaks on
//! the other end. Its stderr is kept (the last [`STDERR_KEPT`] bytes) to
//! say why the relay failed.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use super::{Cmd, ProcessError};

/// How much of the relay's stderr is kept, in bytes (its end).
pub const STDERR_KEPT: usize = 4096;

/// A running program started by [`Cmd::spawn_on_socket`]. Dropping it
/// leaves the program running until its socket closes, and reaps it then
/// (in a thread of its own).
#[derive(Debug)]
pub struct SocketChild {
    child: Option<Child>,
    tracked: Option<crate::interrupt::Tracked>,
    stderr: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    cmdline: String,
}

impl Cmd {
    /// Start the program with `end` as its stdin and stdout, its stderr
    /// kept for [`SocketChild::finish`], in a process group of its own
    /// that [`crate::interrupt`] kills when lab is interrupted.
    pub fn spawn_on_socket(&self, end: UnixStream) -> Result<SocketChild, ProcessError> {
        tracing::debug!(cmd = %self.cmdline(), "running on a socket");
        let out = end.try_clone().map_err(|e| self.spawn_error(e))?;
        let mut cmd = self.command();
        cmd.stdin(Stdio::from(OwnedFd::from(end)))
            .stdout(Stdio::from(OwnedFd::from(out)))
            .stderr(Stdio::piped());
        let (mut child, tracked) = self.spawn_tracked(cmd)?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let reader = child.stderr.take().map(|mut pipe| {
            let kept = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                    kept.extend_from_slice(&buf[..n]);
                    let over = kept.len().saturating_sub(STDERR_KEPT);
                    kept.drain(..over);
                }
            })
        });
        Ok(SocketChild {
            child: Some(child),
            tracked,
            stderr,
            reader,
            cmdline: self.cmdline(),
        })
    }
}

impl SocketChild {
    /// The command line, as [`Cmd::cmdline`] gives it.
    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    /// Waits up to `grace` for the program to end (it does once its
    /// socket is closed or its connection failed), kills its process
    /// group past that, and returns all it wrote to stderr (the last
    /// [`STDERR_KEPT`] bytes), trimmed.
    pub fn finish(mut self, grace: std::time::Duration) -> String {
        if let Some(mut child) = self.child.take() {
            let deadline = std::time::Instant::now() + grace;
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            // SAFETY: kill(2) on the group this child leads; harmless
            // when it has ended.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let kept = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&kept).trim().to_string()
    }
}

impl Drop for SocketChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let tracked = self.tracked.take();
            let reader = self.reader.take();
            std::thread::spawn(move || {
                let _ = child.wait();
                if let Some(reader) = reader {
                    let _ = reader.join();
                }
                drop(tracked);
            });
        }
    }
}
