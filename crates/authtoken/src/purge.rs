//! A background task that keeps the token table from growing without bound.
//!
//! Every login adds a row and nothing else removes the expired ones, so without a purge the table
//! only grows. Start one of these with the application.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::{DatabaseStrategy, PurgeExpired};

/// A running purge task; dropping it (or calling [`cancel`](Self::cancel)) stops it.
#[derive(Debug)]
#[must_use = "the purge task stops when this handle is dropped"]
pub struct PurgeTask {
    handle: JoinHandle<()>,
}

impl PurgeTask {
    /// Starts purging expired tokens every `interval`, `batch_size` rows per statement, on the
    /// current tokio runtime. The first run starts at once.
    ///
    /// Each run logs how many rows it removed (`tracing`, at INFO when it removed any); a failed
    /// run is logged at WARN and the task tries again at the next tick.
    ///
    /// ```no_run
    /// # use std::{num::NonZeroU32, sync::Arc, time::Duration};
    /// # use authtoken::{DatabaseStrategy, memory::MemoryStore, purge::PurgeTask};
    /// # async fn run() -> authtoken::Result<()> {
    /// let strategy = Arc::new(DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(3600)))?);
    /// let _purge = PurgeTask::spawn(strategy.clone(), Duration::from_secs(600), NonZeroU32::new(1000).unwrap());
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn<S>(
        strategy: Arc<DatabaseStrategy<S>>,
        interval: Duration,
        batch_size: NonZeroU32,
    ) -> Self
    where
        S: PurgeExpired + 'static,
    {
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            // After a slow run, wait a whole interval rather than firing the missed ticks at once.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match strategy.purge_expired(batch_size).await {
                    Ok(0) => tracing::debug!("purge run: no expired access tokens"),
                    Ok(deleted) => {
                        tracing::info!(deleted, "purge run: deleted expired access tokens")
                    }
                    Err(error) => {
                        tracing::warn!(%error, "purge run failed; retrying next interval")
                    }
                }
            }
        });
        Self { handle }
    }

    /// Stops the task; a purge statement in flight is abandoned (it deletes only expired rows).
    pub fn cancel(self) {
        drop(self);
    }

    /// Whether the task has stopped.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl Drop for PurgeTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
