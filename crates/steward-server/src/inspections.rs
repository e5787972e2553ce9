//! Package inspections run on the blocking threads, a bounded number at once. An inspection
//! may hold the manifest and resource table in memory (up to about 132 MiB for a hostile or
//! huge APK), so a burst of uploads waits for a turn instead of taking memory without bound.
//! The turn is held by the blocking work itself: a request that goes away while its package
//! is being read does not free a turn until the reading ends.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::ApiError;

/// At most this many at once by default, fewer on a machine with fewer CPUs.
const DEFAULT_MAX: usize = 4;

/// How many inspections run at once by default: the CPU count, at most 4.
pub fn default_max_inspections() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, DEFAULT_MAX)
}

/// Turns for package inspections. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Inspections {
    permits: Arc<Semaphore>,
}

impl Inspections {
    /// `max` inspections at once (at least one).
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }

    /// Runs `work` on a blocking thread once a turn is free.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(format!("the inspection queue is closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _turn = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("the inspector failed: {e}")))
    }

    /// Turns free now.
    #[cfg(test)]
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn no_more_than_the_limit_run_at_once() {
        let inspections = Inspections::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (inspections, running, most) = (inspections.clone(), running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                inspections
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert_eq!(inspections.available(), 2);
    }

    #[tokio::test]
    async fn a_request_that_goes_away_keeps_its_turn_until_the_work_ends() {
        let inspections = Inspections::new(1);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, is_started) = tokio::sync::oneshot::channel();
        let request = tokio::spawn({
            let inspections = inspections.clone();
            async move {
                inspections
                    .run(move || {
                        let _ = started.send(());
                        let _ = wait.recv();
                    })
                    .await
            }
        });
        is_started.await.unwrap();
        request.abort();
        let _ = request.await;
        // The work still runs: no turn is free, and the next inspection waits.
        assert_eq!(inspections.available(), 0);
        let next = tokio::spawn({
            let inspections = inspections.clone();
            async move { inspections.run(|| 7).await.unwrap() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!next.is_finished());
        release.send(()).unwrap();
        assert_eq!(next.await.unwrap(), 7);
        assert_eq!(inspections.available(), 1);
    }

    #[test]
    fn the_default_follows_the_cpus_within_bounds() {
        let n = default_max_inspections();
        assert!((1..=DEFAULT_MAX).contains(&n), "{n}");
    }
}
