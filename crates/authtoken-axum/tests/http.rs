//! The shared HTTP spec (`authtoken_conformance::http`) against an axum app, plus what only the
//! axum adapter can get wrong.

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken::memory::{MemoryStore, MemoryUsers};
use authtoken::refresh::{MemoryRefreshStore, RefreshPolicy, RefreshStrategy};
use authtoken_axum::*;
use authtoken_conformance::http::{Account, Deploy, Fixture, Passwords};
use std::net::SocketAddr;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

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
    format!(
        "{} via {} ({} chars)",
        current.user.name,
        current.backend,
        current.token.expose_secret().len()
    )
}

async fn deploy(Scoped(user, ..): Scoped<Account, Deploy>) -> String {
    user.name.to_owned()
}

async fn twice(first: CurrentUser<Account>, second: CurrentUser<Account, AnyStatus>) -> String {
    assert_eq!(first.id, second.id);
    first.name.to_owned()
}

/// The spec's app, served on a free port of 127.0.0.1.
async fn serve(fixture: Fixture) -> String {
    let auth = fixture.auth.clone();
    let action =
        post(|| async { "done" }).layer(from_fn_with_state(fixture.same_origin(), same_origin));
    let app = Router::new()
        .route("/action", action)
        .route("/me", get(who))
        .route("/verified", get(verified))
        .route("/admin", get(admin))
        .route("/any", get(any))
        .route("/maybe", get(maybe))
        .route("/token", get(token))
        .route("/twice", get(twice))
        .route("/deploy", get(deploy))
        .with_state(auth);
    let app = Fixture::MOUNTS.iter().fold(app, |app, (backend, prefix)| {
        app.nest(prefix, auth_router_from(fixture.routes(backend)))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

authtoken_conformance::http_spec!(serve);

#[test]
fn duplicate_or_unknown_backends_are_start_up_errors() {
    let strategy = || {
        DatabaseStrategy::new(MemoryStore::<u64>::new(), None)
            .unwrap()
            .with_users(MemoryUsers::<Account>::new())
    };
    let twice = Authenticator::new(vec![
        AuthBackend::new("main", Bearer, strategy()),
        AuthBackend::new("main", Cookie::default(), strategy()),
    ]);
    assert_eq!(twice.err(), Some(ConfigError::DuplicateBackend("main".to_owned())));
    assert_eq!(Authenticator::<Account>::new(vec![]).err(), Some(ConfigError::NoBackend));
    let auth = Authenticator::new(vec![AuthBackend::new("main", Bearer, strategy())]).unwrap();
    assert_eq!(
        auth_router::<_, _, ()>(auth, "other", Passwords::default()).err(),
        Some(ConfigError::UnknownBackend("other".to_owned()))
    );
    // A refresh cookie without the refresh route's path would go with every request.
    let access = || DatabaseStrategy::new(MemoryStore::<u64>::new(), Some(Duration::from_secs(60)));
    let refresh = RefreshStrategy::new(
        access().unwrap(),
        MemoryRefreshStore::new(),
        RefreshPolicy::default(),
    );
    let web = AuthBackend::new("web", Cookie::default(), strategy()).with_refresh(refresh.unwrap());
    let auth = Authenticator::new(vec![web]).unwrap();
    assert_eq!(
        auth_router::<_, _, ()>(auth, "web", Passwords::default()).err(),
        Some(ConfigError::RefreshPath("web".to_owned()))
    );
}

#[test]
fn current_user_token_debug_hides_the_token() {
    let token = authtoken_conformance::spec::foreign_token();
    let user = authtoken_conformance::http::ACCOUNTS[0].clone();
    let presented = authtoken_http::PresentedToken::new(token.clone());
    let current = CurrentUserToken { user, token: presented, backend: "bearer".to_owned() };
    let shown = format!("{current:?}");
    assert!(!shown.contains(&token) && shown.contains("ada"), "{shown}");
}
