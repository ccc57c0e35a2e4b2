//! Races on one Redis and on a cluster: many logins at once, and "log out everywhere" against
//! logins. The guarantee: once `destroy_all_tokens` returns, no token whose login returned before
//! it started authenticates.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use authtoken::memory::MemoryUsers;
use authtoken::{DatabaseStrategy, User};
use authtoken_conformance::Backend;
use authtoken_conformance::memory::MemoryUser;
use tokio::task::JoinSet;

type Strategy = DatabaseStrategy<authtoken_redis::RedisStore<u64>>;

fn strategy(b: &common::RedisBackend) -> Arc<Strategy> {
    Arc::new(DatabaseStrategy::new(b.store(), Some(Duration::from_secs(3600))).unwrap())
}

/// 16 tasks log one user in 1,000 times each: 16,000 distinct tokens, every one authenticates.
async fn many_logins(b: &common::RedisBackend) {
    let strategy = strategy(b);
    let user = b.create_user(true).await;
    let mut tasks = JoinSet::new();
    for _ in 0..16 {
        let (strategy, user) = (Arc::clone(&strategy), user.clone());
        tasks.spawn(async move {
            let mut tokens = Vec::with_capacity(1000);
            for _ in 0..1000 {
                tokens.push(strategy.write_token(&user).await.unwrap().into_secret());
            }
            tokens
        });
    }
    let tokens: Vec<String> = tasks.join_all().await.into_iter().flatten().collect();
    assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), 16_000);
    for token in tokens.iter().step_by(40) {
        let found = strategy.read_token(token, b.users()).await.unwrap();
        assert_eq!(found.map(|(u, _)| *u.id()), Some(user.id));
    }
    assert_eq!(strategy.destroy_all_tokens(&user).await.unwrap(), 16_000);
}

/// Logins race "log out everywhere", ten rounds: every token whose login returned before the
/// logout started is dead when it returns; later ones may live, and authenticate their user.
async fn logout_everywhere_beats_earlier_logins(b: &common::RedisBackend) {
    let strategy = strategy(b);
    let users: &MemoryUsers<MemoryUser<u64>> = b.users();
    let user = b.create_user(true).await;
    for round in 0..10 {
        let started = Arc::new(AtomicBool::new(false));
        let mut logins = JoinSet::new();
        for _ in 0..8 {
            let (strategy, user, started) =
                (Arc::clone(&strategy), user.clone(), Arc::clone(&started));
            logins.spawn(async move {
                let (mut before, mut after) = (Vec::new(), Vec::new());
                for _ in 0..40 {
                    let token = strategy.write_token(&user).await.unwrap().into_secret();
                    // Read after the write returned: if the logout had not started yet, this
                    // login finished before it did.
                    if started.load(Ordering::SeqCst) {
                        after.push(token)
                    } else {
                        before.push(token)
                    }
                    tokio::task::yield_now().await;
                }
                (before, after)
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        started.store(true, Ordering::SeqCst);
        strategy.destroy_all_tokens(&user).await.unwrap();
        let results = logins.join_all().await;
        let before: Vec<String> = results.iter().flat_map(|(b, _)| b.clone()).collect();
        for token in &before {
            let found = strategy.read_token(token, users).await.unwrap();
            assert!(
                found.is_none(),
                "round {round}: a token issued before log-out-everywhere survived"
            );
        }
        for token in results.iter().flat_map(|(_, a)| a) {
            let found = strategy.read_token(token, users).await.unwrap();
            assert!(found.is_none_or(|(u, _)| u.id == user.id));
        }
        strategy.destroy_all_tokens(&user).await.unwrap();
    }
}

macro_rules! on {
    ($module:ident, $variable:literal, $default:expr) => {
        mod $module {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn many_logins() {
                let Some(b) = super::common::setup($variable, $default).await else { return };
                super::many_logins(&b).await;
                authtoken_conformance::Backend::cleanup(b).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn logout_everywhere_beats_earlier_logins() {
                let Some(b) = super::common::setup($variable, $default).await else { return };
                super::logout_everywhere_beats_earlier_logins(&b).await;
                authtoken_conformance::Backend::cleanup(b).await;
            }
        }
    };
}

on!(single, "AUTHTOKEN_TEST_REDIS_URL", Some("redis://127.0.0.1:6379"));
on!(cluster, "AUTHTOKEN_TEST_REDIS_CLUSTER_URL", None);
