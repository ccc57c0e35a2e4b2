//! What every strategy operation tells the outside: a `tracing` span (the operation, the store,
//! the user id, a fingerprint of the row key, the outcome; never a token) and, with the
//! `metrics` feature, a counter per outcome and a latency histogram per operation.
//!
//! Metric names: `authtoken_operations_total` (labels `operation`, `outcome`) and
//! `authtoken_operation_duration_seconds` (label `operation`).

use std::fmt::Debug;
use std::future::Future;
use std::time::Instant;

use tracing::Instrument;
use tracing::field::Empty;

use crate::Result;

/// How an operation ended, as spans and metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A token was issued.
    Issued,
    /// The token authenticated its user.
    Authenticated,
    /// No token was presented.
    Missing,
    /// The presented string cannot be a token; the store was not asked.
    Malformed,
    /// No row holds the token (never issued, revoked or purged).
    Unknown,
    /// The token's row is past its lifetime.
    Expired,
    /// The token's user no longer exists.
    NoUser,
    /// One or more tokens were revoked.
    Revoked,
    /// There was nothing to revoke.
    NothingRevoked,
    /// A purge ran (the span's `deleted` field says how many rows went).
    Purged,
    /// A login was refused: its user holds the most live tokens the per-user limit allows.
    LimitReached,
    /// The store or the user loader failed.
    Failed,
}

impl Outcome {
    /// The outcome's name in spans and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Issued => "issued",
            Outcome::Authenticated => "authenticated",
            Outcome::Missing => "refused_missing",
            Outcome::Malformed => "refused_malformed",
            Outcome::Unknown => "refused_unknown",
            Outcome::Expired => "refused_expired",
            Outcome::NoUser => "refused_no_user",
            Outcome::Revoked => "revoked",
            Outcome::NothingRevoked => "nothing_revoked",
            Outcome::Purged => "purged",
            Outcome::LimitReached => "refused_limit",
            Outcome::Failed => "store_error",
        }
    }
}

/// One strategy operation being observed.
pub(crate) struct Operation {
    name: &'static str,
    span: tracing::Span,
    started: Instant,
}

impl Operation {
    /// Opens the span of operation `name` on store type `S`.
    pub(crate) fn start<S>(name: &'static str) -> Self {
        // Fields are evaluated only when a subscriber wants the span.
        let span = tracing::debug_span!(
            "authtoken",
            operation = name,
            store = short_type_name::<S>(),
            user_id = Empty,
            key = Empty,
            deleted = Empty,
            outcome = Empty
        );
        Self { name, span, started: Instant::now() }
    }

    /// An operation refused before any store call (no token, or not the shape of one): an
    /// event and a count, without a span or a clock read, so that garbage stays cheap to refuse.
    pub(crate) fn refused_early(name: &'static str, outcome: Outcome) {
        tracing::debug!(operation = name, outcome = outcome.as_str(), "token operation");
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "authtoken_operations_total",
            "operation" => name,
            "outcome" => outcome.as_str()
        )
        .increment(1);
    }

    /// Records the user the operation is about.
    pub(crate) fn user(&self, id: &dyn Debug) {
        self.span.record("user_id", tracing::field::debug(id));
    }

    /// Records the first characters of the row key (a hash in hashed mode; in plain mode the
    /// key is the token, so nothing is recorded).
    pub(crate) fn key(&self, stored_key: &str, hashed: bool) {
        if hashed {
            self.span.record("key", stored_key.get(..8).unwrap_or(""));
        }
    }

    /// Records how many rows went.
    pub(crate) fn deleted(&self, rows: u64) {
        self.span.record("deleted", rows);
    }

    /// Runs `work` inside the span (store calls and their logs nest under it), then records the
    /// outcome `outcome` reads off the result, or `Failed`.
    pub(crate) async fn run<T>(
        &self,
        work: impl Future<Output = Result<T>>,
        outcome: impl FnOnce(&T) -> Outcome,
    ) -> Result<T> {
        let result = work.instrument(self.span.clone()).await;
        let ended = match &result {
            Ok(value) => outcome(value),
            Err(crate::Error::TokenLimitReached) => Outcome::LimitReached,
            Err(_) => Outcome::Failed,
        };
        self.finish(ended);
        result
    }

    fn finish(&self, outcome: Outcome) {
        self.span.record("outcome", outcome.as_str());
        let elapsed = self.started.elapsed();
        if outcome == Outcome::Failed {
            tracing::warn!(parent: &self.span, outcome = outcome.as_str(), ?elapsed, "token operation failed");
        } else {
            tracing::debug!(parent: &self.span, outcome = outcome.as_str(), ?elapsed, "token operation");
        }
        #[cfg(feature = "metrics")]
        {
            metrics::counter!(
                "authtoken_operations_total",
                "operation" => self.name,
                "outcome" => outcome.as_str()
            )
            .increment(1);
            metrics::histogram!("authtoken_operation_duration_seconds", "operation" => self.name)
                .record(elapsed.as_secs_f64());
        }
        #[cfg(not(feature = "metrics"))]
        let _ = self.name;
    }
}

/// `SeaOrmStore<…>` rather than the full path with every generic spelled out.
fn short_type_name<S>() -> &'static str {
    let full = std::any::type_name::<S>();
    let base = full.split('<').next().unwrap_or(full);
    let start = base.rfind("::").map_or(0, |i| i + 2);
    &full[start..base.len()]
}
