//! The routes and extractors through real HTTP on 127.0.0.1: every status and header, for both
//! transports, with two backends configured together.

use std::sync::Arc;
use std::time::Duration;

use authtoken::memory::{MemoryStore, MemoryUsers};
use authtoken::{BoxError, DatabaseStrategy, ManualClock};
use authtoken_axum::*;
use authtoken_tests::faults::{FaultyStore, Probe};
use axum::Router;
use axum::routing::get;
use chrono::TimeDelta;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, SET_COOKIE, WWW_AUTHENTICATE};

#[derive(Clone, Debug)]
struct Account {
    id: u64,
    name: &'static str,
    password: &'static str,
    active: bool,
    verified: bool,
    superuser: bool,
}

impl authtoken::User for Account {
    type Id = u64;

    fn id(&self) -> &u64 {
        &self.id
    }
}

impl AuthUser for Account {
    fn is_active(&self) -> bool {
        self.active
    }

    fn is_verified(&self) -> bool {
        self.verified
    }

    fn is_superuser(&self) -> bool {
        self.superuser
    }
}

const ACCOUNTS: [Account; 4] = [
    Account {
        id: 1,
        name: "ada",
        password: "pw-ada",
        active: true,
        verified: true,
        superuser: false,
    },
    Account {
        id: 2,
        name: "bob",
        password: "pw-bob",
        active: false,
        verified: true,
        superuser: false,
    },
    Account {
        id: 3,
        name: "cy",
        password: "pw-cy",
        active: true,
        verified: false,
        superuser: false,
    },
    Account {
        id: 4,
        name: "root",
        password: "pw-root",
        active: true,
        verified: true,
        superuser: true,
    },
];

/// Plain comparison: the tests check the routes, not password hashing.
struct Passwords;

impl Credentials<Account> for Passwords {
    async fn verify(&self, username: &str, password: &str) -> Result<Option<Account>, BoxError> {
        Ok(ACCOUNTS.iter().find(|a| a.name == username && a.password == password).cloned())
    }
}

type Store = FaultyStore<MemoryStore<u64>>;

struct Server {
    base: String,
    http: reqwest::Client,
    clock: ManualClock,
    bearer: Arc<Probe>,
    cookie_strategy: Arc<DatabaseStrategy<Store>>,
}

fn cookie_settings() -> CookieTransport {
    CookieTransport {
        name: "session".to_owned(),
        max_age: Some(Duration::from_secs(3600)),
        domain: Some("example.test".to_owned()),
        same_site: SameSite::Strict,
        ..CookieTransport::default()
    }
}

async fn who(CurrentUser(user, ..): CurrentUser<Account>) -> String {
    user.name.to_owned()
}

async fn verified(user: CurrentUser<Account, Verified>) -> String {
    user.name.to_owned()
}

async fn admin(user: CurrentUser<Account, Superuser>) -> String {
    user.name.to_owned()
}

async fn any(user: CurrentUser<Account, AnyStatus>) -> String {
    user.name.to_owned()
}

async fn maybe(user: Option<CurrentUser<Account>>) -> String {
    user.map_or("anonymous".to_owned(), |u| u.name.to_owned())
}

async fn token(current: CurrentUserToken<Account>) -> String {
    format!("{} via {} ({} chars)", current.user.name, current.backend, current.token.len())
}

impl Server {
    /// Two backends, each with its own store: `bearer` first, then `cookie`.
    async fn start() -> Self {
        let users = MemoryUsers::new();
        for account in ACCOUNTS {
            users.insert(account);
        }
        let clock = ManualClock::new(chrono::Utc::now());
        let strategy = |store: Store| {
            DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))
                .unwrap()
                .with_clock(clock.clone())
        };
        let bearer_store = FaultyStore::new(MemoryStore::new());
        let bearer = bearer_store.probe();
        let cookie_store = FaultyStore::new(MemoryStore::new());
        let cookie_strategy = Arc::new(strategy(cookie_store.clone()));
        let auth = Authenticator::new(vec![
            AuthBackend::new(
                "bearer",
                Transport::Bearer,
                WithUsers { strategy: strategy(bearer_store), users: users.clone() },
            ),
            AuthBackend::new(
                "cookie",
                Transport::Cookie(cookie_settings()),
                WithUsers { strategy: strategy(cookie_store), users },
            ),
        ])
        .unwrap();
        let app = Router::new()
            .route("/me", get(who))
            .route("/verified", get(verified))
            .route("/admin", get(admin))
            .route("/any", get(any))
            .route("/maybe", get(maybe))
            .route("/token", get(token))
            .nest("/auth/bearer", auth_router(auth.clone(), "bearer", Passwords).unwrap())
            .nest("/auth/cookie", auth_router(auth.clone(), "cookie", Passwords).unwrap())
            .with_state(auth);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, http: reqwest::Client::new(), clock, bearer, cookie_strategy }
    }

    async fn login(&self, transport: &str, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/auth/{transport}/login", self.base))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// A bearer token for `username`.
    async fn bearer_token(&self, username: &str) -> String {
        let account = ACCOUNTS.iter().find(|a| a.name == username).unwrap();
        let response = self.login("bearer", account.name, account.password).await;
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn get(
        &self,
        path: &str,
        header: Option<(reqwest::header::HeaderName, String)>,
    ) -> (StatusCode, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn post(
        &self,
        path: &str,
        header: Option<(reqwest::header::HeaderName, String)>,
    ) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        request.send().await.unwrap()
    }
}

fn bearer(token: &str) -> Option<(reqwest::header::HeaderName, String)> {
    Some((AUTHORIZATION, format!("Bearer {token}")))
}

fn cookie(value: &str) -> Option<(reqwest::header::HeaderName, String)> {
    Some((COOKIE, format!("theme=dark; session={value}")))
}

#[tokio::test]
async fn bearer_login_answers_json_and_refuses_bad_credentials() {
    let s = Server::start().await;
    let response = s.login("bearer", "ada", "pw-ada").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["access_token"].as_str().unwrap().len(), 43);

    for (user, password) in [("ada", "wrong"), ("nobody", "pw-ada"), ("bob", "pw-bob")] {
        let response = s.login("bearer", user, password).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{user}/{password}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["detail"], "LOGIN_BAD_CREDENTIALS");
    }
    let missing = s
        .http
        .post(format!("{}/auth/bearer/login", s.base))
        .form(&[("username", "ada")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn cookie_login_sets_a_secure_cookie_and_logout_clears_it() {
    let s = Server::start().await;
    let response = s.login("cookie", "ada", "pw-ada").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let value = set.split(';').next().unwrap().strip_prefix("session=").unwrap().to_owned();
    assert_eq!(value.len(), 43);
    for attribute in
        ["HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Domain=example.test", "Max-Age=3600"]
    {
        assert!(set.split("; ").any(|a| a == attribute), "{attribute} missing from {set}");
    }
    assert_eq!(s.get("/me", cookie(&value)).await, (StatusCode::OK, "ada".to_owned()));

    let response = s.post("/auth/cookie/logout", cookie(&value)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cleared = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert!(cleared.contains("Path=/") && cleared.contains("Domain=example.test"), "{cleared}");
    assert_eq!(s.get("/me", cookie(&value)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.post("/auth/cookie/logout", cookie(&value)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn current_user_refuses_missing_unknown_expired_and_inactive() {
    let s = Server::start().await;
    let (status, _) = s.get("/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = s.http.get(format!("{}/me", s.base)).send().await.unwrap();
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["detail"], "Unauthorized");

    assert_eq!(s.get("/me", bearer("x")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.get("/me", bearer(&authtoken_tests::spec::foreign_token())).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.get("/me", Some((AUTHORIZATION, "Basic YWRhOnB3".to_owned()))).await.0,
        StatusCode::UNAUTHORIZED
    );

    let token = s.bearer_token("ada").await;
    assert_eq!(s.get("/me", bearer(&token)).await, (StatusCode::OK, "ada".to_owned()));
    assert_eq!(
        s.get("/me", Some((AUTHORIZATION, format!("bearer {token}")))).await.0,
        StatusCode::OK
    );
    s.clock.advance(TimeDelta::hours(1) + TimeDelta::seconds(1));
    assert_eq!(s.get("/me", bearer(&token)).await.0, StatusCode::UNAUTHORIZED, "expired");

    // bob is inactive: he cannot log in, and a token he already holds is refused.
    let bob = ACCOUNTS[1].clone();
    let bobs = s.cookie_strategy.write_token(&bob).await.unwrap().into_secret();
    assert_eq!(s.get("/me", cookie(&bobs)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/any", cookie(&bobs)).await, (StatusCode::OK, "bob".to_owned()));
    assert_eq!(s.get("/maybe", cookie(&bobs)).await, (StatusCode::OK, "anonymous".to_owned()));
    assert_eq!(
        s.post("/auth/cookie/logout", cookie(&bobs)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn policies_answer_403_where_more_is_required() {
    let s = Server::start().await;
    let cy = s.bearer_token("cy").await; // active, not verified
    let ada = s.bearer_token("ada").await; // verified, not superuser
    let root = s.bearer_token("root").await;
    assert_eq!(s.get("/verified", bearer(&cy)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get("/verified", bearer(&ada)).await, (StatusCode::OK, "ada".to_owned()));
    let (status, body) = s.get("/admin", bearer(&ada)).await;
    assert_eq!((status, body.as_str()), (StatusCode::FORBIDDEN, r#"{"detail":"Forbidden"}"#));
    assert_eq!(s.get("/admin", bearer(&root)).await, (StatusCode::OK, "root".to_owned()));
    assert_eq!(s.get("/maybe", None).await, (StatusCode::OK, "anonymous".to_owned()));
    assert_eq!(s.get("/maybe", bearer(&cy)).await, (StatusCode::OK, "cy".to_owned()));
    assert_eq!(s.get("/verified", None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn backends_are_tried_in_order_and_the_first_user_wins() {
    let s = Server::start().await;
    let ada_bearer = s.bearer_token("ada").await;
    let response = s.login("cookie", "root", "pw-root").await;
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let root_cookie = set.split(';').next().unwrap().strip_prefix("session=").unwrap().to_owned();

    // Both present: the bearer backend comes first.
    let both = s
        .http
        .get(format!("{}/token", s.base))
        .header(AUTHORIZATION, format!("Bearer {ada_bearer}"))
        .header(COOKIE, format!("session={root_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(both.text().await.unwrap(), "ada via bearer (43 chars)");
    // A bearer token the first backend refuses: the cookie backend still answers.
    let fallback = s
        .http
        .get(format!("{}/token", s.base))
        .header(AUTHORIZATION, "Bearer nonsense")
        .header(COOKIE, format!("session={root_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(fallback.text().await.unwrap(), "root via cookie (43 chars)");
    // A token only counts with its own backend's transport.
    assert_eq!(s.get("/me", cookie(&ada_bearer)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", bearer(&root_cookie)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bearer_logout_and_logout_everywhere() {
    let s = Server::start().await;
    let first = s.bearer_token("ada").await;
    let second = s.bearer_token("ada").await;
    let third = s.bearer_token("ada").await;
    let response = s.post("/auth/bearer/logout", bearer(&first)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert_eq!(s.get("/me", bearer(&first)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", bearer(&second)).await.0, StatusCode::OK);
    assert_eq!(s.post("/auth/bearer/logout", None).await.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(
        s.post("/auth/bearer/logout-all", bearer(&second)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(s.get("/me", bearer(&second)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", bearer(&third)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        s.post("/auth/bearer/logout-all", bearer(&third)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_failing_store_is_a_500_never_a_401() {
    let s = Server::start().await;
    let token = s.bearer_token("ada").await;
    s.bearer.set_failing(true);
    let (status, body) = s.get("/me", bearer(&token)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(s.get("/maybe", bearer(&token)).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        s.login("bearer", "ada", "pw-ada").await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        s.post("/auth/bearer/logout", bearer(&token)).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    s.bearer.set_failing(false);
    assert_eq!(s.get("/me", bearer(&token)).await.0, StatusCode::OK);
}

#[test]
fn duplicate_or_unknown_backends_are_start_up_errors() {
    let strategy = || WithUsers {
        strategy: DatabaseStrategy::new(MemoryStore::<u64>::new(), None).unwrap(),
        users: MemoryUsers::<Account>::new(),
    };
    let twice = Authenticator::new(vec![
        AuthBackend::new("main", Transport::Bearer, strategy()),
        AuthBackend::new("main", Transport::Cookie(CookieTransport::default()), strategy()),
    ]);
    assert_eq!(twice.err(), Some(ConfigError::DuplicateBackend("main".to_owned())));
    assert_eq!(Authenticator::<Account>::new(vec![]).err(), Some(ConfigError::NoBackend));
    let auth =
        Authenticator::new(vec![AuthBackend::new("main", Transport::Bearer, strategy())]).unwrap();
    assert_eq!(
        auth_router::<_, _, ()>(auth, "other", Passwords).err(),
        Some(ConfigError::UnknownBackend("other".to_owned()))
    );
}
