//! Writes that lost to a concurrent one, run again.

use std::fmt::Display;
use std::future::Future;

/// How many times a SQL store runs again a write that lost to a concurrent one (a deadlock, a
/// serialization failure or a lost Galera certification: nothing was committed), with
/// [`retry_pause`] between attempts; about 1.5 s in all.
pub const WRITE_RETRIES: u32 = 15;

/// The pause before retry `attempt` (1-based): back-off doubling from 4 ms to at most 128 ms,
/// half fixed, half random, so that two losers do not collide again.
///
/// ```
/// let pause = authtoken_sql::retry_pause(1);
/// assert!(pause >= std::time::Duration::from_millis(2) && pause <= std::time::Duration::from_millis(4));
/// ```
pub fn retry_pause(attempt: u32) -> std::time::Duration {
    let ceiling = 2u64 << attempt.min(6);
    let mut byte = [0u8; 1];
    getrandom::fill(&mut byte).unwrap_or_default();
    std::time::Duration::from_millis(ceiling / 2 + u64::from(byte[0]) * ceiling / 2 / 255)
}

/// Runs `attempt_once` until it does not fail with a conflict (`is_conflict`: a deadlock, a
/// serialization failure, a lost Galera certification), at most [`WRITE_RETRIES`] times more,
/// with [`retry_pause`] between attempts. The outer error (a timeout, no connection) is never
/// retried; the inner one is the database's, returned as it came once the retries are spent.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let mut left = 2;
/// let outcome = authtoken_sql::retrying_conflicts(
///     || {
///         left -= 1;
///         let attempt = if left > 0 { Err("deadlock") } else { Ok(7) };
///         async move { Ok(attempt) }
///     },
///     |error: &&str| *error == "deadlock",
/// )
/// .await;
/// assert_eq!(outcome.unwrap(), Ok(7));
/// # });
/// ```
pub async fn retrying_conflicts<T, E, F, Fut>(
    mut attempt_once: F,
    is_conflict: impl Fn(&E) -> bool,
) -> authtoken::Result<Result<T, E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = authtoken::Result<Result<T, E>>>,
    E: Display,
{
    let mut attempt = 0;
    loop {
        match attempt_once().await? {
            Err(error) if attempt < WRITE_RETRIES && is_conflict(&error) => {
                attempt += 1;
                tracing::debug!(attempt, %error, "authtoken: a write lost to a concurrent one, retrying");
                tokio::time::sleep(retry_pause(attempt)).await;
            }
            outcome => return Ok(outcome),
        }
    }
}
