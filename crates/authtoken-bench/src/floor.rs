//! The floor: the bare SQL each operation stands on, run with the driver (sqlx) directly on the
//! same pool, and decoded as the store decodes it.

use anyhow::ensure;
use chrono::{DateTime, Utc};
use sea_orm::sqlx::{self, Row};
use sea_orm::{DatabaseBackend, DatabaseConnection};

/// A prepared single-row primary-key `SELECT` of the token table; `true` if the row exists.
pub async fn select(db: &DatabaseConnection, key: &str) -> anyhow::Result<bool> {
    macro_rules! fetch {
        ($pool:expr, $sql:literal) => {{
            let row = sqlx::query($sql).bind(key).fetch_optional($pool).await?;
            match row {
                Some(row) => {
                    let token: String = row.try_get(0)?;
                    let _user: i64 = row.try_get(1)?;
                    let _at: DateTime<Utc> = row.try_get(2)?;
                    ensure!(token == key, "the floor read another row");
                    true
                }
                None => false,
            }
        }};
    }
    Ok(match db.get_database_backend() {
        DatabaseBackend::Postgres => fetch!(
            db.get_postgres_connection_pool(),
            "SELECT token, user_id, created_at FROM access_token WHERE token = $1"
        ),
        DatabaseBackend::MySql => fetch!(
            db.get_mysql_connection_pool(),
            "SELECT token, user_id, created_at FROM access_token WHERE token = ?"
        ),
        _ => fetch!(
            db.get_sqlite_connection_pool(),
            "SELECT token, user_id, created_at FROM access_token WHERE token = ?"
        ),
    })
}

/// A prepared single-row `INSERT` into the token table.
pub async fn insert(
    db: &DatabaseConnection,
    key: &str,
    user: i64,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            sqlx::query(
                "INSERT INTO access_token (token, user_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(key)
            .bind(user)
            .bind(at)
            .execute(db.get_postgres_connection_pool())
            .await?;
        }
        DatabaseBackend::MySql => {
            sqlx::query("INSERT INTO access_token (token, user_id, created_at) VALUES (?, ?, ?)")
                .bind(key)
                .bind(user)
                .bind(at)
                .execute(db.get_mysql_connection_pool())
                .await?;
        }
        _ => {
            sqlx::query("INSERT INTO access_token (token, user_id, created_at) VALUES (?, ?, ?)")
                .bind(key)
                .bind(user)
                .bind(at.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
                .execute(db.get_sqlite_connection_pool())
                .await?;
        }
    }
    Ok(())
}

/// Inserts `count` rows created at `at` for users `1..=users`, a thousand per statement.
pub async fn fill(
    db: &DatabaseConnection,
    count: usize,
    users: usize,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    use sea_orm::ConnectionTrait;
    let literal = match db.get_database_backend() {
        DatabaseBackend::Postgres => at.format("'%Y-%m-%d %H:%M:%S%.6f+00'").to_string(),
        _ => at.format("'%Y-%m-%d %H:%M:%S%.6f'").to_string(),
    };
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(1000);
        let rows: Vec<String> = (0..batch)
            .map(|i| {
                let key = authtoken::PlaintextToken::generate()
                    .map(|t| t.into_secret())
                    .unwrap_or_default();
                format!("('{key}', {}, {literal})", (done + i) % users + 1)
            })
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO access_token (token, user_id, created_at) VALUES {}",
            rows.join(", ")
        ))
        .await?;
        done += batch;
    }
    Ok(())
}
