//! Revocation channels for [`authtoken::cache::CachedStore`] over SQL (feature `cache`).
//!
//! - [`PgLogicalRevocations`] (with `postgres`): logical decoding of the token table's deletes
//!   from PostgreSQL's write-ahead log (`wal_level = logical` and
//!   `authtoken_migration::CreateRevocationPublication`): every way a token dies, announced
//!   after it commits, at no cost to the deleting transaction.
//! - [`PgRevocations`] (with `postgres`): LISTEN/NOTIFY. A trigger on the token table
//!   (`authtoken_migration::CreateRevocationTrigger`) notifies in the deleting transaction, so
//!   every way a token dies is announced: logout, log out everywhere, an operator's `revoke` or
//!   `DELETE`, purge, and the cascade from the user table.
//! - [`LogRevocations`] (any database, meant for MySQL/MariaDB and SQLite, which have no
//!   notifications): triggers (`authtoken_migration::CreateRevocationLog`) append deleted keys
//!   to a log table in the deleting transaction, and each process polls it twice per staleness
//!   bound (on SQLite, whenever the file's change counter moves, read every millisecond; on
//!   MySQL/MariaDB with feature `mysql-binlog` and a row-format binary log, the log's rows are
//!   read from the binary log as their transactions commit, and the log at once after them).

#[cfg(feature = "mysql-binlog")]
mod binlog_doorbell;
mod log;
#[cfg(feature = "postgres")]
mod pg_logical;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite_version;

pub use log::LogRevocations;

#[cfg(feature = "postgres")]
pub use pg_logical::PgLogicalRevocations;
#[cfg(feature = "postgres")]
pub use postgres::{PgRevocations, default_channel};

use std::sync::Arc;

use authtoken::Result;
use authtoken::cache::{RevocationPublisher, RevocationSink};
#[cfg(feature = "postgres")]
use sea_orm::DatabaseBackend;
use sea_orm::DatabaseConnection;

/// The channel that suits the database: on PostgreSQL (with `postgres`) logical decoding where
/// the server and the publication allow it, LISTEN/NOTIFY otherwise; the polled log elsewhere.
/// Stops when dropped.
///
/// ```no_run
/// use std::time::Duration;
/// use authtoken::DatabaseStrategy;
/// use authtoken::cache::{CacheOptions, CachedStore};
/// use authtoken_sea_orm::revocations::Revocations;
/// use authtoken_sea_orm::{SeaOrmStore, access_token};
///
/// # async fn run(db: sea_orm::DatabaseConnection) -> authtoken::Result<()> {
/// let cached = CachedStore::new(SeaOrmStore::<access_token::Entity>::new(db.clone()), CacheOptions::default())?;
/// let revocations = Revocations::start(&db, cached.revocation_sink(), "access_token").await?;
/// let strategy = DatabaseStrategy::new(cached.with_publisher(revocations.publisher()), Some(Duration::from_secs(3600)))?;
/// // Keep `revocations` as long as the strategy: without it the cache serves no hits.
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub enum Revocations {
    /// PostgreSQL logical decoding.
    #[cfg(feature = "postgres")]
    Logical(PgLogicalRevocations),
    /// PostgreSQL LISTEN/NOTIFY.
    #[cfg(feature = "postgres")]
    Notify(PgRevocations),
    /// The polled revocation log.
    Log(LogRevocations),
}

impl Revocations {
    /// Starts the channel for `db`'s database, for the token table `token_table`. What must be
    /// installed: on PostgreSQL `CreateRevocationPublication` (with `wal_level = logical`:
    /// [`PgLogicalRevocations`], whose replication login takes `PGPASSWORD` if the server asks
    /// for a password) or `CreateRevocationTrigger` ([`PgRevocations`]); elsewhere
    /// `CreateRevocationLog`.
    pub async fn start(
        db: &DatabaseConnection,
        sink: RevocationSink,
        token_table: &str,
    ) -> Result<Self> {
        #[cfg(feature = "postgres")]
        if db.get_database_backend() == DatabaseBackend::Postgres {
            // A catalog that cannot say (an older server) leaves the trigger's channel.
            if pg_logical::publication_wired(db, token_table).await.unwrap_or(false) {
                let channel = PgLogicalRevocations::start(db, sink, token_table).await?;
                return Ok(Revocations::Logical(channel));
            }
            return Ok(Revocations::Notify(PgRevocations::start(db, sink, token_table).await?));
        }
        Ok(Revocations::Log(LogRevocations::start(db, sink, token_table).await?))
    }

    /// Its publisher, for `CachedStore::with_publisher`.
    pub fn publisher(&self) -> Arc<dyn RevocationPublisher> {
        match self {
            #[cfg(feature = "postgres")]
            Revocations::Logical(channel) => channel.publisher(),
            #[cfg(feature = "postgres")]
            Revocations::Notify(channel) => channel.publisher(),
            Revocations::Log(channel) => channel.publisher(),
        }
    }

    /// Stops it and closes the connections it holds of its own.
    pub async fn stop(self) {
        match self {
            #[cfg(feature = "postgres")]
            Revocations::Logical(channel) => channel.stop().await,
            #[cfg(feature = "postgres")]
            Revocations::Notify(channel) => channel.stop().await,
            Revocations::Log(channel) => drop(channel),
        }
    }
}
