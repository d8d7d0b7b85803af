//! The one Ctrl-C mechanism of `lab`: commands that change a lab stop at
//! once on SIGINT or SIGTERM, after printing what to do next. Stopping at
//! any instant is safe because every resource is recorded in the lab's
//! state before it is created (see [`crate::state`]), so the next command
//! resumes or removes it. Workflows say what "next" is with [`set_message`]
//! as they move from phase to phase.
//!
//! The handler is registered through `signal-hook` (sigaction, chained
//! safely) and does only async-signal-safe work: one `write(2)` of a
//! message prepared beforehand, then `_exit(2)` with 128 + the signal.

use std::sync::Once;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// The message printed on interruption: a leaked, never freed buffer.
static MESSAGE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static MESSAGE_LEN: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

/// The message until a workflow sets its own.
pub const DEFAULT_MESSAGE: &str = "interrupted";

/// Install the handler (once per process) for SIGINT and SIGTERM.
pub fn install() {
    INSTALL.call_once(|| {
        if MESSAGE.load(Ordering::SeqCst).is_null() {
            set_message(DEFAULT_MESSAGE);
        }
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // SAFETY: the action only loads two atomics, calls write(2) and
            // _exit(2), all async-signal-safe.
            let res = unsafe { signal_hook::low_level::register(sig, move || on_signal(sig)) };
            if let Err(e) = res {
                tracing::warn!("cannot handle signal {sig}: {e}");
            }
        }
    });
}

/// What the handler prints (a newline is added before and after).
pub fn set_message(text: &str) {
    let bytes: &'static mut [u8] = format!("\n{text}\n").into_bytes().leak();
    // Length first: a handler seeing the new pointer with the old, shorter
    // length prints a prefix; never more than the buffer.
    let len = bytes.len();
    let old_len = MESSAGE_LEN.load(Ordering::SeqCst);
    if len < old_len {
        MESSAGE_LEN.store(len, Ordering::SeqCst);
        MESSAGE.store(bytes.as_mut_ptr(), Ordering::SeqCst);
    } else {
        MESSAGE.store(bytes.as_mut_ptr(), Ordering::SeqCst);
        MESSAGE_LEN.store(len, Ordering::SeqCst);
    }
}

fn on_signal(sig: i32) {
    let ptr = MESSAGE.load(Ordering::SeqCst);
    let len = MESSAGE_LEN.load(Ordering::SeqCst);
    if !ptr.is_null() {
        // SAFETY: ptr/len describe a leaked buffer at least `len` long (see
        // set_message); write(2) is async-signal-safe.
        unsafe {
            libc::write(2, ptr.cast(), len);
        }
    }
    signal_hook::low_level::exit(128 + sig);
}
