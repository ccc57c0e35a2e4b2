//! One outage drill for any store behind a fault proxy: while the proxy cuts or stalls every
//! connection, calls fail with `Err` within a bound (never "not authenticated", never a user);
//! when traffic flows again the same store recovers, the token intact.

use std::time::{Duration, Instant};

use authtoken::memory::MemoryUsers;
use authtoken::{AccessTokenStore, DatabaseStrategy, Error, UserId};
use authtoken_conformance::memory::MemoryUser;

use crate::proxy::Mode;

/// The bound every failing call must stay within (the store's own timeout is shorter; slack for
/// a loaded machine and the reconnect).
pub const BOUND: Duration = Duration::from_secs(8);

/// Runs the drill on `store` (its calls bounded by a timeout of a few seconds), for user `id`;
/// `set_mode` switches the proxy in front of it; `recovery` bounds the reconnect.
pub async fn outages_are_errors_and_the_store_recovers<S>(
    store: S,
    id: S::UserId,
    set_mode: impl Fn(Mode),
    recovery: Duration,
) where
    S: AccessTokenStore,
    S::UserId: UserId,
{
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600))).unwrap();
    let users = MemoryUsers::new();
    let alice = MemoryUser { id: id.clone(), is_active: true };
    users.insert(alice.clone());
    let token = strategy.write_token(&alice).await.unwrap().into_secret();

    for mode in [Mode::Cut, Mode::Stall] {
        set_mode(mode);
        let started = Instant::now();
        let read = strategy.read_token(&token, &users).await;
        assert!(matches!(read, Err(Error::Store(_))), "{mode:?}: read gave {read:?}");
        assert!(started.elapsed() < BOUND, "{mode:?}: read took {:?}", started.elapsed());
        let login = strategy.write_token(&alice).await;
        assert!(matches!(login, Err(Error::Store(_))), "{mode:?}: login gave {login:?}");
        if mode == Mode::Cut {
            // Only while cut: a command sent into a stalled connection is already on its way and
            // runs when traffic flows again (its caller got an error and must not assume either
            // outcome), so a stalled logout would revoke the token this test reads afterwards.
            assert!(matches!(strategy.destroy_token(&token, &alice).await, Err(Error::Store(_))));
            assert!(matches!(strategy.destroy_all_tokens(&alice).await, Err(Error::Store(_))));
        }
        assert!(started.elapsed() < BOUND * 2, "{mode:?}: the calls took {:?}", started.elapsed());

        set_mode(Mode::Pass);
        // The client reconnects in the background: the first calls may still fail.
        let deadline = Instant::now() + recovery;
        let recovered = loop {
            match strategy.read_token(&token, &users).await {
                Ok(found) => break found.map(|(user, _)| user),
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(error) => panic!("{mode:?}: no recovery: {error}"),
            }
        };
        assert_eq!(recovered.map(|u| u.id), Some(id.clone()), "{mode:?}: the token was lost");
    }
}
