//! The one Ctrl-C mechanism of `lab`: commands that change a lab stop at
//! once on SIGINT or SIGTERM, after printing what to do next. Stopping at
//! any instant is safe because every resource is recorded in the lab's
//! state before it is created (see [`crate::state`]), so the next command
//! resumes or removes it. Workflows say what "next" is with [`set_message`]
//! as they move from phase to phase.
//!
//! The programs lab runs ([`crate::process::Cmd`]) each get a process group
//! of their own, tracked here: on interruption every tracked group is
//! killed, so no mmdebstrap or ansible-playbook goes on writing after lab
//! has gone, whether the signal came from the terminal or was sent to lab's
//! pid alone.
//!
//! The handler is registered through `signal-hook` (sigaction, chained
//! safely) and does only async-signal-safe work: `kill(2)` of the tracked
//! groups, one `write(2)` of a message prepared beforehand, then `_exit(2)`
//! with 128 + the signal.

use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};

/// The message printed on interruption: a leaked, never freed buffer.
static MESSAGE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static MESSAGE_LEN: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

/// How many child process groups are tracked at once; more are run
/// untracked (lab runs a handful at a time).
const GROUP_SLOTS: usize = 64;
/// Process group ids of running children; 0 is a free slot.
static GROUPS: [AtomicI32; GROUP_SLOTS] = [const { AtomicI32::new(0) }; GROUP_SLOTS];

/// A tracked child process group; untracked when dropped.
#[derive(Debug)]
pub struct Tracked(usize);

impl Drop for Tracked {
    fn drop(&mut self) {
        GROUPS[self.0].store(0, Ordering::SeqCst);
    }
}

/// Track the process group `pgid` (a child started as the leader of its
/// own group) until the guard is dropped; `None` when every slot is taken.
pub fn track(pgid: u32) -> Option<Tracked> {
    let pgid = i32::try_from(pgid).ok()?;
    (0..GROUP_SLOTS).find_map(|i| {
        GROUPS[i]
            .compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .ok()
            .map(|_| Tracked(i))
    })
}

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
    for slot in &GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill(2) is async-signal-safe; a negative pid names
            // the process group, which lab made for this child alone.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_tracked_until_the_guard_is_dropped() {
        let a = track(4_000_001).unwrap();
        let b = track(4_000_002).unwrap();
        assert_ne!(a.0, b.0);
        assert_eq!(GROUPS[a.0].load(Ordering::SeqCst), 4_000_001);
        let slot = a.0;
        drop(a);
        assert_eq!(GROUPS[slot].load(Ordering::SeqCst), 0);
        drop(b);
        assert!(track(u32::MAX).is_none(), "not a pid");
    }
}
