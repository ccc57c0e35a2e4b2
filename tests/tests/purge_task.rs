//! The background purge task, on tokio's paused clock: it purges on every tick and logs how many
//! rows went, survives a failed run, and stops when its handle is dropped.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use authtoken::memory::MemoryStore;
use authtoken::purge::PurgeTask;
use authtoken::store::{AccessToken, AccessTokenStore};
use authtoken::{Clock, DatabaseStrategy, ManualClock};
use authtoken_tests::faults::FaultyStore;
use authtoken_tests::logs::CapturedLogs;
use chrono::TimeDelta;

fn row(n: u32, clock: &ManualClock) -> AccessToken<u64> {
    AccessToken::new(format!("token-{n}"), 1, clock.now())
}

/// Lets the spawned task run up to its next await on the paused clock.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn purges_every_tick_survives_a_failure_and_stops_when_cancelled() {
    let (logs, _guard) = CapturedLogs::start();
    let clock = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
    let memory = MemoryStore::<u64>::new();
    let store = FaultyStore::new(memory.clone());
    let probe = store.probe();
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(60)))
        .unwrap()
        .with_clock(clock.clone());
    for n in 0..5 {
        memory.create(row(n, &clock), None).await.unwrap();
    }
    let every = Duration::from_secs(10);
    let task = PurgeTask::spawn(Arc::new(strategy), every, NonZeroU32::new(2).unwrap());
    settle().await;
    assert_eq!(memory.len(), 5, "the first run found nothing expired");

    clock.advance(TimeDelta::seconds(61));
    probe.set_failing(true);
    tokio::time::advance(every).await;
    settle().await;
    assert_eq!(memory.len(), 5, "the second run failed");
    assert!(logs.text().contains("purge run failed"), "{}", logs.text());

    probe.set_failing(false);
    tokio::time::advance(every).await;
    settle().await;
    assert_eq!(memory.len(), 0, "the third run purged all five, two per statement");
    assert!(logs.text().contains("deleted=5"), "{}", logs.text());
    assert!(!task.is_finished());

    memory.create(row(10, &clock), None).await.unwrap();
    clock.advance(TimeDelta::seconds(61));
    task.cancel();
    tokio::time::advance(every * 3).await;
    settle().await;
    assert_eq!(memory.len(), 1, "a cancelled task purges nothing");
}
