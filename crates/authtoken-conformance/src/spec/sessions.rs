//! "Where you're signed in": listing a user's sessions, ending one, ending all the others.

use authtoken::store::AccessToken;
use authtoken::{
    AccessTokenStore, ClientInfo, Error, IssueOptions, ListTokens, MAX_USER_AGENT_CHARS, SessionId,
    User,
};
use chrono::TimeDelta;

use super::{LIFETIME, foreign_token, hashed, login, reader, sha256_base64url, start_time};
use crate::Backend;

/// The user's live sessions, most recently active first, the asking one marked current; another
/// user's and an expired one are not listed; no id is the token or its stored key.
pub async fn sessions_list_the_users_live_sessions_newest_first<B: Backend>(b: &B)
where
    B::Store: ListTokens,
{
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let lifetime = TimeDelta::from_std(LIFETIME).unwrap();
    let old = AccessToken::new(foreign_token(), alice.id().clone(), start_time() - lifetime * 2);
    h.strategy.store().create(old, None).await.unwrap();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        tokens.push(login::<B, _>(&h, &alice).await);
        h.clock.advance(TimeDelta::seconds(10));
    }
    login::<B, _>(&h, &bob).await;

    let sessions = h.strategy.list_sessions(&alice, Some(&tokens[1])).await.unwrap();
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    let newest_first: Vec<_> = tokens.iter().rev().map(|t| key_id(t)).collect();
    assert_eq!(sessions.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), newest_first);
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    assert!(sessions[1].current, "the second login asked");
    for (session, token) in sessions.iter().zip(tokens.iter().rev()) {
        assert!(!token.contains(session.id.as_str()));
        assert!(!sha256_base64url(token).contains(session.id.as_str()));
        assert_eq!(session.expires_at, Some(session.created_at + lifetime));
    }
    let unmarked = h.strategy.list_sessions(&alice, None).await.unwrap();
    assert!(unmarked.iter().all(|s| !s.current));
}

/// Ending a session by its id revokes exactly that token; a second end finds nothing.
pub async fn ending_a_session_revokes_only_its_token<B: Backend>(b: &B)
where
    B::Store: ListTokens,
{
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let laptop = login::<B, _>(&h, &alice).await;
    let phone = login::<B, _>(&h, &alice).await;
    let id = key_id(&phone);
    assert!(h.strategy.end_session(&alice, id.as_str()).await.unwrap());
    assert_eq!(reader(b, &h, &phone).await, None);
    assert_eq!(reader(b, &h, &laptop).await, Some(alice.id().clone()));
    assert!(!h.strategy.end_session(&alice, id.as_str()).await.unwrap());
}

/// Another user's session id ends nothing, answered as an unknown id is; a malformed or
/// oversized id is refused without a query.
pub async fn another_users_session_id_ends_nothing<B: Backend>(b: &B)
where
    B::Store: ListTokens,
{
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let mallory = b.create_user(true).await;
    let token = login::<B, _>(&h, &alice).await;
    let id = key_id(&token);
    assert!(!h.strategy.end_session(&mallory, id.as_str()).await.unwrap());
    assert_eq!(reader(b, &h, &token).await, Some(alice.id().clone()));
    let unknown = SessionId::of_key(&foreign_token());
    assert!(!h.strategy.end_session(&alice, unknown.as_str()).await.unwrap());
    let calls = h.probe.calls();
    for bad in ["", "short", &"A".repeat(1 << 20), "AAAAAAAAAAAAAAAAAAAA/A", &token] {
        assert!(!h.strategy.end_session(&alice, bad).await.unwrap());
    }
    assert_eq!(h.probe.calls(), calls, "a malformed id reached the store");
}

/// "Sign out everywhere else" ends every session of the user but the asking one, and nobody
/// else's; with a current token that cannot be one it ends nothing.
pub async fn ending_other_sessions_keeps_the_current_one<B: Backend>(b: &B)
where
    B::Store: ListTokens,
{
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let bob = b.create_user(true).await;
    let tokens = [
        login::<B, _>(&h, &alice).await,
        login::<B, _>(&h, &alice).await,
        login::<B, _>(&h, &alice).await,
    ];
    let bobs = login::<B, _>(&h, &bob).await;
    assert_eq!(h.strategy.end_other_sessions(&alice, "not a token").await.unwrap(), 0);
    assert_eq!(h.strategy.list_sessions(&alice, None).await.unwrap().len(), 3);
    assert_eq!(h.strategy.end_other_sessions(&alice, &tokens[1]).await.unwrap(), 2);
    assert_eq!(reader(b, &h, &tokens[0]).await, None);
    assert_eq!(reader(b, &h, &tokens[2]).await, None);
    assert_eq!(reader(b, &h, &tokens[1]).await, Some(alice.id().clone()));
    assert_eq!(reader(b, &h, &bobs).await, Some(bob.id().clone()));
    let left = h.strategy.list_sessions(&alice, Some(&tokens[1])).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].current);
}

/// A session shows the client it was opened from, cleaned to printable ASCII and cut to its
/// column, where the store keeps the client's columns; a store without them issues the token all
/// the same.
pub async fn a_session_shows_the_client_it_was_opened_from<B: Backend>(b: &B)
where
    B::Store: ListTokens,
{
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let agent = format!("Mozilla/5.0 ({})\r\nX-Injected: yes", "é".repeat(1 << 20));
    let address: std::net::IpAddr = "2001:db8:1:2::7".parse().unwrap();
    let client = ClientInfo::new().user_agent(&agent).address(address);
    let options = IssueOptions::new().client(client);
    let token = h.strategy.issue_token(&alice, &options).await.unwrap().into_secret();
    let plain = login::<B, _>(&h, &alice).await;
    assert_eq!(reader(b, &h, &token).await, Some(alice.id().clone()));
    let sessions = h.strategy.list_sessions(&alice, Some(&token)).await.unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let (current, other): (Vec<_>, Vec<_>) = sessions.into_iter().partition(|s| s.current);
    let (current, other) = (&current[0], &other[0]);
    assert_eq!(other.id, key_id(&plain));
    assert_eq!((other.user_agent.as_deref(), other.address.as_deref()), (None, None));
    if h.strategy.store().columns().client {
        let kept = current.user_agent.as_deref().expect("the user agent was dropped");
        assert_eq!(kept.len(), MAX_USER_AGENT_CHARS);
        assert!(kept.starts_with("Mozilla/5.0 (??"), "{kept:.40}");
        assert!(kept.bytes().all(|b| (0x20..0x7f).contains(&b)), "{kept:.40}");
        assert_eq!(current.address.as_deref(), Some("2001:db8:1:2::7"));
    } else {
        assert_eq!((current.user_agent.as_deref(), current.address.as_deref()), (None, None));
    }
}

/// A store failure is an error from every session call, never an empty list or "nothing to end".
pub async fn failing_store_fails_session_calls<B: Backend>(b: &B)
where
    B::Store: ListTokens,
{
    let h = hashed(b);
    let alice = b.create_user(true).await;
    let token = login::<B, _>(&h, &alice).await;
    let id = key_id(&token);
    h.probe.set_failing(true);
    assert!(matches!(h.strategy.list_sessions(&alice, Some(&token)).await, Err(Error::Store(_))));
    assert!(matches!(h.strategy.end_session(&alice, id.as_str()).await, Err(Error::Store(_))));
    assert!(matches!(h.strategy.end_other_sessions(&alice, &token).await, Err(Error::Store(_))));
    h.probe.set_failing(false);
    assert_eq!(reader(b, &h, &token).await, Some(alice.id().clone()));
}

/// The session id of a token issued in hashed mode without server keys.
fn key_id(token: &str) -> SessionId {
    SessionId::of_key(&sha256_base64url(token))
}
