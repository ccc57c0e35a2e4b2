//! authtoken in an axum service, on an embedded SQLite file.
//!
//! `cargo run -p axum-server`, then open http://127.0.0.1:3000 and log in as `alice` /
//! `wonderland`. Routes: `POST /auth/cookie/{login,logout,logout-all}` (the page uses these),
//! `POST /auth/bearer/{login,logout,logout-all}` (for API clients), `GET /me`.
//! `PORT` and `DATABASE_URL` override the defaults. `AUTHTOKEN_DEMO_THROTTLE` picks where login
//! attempts are counted: `memory` (the default: this process alone), `sql` (the database, shared
//! by every process using it) or a `redis://` URL (shared by every process using that Redis).

mod migration;
mod passwords;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken_axum::openapi;
use authtoken_axum::{
    AuthBackend, AuthRoutes, Authenticator, Bearer, Cookie, CurrentUser, LoginThrottle,
    MemoryThrottle, ThrottlePolicy, auth_router_from,
};
use authtoken_sea_orm::SeaOrmStore;
use axum::Json;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusBuilder;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Database, DatabaseConnection, EntityTrait, QueryFilter,
};
use sea_orm_migration::MigratorTrait;
use tracing_subscriber::EnvFilter;

type Error = Box<dyn std::error::Error + Send + Sync>;

const LIFETIME: Duration = Duration::from_secs(3600);

async fn me(CurrentUser(user, ..): CurrentUser<users::Model>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "id": user.id, "username": user.username }))
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

/// The demo user, created on first start.
async fn seed(db: &DatabaseConnection) -> Result<(), Error> {
    let exists = users::Entity::find().filter(users::Column::Username.eq("alice")).one(db).await?;
    if exists.is_none() {
        users::ActiveModel {
            username: Set("alice".to_owned()),
            password_hash: Set(passwords::hash("wonderland")?),
            is_active: Set(true),
            is_verified: Set(true),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// The strategy reads each token joined with its user: one query per request.
fn strategy(
    db: &DatabaseConnection,
) -> Result<DatabaseStrategy<SeaOrmStore<users::token::Entity>>, Error> {
    // The migration adds the client's columns: sessions show the device and address.
    let store =
        SeaOrmStore::new(db.clone()).with_timeout(Duration::from_secs(5)).with_client_columns();
    Ok(DatabaseStrategy::new(store, Some(LIFETIME))?)
}

/// The login routes of `backend`, throttled.
fn login_routes(
    auth: &Authenticator<users::Model>,
    backend: &str,
    db: &DatabaseConnection,
    throttle: &Arc<dyn LoginThrottle>,
) -> Result<Router<Authenticator<users::Model>>, Error> {
    let routes = AuthRoutes::new(auth.clone(), backend, passwords::Passwords::new(db.clone())?)?
        .with_throttle(Arc::clone(throttle));
    Ok(auth_router_from(routes))
}

/// Where login attempts are counted, from `AUTHTOKEN_DEMO_THROTTLE`.
async fn throttle(db: &DatabaseConnection) -> Result<Arc<dyn LoginThrottle>, Error> {
    let policy = ThrottlePolicy::default(); // 5 free attempts per account, then 1 s doubling
    let choice = std::env::var("AUTHTOKEN_DEMO_THROTTLE").unwrap_or_else(|_| "memory".into());
    Ok(match choice.as_str() {
        "memory" => Arc::new(MemoryThrottle::with_policy(policy)),
        "sql" => Arc::new(authtoken_sea_orm::SeaOrmThrottle::new(db.clone(), policy)),
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            let store = authtoken_redis::RedisStore::<i64>::connect(url)
                .await?
                .with_prefix("authtoken-demo:")
                .with_timeout(Duration::from_secs(5));
            Arc::new(authtoken_redis::RedisThrottle::new(&store, policy))
        }
        _ => return Err("AUTHTOKEN_DEMO_THROTTLE is memory, sql or a redis:// URL".into()),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // A 500 leaves a line here (the response itself tells the client nothing).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://axum-server.db?mode=rwc".into());
    authtoken_migration::create_private_sqlite_file(&url)?;
    let db = Database::connect(&url).await?;
    migration::Migrator::up(&db, None).await?;
    // The demo user exists only when asked for: `alice` / `wonderland` is a published password.
    let seeded = std::env::var("AUTHTOKEN_DEMO_SEED").is_ok_and(|v| v == "1");
    if seeded {
        seed(&db).await?;
    }

    let cookie = Cookie {
        max_age: Some(LIFETIME),
        // This demo serves plain HTTP on 127.0.0.1; behind TLS keep the default (`true`).
        secure: false,
        ..Cookie::default()
    };
    // Each backend's strategy also serves its session routes ("where you're signed in").
    let (cookies, bearers) = (Arc::new(strategy(&db)?), Arc::new(strategy(&db)?));
    let auth = Authenticator::new(vec![
        AuthBackend::from_parts("cookie", Arc::new(cookie), cookies.clone()).with_sessions(cookies),
        AuthBackend::from_parts("bearer", Arc::new(Bearer), bearers.clone()).with_sessions(bearers),
    ])?;
    // One throttle for both login routes.
    let throttle = throttle(&db).await?;
    let openapi = openapi::document(
        &auth,
        &[("cookie", "/auth/cookie"), ("bearer", "/auth/bearer")],
        "authtoken demo",
        env!("CARGO_PKG_VERSION"),
    );
    let metrics = PrometheusBuilder::new().install_recorder()?;
    let app = Router::new()
        .route("/", get(page))
        .route("/me", get(me))
        .route("/openapi.json", get(move || async move { Json(openapi) }))
        .route("/metrics", get(move || async move { metrics.render() }))
        .nest("/auth/cookie", login_routes(&auth, "cookie", &db, &throttle)?)
        .nest("/auth/bearer", login_routes(&auth, "bearer", &db, &throttle)?)
        .with_state(auth);

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let hint = if seeded { " (demo user: alice / wonderland)" } else { "" };
    println!("listening on http://{}{hint}", listener.local_addr()?);
    // The peer's address reaches the login throttle.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use authtoken_axum::Credentials;

    use super::*;

    /// Unknown users cost one argon2 verification, as a wrong password does: the timing of a
    /// refused login does not reveal whether the username exists.
    #[tokio::test]
    async fn unknown_users_cost_what_wrong_passwords_cost() -> Result<(), Error> {
        let db = Database::connect("sqlite::memory:").await?;
        migration::Migrator::up(&db, None).await?;
        seed(&db).await?;
        let passwords = passwords::Passwords::new(db)?;
        assert!(passwords.verify("alice", "wonderland").await?.is_some());
        assert!(passwords.verify("alice", "wrong").await?.is_none());
        assert!(passwords.verify("nobody", "wonderland").await?.is_none());
        assert_eq!(passwords.verifications.load(Ordering::Relaxed), 3, "one argon2 check each");
        Ok(())
    }
}
