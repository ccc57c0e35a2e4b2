//! Every strategy operation leaves a span with its operation, store, user id and outcome, and a
//! metric per outcome (feature `metrics`); no token ever appears in either.

use std::num::NonZeroU32;
use std::time::Duration;

use authtoken::memory::{MemoryStore, MemoryUsers};
use authtoken::{DatabaseStrategy, ManualClock, StorageMode};
use authtoken_tests::faults::FaultyStore;
use authtoken_tests::logs::CapturedLogs;
use authtoken_tests::memory::MemoryUser;
use chrono::TimeDelta;

#[tokio::test]
async fn spans_name_each_operation_and_outcome_and_never_a_token() {
    let (logs, _guard) = CapturedLogs::start();
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _metrics = metrics::set_default_local_recorder(&recorder);

    let users = MemoryUsers::new();
    let (alice, gone) =
        (MemoryUser { id: 7u64, is_active: true }, MemoryUser { id: 8, is_active: true });
    users.insert(alice.clone());
    users.insert(gone.clone());
    let clock = ManualClock::new(chrono::Utc::now());
    let store = FaultyStore::new(MemoryStore::new());
    let probe = store.probe();
    // Plain mode: the row key is the token itself, so a leak of the key would be a leak.
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(60)))
        .unwrap()
        .with_storage_mode(StorageMode::Plain)
        .with_clock(clock.clone());

    let token = strategy.write_token(&alice).await.unwrap().into_secret();
    let orphan = strategy.write_token(&gone).await.unwrap().into_secret();
    users.remove(&gone.id);
    assert!(strategy.read_token(&token, &users).await.unwrap().is_some());
    assert!(strategy.read_token("garbage", &users).await.unwrap().is_none());
    assert!(strategy.read_token("", &users).await.unwrap().is_none());
    let unknown = authtoken_tests::spec::foreign_token();
    assert!(strategy.read_token(&unknown, &users).await.unwrap().is_none());
    assert!(strategy.read_token(&orphan, &users).await.unwrap().is_none());
    clock.advance(TimeDelta::seconds(61));
    assert!(strategy.read_token(&token, &users).await.unwrap().is_none());
    probe.set_failing(true);
    assert!(strategy.read_token(&token, &users).await.is_err());
    probe.set_failing(false);
    assert!(strategy.destroy_token(&token, &alice).await.unwrap());
    assert_eq!(strategy.destroy_all_tokens(&alice).await.unwrap(), 0);
    assert_eq!(strategy.purge_expired(NonZeroU32::new(10).unwrap()).await.unwrap(), 1);

    let text = logs.text();
    for (operation, outcome) in [
        ("write_token", "issued"),
        ("read_token", "authenticated"),
        ("read_token", "refused_malformed"),
        ("read_token", "refused_missing"),
        ("read_token", "refused_unknown"),
        ("read_token", "refused_no_user"),
        ("read_token", "refused_expired"),
        ("read_token", "store_error"),
        ("destroy_token", "revoked"),
        ("destroy_all_tokens", "nothing_revoked"),
        ("purge_expired", "purged"),
    ] {
        let line = text.lines().find(|l| {
            l.contains(&format!("operation=\"{operation}\""))
                && l.contains(&format!("outcome=\"{outcome}\""))
        });
        assert!(line.is_some(), "no {operation} span ending {outcome} in:\n{text}");
    }
    assert!(text.contains("store=\"FaultyStore\""), "{text}");
    assert!(text.contains("user_id=7"), "{text}");
    for secret in [&token, &orphan, &unknown] {
        assert!(!text.contains(secret.as_str()), "a token in the logs:\n{text}");
        assert!(!text.contains(&secret[..12]), "a token prefix in the logs:\n{text}");
    }

    let counts: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            metrics_util::debugging::DebugValue::Counter(n) => {
                let labels: Vec<String> =
                    key.key().labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
                Some((format!("{}{{{}}}", key.key().name(), labels.join(",")), n))
            }
            _ => None,
        })
        .collect();
    let count = |name: &str| counts.iter().find(|(k, _)| k == name).map(|(_, n)| *n);
    assert_eq!(
        count("authtoken_operations_total{operation=read_token,outcome=authenticated}"),
        Some(1),
        "{counts:?}"
    );
    assert_eq!(
        count("authtoken_operations_total{operation=write_token,outcome=issued}"),
        Some(2),
        "{counts:?}"
    );
    assert_eq!(
        count("authtoken_operations_total{operation=read_token,outcome=store_error}"),
        Some(1),
        "{counts:?}"
    );
    let histograms = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == "authtoken_operation_duration_seconds");
    assert!(histograms.count() >= 5, "a latency histogram per operation");
}
