//! What the two demo services (`axum-server`, `actix-server`) share, so that they differ only in
//! their framework: the schema and its migrations, the users, the argon2 password check, the
//! strategy, the login throttle and the one-page front. Each service adds its routes.
//!
//! `PORT` and `DATABASE_URL` override the defaults. `AUTHTOKEN_DEMO_SEED=1` creates the demo user
//! `alice` / `wonderland` (a published password: only when asked). `AUTHTOKEN_DEMO_THROTTLE`
//! picks where login attempts are counted: `memory` (the default: this process alone), `sql` (the
//! database, shared by every process using it) or a `redis://` URL (keys under
//! `AUTHTOKEN_DEMO_REDIS_PREFIX`, default `authtoken-demo:`).

pub mod migration;
pub mod passwords;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken::refresh::{RefreshPolicy, RefreshStrategy};
use authtoken_http::{
    AuthBackend, AuthRoutes, Authenticator, Bearer, ConfigError, Cookie, LoginThrottle,
    MemoryThrottle, ThrottlePolicy,
};
use authtoken_sea_orm::SeaOrmStore;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Database, DatabaseConnection, EntityTrait, QueryFilter,
};
use sea_orm_migration::MigratorTrait;

/// What a start-up step can fail with.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long a login lasts.
pub const LIFETIME: Duration = Duration::from_secs(3600);

/// The one-page front: log in, see who you are and your sessions, log out.
pub const PAGE: &str = include_str!("page.html");

/// The database of `DATABASE_URL` (default: `sqlite://{default_file}?mode=rwc`), migrated, with
/// the demo user when `AUTHTOKEN_DEMO_SEED=1`; and whether it was seeded.
pub async fn open_database(default_file: &str) -> Result<(DatabaseConnection, bool), Error> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{default_file}?mode=rwc"));
    authtoken_migration::create_private_sqlite_file(&url)?;
    let db = Database::connect(&url).await?;
    migration::Migrator::up(&db, None).await?;
    let seeded = std::env::var("AUTHTOKEN_DEMO_SEED").is_ok_and(|v| v == "1");
    if seeded {
        seed(&db).await?;
    }
    Ok((db, seeded))
}

/// The demo user, created on first start.
pub async fn seed(db: &DatabaseConnection) -> Result<(), Error> {
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

/// How long an access token of the `app` backend lasts; its refresh token renews it.
pub const ACCESS_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The strategy reads each token joined with its user: one query per request.
pub fn strategy(
    db: &DatabaseConnection,
) -> Result<DatabaseStrategy<SeaOrmStore<users::token::Entity>>, Error> {
    strategy_for(db, LIFETIME)
}

/// [`strategy`] with tokens of `lifetime`.
fn strategy_for(
    db: &DatabaseConnection,
    lifetime: Duration,
) -> Result<DatabaseStrategy<SeaOrmStore<users::token::Entity>>, Error> {
    // The migrations add the client's columns (sessions show the device and address) and a
    // token's own expiry (the `app` backend's access tokens carry their 15 minutes).
    let store = SeaOrmStore::new(db.clone())
        .with_timeout(Duration::from_secs(5))
        .with_client_columns()
        .with_details();
    Ok(DatabaseStrategy::new(store, Some(lifetime))?)
}

/// The backends: `cookie` (the page), `bearer` (API clients) and `app` (a mobile or single-page
/// client: 15-minute access tokens renewed by refresh tokens at `POST /auth/app/refresh`), each
/// serving its session routes ("where you're signed in").
pub fn authenticator(db: &DatabaseConnection) -> Result<Authenticator<users::Model>, Error> {
    let cookie = Cookie {
        max_age: Some(LIFETIME),
        // This demo serves plain HTTP on 127.0.0.1; behind TLS keep the default (`true`).
        secure: false,
        ..Cookie::default()
    };
    let (cookies, bearers) = (Arc::new(strategy(db)?), Arc::new(strategy(db)?));
    Ok(Authenticator::new(vec![
        AuthBackend::from_parts("cookie", Arc::new(cookie), cookies.clone()).with_sessions(cookies),
        AuthBackend::from_parts("bearer", Arc::new(Bearer), bearers.clone()).with_sessions(bearers),
        app_backend(db)?,
    ])?)
}

/// `app`: bearer access tokens of [`ACCESS_LIFETIME`] with rotating refresh tokens.
fn app_backend(db: &DatabaseConnection) -> Result<AuthBackend<users::Model>, Error> {
    let refresh = authtoken_sea_orm::SeaOrmRefreshStore::<i64>::new(db.clone());
    let policy = RefreshPolicy::default(); // 14 days idle, 90 in all, 5 s of grace
    let tokens = RefreshStrategy::new(strategy_for(db, ACCESS_LIFETIME)?, refresh, policy)?;
    let reads = Arc::new(strategy_for(db, ACCESS_LIFETIME)?);
    Ok(AuthBackend::from_parts("app", Arc::new(Bearer), reads.clone())
        .with_sessions(reads)
        .with_refresh(tokens))
}

/// The login routes of `backend`, with the shared throttle.
pub fn login_routes(
    auth: &Authenticator<users::Model>,
    backend: &str,
    passwords: &passwords::Passwords,
    throttle: &Arc<dyn LoginThrottle>,
) -> Result<AuthRoutes<users::Model, passwords::Passwords>, ConfigError> {
    Ok(AuthRoutes::new(auth.clone(), backend, passwords.clone())?
        .with_throttle(Arc::clone(throttle)))
}

/// Where login attempts are counted, from `AUTHTOKEN_DEMO_THROTTLE`.
pub async fn throttle(db: &DatabaseConnection) -> Result<Arc<dyn LoginThrottle>, Error> {
    let policy = ThrottlePolicy::default(); // 5 free attempts per account, then 1 min doubling
    let choice = std::env::var("AUTHTOKEN_DEMO_THROTTLE").unwrap_or_else(|_| "memory".into());
    Ok(match choice.as_str() {
        "memory" => Arc::new(MemoryThrottle::with_policy(policy)),
        "sql" => Arc::new(authtoken_sea_orm::SeaOrmThrottle::new(db.clone(), policy)),
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            let store = authtoken_redis::RedisStore::<i64>::connect(url)
                .await?
                .with_prefix(&redis_prefix())
                .with_timeout(Duration::from_secs(5));
            Arc::new(authtoken_redis::RedisThrottle::new(&store, policy))
        }
        _ => return Err("AUTHTOKEN_DEMO_THROTTLE is memory, sql or a redis:// URL".into()),
    })
}

/// The Redis key prefix of the throttle: `AUTHTOKEN_DEMO_REDIS_PREFIX`, default `authtoken-demo:`
/// (a test gives each run its own).
fn redis_prefix() -> String {
    std::env::var("AUTHTOKEN_DEMO_REDIS_PREFIX").unwrap_or_else(|_| "authtoken-demo:".into())
}

/// The port to listen on: `PORT`, default 3000 (0: any free one).
pub fn port() -> String {
    std::env::var("PORT").unwrap_or_else(|_| "3000".into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use authtoken_http::Credentials;

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
