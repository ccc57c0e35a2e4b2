//! authtoken in an axum service, on an embedded SQLite file.
//!
//! `AUTHTOKEN_DEMO_SEED=1 cargo run -p axum-server`, then open http://127.0.0.1:3000 and log in
//! as `alice` / `wonderland`. Routes: `POST /auth/cookie/{login,logout,logout-all,logout-others}`,
//! `GET /auth/cookie/sessions`, `DELETE /auth/cookie/sessions/{id}` (the page uses these), the
//! same under `/auth/bearer` (for API clients) and `/auth/app` (15-minute access tokens and
//! `POST /auth/app/refresh`), `GET /me`, `/openapi.json`, `/metrics`. The
//! schema, users, password check and page are `demo-app`'s, shared with `actix-server`, the same
//! service on actix-web; its settings are listed there.

use std::net::SocketAddr;

use authtoken_axum::{CurrentUser, auth_router_from, openapi};
use axum::Json;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use demo_app::{Error, passwords::Passwords, users};
use metrics_exporter_prometheus::PrometheusBuilder;
use tracing_subscriber::EnvFilter;

async fn me(CurrentUser(user, ..): CurrentUser<users::Model>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "id": user.id, "username": user.username }))
}

async fn page() -> Html<&'static str> {
    Html(demo_app::PAGE)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // A 500 leaves a line here (the response itself tells the client nothing).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let (db, seeded) = demo_app::open_database("axum-server.db").await?;
    let auth = demo_app::authenticator(&db)?;
    let passwords = Passwords::new(db.clone())?;
    // One throttle for both login routes.
    let throttle = demo_app::throttle(&db).await?;
    let openapi = openapi::document(
        &auth,
        &[("cookie", "/auth/cookie"), ("bearer", "/auth/bearer"), ("app", "/auth/app")],
        "authtoken demo",
        env!("CARGO_PKG_VERSION"),
    );
    let metrics = PrometheusBuilder::new().install_recorder()?;
    let routes = |backend| demo_app::login_routes(&auth, backend, &passwords, &throttle);
    let app = Router::new()
        .route("/", get(page))
        .route("/me", get(me))
        .route("/openapi.json", get(move || async move { Json(openapi) }))
        .route("/metrics", get(move || async move { metrics.render() }))
        .nest("/auth/cookie", auth_router_from(routes("cookie")?))
        .nest("/auth/bearer", auth_router_from(routes("bearer")?))
        .nest("/auth/app", auth_router_from(routes("app")?))
        .with_state(auth.clone());

    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{}", demo_app::port())).await?;
    let hint = if seeded { " (demo user: alice / wonderland)" } else { "" };
    println!("listening on http://{}{hint}", listener.local_addr()?);
    // The peer's address reaches the login throttle and the sessions page.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}
