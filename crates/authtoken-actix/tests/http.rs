//! The shared HTTP spec (`authtoken_conformance::http`) against an actix-web app configured like
//! the axum one, plus what only the actix adapter can get wrong.

use actix_web::{App, HttpServer, web};
use authtoken::DatabaseStrategy;
use authtoken::memory::{MemoryStore, MemoryUsers};
use authtoken_actix::*;
use authtoken_conformance::http::{Account, Deploy, Fixture, Passwords};

async fn who(CurrentUser(user, ..): CurrentUser<Account>) -> String {
    user.name.to_owned()
}

async fn deploy(Scoped(user, ..): Scoped<Account, Deploy>) -> String {
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

async fn maybe(MaybeUser(user, ..): MaybeUser<Account>) -> String {
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

async fn twice(first: CurrentUser<Account>, second: CurrentUser<Account, AnyStatus>) -> String {
    assert_eq!(first.id, second.id);
    first.name.to_owned()
}

/// The spec's app, served on a free port of 127.0.0.1 by one worker.
async fn serve(fixture: Fixture) -> String {
    let auth = fixture.auth.clone();
    let check = fixture.same_origin();
    let fixture = std::sync::Arc::new(fixture);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let app = App::new()
            .app_data(auth.clone())
            .app_data(check.clone())
            .service(
                web::resource("/action")
                    .wrap(actix_web::middleware::from_fn(same_origin))
                    .route(web::post().to(|| async { "done" })),
            )
            .route("/me", web::get().to(who))
            .route("/verified", web::get().to(verified))
            .route("/admin", web::get().to(admin))
            .route("/any", web::get().to(any))
            .route("/maybe", web::get().to(maybe))
            .route("/token", web::get().to(token))
            .route("/twice", web::get().to(twice))
            .route("/deploy", web::get().to(deploy));
        Fixture::MOUNTS.iter().fold(app, |app, (backend, prefix)| {
            app.service(auth_scope_from(prefix, fixture.routes(backend)))
        })
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    base
}

authtoken_conformance::http_spec!(serve);

#[test]
fn an_unknown_backend_is_a_start_up_error() {
    let strategy = DatabaseStrategy::new(MemoryStore::<u64>::new(), None)
        .unwrap()
        .with_users(MemoryUsers::<Account>::new());
    let auth = Authenticator::new(vec![AuthBackend::new("main", Bearer, strategy)]).unwrap();
    assert_eq!(
        auth_scope("/auth", auth, "other", Passwords::default()).err(),
        Some(ConfigError::UnknownBackend("other".to_owned()))
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
