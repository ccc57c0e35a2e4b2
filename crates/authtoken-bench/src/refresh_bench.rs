//! `refresh` beside its floor, `floor_refresh`: the statements a rotation runs (the read of the
//! presented token, the new access token's `INSERT`, and the transaction that locks the family,
//! spends the token and inserts its successor), bare on the same pool, with the store's own SQL
//! (`authtoken_sql::RefreshStatements`) and its transaction settings.

use std::sync::Arc;

use anyhow::{bail, ensure};
use authtoken::DatabaseStrategy;
use authtoken::refresh::{RefreshPolicy, RefreshStrategy, Refreshed};
use authtoken_sea_orm::{SeaOrmRefreshStore, SeaOrmStore};
use authtoken_sql::{Dialect, RefreshStatements, SqlParam};
use chrono::{DateTime, Utc};
use sea_orm::sqlx::{self, Row};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};

use crate::floor;
use crate::measure::{Measurement, measure};
use crate::ops::Bench;
use crate::schema::token;

/// A refresh token the floor spends: its stored key, its family, its owner.
struct Presented {
    key: String,
    family: String,
    user: i64,
}

/// A new 43-character key, as a token's SHA-256 in base64url is.
fn random_key() -> anyhow::Result<String> {
    Ok(authtoken::PlaintextToken::generate()?.into_secret())
}

/// `ops` refreshes, each spending a token a login issued (untimed) for a new pair.
pub async fn refresh(bench: &Bench, concurrency: usize, ops: usize) -> anyhow::Result<Measurement> {
    let access = DatabaseStrategy::new(
        SeaOrmStore::<token::Entity>::new(bench.db.clone()),
        Some(std::time::Duration::from_secs(900)),
    )?;
    let store = SeaOrmRefreshStore::<i64>::new(bench.db.clone());
    let tokens = Arc::new(RefreshStrategy::new(access, store, RefreshPolicy::default())?);
    let mut presented = Vec::with_capacity(ops);
    for i in 0..ops {
        presented.push(tokens.login(&bench.user(i)).await?.refresh_token.into_secret());
    }
    let presented = Arc::new(presented);
    measure("refresh", concurrency, ops, move |i| {
        let (tokens, presented) = (Arc::clone(&tokens), Arc::clone(&presented));
        async move {
            match tokens.refresh(&presented[i]).await? {
                Refreshed::Rotated(pair) => {
                    ensure!(pair.refresh_token.expose_secret().len() == 43, "a malformed token");
                    Ok(())
                }
                Refreshed::Refused(why) => bail!("a fresh refresh token was refused: {why:?}"),
            }
        }
    })
    .await
}

/// The floor under `refresh`, on families inserted untimed.
pub async fn floor_refresh(
    bench: &Bench,
    concurrency: usize,
    ops: usize,
) -> anyhow::Result<Measurement> {
    let dialect = match bench.db.get_database_backend() {
        DatabaseBackend::Postgres => Dialect::Postgres,
        DatabaseBackend::MySql => Dialect::MySql,
        _ => Dialect::Sqlite,
    };
    let sql = Arc::new(RefreshStatements::new(dialect));
    let mut fixtures = Vec::with_capacity(ops);
    for i in 0..ops {
        let family = random_key()?[..22].to_owned();
        let presented = Presented { key: random_key()?, family, user: bench.user(i).id };
        insert_family(&bench.db, &sql, &presented).await?;
        fixtures.push(presented);
    }
    let (db, fixtures) = (bench.db.clone(), Arc::new(fixtures));
    measure("floor_refresh", concurrency, ops, move |i| {
        let (db, sql, fixtures) = (db.clone(), Arc::clone(&sql), Arc::clone(&fixtures));
        async move { rotate(&db, &sql, &fixtures[i]).await }
    })
    .await
}

/// A statement of `sql` with its values, through SeaORM (untimed set-up only).
async fn insert_family(
    db: &DatabaseConnection,
    sql: &RefreshStatements,
    row: &Presented,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let backend = db.get_database_backend();
    let family = vec![row.family.clone().into(), row.user.into(), value(sql.timestamp(now))];
    db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, &sql.insert_family, family))
        .await?;
    let token = vec![
        row.key.clone().into(),
        row.family.clone().into(),
        row.user.into(),
        value(sql.timestamp(now)),
        random_key()?.into(),
    ];
    db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, &sql.insert_token, token))
        .await?;
    Ok(())
}

/// A statement value as SeaORM binds it.
fn value(param: SqlParam) -> sea_orm::Value {
    match param {
        SqlParam::Text(text) => text.into(),
        SqlParam::OptText(text) => text.into(),
        SqlParam::Time(at) => at.into(),
        SqlParam::OptTime(at) => at.into(),
        SqlParam::Int(n) => n.into(),
    }
}

/// One rotation's statements, bare: what `refresh` stands on.
async fn rotate(
    db: &DatabaseConnection,
    sql: &RefreshStatements,
    row: &Presented,
) -> anyhow::Result<()> {
    macro_rules! rotate {
        ($pool:expr, $time:expr, $begin:expr) => {{
            let pool = $pool;
            let now = Utc::now();
            let found = sqlx::query(sqlx::AssertSqlSafe(sql.get.as_str()))
                .bind(&row.key)
                .fetch_optional(pool)
                .await?;
            let Some(found) = found else { bail!("the floor's token is gone") };
            let _: (String, String, i64) =
                (found.try_get(0)?, found.try_get(1)?, found.try_get(2)?);
            let access = random_key()?;
            floor::insert(db, &access, row.user, now).await?;
            let mut conn = pool.acquire().await?;
            for statement in $begin {
                sqlx::raw_sql(statement).execute(&mut *conn).await?;
            }
            let locked =
                sqlx::query(sqlx::AssertSqlSafe(sql.lock_family.as_str())).bind(&row.family);
            ensure!(locked.fetch_optional(&mut *conn).await?.is_some(), "the family is gone");
            let spend = sqlx::query(sqlx::AssertSqlSafe(sql.spend.as_str()))
                .bind($time(now))
                .bind(&row.key)
                .bind(&row.family);
            ensure!(spend.execute(&mut *conn).await?.rows_affected() == 1, "spent twice");
            sqlx::query(sqlx::AssertSqlSafe(sql.insert_token.as_str()))
                .bind(random_key()?)
                .bind(&row.family)
                .bind(row.user)
                .bind($time(now))
                .bind(access)
                .execute(&mut *conn)
                .await?;
            sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
        }};
    }
    let same = |at: DateTime<Utc>| at;
    match db.get_database_backend() {
        // The store's transactions: SeaORM's `BEGIN` then the level on PostgreSQL, the level
        // then `BEGIN` on MySQL, SQLite's write lock taken at `BEGIN`.
        DatabaseBackend::Postgres => rotate!(
            db.get_postgres_connection_pool(),
            same,
            ["BEGIN", "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"]
        ),
        DatabaseBackend::MySql => rotate!(
            db.get_mysql_connection_pool(),
            same,
            ["SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "BEGIN"]
        ),
        _ => rotate!(
            db.get_sqlite_connection_pool(),
            |at: DateTime<Utc>| match sql.timestamp(at) {
                SqlParam::Text(text) => text,
                _ => at.to_rfc3339(),
            },
            ["BEGIN IMMEDIATE"]
        ),
    }
    Ok(())
}
