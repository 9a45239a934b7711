//! The CPU priority of background threads. Fetching is latency work: a request whose turn came
//! (its host's spacing, shared across workers) should leave at once, because the next one is
//! spaced from when this one was let go. Normalizing, dedup and the corpus are throughput work:
//! a few milliseconds later changes nothing. On a machine whose cores are all busy the kernel
//! shares them by priority, so the ingest thread and the near-duplicate postings writer lower
//! their own (Linux per-thread nice, [`BACKGROUND_NICE`] above the process's) and the fetcher's
//! runtime threads keep theirs. When the cores are idle, nothing changes.
//!
//! Measured with the workers' crawl benchmark (README, "Scaling out"): a request left a worker
//! up to 14 ms after its departure stamp while four workers' ingest threads normalized a batch
//! at once, so the host saw two requests 12 % closer than the interval.
// See: issue 12.

/// Nice steps a background thread lowers itself by (CFS weight 1024 → 110 at nice 0 → 10).
pub const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority by [`BACKGROUND_NICE`] (Linux only: elsewhere a
/// priority is the whole process's, and this does nothing). Returns the nice value set.
pub fn lower_this_thread() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        let now = rustix::process::getpriority_process(Some(tid)).ok()?;
        let nice = (now + BACKGROUND_NICE).min(19);
        match rustix::process::setpriority_process(Some(tid), nice) {
            Ok(()) => Some(nice),
            Err(e) => {
                tracing::debug!(error = %e, "cannot lower a background thread's priority");
                None
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn lowers_only_the_calling_thread() {
        let main = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let (set, seen) = std::thread::spawn(|| {
            let set = lower_this_thread();
            let tid = rustix::thread::gettid();
            (
                set,
                rustix::process::getpriority_process(Some(tid)).unwrap(),
            )
        })
        .join()
        .unwrap();
        assert_eq!(set, Some((main + BACKGROUND_NICE).min(19)));
        assert_eq!(seen, (main + BACKGROUND_NICE).min(19));
        let after = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        assert_eq!(
            after, main,
            "the calling thread's siblings keep their priority"
        );
    }
}
