//! Fail-closed: whether the cache may serve a hit now.
//!
//! A revocation channel proves it is current by a heartbeat: it sends itself a marker through
//! the same channel revocations travel, and when the marker comes back, every revocation sent
//! before the marker has been applied. The cache serves hits only while the newest such proof is
//! younger than the bound; a channel that knows it lost its connection withdraws the proof at
//! once. So a token revoked at instant R is never a hit for a read that starts after R + bound,
//! whatever the channel does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// No proof: serve no hits.
const NEVER: u64 = u64::MAX;

/// The proof of currency and the generation that guards cache fills.
#[derive(Debug)]
pub(crate) struct Freshness {
    bound: Duration,
    origin: Instant,
    /// Microseconds after `origin` up to which every revocation has been applied, or `NEVER`.
    current_as_of: AtomicU64,
    /// Microseconds after `origin` of the last reset: proofs older than it are void.
    reset_at: AtomicU64,
    /// Bumped by every invalidation: a fill whose read began before a bump is not kept.
    generation: AtomicU64,
}

impl Freshness {
    pub(crate) fn new(bound: Duration) -> Self {
        Self {
            bound,
            origin: Instant::now(),
            current_as_of: AtomicU64::new(NEVER),
            reset_at: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }

    pub(crate) fn bound(&self) -> Duration {
        self.bound
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_micros()).unwrap_or(NEVER - 1)
    }

    /// Whether a hit may be served at `now`.
    pub(crate) fn may_serve(&self, now: Instant) -> bool {
        let proof = self.current_as_of.load(Ordering::Acquire);
        proof != NEVER && self.micros(now).saturating_sub(proof) <= self.bound.as_micros() as u64
    }

    /// Every revocation sent before `sent_at` has been applied.
    pub(crate) fn caught_up_to(&self, sent_at: Instant) {
        let at = self.micros(sent_at);
        if at < self.reset_at.load(Ordering::Acquire) {
            return; // a proof from before the last disconnect proves nothing
        }
        let _ = self.current_as_of.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
            (now == NEVER || at > now).then_some(at)
        });
    }

    /// The channel lost its connection (or lags): no hits until a new proof arrives, and no
    /// proof sent before now counts.
    pub(crate) fn withdraw(&self) {
        self.reset_at.fetch_max(self.micros(Instant::now()), Ordering::AcqRel);
        self.current_as_of.store(NEVER, Ordering::Release);
        self.bump();
    }

    /// The generation a read records before it asks the store.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Invalidates every fill in flight.
    pub(crate) fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_hits_before_the_first_proof() {
        let freshness = Freshness::new(Duration::from_millis(50));
        assert!(!freshness.may_serve(Instant::now()));
    }

    #[test]
    fn a_proof_serves_until_the_bound_then_expires() {
        let freshness = Freshness::new(Duration::from_millis(50));
        let sent = Instant::now();
        freshness.caught_up_to(sent);
        assert!(freshness.may_serve(sent + Duration::from_millis(49)));
        assert!(!freshness.may_serve(sent + Duration::from_millis(51)));
    }

    #[test]
    fn withdrawing_stops_hits_at_once_and_voids_older_proofs() {
        let freshness = Freshness::new(Duration::from_secs(60));
        let before = Instant::now();
        freshness.caught_up_to(before);
        assert!(freshness.may_serve(Instant::now()));
        std::thread::sleep(Duration::from_millis(2));
        freshness.withdraw();
        assert!(!freshness.may_serve(Instant::now()));
        // A marker sent before the disconnect, arriving late, proves nothing.
        freshness.caught_up_to(before);
        assert!(!freshness.may_serve(Instant::now()));
        // One sent after it does.
        freshness.caught_up_to(Instant::now());
        assert!(freshness.may_serve(Instant::now()));
    }

    #[test]
    fn proofs_only_move_forward() {
        let freshness = Freshness::new(Duration::from_millis(50));
        let late = Instant::now() + Duration::from_millis(100);
        freshness.caught_up_to(late);
        freshness.caught_up_to(Instant::now());
        assert!(freshness.may_serve(late + Duration::from_millis(40)));
    }

    #[test]
    fn withdrawing_and_invalidating_bump_the_generation() {
        let freshness = Freshness::new(Duration::from_millis(50));
        let first = freshness.generation();
        freshness.bump();
        freshness.withdraw();
        assert_eq!(freshness.generation(), first + 2);
    }
}
