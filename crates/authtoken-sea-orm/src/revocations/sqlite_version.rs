//! SQLite's change counter, `PRAGMA data_version`, as the revocation log's doorbell: a number
//! that moves whenever another connection (of any process) commits to the database file, read
//! from shared memory without touching the data. Polled every millisecond on a connection of
//! its own, it tells the log's poller when there may be something to read, so the log is read
//! only then and revocations arrive within a millisecond or two of their commit.

use sea_orm::DatabaseConnection;
use sea_orm::sqlx::sqlite::SqliteConnection;
use sea_orm::sqlx::{Connection, Row};

/// A connection of its own that reads `data_version`; it never writes, so every commit to the
/// file moves its counter.
pub(super) struct DataVersion {
    conn: SqliteConnection,
    /// The database file both this connection and the application's pool name.
    file: String,
}

impl DataVersion {
    /// A watcher of `db`'s file; `None` where it cannot watch that file (an in-memory database,
    /// which another connection would not share, or a connection that fails): the poller then
    /// reads the log on every tick instead.
    pub(super) async fn open(db: &DatabaseConnection) -> Option<Self> {
        let pool = db.get_sqlite_connection_pool();
        let options = pool.connect_options();
        let conn = SqliteConnection::connect_with(&options).await.ok()?;
        let mut watcher = Self { conn, file: String::new() };
        let own = watcher.main_file().await?;
        // The pool's own answer: a second in-memory database, or another file, would be a
        // counter of something else.
        let row = sea_orm::sqlx::query("PRAGMA database_list").fetch_all(pool).await.ok()?;
        let pooled = main_file_of(&row)?;
        (!own.is_empty() && own == pooled).then(|| Self { file: own, ..watcher })
    }

    async fn main_file(&mut self) -> Option<String> {
        let rows = sea_orm::sqlx::query("PRAGMA database_list").fetch_all(&mut self.conn).await;
        main_file_of(&rows.ok()?)
    }

    /// The counter now.
    pub(super) async fn read(&mut self) -> Result<i64, sea_orm::sqlx::Error> {
        sea_orm::sqlx::query_scalar("PRAGMA data_version").fetch_one(&mut self.conn).await
    }

    /// The file it watches.
    pub(super) fn file(&self) -> &str {
        &self.file
    }
}

/// The file of the `main` schema in the rows of `PRAGMA database_list` (empty in memory).
fn main_file_of(rows: &[sea_orm::sqlx::sqlite::SqliteRow]) -> Option<String> {
    rows.iter().find_map(|row| {
        let name: String = row.try_get("name").ok()?;
        (name == "main").then(|| row.try_get::<String, _>("file").ok()).flatten()
    })
}
