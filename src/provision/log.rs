//! The provision log, `.lab/provision.log`: everything the provisioner's
//! commands print, one line per output line, each prefixed with where it
//! came from (`[node1]`, `[ansible]`). Started afresh by every run, the
//! previous run's log kept as `provision.log.1`; shared by the threads
//! that talk to the nodes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

pub struct Log {
    path: PathBuf,
    file: Mutex<File>,
}

impl Log {
    /// Create the log at `path`, mode 0600, with a header line; a log
    /// already there becomes [`previous`]`(path)` (replacing the one
    /// before it), so a failed run's log survives the next attempt.
    pub fn create(path: &Path, header: &str) -> Result<Log> {
        use crate::files::{Content, PRIVATE_FILE, open};
        match std::fs::rename(path, previous(path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| {
                    format!("cannot keep {} as the previous log", path.display())
                });
            }
            _ => {}
        }
        let mut file = open(path, PRIVATE_FILE, Content::Truncate)?;
        writeln!(file, "# {header}").with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Log {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append `[source] text`. Write errors are ignored: the log must not
    /// stop the provisioning it records.
    pub fn line(&self, source: &str, text: &str) {
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(f, "[{source}] {text}");
    }
}

/// Where the log of the run before the last one is kept: `PATH.1`.
pub fn previous(path: &Path) -> PathBuf {
    crate::paths::with_suffix(path, ".1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_prefixed_and_a_new_log_starts_empty_keeping_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("provision.log");
        let log = Log::create(&p, "run 1").unwrap();
        log.line("node1", "hello");
        drop(log);
        let log = Log::create(&p, "run 2").unwrap();
        log.line("ansible", "TASK [x]");
        assert_eq!(
            std::fs::read_to_string(log.path()).unwrap(),
            "# run 2\n[ansible] TASK [x]\n"
        );
        assert_eq!(
            std::fs::read_to_string(previous(&p)).unwrap(),
            "# run 1\n[node1] hello\n"
        );
        drop(log);
        Log::create(&p, "run 3").unwrap();
        assert!(
            std::fs::read_to_string(previous(&p))
                .unwrap()
                .starts_with("# run 2\n"),
            "only one previous log is kept"
        );
    }
}
