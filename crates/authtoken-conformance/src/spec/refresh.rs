//! Refresh tokens: rotation, reuse detection, concurrent refreshes, expiry, logout.

use std::sync::Arc;
use std::time::Duration;

use authtoken::refresh::{
    RefreshPolicy, RefreshRefusal, RefreshRow, RefreshStore, RefreshStrategy, Refreshed, TokenPair,
};
use authtoken::{AccessTokenStore, ListTokens, User};
use chrono::TimeDelta;

use authtoken::ManualClock;

use super::harness;
use crate::faults::{FaultyStore, Probe};
use crate::{Backend, RefreshBackend};

type Tokens<B> =
    RefreshStrategy<FaultyStore<<B as Backend>::Store>, <B as RefreshBackend>::Refresh>;

/// What a refresh spec drives: the strategy, the access strategy's clock and its store's probe.
struct Setup<B: RefreshBackend> {
    tokens: Tokens<B>,
    clock: ManualClock,
    probe: Arc<Probe>,
}

/// Access tokens of 15 minutes; refresh tokens idle out after an hour, families after three.
fn refreshing<B: RefreshBackend>(b: &B) -> Setup<B> {
    refreshing_with(b, None)
}

/// [`refreshing`], with the server key `key` (if any) on the access strategy, and so on the
/// refresh rows.
fn refreshing_with<B: RefreshBackend>(b: &B, key: Option<&[u8; 32]>) -> Setup<B> {
    let access = harness(b, Some(Duration::from_secs(900)), authtoken::StorageMode::Hashed);
    let strategy = match key {
        Some(key) => access.strategy.with_hash_keys(authtoken::HashKeys::new(key).expect("a key")),
        None => access.strategy,
    };
    let policy = RefreshPolicy::new(Duration::from_secs(3600), Duration::from_secs(3 * 3600))
        .expect("a valid policy");
    let tokens =
        RefreshStrategy::new(strategy, b.refresh_store(), policy).expect("a valid configuration");
    Setup { tokens, clock: access.clock, probe: access.probe }
}

/// The id of the user an access token authenticates, if any.
async fn reader<B: RefreshBackend>(
    b: &B,
    tokens: &Tokens<B>,
    access_token: &str,
) -> Option<<B::User as User>::Id> {
    let found = tokens.access().read_token(access_token, b.users()).await.expect("read_token");
    found.map(|(user, _)| user.id().clone())
}

fn rotated(outcome: Refreshed) -> TokenPair {
    match outcome {
        Refreshed::Rotated(pair) => pair,
        Refreshed::Refused(why) => panic!("refused: {why:?}"),
    }
}

fn refused(outcome: Refreshed) -> RefreshRefusal {
    match outcome {
        Refreshed::Refused(why) => why,
        Refreshed::Rotated(pair) => panic!("rotated into family {}", pair.family),
    }
}

/// A refresh spends the presented token for a new pair of the same family; the spent token,
/// presented again within the grace window, is refused as a retry and ends nothing.
pub async fn a_refresh_rotates_and_a_retry_is_refused<B: RefreshBackend>(b: &B) {
    let Setup { tokens, .. } = refreshing(b);
    let alice = b.create_user(true).await;
    let login = tokens.login(&alice).await.unwrap();
    assert_eq!(login.expires_in, Duration::from_secs(900));
    let next = rotated(tokens.refresh(login.refresh_token.expose_secret()).await.unwrap());
    assert_eq!(next.family, login.family);
    assert_ne!(next.refresh_token.expose_secret(), login.refresh_token.expose_secret());
    let again = tokens.refresh(login.refresh_token.expose_secret()).await.unwrap();
    assert_eq!(refused(again), RefreshRefusal::Retried);
    let access = |t: &TokenPair| t.access_token.expose_secret().to_owned();
    assert_eq!(reader(b, &tokens, &access(&next)).await, Some(alice.id().clone()));
    // Where the store keeps a token's own expiry, an access token carries the short one: a
    // backend reading the table with a longer lifetime still ends it on time.
    if tokens.access().store().columns().expires_at {
        let row = tokens.access().read_token_row(&access(&next)).await.unwrap().expect("the row");
        let expires = row.details.expires_at.expect("an access token's own expiry");
        assert_eq!(expires - row.created_at, TimeDelta::minutes(15));
    }
    assert_eq!(reader(b, &tokens, &access(&login)).await, Some(alice.id().clone()));
    let third = rotated(tokens.refresh(next.refresh_token.expose_secret()).await.unwrap());
    assert_eq!(third.family, login.family);
}

/// A spent token presented after the grace window is a stolen one: its family ends at once,
/// every access token of it refused, every refresh token of it unknown.
pub async fn reuse_after_the_grace_window_ends_the_family<B: RefreshBackend>(b: &B) {
    let Setup { tokens, clock, .. } = refreshing(b);
    let alice = b.create_user(true).await;
    let other_login = tokens.login(&alice).await.unwrap();
    let login = tokens.login(&alice).await.unwrap();
    let next = rotated(tokens.refresh(login.refresh_token.expose_secret()).await.unwrap());
    clock.advance(TimeDelta::seconds(6));
    let stolen = tokens.refresh(login.refresh_token.expose_secret()).await.unwrap();
    assert_eq!(refused(stolen), RefreshRefusal::Reused);
    for token in [&login, &next] {
        assert_eq!(reader(b, &tokens, token.access_token.expose_secret()).await, None);
        let refresh = tokens.refresh(token.refresh_token.expose_secret()).await.unwrap();
        assert_eq!(refused(refresh), RefreshRefusal::Unknown);
    }
    // The user's other login is another family: untouched.
    let other = other_login.access_token.expose_secret();
    assert_eq!(reader(b, &tokens, other).await, Some(alice.id().clone()));
    rotated(tokens.refresh(other_login.refresh_token.expose_secret()).await.unwrap());
}

/// Sixteen concurrent refreshes of one token: exactly one rotates, the others are refused as
/// retries, none fails; no access token of a loser is left behind, and the family has one live
/// refresh token afterwards.
pub async fn concurrent_refreshes_of_one_token_rotate_once<B>(b: &B)
where
    B: RefreshBackend,
    B::Store: ListTokens,
    B::Refresh: 'static,
{
    let Setup { tokens, .. } = refreshing(b);
    let tokens = Arc::new(tokens);
    let alice = b.create_user(true).await;
    let login = tokens.login(&alice).await.unwrap();
    let presented = login.refresh_token.expose_secret().to_owned();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (tokens, presented) = (Arc::clone(&tokens), presented.clone());
            tokio::spawn(async move { tokens.refresh(&presented).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("the task").expect("a refresh never fails here") {
            Refreshed::Rotated(pair) => winners.push(pair),
            Refreshed::Refused(why) => assert_eq!(why, RefreshRefusal::Retried),
        }
    }
    assert_eq!(winners.len(), 1, "one refresh rotates");
    let live = tokens.access().store().list_of_user(alice.id()).await.unwrap();
    assert_eq!(live.len(), 2, "the login's access token and the winner's, no loser's");
    let winner = winners.pop().unwrap();
    assert_eq!(
        reader(b, &tokens, winner.access_token.expose_secret()).await,
        Some(alice.id().clone())
    );
    rotated(tokens.refresh(winner.refresh_token.expose_secret()).await.unwrap());
    assert_eq!(refused(tokens.refresh(&presented).await.unwrap()), RefreshRefusal::Retried);
}

/// A refresh token unused for the idle timeout expires; a family ends at its lifetime however
/// often it refreshes.
pub async fn refresh_tokens_expire_idle_and_families_at_their_lifetime<B: RefreshBackend>(b: &B) {
    let Setup { tokens, clock, .. } = refreshing(b);
    let alice = b.create_user(true).await;
    let idle = tokens.login(&alice).await.unwrap();
    clock.advance(TimeDelta::minutes(61));
    let late = tokens.refresh(idle.refresh_token.expose_secret()).await.unwrap();
    assert_eq!(refused(late), RefreshRefusal::Expired);

    let mut pair = tokens.login(&alice).await.unwrap();
    for _ in 0..3 {
        clock.advance(TimeDelta::minutes(50));
        pair = rotated(tokens.refresh(pair.refresh_token.expose_secret()).await.unwrap());
    }
    clock.advance(TimeDelta::minutes(31)); // 3 h 1 min after the login
    let capped = tokens.refresh(pair.refresh_token.expose_secret()).await.unwrap();
    assert_eq!(refused(capped), RefreshRefusal::Expired);
}

/// Garbage is refused as unknown, never an error; logging out with an access token ends its
/// family; a store failure is an error, and the token still rotates once the store is back.
pub async fn logout_ends_the_family_and_garbage_is_unknown<B: RefreshBackend>(b: &B) {
    let Setup { tokens, probe, .. } = refreshing(b);
    let alice = b.create_user(true).await;
    for garbage in [String::new(), "x".into(), "A".repeat(1 << 20), "é".repeat(43)] {
        let outcome = tokens.refresh(&garbage).await.unwrap();
        assert_eq!(refused(outcome), RefreshRefusal::Unknown);
    }
    let login = tokens.login(&alice).await.unwrap();
    let next = rotated(tokens.refresh(login.refresh_token.expose_secret()).await.unwrap());
    assert!(tokens.logout(next.access_token.expose_secret(), &alice).await.unwrap());
    assert_eq!(reader(b, &tokens, login.access_token.expose_secret()).await, None);
    let after = tokens.refresh(next.refresh_token.expose_secret()).await.unwrap();
    assert_eq!(refused(after), RefreshRefusal::Unknown);

    let login = tokens.login(&alice).await.unwrap();
    probe.set_failing(true);
    assert!(tokens.refresh(login.refresh_token.expose_secret()).await.is_err());
    probe.set_failing(false);
    rotated(tokens.refresh(login.refresh_token.expose_secret()).await.unwrap());
}

/// With refresh tokens, ending a session ends its family, "log out the others" ends every
/// family but the asking one's, and "log out everywhere" ends them all: otherwise a refresh
/// token would mint access tokens again after the session was ended. Another user's session id
/// ends nothing.
pub async fn ending_sessions_ends_their_families<B>(b: &B)
where
    B: RefreshBackend,
    B::Store: ListTokens,
{
    let Setup { tokens, .. } = refreshing(b);
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let mut logins = Vec::new();
    for _ in 0..3 {
        logins.push(tokens.login(&alice).await.unwrap());
    }
    let bobs = tokens.login(&bob).await.unwrap();
    let lives = |pair: &TokenPair| {
        let presented = pair.refresh_token.expose_secret().to_owned();
        let tokens = &tokens;
        async move { matches!(tokens.refresh(&presented).await.unwrap(), Refreshed::Rotated(_)) }
    };

    // One session: its family ends, the others live on.
    let second = logins[1].access_token.expose_secret();
    let sessions = tokens.access().list_sessions(&alice, Some(second)).await.unwrap();
    let second_id = sessions.into_iter().find(|s| s.current).expect("the token's session").id;
    assert!(!tokens.end_session(bob.id(), second_id.as_str()).await.unwrap(), "bob ended alice's");
    assert!(tokens.end_session(alice.id(), second_id.as_str()).await.unwrap());
    assert_eq!(reader(b, &tokens, logins[1].access_token.expose_secret()).await, None);
    assert!(!lives(&logins[1]).await, "an ended session's refresh token rotated");

    // The others: the asking session's family lives on (its access token included).
    let asking = logins[2].access_token.expose_secret();
    tokens.end_others(alice.id(), asking).await.unwrap();
    assert_eq!(reader(b, &tokens, logins[0].access_token.expose_secret()).await, None);
    assert!(!lives(&logins[0]).await);
    assert_eq!(reader(b, &tokens, asking).await, Some(alice.id().clone()));
    let rotated_third = logins.pop().map(|pair| pair.refresh_token.expose_secret().to_owned());
    let third = rotated(tokens.refresh(&rotated_third.unwrap()).await.unwrap());

    // Everywhere: the rotated successor goes too; bob's login is untouched.
    assert!(tokens.end_all(alice.id()).await.unwrap() >= 1);
    assert_eq!(reader(b, &tokens, third.access_token.expose_secret()).await, None);
    assert!(!lives(&third).await);
    assert!(lives(&bobs).await, "bob's family ended with alice's");
}

/// The store's own contract, step by step: a token rotates once (a second rotation of it stores
/// nothing), an ended family's rows are gone and rotate no more, and access keys find their
/// family. What makes concurrent refreshes safe however the requests interleave.
pub async fn the_refresh_store_rotates_a_token_once<B: RefreshBackend>(b: &B) {
    let store = b.refresh_store();
    let alice = b.create_user(true).await;
    let at = super::start_time();
    let row = |key: &str, access: &str| RefreshRow {
        key: super::sha256_base64url(key),
        family: "family-1".to_owned(),
        user_id: alice.id().clone(),
        family_started_at: at,
        issued_at: at,
        access_key: super::sha256_base64url(access),
        spent_at: None,
    };
    let first = row("first", "access-1");
    store.start_family(first.clone()).await.unwrap();
    assert_eq!(store.get(&first.key).await.unwrap().as_ref(), Some(&first));
    let next = row("next", "access-2");
    assert!(store.rotate(&first.key, at, next.clone()).await.unwrap());
    let spent = store.get(&first.key).await.unwrap().expect("the spent row");
    assert_eq!(spent.spent_at, Some(at));
    let rival = row("rival", "access-3");
    assert!(!store.rotate(&first.key, at, rival.clone()).await.unwrap(), "spent twice");
    assert_eq!(store.get(&rival.key).await.unwrap(), None, "a lost rotation stored its row");
    let family = store.family_of_access(&next.access_key).await.unwrap();
    assert_eq!(family.as_deref(), Some("family-1"));
    let mut mine: Vec<_> = store.user_rows(alice.id()).await.unwrap();
    mine.sort_by(|a, b| a.key.cmp(&b.key));
    let mut expected_rows = vec![spent.clone(), next.clone()];
    expected_rows.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(mine, expected_rows, "a user's rows, spent and live");
    let bob = b.create_user(true).await;
    assert!(store.user_rows(bob.id()).await.unwrap().is_empty());
    assert_eq!(store.family_of_access(&rival.access_key).await.unwrap(), None);

    let mut ended = store.end_family("family-1").await.unwrap();
    ended.sort_by(|a, b| a.issued_at.cmp(&b.issued_at).then(a.key.cmp(&b.key)));
    let mut keys: Vec<_> = ended.iter().map(|r| r.access_key.clone()).collect();
    keys.sort();
    let mut expected = vec![first.access_key.clone(), next.access_key.clone()];
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(store.get(&next.key).await.unwrap(), None);
    let late = row("late", "access-4");
    assert!(!store.rotate(&next.key, at, late.clone()).await.unwrap(), "an ended family rotated");
    assert_eq!(store.get(&late.key).await.unwrap(), None);
    assert!(store.end_family("family-1").await.unwrap().is_empty());
    assert!(store.user_rows(alice.id()).await.unwrap().is_empty(), "an ended family's rows");
}

/// With a server key, refresh rows are as safe from the table's writers as access rows: a row
/// planted without the key (keyed by the bare SHA-256 of a token of the planter's choosing, for
/// the victim) is never found; honest tokens rotate and authenticate their owner. (A row
/// rewritten in place, which the store's contract cannot do, is refused by its token's tag:
/// the SQL tests rewrite one with SQL.)
pub async fn refresh_rows_planted_without_the_key_mint_nothing<B: RefreshBackend>(b: &B) {
    let key = [6u8; 32];
    let Setup { tokens, .. } = refreshing_with(b, Some(&key));
    let (victim, attacker) = (b.create_user(true).await, b.create_user(true).await);
    let at = super::start_time();
    let chosen = super::foreign_token();
    let planted = RefreshRow {
        key: super::sha256_base64url(&chosen),
        family: "planted-family".to_owned(),
        user_id: victim.id().clone(),
        family_started_at: at,
        issued_at: at,
        access_key: super::sha256_base64url("no access token"),
        spent_at: None,
    };
    b.refresh_store().start_family(planted).await.unwrap();
    assert_eq!(refused(tokens.refresh(&chosen).await.unwrap()), RefreshRefusal::Unknown);

    let honest = tokens.login(&attacker).await.unwrap();
    let next = rotated(tokens.refresh(honest.refresh_token.expose_secret()).await.unwrap());
    let access = next.access_token.expose_secret();
    assert_eq!(reader(b, &tokens, access).await, Some(attacker.id().clone()));
}
