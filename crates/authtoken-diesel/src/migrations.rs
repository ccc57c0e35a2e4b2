//! The token-table migrations of this crate's `migrations/` folder, embedded: one set per
//! database, for a `users` table keyed by a UUID (copy the folder into your own `migrations/`
//! to change either; each `up.sql` marks the line), and the optional API-token columns
//! (`migrations/details/`) and the client's (`migrations/client/`: the user agent and address a
//! sessions page shows), and the refresh-token tables (`migrations/refresh/`), sets of their own
//! to run after the table's.
//!
//! ```no_run
//! # #[cfg(feature = "postgres")] fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use diesel::Connection;
//! use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
//! use diesel_migrations::MigrationHarness;
//!
//! let mut conn =
//!     AsyncConnectionWrapper::<diesel_async::AsyncPgConnection>::establish("postgres://localhost/app")?;
//! conn.run_pending_migrations(authtoken_diesel::migrations::POSTGRES)?;
//! // Only for a table declared with `, details` (API tokens):
//! conn.run_pending_migrations(authtoken_diesel::migrations::POSTGRES_DETAILS)?;
//! # Ok(()) }
//! ```

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The migrations for PostgreSQL (`migrations/postgres`).
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The migrations for MySQL and MariaDB (`migrations/mysql`).
pub const MYSQL: EmbeddedMigrations = embed_migrations!("migrations/mysql");

/// The migrations for SQLite (`migrations/sqlite`).
pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// The API-token columns for PostgreSQL (`migrations/details/postgres`), after [`POSTGRES`].
pub const POSTGRES_DETAILS: EmbeddedMigrations = embed_migrations!("migrations/details/postgres");

/// The API-token columns for MySQL and MariaDB (`migrations/details/mysql`), after [`MYSQL`].
pub const MYSQL_DETAILS: EmbeddedMigrations = embed_migrations!("migrations/details/mysql");

/// The API-token columns for SQLite (`migrations/details/sqlite`), after [`SQLITE`].
pub const SQLITE_DETAILS: EmbeddedMigrations = embed_migrations!("migrations/details/sqlite");

/// The client's columns for PostgreSQL (`migrations/client/postgres`), after [`POSTGRES`].
pub const POSTGRES_CLIENT: EmbeddedMigrations = embed_migrations!("migrations/client/postgres");

/// The client's columns for MySQL and MariaDB (`migrations/client/mysql`), after [`MYSQL`].
pub const MYSQL_CLIENT: EmbeddedMigrations = embed_migrations!("migrations/client/mysql");

/// The client's columns for SQLite (`migrations/client/sqlite`), after [`SQLITE`].
pub const SQLITE_CLIENT: EmbeddedMigrations = embed_migrations!("migrations/client/sqlite");

/// The refresh-token tables for PostgreSQL (`migrations/refresh/postgres`), after [`POSTGRES`].
pub const POSTGRES_REFRESH: EmbeddedMigrations = embed_migrations!("migrations/refresh/postgres");

/// The refresh-token tables for MySQL and MariaDB (`migrations/refresh/mysql`), after [`MYSQL`].
pub const MYSQL_REFRESH: EmbeddedMigrations = embed_migrations!("migrations/refresh/mysql");

/// The refresh-token tables for SQLite (`migrations/refresh/sqlite`), after [`SQLITE`].
pub const SQLITE_REFRESH: EmbeddedMigrations = embed_migrations!("migrations/refresh/sqlite");
