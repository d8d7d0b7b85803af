//! Fanning work out to nodes: one thread per item, results in the items'
//! order. Every place that works on several nodes at once (waiting for
//! them, provisioning steps, checks, link checks) goes through [`each`], so
//! they share one policy: all workers finish; a worker that panicked (a bug)
//! then panics the caller with the same payload, never a silently missing
//! result.

/// Run `f` on every item at once, one scoped thread each (`ssh2` calls
/// block, so each node gets its own thread and SSH session); the results
/// come back in the order of `items`.
pub fn each<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items.iter().map(|item| s.spawn(move || f(item))).collect();
        let mut out = Vec::with_capacity(handles.len());
        let mut panic = None;
        for h in handles {
            match h.join() {
                Ok(v) => out.push(v),
                Err(p) => panic = panic.or(Some(p)),
            }
        }
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn results_keep_the_order_and_work_runs_at_once() {
        // Each worker waits (up to 30 s) until all three have started: run
        // one after another, the first would never see the others. No
        // timing is asserted, so a loaded machine cannot fail it.
        let started = AtomicUsize::new(0);
        let out = each(&[30u64, 10, 20], |ms| {
            started.fetch_add(1, Ordering::SeqCst);
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while started.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            (ms * 2, started.load(Ordering::SeqCst))
        });
        assert_eq!(out, vec![(60, 3), (20, 3), (40, 3)]);
    }

    #[test]
    fn a_panic_reaches_the_caller_after_every_worker_finished() {
        let finished = AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            each(&[0u64, 1, 2], |i| {
                if *i == 0 {
                    panic!("worker {i} failed");
                }
                std::thread::sleep(Duration::from_millis(50));
                finished.fetch_add(1, Ordering::SeqCst);
            })
        }));
        let payload = caught.unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("worker 0 failed")
        );
        assert_eq!(finished.load(Ordering::SeqCst), 2);
    }
}
