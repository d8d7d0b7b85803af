//! A closed stdout (`lab box list | head -1`, `lab status | true`) ends
//! `lab` quietly, for every command, the way it ends `cat` or `ls`: no
//! message, and the process dies of SIGPIPE (a shell shows status 141;
//! with `set -o pipefail` a script can tell that the output was cut short).
//!
//! SIGPIPE itself stays ignored (Rust's default) rather than restored at
//! start: lab also writes into sockets (libvirt's RPC) and into pipes to
//! its children (the `__forward` relay), where a reader that went away is
//! an error to report, not a reason to die. Only stdout is judged here:
//! `println!` panics on a write error (caught by the panic hook that
//! [`install`] sets), and a command that writes with `?` returns the
//! `BrokenPipe` error to [`crate::cli::main`], which asks [`is_closed`].

use std::io::ErrorKind;

/// The start of the panic message of `print!`/`println!` when writing to
/// stdout fails (Rust's `std::io::stdio::print_to`, stable since 1.0).
const PRINT_PANIC: &str = "failed printing to stdout";

/// Replace the panic hook with one that ends the process quietly (see
/// [`die`]) when the panic is `println!` failing on a closed stdout, and
/// hands every other panic to the hook it replaces.
pub fn install() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with(PRINT_PANIC) && stdout_closed() {
            die();
        }
        previous(info);
    }));
}

/// Print clap's `err` (help, version, or a usage error) and exit as clap
/// would, but die as [`die`] does when the help cannot be written because
/// stdout is closed (`lab --help | true`); clap itself ignores that.
pub fn exit_clap(err: clap::Error) -> ! {
    if err.print().is_err() && stdout_closed() {
        die();
    }
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::process::exit(err.exit_code())
}

/// Whether `err` is a write to stdout that failed because its reader is
/// gone: a `BrokenPipe` somewhere in its chain while stdout is a pipe
/// without a reader (a `BrokenPipe` from another pipe or socket, with
/// stdout fine, is a real failure).
pub fn is_closed(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
    }) && stdout_closed()
}

/// Whether stdout is a pipe or socket whose other end is closed: poll(2)
/// reports POLLERR (pipe) or POLLHUP (socket) on it, at once.
fn stdout_closed() -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    let n = unsafe { libc::poll(&mut fd, 1, 0) };
    n == 1 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

/// End the process as a write into a closed pipe ends a program that does
/// not ignore SIGPIPE: restore its default action and raise it.
pub fn die() -> ! {
    // SAFETY: setting a signal's default action and raising it in our own
    // process; nothing is left to run if it works.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    // Not reached: SIGPIPE's default action ends the process.
    std::process::exit(128 + libc::SIGPIPE)
}
