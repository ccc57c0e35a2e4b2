//! One black-box HTTP spec for every web adapter (feature `http`): requests over real TCP on
//! 127.0.0.1 and the statuses, headers and bodies they must get back. A third framework's
//! adapter proves itself with one line, `authtoken_conformance::http_spec!(serve);`.
//!
//! An adapter's test file builds its app from a [`Fixture`] (the same backends, users and clock
//! for every framework) with the routes listed on [`Fixture`], serves it, and runs
//! [`http_spec!`](crate::http_spec!) with an `async fn(Fixture) -> String` that returns the base URL.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authtoken::memory::{MemoryStore, MemoryUsers};
use authtoken::refresh::{MemoryRefreshStore, RefreshPolicy, RefreshStrategy};
use authtoken::{BoxError, DatabaseStrategy, ManualClock};
use authtoken_http::{
    AuthBackend, AuthRoutes, AuthUser, Authenticator, Bearer, Cookie, Credentials, MemoryThrottle,
    SameOrigin, SameSite,
};
use chrono::TimeDelta;
use reqwest::StatusCode;
use reqwest::header::{
    AUTHORIZATION, CACHE_CONTROL, COOKIE, HeaderName, SET_COOKIE, WWW_AUTHENTICATE,
};

use crate::faults::{FaultyStore, Probe};

mod refresh;
mod sessions;
pub use refresh::*;
pub use sessions::*;

/// A user of the spec's apps.
#[derive(Clone, Debug)]
pub struct Account {
    /// Its id.
    pub id: u64,
    /// Its login name, and what the routes answer with.
    pub name: &'static str,
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

const fn account(id: u64, name: &'static str, password: &'static str, flags: [bool; 3]) -> Account {
    let [active, verified, superuser] = flags;
    Account { id, name, password, active, verified, superuser }
}

/// ada (verified), bob (inactive), cy (unverified), root (superuser).
pub const ACCOUNTS: [Account; 4] = [
    account(1, "ada", "pw-ada", [true, true, false]),
    account(2, "bob", "pw-bob", [false, true, false]),
    account(3, "cy", "pw-cy", [true, false, false]),
    account(4, "root", "pw-root", [true, true, true]),
];

/// Plain comparison: the spec checks the routes, not password hashing. Each check takes 20 ms
/// (a password hash takes longer) and is counted, so that a burst of logins overlaps as it
/// does against a real server.
#[derive(Clone, Default)]
pub struct Passwords {
    /// How many passwords were checked.
    pub checks: Arc<AtomicUsize>,
}

impl Credentials<Account> for Passwords {
    async fn verify(&self, username: &str, password: &str) -> Result<Option<Account>, BoxError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(ACCOUNTS.iter().find(|a| a.name == username && a.password == password).cloned())
    }
}

type Store = FaultyStore<MemoryStore<u64>>;

/// What an adapter's app is built from: four backends (`bearer`, `cookie`, then `bearer-refresh`
/// and `cookie-refresh`, which issue refresh tokens), each over a store of its own.
///
/// The app must serve, with the authenticator as state:
/// `GET /me` (the current user, default policy), `/verified`, `/admin` (superuser), `/any` (any
/// status), `/maybe` (the optional form: the name or `anonymous`), `/token` (the user with its
/// token: `"{name} via {backend} ({len} chars)"`), `/twice` (two current-user extractors in one
/// handler: the name), `/deploy` (a token with the scope [`Deploy`] asks for), each answering the
/// user's name; and the routes of each backend under `/auth/{name}` ([`Fixture::MOUNTS`]).
pub struct Fixture {
    /// The backends.
    pub auth: Authenticator<Account>,
    /// The strategies' clock.
    pub clock: ManualClock,
    /// Counts and fails the bearer store's calls.
    pub bearer: Arc<Probe>,
    /// The cookie backend's strategy, to issue tokens the login route would refuse.
    pub cookie_strategy: Arc<DatabaseStrategy<Store>>,
    /// The bearer backend's strategy, to issue API tokens with scopes.
    pub bearer_strategy: Arc<DatabaseStrategy<Store>>,
    /// The login throttle both backends' routes share: 3 free failures, then 1 s doubling.
    pub throttle: Arc<MemoryThrottle>,
    /// The password checks of every login route.
    pub passwords: Passwords,
    /// The users every backend loads (a test may deactivate one).
    pub users: MemoryUsers<Account>,
}

/// The one origin the spec's apps trust for browsers without `Sec-Fetch-Site`.
pub const TRUSTED_ORIGIN: &str = "https://app.example.test";

impl Fixture {
    /// Each backend's name and the prefix its routes are served under.
    pub const MOUNTS: [(&str, &str); 4] = [
        ("bearer", "/auth/bearer"),
        ("cookie", "/auth/cookie"),
        ("bearer-refresh", "/auth/bearer-refresh"),
        ("cookie-refresh", "/auth/cookie-refresh"),
    ];

    /// The login routes of `backend`, with the shared throttle. `bearer` lets API tokens of
    /// scope `sessions` use the session routes; `cookie` sits behind a trusted proxy on
    /// 127.0.0.1 and keeps the networks of addresses only.
    pub fn routes(&self, backend: &str) -> AuthRoutes<Account, Passwords> {
        let routes = AuthRoutes::new(self.auth.clone(), backend, self.passwords.clone())
            .expect("a known backend")
            .with_throttle(Arc::clone(&self.throttle));
        match backend {
            "cookie" => routes
                .with_trusted_proxy(std::net::Ipv4Addr::LOCALHOST.into(), 32)
                .with_address_precision(authtoken::AddressPrecision::Network),
            _ => routes.with_sessions_scope("sessions"),
        }
    }

    /// The cross-site check of the app's own `POST /action`.
    pub fn same_origin(&self) -> SameOrigin {
        SameOrigin::new().trust(TRUSTED_ORIGIN)
    }
}

impl Fixture {
    /// Fresh stores, users and clock.
    pub fn new() -> Self {
        let users = MemoryUsers::new();
        for account in ACCOUNTS {
            users.insert(account);
        }
        let clock = ManualClock::new(chrono::Utc::now());
        let strategy = |store: Store| {
            DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))
                .expect("a valid lifetime")
                .with_clock(clock.clone())
        };
        let bearer_store = FaultyStore::new(MemoryStore::new());
        let bearer = bearer_store.probe();
        let bearer_strategy = Arc::new(strategy(bearer_store.clone()));
        let cookie_store = FaultyStore::new(MemoryStore::new());
        let cookie_strategy = Arc::new(strategy(cookie_store.clone()));
        // Each backend's strategy serves its session routes too.
        let bearer_auth = Arc::new(strategy(bearer_store).with_users(users.clone()));
        let cookie_auth = Arc::new(strategy(cookie_store).with_users(users.clone()));
        let refreshing = |name: &str, transport: Arc<dyn authtoken_http::Transport>| {
            let store = FaultyStore::new(MemoryStore::new());
            let access = || {
                DatabaseStrategy::new(store.clone(), Some(Duration::from_secs(900)))
                    .expect("a valid lifetime")
                    .with_clock(clock.clone())
            };
            let policy = RefreshPolicy::new(Duration::from_secs(3600), Duration::from_secs(7200))
                .expect("a valid policy");
            let tokens = RefreshStrategy::new(access(), MemoryRefreshStore::new(), policy)
                .expect("access tokens that expire");
            let reads = Arc::new(access().with_users(users.clone()));
            AuthBackend::from_parts(name, transport, reads.clone())
                .with_sessions(reads)
                .with_refresh(tokens)
        };
        let refresh_cookie = Cookie {
            name: "session".to_owned(),
            refresh_path: Some("/auth/cookie-refresh/refresh".to_owned()),
            ..cookie_settings()
        };
        let auth = Authenticator::new(vec![
            AuthBackend::from_parts("bearer", Arc::new(Bearer), bearer_auth.clone())
                .with_sessions(bearer_auth),
            AuthBackend::from_parts("cookie", Arc::new(cookie_settings()), cookie_auth.clone())
                .with_sessions(cookie_auth),
            refreshing("bearer-refresh", Arc::new(Bearer)),
            refreshing("cookie-refresh", Arc::new(refresh_cookie)),
        ])
        .expect("a valid backend list");
        let throttle = Arc::new(
            MemoryThrottle::with_limits(3, Duration::from_secs(1), Duration::from_secs(60))
                .expect("a valid policy")
                .with_clock(clock.clone()),
        );
        let passwords = Passwords::default();
        Self { auth, clock, bearer, cookie_strategy, bearer_strategy, throttle, passwords, users }
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

fn cookie_settings() -> Cookie {
    Cookie {
        name: "session".to_owned(),
        max_age: Some(Duration::from_secs(3600)),
        domain: Some("example.test".to_owned()),
        same_site: SameSite::Strict,
        trusted_origins: vec![TRUSTED_ORIGIN.to_owned()],
        ..Cookie::default()
    }
}

/// A served app and what the spec controls behind it.
pub struct Server {
    base: String,
    http: reqwest::Client,
    clock: ManualClock,
    bearer: Arc<Probe>,
    cookie_strategy: Arc<DatabaseStrategy<Store>>,
    bearer_strategy: Arc<DatabaseStrategy<Store>>,
    checks: Arc<AtomicUsize>,
    users: MemoryUsers<Account>,
}

/// The scope `/deploy` requires.
pub struct Deploy;

impl authtoken_http::Scopes for Deploy {
    const REQUIRED: &'static [&'static str] = &["deploy"];
}

type Header = Option<(HeaderName, String)>;

impl Server {
    /// Builds a fixture and serves it with `start`, which answers the base URL.
    pub async fn start<F: Future<Output = String>>(start: impl FnOnce(Fixture) -> F) -> Self {
        let fixture = Fixture::new();
        let (clock, bearer) = (fixture.clock.clone(), Arc::clone(&fixture.bearer));
        let cookie_strategy = Arc::clone(&fixture.cookie_strategy);
        let bearer_strategy = Arc::clone(&fixture.bearer_strategy);
        let checks = Arc::clone(&fixture.passwords.checks);
        let users = fixture.users.clone();
        let base = start(fixture).await;
        let http = reqwest::Client::new();
        Self { base, http, clock, bearer, cookie_strategy, bearer_strategy, checks, users }
    }

    async fn login(&self, transport: &str, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/auth/{transport}/login", self.base))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("the server answers")
    }

    /// A bearer token for `username`.
    async fn bearer_token(&self, username: &str) -> String {
        let account = ACCOUNTS.iter().find(|a| a.name == username).expect("a known account");
        let response = self.login("bearer", account.name, account.password).await;
        let body: serde_json::Value = response.json().await.expect("a JSON body");
        body["access_token"].as_str().expect("a token").to_owned()
    }

    async fn get(&self, path: &str, header: Header) -> (StatusCode, String) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("the server answers");
        (response.status(), response.text().await.expect("a body"))
    }

    async fn post(&self, path: &str, header: Header) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        request.send().await.expect("the server answers")
    }
}

fn bearer(token: &str) -> Header {
    Some((AUTHORIZATION, format!("Bearer {token}")))
}

fn cookie(value: &str) -> Header {
    Some((COOKIE, format!("theme=dark; session={value}")))
}

fn session_cookie(response: &reqwest::Response) -> String {
    let set = response.headers()[SET_COOKIE].to_str().expect("ASCII");
    set.split(';').next().and_then(|c| c.strip_prefix("session=")).expect("the cookie").to_owned()
}

/// Runs every function of this module as a `#[tokio::test]` against the app `$start` serves.
#[macro_export]
macro_rules! http_spec {
    ($start:path) => {
        $crate::http_tests! { $start;
            bearer_login_answers_json_and_refuses_bad_credentials,
            cookie_login_sets_a_secure_cookie_and_logout_clears_it,
            current_user_refuses_missing_unknown_expired_and_inactive,
            policies_answer_403_where_more_is_required,
            backends_are_tried_in_order_and_the_first_user_wins,
            bearer_logout_and_logout_everywhere,
            a_failing_store_is_a_500_never_a_401,
            two_extractors_in_one_handler_cost_one_store_query,
            cross_site_requests_to_cookie_routes_are_refused,
            the_same_origin_layer_guards_the_apps_own_routes,
            login_attempts_are_throttled_with_back_off,
            a_burst_of_wrong_passwords_gets_only_the_free_attempts_checked,
            spellings_of_one_account_share_its_attempts,
            two_cookies_of_the_name_authenticate_nobody,
            a_refused_bearer_token_gets_an_invalid_token_challenge,
            an_oversized_login_body_is_413,
            scoped_routes_need_the_tokens_scopes,
            sessions_are_listed_and_one_is_ended_from_another,
            logout_others_keeps_the_current_session,
            session_routes_refuse_anonymous_cross_site_and_scoped,
            sessions_show_the_client_and_ignore_a_forged_forwarded_for,
            a_token_of_the_sessions_scope_may_use_the_session_routes,
            bearer_refresh_rotates_and_reuse_ends_the_login,
            refresh_refuses_garbage_wrong_grants_and_plain_backends,
            cookie_refresh_travels_in_a_strict_cookie_of_its_own,
            ending_sessions_and_logging_out_everywhere_end_refresh_families,
            a_deactivated_user_cannot_refresh,
        }
    };
}

/// The expansion behind [`http_spec!`](crate::http_spec!).
#[doc(hidden)]
#[macro_export]
macro_rules! http_tests {
    ($start:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let server = $crate::http::Server::start($start).await;
                $crate::http::$name(&server).await;
            }
        )*
    };
}

/// Bearer login: 200, JSON, `no-store`; bad credentials 400; a missing field 422.
pub async fn bearer_login_answers_json_and_refuses_bad_credentials(s: &Server) {
    let response = s.login("bearer", "ada", "pw-ada").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["access_token"].as_str().unwrap().len(), 43);

    for (user, password) in [("ada", "wrong"), ("nobody", "pw-ada"), ("bob", "pw-bob")] {
        let response = s.login("bearer", user, password).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{user}/{password}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
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
    assert_eq!(missing.headers()[CACHE_CONTROL], "no-store");
}

/// Cookie login: 204 and a `Secure`, `HttpOnly` cookie; logout clears it with `Max-Age=0`.
pub async fn cookie_login_sets_a_secure_cookie_and_logout_clears_it(s: &Server) {
    let response = s.login("cookie", "ada", "pw-ada").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let value = session_cookie(&response);
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
    let again = s.post("/auth/cookie/logout", cookie(&value)).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    // The cookie backend's own refusal names no scheme: a browser would show a password dialog.
    assert!(again.headers().get(WWW_AUTHENTICATE).is_none());
}

/// 401 with `WWW-Authenticate: Bearer` and `{"detail":"Unauthorized"}` for every kind of bad token.
pub async fn current_user_refuses_missing_unknown_expired_and_inactive(s: &Server) {
    let (status, _) = s.get("/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = s.http.get(format!("{}/me", s.base)).send().await.unwrap();
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["detail"], "Unauthorized");

    assert_eq!(s.get("/me", bearer("x")).await.0, StatusCode::UNAUTHORIZED);
    let foreign = crate::spec::foreign_token();
    assert_eq!(s.get("/me", bearer(&foreign)).await.0, StatusCode::UNAUTHORIZED);
    let basic = Some((AUTHORIZATION, "Basic YWRhOnB3".to_owned()));
    assert_eq!(s.get("/me", basic).await.0, StatusCode::UNAUTHORIZED);

    let token = s.bearer_token("ada").await;
    assert_eq!(s.get("/me", bearer(&token)).await, (StatusCode::OK, "ada".to_owned()));
    let lower = Some((AUTHORIZATION, format!("bearer {token}")));
    assert_eq!(s.get("/me", lower).await.0, StatusCode::OK);
    s.clock.advance(TimeDelta::hours(1) + TimeDelta::seconds(1));
    assert_eq!(s.get("/me", bearer(&token)).await.0, StatusCode::UNAUTHORIZED, "expired");

    // bob is inactive: he cannot log in, and a token he already holds is refused.
    let bob = ACCOUNTS[1].clone();
    let bobs = s.cookie_strategy.write_token(&bob).await.unwrap().into_secret();
    assert_eq!(s.get("/me", cookie(&bobs)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/any", cookie(&bobs)).await, (StatusCode::OK, "bob".to_owned()));
    assert_eq!(s.get("/maybe", cookie(&bobs)).await, (StatusCode::OK, "anonymous".to_owned()));
    let logout = s.post("/auth/cookie/logout", cookie(&bobs)).await;
    assert_eq!(logout.status(), StatusCode::UNAUTHORIZED);
}

/// Verified and superuser policies answer 403; the optional form answers `anonymous`.
pub async fn policies_answer_403_where_more_is_required(s: &Server) {
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

/// Backends are tried in order; a token counts only with its own backend's transport.
pub async fn backends_are_tried_in_order_and_the_first_user_wins(s: &Server) {
    let ada_bearer = s.bearer_token("ada").await;
    let root_cookie = session_cookie(&s.login("cookie", "root", "pw-root").await);
    let token = |authorization: String| {
        s.http
            .get(format!("{}/token", s.base))
            .header(AUTHORIZATION, authorization)
            .header(COOKIE, format!("session={root_cookie}"))
            .send()
    };
    // Both present: the bearer backend comes first.
    let both = token(format!("Bearer {ada_bearer}")).await.unwrap();
    assert_eq!(both.text().await.unwrap(), "ada via bearer (43 chars)");
    // A bearer token the first backend refuses: the cookie backend still answers.
    let fallback = token("Bearer nonsense".to_owned()).await.unwrap();
    assert_eq!(fallback.text().await.unwrap(), "root via cookie (43 chars)");
    assert_eq!(s.get("/me", cookie(&ada_bearer)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", bearer(&root_cookie)).await.0, StatusCode::UNAUTHORIZED);
}

/// Logout revokes one token; logout-all revokes every token of the user.
pub async fn bearer_logout_and_logout_everywhere(s: &Server) {
    let first = s.bearer_token("ada").await;
    let second = s.bearer_token("ada").await;
    let third = s.bearer_token("ada").await;
    let response = s.post("/auth/bearer/logout", bearer(&first)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert_eq!(s.get("/me", bearer(&first)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", bearer(&second)).await.0, StatusCode::OK);
    let anonymous = s.post("/auth/bearer/logout", None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()[WWW_AUTHENTICATE], "Bearer");

    let all = s.post("/auth/bearer/logout-all", bearer(&second)).await;
    assert_eq!(all.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get("/me", bearer(&second)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", bearer(&third)).await.0, StatusCode::UNAUTHORIZED);
    let after = s.post("/auth/bearer/logout-all", bearer(&third)).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

/// A failing store answers 500 on every route and extractor, the optional one included.
pub async fn a_failing_store_is_a_500_never_a_401(s: &Server) {
    let token = s.bearer_token("ada").await;
    s.bearer.set_failing(true);
    let (status, body) = s.get("/me", bearer(&token)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(!body.contains("injected"), "the cause leaked into the body: {body}");
    assert_eq!(s.get("/maybe", bearer(&token)).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    let login = s.login("bearer", "ada", "pw-ada").await;
    assert_eq!(login.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let logout = s.post("/auth/bearer/logout", bearer(&token)).await;
    assert_eq!(logout.status(), StatusCode::INTERNAL_SERVER_ERROR);
    s.bearer.set_failing(false);
    assert_eq!(s.get("/me", bearer(&token)).await.0, StatusCode::OK);
}

/// A handler with two current-user extractors authenticates once: one store query.
pub async fn two_extractors_in_one_handler_cost_one_store_query(s: &Server) {
    let token = s.bearer_token("ada").await;
    let before = s.bearer.calls();
    assert_eq!(s.get("/twice", bearer(&token)).await, (StatusCode::OK, "ada".to_owned()));
    assert_eq!(s.bearer.calls() - before, 1, "the second extractor asked the store again");
    let before = s.bearer.calls();
    assert_eq!(s.get("/me", bearer(&token)).await, (StatusCode::OK, "ada".to_owned()));
    assert_eq!(s.bearer.calls() - before, 1);
}

/// A POST with these headers (each `(name, value)`), and an optional cookie.
async fn post_with(
    s: &Server,
    path: &str,
    headers: &[(&str, &str)],
    form: bool,
) -> reqwest::Response {
    let mut request = s.http.post(format!("{}{path}", s.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if form {
        request = request.form(&[("username", "ada"), ("password", "pw-ada")]);
    }
    request.send().await.expect("the server answers")
}

/// Cookie login and logout refuse other sites (login CSRF, forced logout) with 403; same-origin,
/// address-bar, trusted-origin and non-browser requests pass; bearer routes are unaffected.
pub async fn cross_site_requests_to_cookie_routes_are_refused(s: &Server) {
    let evil: &[(&str, &str)] =
        &[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")];
    let response = post_with(s, "/auth/cookie/login", evil, true).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(SET_COOKIE).is_none(), "a cookie was set cross-site");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    for refused in [
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")][..],
        &[("sec-fetch-site", "cross-site"), ("origin", TRUSTED_ORIGIN)][..],
    ] {
        let response = post_with(s, "/auth/cookie/login", refused, true).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{refused:?}");
    }
    for allowed in [
        &[("sec-fetch-site", "same-origin"), ("origin", "https://evil.example")][..],
        &[("sec-fetch-site", "none")][..],
        &[("origin", TRUSTED_ORIGIN)][..],
        &[][..],
    ] {
        let response = post_with(s, "/auth/cookie/login", allowed, true).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{allowed:?}");
    }
    let bearer = post_with(s, "/auth/bearer/login", evil, true).await;
    assert_eq!(bearer.status(), StatusCode::OK, "bearer backends need no CSRF check");

    let value = session_cookie(&post_with(s, "/auth/cookie/login", &[], true).await);
    let session = format!("session={value}");
    for path in ["/auth/cookie/logout", "/auth/cookie/logout-all"] {
        let headers = [("cookie", session.as_str()), evil[0], evil[1]];
        let response = post_with(s, path, &headers, false).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(response.headers().get(SET_COOKIE).is_none());
    }
    assert_eq!(s.get("/me", cookie(&value)).await, (StatusCode::OK, "ada".to_owned()));
}

/// The application's own state-changing route behind the adapter's cross-site layer.
pub async fn the_same_origin_layer_guards_the_apps_own_routes(s: &Server) {
    let cross = post_with(s, "/action", &[("sec-fetch-site", "cross-site")], false).await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = cross.json().await.unwrap();
    assert_eq!(body["detail"], "CROSS_SITE_REQUEST_REFUSED");
    let same = post_with(s, "/action", &[("sec-fetch-site", "same-origin")], false).await;
    assert_eq!((same.status(), same.text().await.unwrap()), (StatusCode::OK, "done".to_owned()));
    let trusted = post_with(s, "/action", &[("origin", TRUSTED_ORIGIN)], false).await;
    assert_eq!(trusted.status(), StatusCode::OK);
    let get = s.http.get(format!("{}/action", s.base)).header("sec-fetch-site", "cross-site");
    assert_ne!(get.send().await.unwrap().status(), StatusCode::FORBIDDEN, "GET is never refused");
}

/// The third failure locks an account for 1 s, each further one doubles it: 429 with
/// `Retry-After`, and a correct password is refused too while locked (no oracle).
pub async fn login_attempts_are_throttled_with_back_off(s: &Server) {
    for attempt in 0..3 {
        let response = s.login("bearer", "ada", "wrong").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "attempt {attempt}");
    }
    let refused = s.login("bearer", "ADA", "pw-ada").await; // the right password, another case
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "1");
    let other = s.login("cookie", "ada", "pw-ada").await;
    assert_eq!(other.status(), StatusCode::TOO_MANY_REQUESTS, "the lock holds on every backend");
    assert_eq!(
        s.login("bearer", "cy", "pw-cy").await.status(),
        StatusCode::OK,
        "others may log in"
    );

    s.clock.advance(TimeDelta::milliseconds(1001));
    assert_eq!(s.login("bearer", "ada", "wrong").await.status(), StatusCode::BAD_REQUEST);
    let doubled = s.login("bearer", "ada", "pw-ada").await;
    assert_eq!(doubled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(doubled.headers()["retry-after"], "2");
    s.clock.advance(TimeDelta::seconds(2));
    assert_eq!(s.login("bearer", "ada", "pw-ada").await.status(), StatusCode::OK);
    // The success ended the lock but kept the failures: one more attempt, then locked again.
    let unlocked = s.login("bearer", "ada", "wrong").await;
    assert_eq!(unlocked.status(), StatusCode::BAD_REQUEST, "the success ended the lock");
    let relocked = s.login("bearer", "ada", "pw-ada").await;
    assert_eq!(relocked.status(), StatusCode::TOO_MANY_REQUESTS, "the failures are kept");
}

/// H1: 40 wrong passwords for one account sent at once, then the right one. Counted before the
/// check, the burst gets the 3 free attempts checked and 429 for the rest; the right password
/// after it is refused too. (Checked first and counted after, all 40 were checked.)
pub async fn a_burst_of_wrong_passwords_gets_only_the_free_attempts_checked(s: &Server) {
    let burst: Vec<_> = (0..40)
        .map(|_| {
            let (http, base) = (s.http.clone(), s.base.clone());
            tokio::spawn(async move {
                let form = [("username", "ada"), ("password", "wrong")];
                let response = http.post(format!("{base}/auth/bearer/login")).form(&form);
                response.send().await.expect("the server answers").status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in burst {
        statuses.push(request.await.expect("the request task"));
    }
    let checked = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, refused), (3, 37), "{statuses:?}");
    assert_eq!(s.checks.load(Ordering::SeqCst), 3, "passwords checked");
    let right = s.login("bearer", "ada", "pw-ada").await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(s.checks.load(Ordering::SeqCst), 3, "a locked attempt checks nothing");
}

/// L5: `ada `, `ADA` and `ada\0` are one account to the throttle, as they may be to a lookup.
pub async fn spellings_of_one_account_share_its_attempts(s: &Server) {
    for name in ["ada ", "ADA", "ada\0"] {
        assert_eq!(s.login("bearer", name, "wrong").await.status(), StatusCode::BAD_REQUEST);
    }
    let locked = s.login("bearer", "\tada", "pw-ada").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let long = "x".repeat(16 * 1024 - 64);
    let response = s.login("bearer", &long, "wrong").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "a long name is counted, cut");
}

/// Cookie tossing: a second cookie of the name, planted from a sibling subdomain, authenticates
/// nobody rather than whichever the server happens to read.
pub async fn two_cookies_of_the_name_authenticate_nobody(s: &Server) {
    let ada = session_cookie(&s.login("cookie", "ada", "pw-ada").await);
    let root = session_cookie(&s.login("cookie", "root", "pw-root").await);
    let both = Some((COOKIE, format!("session={root}; theme=dark; session={ada}")));
    assert_eq!(s.get("/me", both).await.0, StatusCode::UNAUTHORIZED);
    let two_headers = s
        .http
        .get(format!("{}/me", s.base))
        .header(COOKIE, format!("session={ada}"))
        .header(COOKIE, format!("session={root}"))
        .send()
        .await
        .unwrap();
    assert_eq!(two_headers.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.get("/me", cookie(&ada)).await, (StatusCode::OK, "ada".to_owned()));
}

/// RFC 6750: a presented and refused bearer token is `error="invalid_token"`; no token is a bare
/// challenge.
pub async fn a_refused_bearer_token_gets_an_invalid_token_challenge(s: &Server) {
    let refused = s.http.get(format!("{}/me", s.base)).header(AUTHORIZATION, "Bearer nope");
    let refused = refused.send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers()[WWW_AUTHENTICATE], r#"Bearer error="invalid_token""#);
    let logout = s.post("/auth/bearer/logout", bearer("nope")).await;
    assert_eq!(logout.headers()[WWW_AUTHENTICATE], r#"Bearer error="invalid_token""#);
    let none = s.http.get(format!("{}/me", s.base)).send().await.unwrap();
    assert_eq!(none.headers()[WWW_AUTHENTICATE], "Bearer");
}

/// A login body past 16 KiB is 413 before anything is parsed or checked.
pub async fn an_oversized_login_body_is_413(s: &Server) {
    let padding = "x".repeat(20 * 1024);
    let response = s
        .http
        .post(format!("{}/auth/bearer/login", s.base))
        .form(&[("username", "ada"), ("password", "pw-ada"), ("padding", padding.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let huge = vec![b'a'; 4 << 20];
    let response = s
        .http
        .post(format!("{}/auth/bearer/login", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await;
    // The server may close the connection before reading 4 MiB; if it answers, it is 413.
    if let Ok(response) = response {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}

/// A route that requires a scope: a token issued with it passes; a login session (no scopes)
/// and a token with other scopes get 403 with RFC 6750's `insufficient_scope` challenge naming
/// the scope; no token is still 401.
pub async fn scoped_routes_need_the_tokens_scopes(s: &Server) {
    let ada = &ACCOUNTS[0];
    let issue = |scopes: &'static [&'static str]| async move {
        let options = authtoken::IssueOptions::new().name("ci").scopes(scopes.iter().copied());
        s.bearer_strategy.issue_token(ada, &options).await.expect("issuing").into_secret()
    };
    let deployer = issue(&["read", "deploy"]).await;
    assert_eq!(s.get("/deploy", bearer(&deployer)).await, (StatusCode::OK, "ada".to_owned()));

    let reader = issue(&["read"]).await;
    let session = s.bearer_token("ada").await;
    for token in [&reader, &session] {
        let response = s
            .http
            .get(format!("{}/deploy", s.base))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope", scope="deploy""#
        );
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(response.text().await.unwrap(), r#"{"detail":"INSUFFICIENT_SCOPE"}"#);
    }
    // The session still works where no scope is asked.
    assert_eq!(s.get("/me", bearer(&session)).await, (StatusCode::OK, "ada".to_owned()));
    assert_eq!(s.get("/deploy", None).await.0, StatusCode::UNAUTHORIZED);

    // L3: a scoped token is no session. Where a route declares no scope it is refused (403),
    // logout-all included, and the user's sessions live on.
    for path in ["/me", "/verified", "/token", "/twice"] {
        let response = s
            .http
            .get(format!("{}{path}", s.base))
            .header(AUTHORIZATION, format!("Bearer {reader}"));
        let response = response.send().await.expect("the server answers");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(response.text().await.unwrap(), r#"{"detail":"SCOPED_TOKEN_NOT_ALLOWED"}"#);
    }
    assert_eq!(s.get("/maybe", bearer(&reader)).await, (StatusCode::OK, "anonymous".to_owned()));
    let everywhere = s.post("/auth/bearer/logout-all", bearer(&reader)).await;
    assert_eq!(everywhere.status(), StatusCode::FORBIDDEN);
    assert_eq!(s.get("/me", bearer(&session)).await, (StatusCode::OK, "ada".to_owned()));
    assert_eq!(s.get("/deploy", bearer(&deployer)).await, (StatusCode::OK, "ada".to_owned()));
}
