//! A transport written outside the library: tokens in `X-API-Key`, login answering plain text.

use std::sync::Arc;
use std::time::Duration;

use authtoken::memory::{MemoryStore, MemoryUsers};
use authtoken::{AuthStrategy, DatabaseStrategy, PlaintextToken, User};
use authtoken_http::{
    AuthBackend, AuthResponse, AuthUser, Authenticator, Bearer, PresentedToken, Transport,
};
use http::{HeaderMap, HeaderValue};

struct ApiKey;

impl Transport for ApiKey {
    fn token(&self, headers: &HeaderMap) -> Option<PresentedToken> {
        Some(PresentedToken::new(headers.get("x-api-key")?.to_str().ok()?.to_owned()))
    }

    fn login_response(&self, token: PlaintextToken) -> AuthResponse {
        AuthResponse::new(token.into_secret().into_bytes())
    }

    fn challenge(&self, _: &HeaderMap) -> Option<HeaderValue> {
        Some(HeaderValue::from_static("ApiKey"))
    }
}

#[derive(Clone)]
struct Bot(u64);
impl User for Bot {
    type Id = u64;
    fn id(&self) -> &u64 {
        &self.0
    }
}
impl AuthUser for Bot {
    fn is_active(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_custom_transport_and_two_stores_behind_dyn_in_one_backend_list() {
    let users = MemoryUsers::new();
    users.insert(Bot(7));
    let keys = DatabaseStrategy::new(MemoryStore::new(), None).unwrap().with_users(users.clone());
    let sessions: Arc<dyn AuthStrategy<Bot>> = Arc::new(
        DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(60)))
            .unwrap()
            .with_users(users),
    );
    let keys: Arc<dyn AuthStrategy<Bot>> = Arc::new(keys);
    let auth = Authenticator::new(vec![
        AuthBackend::from_parts("session", Arc::new(Bearer), Arc::clone(&sessions)),
        AuthBackend::from_parts("api-key", Arc::new(ApiKey), Arc::clone(&keys)),
    ])
    .unwrap();
    let answer = auth.backend(1).transport().login_response(keys.write(&Bot(7)).await.unwrap());
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_bytes(answer.body()).unwrap());
    let found = auth.authenticate(&headers).await.unwrap().expect("the bot");
    assert_eq!((found.user.0, found.backend), (7, 1));
    headers.insert(
        "authorization",
        format!("Bearer {}", found.token.expose_secret()).parse().unwrap(),
    );
    headers.remove("x-api-key");
    assert!(auth.authenticate(&headers).await.unwrap().is_none(), "a key is no session");
    assert_eq!(auth.challenges(&HeaderMap::new()), ["Bearer", "ApiKey"]);
}
