//! The per-user token limit ([`LimitTokens`]): refuse or evict beyond it, expired tokens not
//! counted, exact under concurrent logins. The group `limiting` runs on stores that implement it.

use std::num::NonZeroU32;
use std::sync::Arc;

use authtoken::limit::{TokenLimit, WhenFull};
use authtoken::{DatabaseStrategy, Error, LimitTokens, User};
use chrono::TimeDelta;

use super::{Harness, hashed, reader, row_of};
use crate::Backend;
use crate::faults::FaultyStore;

/// How many logins of one user race in the concurrency specs.
const RACING_LOGINS: usize = 16;

fn limit(max: u32, when_full: WhenFull) -> TokenLimit {
    TokenLimit::new(NonZeroU32::new(max).expect("a positive limit"), when_full)
}

/// The harness's strategy under `limit`.
fn limited<S: LimitTokens>(h: Harness<S>, limit: TokenLimit) -> Harness<S> {
    Harness { strategy: h.strategy.with_token_limit(limit), ..h }
}

async fn issue<S>(
    strategy: &DatabaseStrategy<FaultyStore<S>>,
    user: &impl User<Id = S::UserId>,
) -> authtoken::Result<String>
where
    S: LimitTokens,
{
    Ok(strategy.write_token(user).await?.into_secret())
}

/// A refusing limit of 3: the fourth login fails and changes nothing; after a logout there is
/// room again; another user is not affected.
pub async fn limit_refuses_logins_beyond_it<B: Backend>(b: &B)
where
    B::Store: LimitTokens,
{
    let h = limited(hashed(b), limit(3, WhenFull::Refuse));
    let (user, other) = (b.create_user(true).await, b.create_user(true).await);
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(issue(&h.strategy, &user).await.expect("a login within the limit"));
        h.clock.advance(TimeDelta::seconds(1));
    }
    let refused = issue(&h.strategy, &user).await;
    assert!(matches!(refused, Err(Error::TokenLimitReached)), "the 4th login: {refused:?}");
    for token in &tokens {
        assert_eq!(reader(b, &h, token).await.as_ref(), Some(user.id()), "a refusal revoked");
    }
    issue(&h.strategy, &other).await.expect("another user's login");
    assert!(h.strategy.destroy_token(&tokens[0], &user).await.unwrap());
    let again = issue(&h.strategy, &user).await.expect("a login after a logout");
    assert_eq!(reader(b, &h, &again).await.as_ref(), Some(user.id()));
}

/// An evicting limit of 2: the third login revokes the oldest token (its row gone), the two
/// newest stay.
pub async fn limit_evicts_the_oldest_tokens<B: Backend>(b: &B)
where
    B::Store: LimitTokens,
{
    let h = limited(hashed(b), limit(2, WhenFull::EvictOldest));
    let (user, other) = (b.create_user(true).await, b.create_user(true).await);
    let bystander = issue(&h.strategy, &other).await.unwrap();
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(issue(&h.strategy, &user).await.expect("an evicting login never fails"));
        h.clock.advance(TimeDelta::seconds(1));
    }
    for old in &tokens[..2] {
        assert_eq!(reader(b, &h, old).await, None, "an evicted token still authenticates");
        assert!(row_of(&h, old).await.is_none(), "an evicted token's row is still stored");
    }
    for new in &tokens[2..] {
        assert_eq!(reader(b, &h, new).await.as_ref(), Some(user.id()), "a newest token died");
    }
    assert_eq!(reader(b, &h, &bystander).await.as_ref(), Some(other.id()), "another user's died");
}

/// Expired tokens neither count against the limit nor get evicted in place of live ones.
pub async fn expired_tokens_do_not_count_against_the_limit<B: Backend>(b: &B)
where
    B::Store: LimitTokens,
{
    let h = limited(hashed(b), limit(2, WhenFull::Refuse));
    let user = b.create_user(true).await;
    for _ in 0..2 {
        issue(&h.strategy, &user).await.unwrap();
    }
    h.clock.advance(TimeDelta::seconds(super::LIFETIME.as_secs() as i64 + 1));
    let first = issue(&h.strategy, &user).await.expect("expired tokens counted");
    h.clock.advance(TimeDelta::seconds(1));
    let second = issue(&h.strategy, &user).await.expect("expired tokens counted");
    assert!(matches!(issue(&h.strategy, &user).await, Err(Error::TokenLimitReached)));
    for token in [&first, &second] {
        assert_eq!(reader(b, &h, token).await.as_ref(), Some(user.id()));
    }
}

/// Logins that race all read "room for one more" unless the store serialises them: 16 at once
/// against a refusing limit of 5 must give exactly 5 tokens and 11 refusals.
pub async fn refusing_limit_is_exact_under_concurrent_logins<B: Backend>(b: &B)
where
    B::Store: LimitTokens,
{
    let h = limited(hashed(b), limit(5, WhenFull::Refuse));
    let user = b.create_user(true).await;
    let outcomes = race(h.strategy, &user).await;
    let (issued, refused) = split(&outcomes);
    assert_eq!((issued.len(), refused), (5, RACING_LOGINS - 5), "{outcomes:?}");
}

/// 16 racing logins against an evicting limit of 5: every login succeeds, and exactly 5 of the
/// 16 tokens still authenticate.
pub async fn evicting_limit_is_exact_under_concurrent_logins<B: Backend>(b: &B)
where
    B::Store: LimitTokens,
{
    let h = limited(hashed(b), limit(5, WhenFull::EvictOldest));
    let user = b.create_user(true).await;
    let strategy = Arc::new(h.strategy);
    let outcomes = race_shared(Arc::clone(&strategy), &user).await;
    let (issued, refused) = split(&outcomes);
    assert_eq!((issued.len(), refused), (RACING_LOGINS, 0), "{outcomes:?}");
    let mut live = 0;
    for token in issued {
        let read = strategy.read_token(token, b.users()).await.expect("read_token");
        live += usize::from(read.is_some());
    }
    assert_eq!(live, 5, "live tokens after 16 racing logins under a limit of 5");
}

/// A store failure under the limit is an error, never a refusal: the limit was not reached.
pub async fn failing_store_fails_a_limited_login<B: Backend>(b: &B)
where
    B::Store: LimitTokens,
{
    let h = limited(hashed(b), limit(1, WhenFull::Refuse));
    let user = b.create_user(true).await;
    h.probe.set_failing(true);
    let failed = issue(&h.strategy, &user).await;
    assert!(matches!(failed, Err(Error::Store(_))), "{failed:?}");
    h.probe.set_failing(false);
    issue(&h.strategy, &user).await.expect("nothing was stored by the failed login");
}

type Outcomes = Vec<Result<String, String>>;

async fn race<S: LimitTokens + 'static, U: User<Id = S::UserId> + Clone + 'static>(
    strategy: DatabaseStrategy<FaultyStore<S>>,
    user: &U,
) -> Outcomes {
    race_shared(Arc::new(strategy), user).await
}

/// Runs [`RACING_LOGINS`] logins of `user` at once, each on its own task.
async fn race_shared<S: LimitTokens + 'static, U: User<Id = S::UserId> + Clone + 'static>(
    strategy: Arc<DatabaseStrategy<FaultyStore<S>>>,
    user: &U,
) -> Outcomes {
    let start = Arc::new(tokio::sync::Barrier::new(RACING_LOGINS));
    let tasks: Vec<_> = (0..RACING_LOGINS)
        .map(|_| {
            let (strategy, user, start) = (Arc::clone(&strategy), user.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                match strategy.write_token(&user).await {
                    Ok(token) => Ok(token.into_secret()),
                    Err(Error::TokenLimitReached) => Err("refused".to_owned()),
                    Err(other) => Err(format!("failed: {other}")),
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a login task"));
    }
    outcomes
}

/// The issued tokens, and how many logins were refused; panics on any other failure.
fn split(outcomes: &Outcomes) -> (Vec<&String>, usize) {
    let failures: Vec<_> =
        outcomes.iter().filter_map(|o| o.as_ref().err()).filter(|e| *e != "refused").collect();
    assert!(failures.is_empty(), "logins failed: {failures:?}");
    let issued: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    (issued.clone(), outcomes.len() - issued.len())
}
