//! Tokens with details (API tokens): their own lifetime, a name, scopes. The group `details`
//! runs on stores that keep the four API-token columns ([`TokenColumns::DETAILS`]); `details_purging` on
//! those that also purge. Every store runs [`details_need_their_columns`].

use std::num::NonZeroU32;
use std::time::Duration;

use authtoken::{
    AccessTokenStore, Error, IssueOptions, PurgeExpired, TokenColumns, TokenStatus, TokenUse, User,
};
use chrono::TimeDelta;

use super::{Harness, hashed, login, reader, row_of};
use crate::Backend;

const NINETY_DAYS: Duration = Duration::from_secs(90 * 24 * 3600);

/// A 90-day token outlives the strategy's one-hour lifetime, and dies at its own end.
pub async fn own_lifetime_outlives_the_strategys<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let options = IssueOptions::new().lifetime(NINETY_DAYS);
    let long = h.strategy.issue_token(&user, &options).await.unwrap().into_secret();
    let session = login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::hours(2));
    assert_eq!(reader(b, &h, &session).await, None, "the session outlived the strategy's lifetime");
    assert_eq!(reader(b, &h, &long).await.as_ref(), Some(user.id()), "the 90-day token died early");
    h.clock.advance(TimeDelta::days(90) - TimeDelta::hours(2));
    assert_eq!(reader(b, &h, &long).await.as_ref(), Some(user.id()), "alive at its last instant");
    h.clock.advance(TimeDelta::seconds(1));
    assert_eq!(reader(b, &h, &long).await, None, "alive past its own expiry");
    let status = h.strategy.inspect_token(&long).await.unwrap();
    assert!(matches!(status, TokenStatus::Expired(_)), "inspect: {status:?}");
}

/// A one-minute token dies after a minute, while the strategy's tokens live an hour.
pub async fn own_short_lifetime_ends_first<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let options = IssueOptions::new().lifetime(Duration::from_secs(60));
    let short = h.strategy.issue_token(&user, &options).await.unwrap().into_secret();
    let session = login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::seconds(61));
    assert_eq!(reader(b, &h, &short).await, None);
    assert_eq!(reader(b, &h, &session).await.as_ref(), Some(user.id()));
    let row = row_of(&h, &short).await.expect("the row stays until purged");
    assert_eq!(h.strategy.row_expires_at(&row), Some(row.created_at + TimeDelta::seconds(60)));
}

/// A name and scopes come back with the row, as issued.
pub async fn name_and_scopes_round_trip<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let options = IssueOptions::new().name("CI deploy — prod").scopes(["deploy:prod", "read"]);
    let token = h.strategy.issue_token(&user, &options).await.unwrap().into_secret();
    let row = h.strategy.read_token_row(&token).await.unwrap().expect("the row");
    assert_eq!(row.details.name.as_deref(), Some("CI deploy — prod"));
    assert_eq!(row.details.scopes, ["deploy:prod", "read"]);
    assert!(row.details.last_used_at.is_none(), "never used yet");
    let plain = login::<B, _>(&h, &user).await;
    let row = h.strategy.read_token_row(&plain).await.unwrap().expect("the row");
    assert!(row.details.name.is_none() && row.details.scopes.is_empty());
}

/// Malformed scopes and names are a configuration error, and nothing is stored; the longest
/// name fits (255 characters, multi-byte ones included).
pub async fn malformed_scopes_are_refused<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    for bad in ["", "two words", "a,b", "quo\"te"] {
        let issued = h.strategy.issue_token(&user, &IssueOptions::new().scopes([bad])).await;
        assert!(matches!(issued, Err(Error::Config(_))), "{bad:?}: {issued:?}");
    }
    // Names: empty, longer than the column, or with control characters (a terminal escape).
    for bad in [String::new(), "n".repeat(256), "evil\u{1b}[2J".to_owned(), "two\nlines".to_owned()]
    {
        let issued = h.strategy.issue_token(&user, &IssueOptions::new().name(bad.clone())).await;
        assert!(matches!(issued, Err(Error::Config(_))), "{bad:?}: {issued:?}");
    }
    let longest = "é".repeat(255);
    let issued = h.strategy.issue_token(&user, &IssueOptions::new().name(longest.clone())).await;
    let token = issued.expect("255 characters fit").into_secret();
    let row = h.strategy.read_token_row(&token).await.unwrap().expect("the row");
    assert_eq!(row.details.name, Some(longest), "the longest name round-trips");
    let calls_after_the_good_one = h.probe.calls();
    assert_eq!(calls_after_the_good_one, 2, "a refused token reached the store");
}

/// A store without the columns refuses details rather than dropping them; one with them takes
/// them. Runs on every store.
pub async fn details_need_their_columns<B: Backend>(b: &B) {
    let h = hashed(b);
    let user = b.create_user(true).await;
    let columns = h.strategy.store().columns();
    let cases = [
        (IssueOptions::new().lifetime(NINETY_DAYS), columns.expires_at),
        (IssueOptions::new().name("n"), columns.name),
        (IssueOptions::new().scopes(["s"]), columns.scopes),
    ];
    for (options, kept) in cases {
        let issued = h.strategy.issue_token(&user, &options).await;
        match kept {
            true => assert!(issued.is_ok(), "{options:?}: {issued:?}"),
            false => assert!(matches!(issued, Err(Error::Config(_))), "{options:?}: {issued:?}"),
        }
    }
    assert!(h.strategy.issue_token(&user, &IssueOptions::new()).await.is_ok());
    let tracking = hashed(b).strategy.with_last_use_tracking(Duration::from_secs(60));
    match columns.last_used_at {
        true => assert!(tracking.is_ok()),
        false => assert!(matches!(tracking, Err(Error::Config(_)))),
    }
    let minute = Duration::from_secs(60);
    let sliding = hashed(b).strategy.with_sliding_expiry(minute, minute * 10);
    match columns.expires_at && columns.last_used_at {
        true => assert!(sliding.is_ok()),
        false => assert!(matches!(sliding, Err(Error::Config(_)))),
    }
    if columns == TokenColumns::NONE {
        assert_eq!(h.probe.calls(), 1, "only the plain login reached the store");
    }
}

/// Purge goes by each row's own expiry where it has one: a 90-day token created before the
/// cutoff stays, a one-minute one goes a minute on, even with no strategy lifetime.
pub async fn purge_honours_own_expiry<B: Backend>(b: &B)
where
    B::Store: PurgeExpired,
{
    let h = hashed(b);
    let user = b.create_user(true).await;
    let long =
        h.strategy.issue_token(&user, &IssueOptions::new().lifetime(NINETY_DAYS)).await.unwrap();
    let short = h
        .strategy
        .issue_token(&user, &IssueOptions::new().lifetime(Duration::from_secs(60)))
        .await
        .unwrap();
    let session = login::<B, _>(&h, &user).await;
    h.clock.advance(TimeDelta::hours(2));
    let batch = NonZeroU32::new(10).unwrap();
    let now = h.strategy.now();
    let cutoff = h.strategy.created_since().unwrap();
    assert_eq!(h.strategy.store().count_expired(now, cutoff).await.unwrap(), 2);
    assert_eq!(h.strategy.purge_expired(batch).await.unwrap(), 2, "the session and the short one");
    assert!(row_of(&h, long.expose_secret()).await.is_some(), "a live 90-day token was purged");
    assert!(row_of(&h, short.expose_secret()).await.is_none());
    assert!(row_of(&h, &session).await.is_none());
}

/// Last use is written at most once per interval per token: the first read writes it, reads
/// within the interval are one statement each, the first read after it writes again.
pub async fn last_use_is_written_at_most_once_per_interval<B: Backend>(b: &B) {
    let h = hashed(b);
    let interval = Duration::from_secs(300);
    let h = Harness { strategy: h.strategy.with_last_use_tracking(interval).unwrap(), ..h };
    let user = b.create_user(true).await;
    let token = login::<B, _>(&h, &user).await;
    let first_use = h.strategy.now();

    let calls = h.probe.calls();
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
    assert_eq!(h.probe.calls(), calls + 2, "the first read: the lookup and one write");
    let row = row_of(&h, &token).await.expect("the row");
    assert_eq!(row.details.last_used_at, Some(first_use));

    h.clock.advance(TimeDelta::minutes(1));
    let calls = h.probe.calls();
    for _ in 0..10 {
        assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
    }
    assert_eq!(h.probe.calls(), calls + 10, "reads within the interval write nothing");
    assert_eq!(row_of(&h, &token).await.unwrap().details.last_used_at, Some(first_use));

    h.clock.advance(TimeDelta::minutes(5));
    let calls = h.probe.calls();
    assert_eq!(reader(b, &h, &token).await.as_ref(), Some(user.id()));
    assert_eq!(h.probe.calls(), calls + 2, "the first read past the interval writes again");
    let later = row_of(&h, &token).await.unwrap().details.last_used_at;
    assert_eq!(later, Some(first_use + TimeDelta::minutes(6)));

    // A store that already holds a recent use (another process wrote it) is not overwritten.
    let stale = TokenUse { at: first_use, unless_since: first_use, extend_to: None };
    h.strategy.store().record_use(&row.token, &stale).await.unwrap();
    assert_eq!(row_of(&h, &token).await.unwrap().details.last_used_at, later);
}

/// Sliding expiry: an idle session ends `idle` after its last use; one in use lives on, but never
/// past the cap; a use never revives an expired token.
pub async fn sliding_expiry_extends_on_use_up_to_the_cap<B: Backend>(b: &B) {
    let h = sliding(hashed(b), 2 * 3600);
    let user = b.create_user(true).await;
    let busy = login::<B, _>(&h, &user).await;
    let idle_token = login::<B, _>(&h, &user).await;
    // Used every 20 minutes: alive well past 30 minutes, while the unused one dies at 30.
    for minute in [20, 40, 60, 80, 100] {
        h.clock.set(super::start_time() + TimeDelta::minutes(minute));
        assert_eq!(reader(b, &h, &busy).await.as_ref(), Some(user.id()), "at {minute} min");
        if minute == 40 {
            assert_eq!(reader(b, &h, &idle_token).await, None, "an idle token outlived idle");
            let used = TokenUse {
                at: h.strategy.now(),
                unless_since: h.strategy.now(),
                extend_to: Some(h.strategy.now() + TimeDelta::hours(1)),
            };
            let dead = row_of(&h, &idle_token).await.expect("the row stays until purged");
            h.strategy.store().record_use(&dead.token, &used).await.unwrap();
            assert_eq!(reader(b, &h, &idle_token).await, None, "a use revived an expired token");
        }
    }
    let row = row_of(&h, &busy).await.unwrap();
    assert_eq!(row.details.expires_at, Some(row.created_at + TimeDelta::minutes(120)), "capped");
    h.clock.set(super::start_time() + TimeDelta::minutes(119));
    assert_eq!(reader(b, &h, &busy).await.as_ref(), Some(user.id()));
    h.clock.set(super::start_time() + TimeDelta::minutes(120) + TimeDelta::seconds(1));
    assert_eq!(reader(b, &h, &busy).await, None, "alive past the cap");
}

/// L2: a token issued with its own, shorter expiry keeps it under sliding expiry: a use within
/// it is recorded but moves nothing (a 10-minute token used every 5 minutes still ends at 10).
pub async fn sliding_never_extends_a_tokens_own_expiry<B: Backend>(b: &B) {
    let h = sliding(hashed(b), 7 * 24 * 3600);
    let user = b.create_user(true).await;
    let options = IssueOptions::new().lifetime(Duration::from_secs(10 * 60));
    let own = h.strategy.issue_token(&user, &options).await.unwrap().into_secret();
    let session = login::<B, _>(&h, &user).await;
    let own_end = row_of(&h, &own).await.unwrap().details.expires_at;
    for minute in [5, 9] {
        h.clock.set(super::start_time() + TimeDelta::minutes(minute));
        assert_eq!(reader(b, &h, &own).await.as_ref(), Some(user.id()), "at {minute} min");
        assert_eq!(reader(b, &h, &session).await.as_ref(), Some(user.id()), "at {minute} min");
    }
    let row = row_of(&h, &own).await.unwrap();
    assert_eq!(row.details.expires_at, own_end, "its own expiry moved");
    assert!(row.details.last_used_at.is_some(), "the use is still recorded");
    h.clock.set(super::start_time() + TimeDelta::minutes(10) + TimeDelta::seconds(1));
    assert_eq!(reader(b, &h, &own).await, None, "alive past its own expiry");
    assert_eq!(reader(b, &h, &session).await.as_ref(), Some(user.id()), "the session slid");
}

/// Bound rows under sliding expiry: a session slides (its tag binds the cap, not the moving
/// expiry), a token of its own lifetime (longer than the cap) keeps it and stays valid, and a
/// strategy without sliding expiry (the CLI) still accepts both.
pub async fn bound_rows_slide_only_sliding_sessions<B: Backend>(b: &B) {
    let h = hashed(b);
    let keys = authtoken::HashKeys::new(&[5u8; 32]).unwrap();
    let h = Harness { strategy: h.strategy.with_hash_keys(keys.clone()), ..h };
    let h = sliding(h, 2 * 3600);
    let user = b.create_user(true).await;
    let session = login::<B, _>(&h, &user).await;
    let options = IssueOptions::new().lifetime(Duration::from_secs(90 * 86400));
    let api = h.strategy.issue_token(&user, &options).await.unwrap().into_secret();
    let row = |token: String| {
        let strategy = &h.strategy;
        async move { strategy.read_token_row(&token).await.unwrap().expect("a live row") }
    };
    let api_end = row(api.clone()).await.details.expires_at;
    for minute in [20, 40, 60] {
        h.clock.set(super::start_time() + TimeDelta::minutes(minute));
        assert_eq!(reader(b, &h, &session).await.as_ref(), Some(user.id()), "session at {minute}");
        assert_eq!(reader(b, &h, &api).await.as_ref(), Some(user.id()), "API token at {minute}");
    }
    assert_eq!(row(api.clone()).await.details.expires_at, api_end, "its own expiry");
    let slid = row(session.clone()).await.details.expires_at;
    assert_eq!(slid, Some(super::start_time() + TimeDelta::minutes(90)), "the session slid");
    let base = hashed(b);
    let plain = Harness { strategy: base.strategy.with_hash_keys(keys), ..base };
    plain.clock.set(super::start_time() + TimeDelta::minutes(61));
    assert_eq!(reader(b, &plain, &session).await.as_ref(), Some(user.id()), "no sliding config");
    assert_eq!(reader(b, &plain, &api).await.as_ref(), Some(user.id()), "no sliding config");
}

/// `h` with sliding expiry (30 minutes idle, `cap_seconds` at most) and last use written at most
/// once a minute.
fn sliding<S: authtoken::AccessTokenStore>(h: Harness<S>, cap_seconds: u64) -> Harness<S> {
    let (idle, cap) = (Duration::from_secs(30 * 60), Duration::from_secs(cap_seconds));
    let strategy = h
        .strategy
        .with_sliding_expiry(idle, cap)
        .unwrap()
        .with_last_use_tracking(Duration::from_secs(60))
        .unwrap();
    Harness { strategy, ..h }
}
