//! authtoken in an actix-web service, on an embedded SQLite file: `axum-server`'s twin, with the
//! same routes, the same page and the same browser test.
//!
//! `AUTHTOKEN_DEMO_SEED=1 cargo run -p actix-server`, then open http://127.0.0.1:3000 and log in
//! as `alice` / `wonderland`. Routes: `POST /auth/cookie/{login,logout,logout-all,logout-others}`,
//! `GET /auth/cookie/sessions`, `DELETE /auth/cookie/sessions/{id}` (the page uses these), the
//! same under `/auth/bearer` (for API clients) and `/auth/app` (15-minute access tokens and
//! `POST /auth/app/refresh`), `GET /me`, `/openapi.json`, `/metrics`. The
//! schema, users, password check and page are `demo-app`'s; its settings are listed there.

use actix_web::{App, HttpResponse, HttpServer, web};
use authtoken_actix::{CurrentUser, auth_scope_from, openapi};
use demo_app::{Error, passwords::Passwords, users};
use metrics_exporter_prometheus::PrometheusBuilder;
use tracing_subscriber::EnvFilter;

async fn me(CurrentUser(user, ..): CurrentUser<users::Model>) -> web::Json<serde_json::Value> {
    web::Json(serde_json::json!({ "id": user.id, "username": user.username }))
}

async fn page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(demo_app::PAGE)
}

#[actix_web::main]
async fn main() -> Result<(), Error> {
    // A 500 leaves a line here (the response itself tells the client nothing).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let (db, seeded) = demo_app::open_database("actix-server.db").await?;
    let auth = demo_app::authenticator(&db)?;
    let passwords = Passwords::new(db.clone())?;
    // One throttle for both login routes, shared by every worker.
    let throttle = demo_app::throttle(&db).await?;
    let openapi = web::Data::new(openapi::document(
        &auth,
        &[("cookie", "/auth/cookie"), ("bearer", "/auth/bearer"), ("app", "/auth/app")],
        "authtoken demo",
        env!("CARGO_PKG_VERSION"),
    ));
    let metrics = web::Data::new(PrometheusBuilder::new().install_recorder()?);
    // Checked once here, so that each worker's copy below cannot fail.
    demo_app::login_routes(&auth, "cookie", &passwords, &throttle)?;
    demo_app::login_routes(&auth, "bearer", &passwords, &throttle)?;
    demo_app::login_routes(&auth, "app", &passwords, &throttle)?;

    let listener = std::net::TcpListener::bind(format!("127.0.0.1:{}", demo_app::port()))?;
    let hint = if seeded { " (demo user: alice / wonderland)" } else { "" };
    println!("listening on http://{}{hint}", listener.local_addr()?);
    let server = HttpServer::new(move || {
        let routes = |backend| {
            demo_app::login_routes(&auth, backend, &passwords, &throttle)
                .expect("checked before the server started")
        };
        App::new()
            .app_data(auth.clone())
            .app_data(openapi.clone())
            .app_data(metrics.clone())
            .route("/", web::get().to(page))
            .route("/me", web::get().to(me))
            .route(
                "/openapi.json",
                web::get().to(|doc: web::Data<serde_json::Value>| async move {
                    HttpResponse::Ok().json(doc.get_ref())
                }),
            )
            .route(
                "/metrics",
                web::get().to(
                    |m: web::Data<metrics_exporter_prometheus::PrometheusHandle>| async move {
                        m.render()
                    },
                ),
            )
            .service(auth_scope_from("/auth/cookie", routes("cookie")))
            .service(auth_scope_from("/auth/bearer", routes("bearer")))
            .service(auth_scope_from("/auth/app", routes("app")))
    })
    .listen(listener)?;
    server.run().await?;
    Ok(())
}
