//! What a revocation channel tells the cache, and what the cache tells the channel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Result;

/// A revocation another process must hear of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// These tokens (their stored keys) are gone.
    Tokens(Vec<String>),
    /// Every token of this user (its id as text) is gone, or the user changed (deactivated,
    /// new password): drop everything cached for it.
    User(String),
    /// Anything may have changed: drop everything.
    All,
}

impl Revocation {
    /// The revocation as a channel message: `k:KEY,KEY…`, `u:USER` or `*`. The channels that
    /// carry text (PostgreSQL NOTIFY, Redis pub/sub) all speak it, and the database side (a
    /// trigger, a delete script) writes it too.
    ///
    /// ```
    /// use authtoken::cache::Revocation;
    /// let revocation = Revocation::User("42".into());
    /// assert_eq!(revocation.to_message(), "u:42");
    /// assert_eq!(Revocation::from_message("u:42"), Some(revocation));
    /// assert_eq!(Revocation::from_message("k:abc,def"), Some(Revocation::Tokens(vec!["abc".into(), "def".into()])));
    /// assert_eq!(Revocation::from_message("*"), Some(Revocation::All));
    /// assert_eq!(Revocation::from_message("ping"), None);
    /// ```
    pub fn to_message(&self) -> String {
        match self {
            Revocation::All => "*".to_owned(),
            Revocation::Tokens(keys) => format!("k:{}", keys.join(",")),
            Revocation::User(user) => format!("u:{user}"),
        }
    }

    /// The revocation a channel message stands for; `None` for anything else (to be ignored).
    pub fn from_message(message: &str) -> Option<Self> {
        if message == "*" {
            return Some(Revocation::All);
        }
        if let Some(keys) = message.strip_prefix("k:") {
            return Some(Revocation::Tokens(
                keys.split(',').filter(|k| !k.is_empty()).map(str::to_owned).collect(),
            ));
        }
        message.strip_prefix("u:").map(|user| Revocation::User(user.to_owned()))
    }
}

/// Sends revocations to every other process's cache. A channel whose database announces
/// deletes itself (a PostgreSQL trigger notifying in the deleting transaction) has nothing to do
/// for [`Revocation::Tokens`] and may ignore it.
#[async_trait::async_trait]
pub trait RevocationPublisher: Send + Sync + 'static {
    /// Publishes `revocation`; an error means other processes may not hear of it.
    async fn publish(&self, revocation: Revocation) -> Result<()>;
}

/// The cache side of a revocation channel: what a listener calls as messages arrive. Cheap to
/// clone; every clone reaches the same cache.
#[derive(Clone)]
pub struct RevocationSink {
    pub(crate) target: Arc<dyn Invalidate>,
}

impl std::fmt::Debug for RevocationSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationSink").finish_non_exhaustive()
    }
}

/// The cache operations behind a sink, erased over the user id type.
#[async_trait::async_trait]
pub(crate) trait Invalidate: Send + Sync {
    async fn tokens(&self, keys: &[String]);
    fn user(&self, user: &str);
    fn all(&self);
    fn caught_up_to(&self, sent_at: Instant);
    fn withdraw(&self);
    fn resubscribed(&self);
    fn bound(&self) -> Duration;
}

impl RevocationSink {
    /// Applies a revocation another process published.
    pub async fn apply(&self, revocation: &Revocation) {
        match revocation {
            Revocation::Tokens(keys) => self.target.tokens(keys).await,
            Revocation::User(user) => self.target.user(user),
            Revocation::All => self.target.all(),
        }
    }

    /// The cache's staleness bound: a channel must prove itself current more often than this.
    pub fn staleness_bound(&self) -> Duration {
        self.target.bound()
    }

    /// Every revocation sent before `sent_at` has been applied: the heartbeat marker the
    /// channel sent at `sent_at` came back. Hits are served for the staleness bound after it.
    pub fn caught_up_to(&self, sent_at: Instant) {
        self.target.caught_up_to(sent_at);
    }

    /// The channel lost its connection or cannot tell whether it is current: no hits from now
    /// until a marker sent after the channel is listening again comes back.
    pub fn withdraw(&self) {
        self.target.withdraw();
    }

    /// The channel is listening again after a loss: whatever was sent meanwhile is lost, so
    /// everything cached (and every fill in flight) is dropped.
    pub fn resubscribed(&self) {
        self.target.resubscribed();
    }
}
