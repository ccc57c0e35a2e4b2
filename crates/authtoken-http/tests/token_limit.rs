//! The login route under a refusing per-user limit: the logins within it succeed, the next is a
//! 403 `LOGIN_TOKEN_LIMIT_REACHED` (a refusal, not a 500), and a logout makes room again.

use std::num::NonZeroU32;
use std::time::Duration;

use authtoken::limit::{TokenLimit, WhenFull};
use authtoken::memory::{MemoryStore, MemoryUsers};
use authtoken::{BoxError, DatabaseStrategy, User};
use authtoken_http::{
    AuthBackend, AuthRoutes, AuthUser, Authenticator, Bearer, Credentials, LoginRequest,
};
use http::{HeaderMap, HeaderValue, StatusCode};

#[derive(Clone)]
struct Person(u64);
impl User for Person {
    type Id = u64;
    fn id(&self) -> &u64 {
        &self.0
    }
}
impl AuthUser for Person {
    fn is_active(&self) -> bool {
        true
    }
}

/// Ada, password `pw`.
struct Ada;
impl Credentials<Person> for Ada {
    async fn verify(&self, name: &str, password: &str) -> Result<Option<Person>, BoxError> {
        Ok((name == "ada" && password == "pw").then_some(Person(1)))
    }
}

fn body(response: authtoken_http::AuthResponse) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}

#[tokio::test]
async fn a_login_past_a_refusing_limit_is_403() {
    let users = MemoryUsers::<Person>::new();
    users.insert(Person(1));
    let two = TokenLimit::new(NonZeroU32::new(2).unwrap(), WhenFull::Refuse);
    let strategy = DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(60)))
        .unwrap()
        .with_token_limit(two)
        .with_users(users);
    let auth = Authenticator::new(vec![AuthBackend::new("b", Bearer, strategy)]).unwrap();
    let routes = AuthRoutes::new(auth, "b", Ada).unwrap();
    let none = HeaderMap::new();
    let login = || {
        routes.login(LoginRequest {
            headers: &none,
            client: None,
            body: b"username=ada&password=pw",
        })
    };

    let mut tokens = Vec::new();
    for _ in 0..2 {
        let answer = login().await;
        assert_eq!(answer.status(), StatusCode::OK);
        tokens.push(body(answer)["access_token"].as_str().unwrap().to_owned());
    }
    let refused = login().await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["cache-control"], "no-store");
    assert_eq!(body(refused)["detail"], "LOGIN_TOKEN_LIMIT_REACHED");

    let mut bearer = HeaderMap::new();
    bearer
        .insert("authorization", HeaderValue::from_str(&format!("Bearer {}", tokens[0])).unwrap());
    assert!(routes.logout(&bearer).await.status().is_success());
    assert_eq!(login().await.status(), StatusCode::OK, "a logout made room");
}
