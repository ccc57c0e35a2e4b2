//! Every parser that sees attacker input, fed arbitrary input: the `Authorization` header, the
//! `Cookie` header, the token shape and the login form. None panics, and each accepts only what
//! it should. Bounded: a fixed number of cases per property.

use std::time::Duration;

use authtoken::memory::{MemoryStore, MemoryUsers};
use authtoken::token::is_well_formed;
use authtoken::{BoxError, DatabaseStrategy, User};
use authtoken_http::{
    AuthBackend, AuthRoutes, AuthUser, Authenticator, Bearer, Cookie, Credentials, LoginRequest,
    PresentedToken, Transport,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;

fn headers(name: &'static str, value: &[u8]) -> Option<HeaderMap> {
    let value = HeaderValue::from_bytes(value).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(name, value);
    Some(headers)
}

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

struct Nobody;
impl Credentials<Person> for Nobody {
    async fn verify(&self, _: &str, _: &str) -> Result<Option<Person>, BoxError> {
        Ok(None)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn authorization_headers(value in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Some(headers) = headers("authorization", &value) {
            if let Some(token) = Bearer.token(&headers) {
                let text = String::from_utf8(value.clone()).unwrap();
                prop_assert!(text[..7].eq_ignore_ascii_case("bearer "));
                let token = token.expose_secret();
                prop_assert_eq!(token.trim(), token);
            }
            let _ = Bearer.challenge(&headers);
        }
    }

    #[test]
    fn bearer_headers_of_any_case(scheme in "[bB][eE][aA][rR][eE][rR]", token in "[A-Za-z0-9_-]{43}") {
        let headers = headers("authorization", format!("{scheme} {token}").as_bytes()).unwrap();
        prop_assert_eq!(Bearer.token(&headers), Some(PresentedToken::new(token)));
    }

    #[test]
    fn cookie_headers(value in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Some(headers) = headers("cookie", &value) {
            let cookie = Cookie::default();
            if let Some(token) = cookie.token(&headers) {
                let text = String::from_utf8_lossy(&value);
                prop_assert_eq!(text.matches("__Host-authtoken=").count(), 1);
                prop_assert!(!token.expose_secret().contains(';'));
            }
        }
    }

    #[test]
    fn token_shapes(candidate in ".{0,64}|[A-Za-z0-9_-]{43}") {
        if is_well_formed(&candidate) {
            prop_assert_eq!(candidate.len(), 43);
            prop_assert!(candidate.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn login_forms(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let strategy = DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(60)))
            .unwrap()
            .with_users(MemoryUsers::<Person>::new());
        let auth = Authenticator::new(vec![AuthBackend::new("b", Bearer, strategy)]).unwrap();
        let routes = AuthRoutes::new(auth, "b", Nobody).unwrap();
        let headers = HeaderMap::new();
        let request = LoginRequest { headers: &headers, client: None, body: &body };
        let answer = runtime.block_on(routes.login(request));
        prop_assert!(
            [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY].contains(&answer.status()),
            "{}", answer.status()
        );
    }
}
