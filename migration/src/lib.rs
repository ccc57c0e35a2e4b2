//! The migration that creates authtoken's token table, for any sea-orm-migration `Migrator`.
//!
//! [`CreateAccessTokenTable`] is a value: configure it with your user table, its key and the key's
//! type, and list it after your user-table migration. The crate's binary is the standard
//! sea-orm-migration CLI over [`demo::Migrator`] (a UUID-keyed `user` table, then the token
//! table), reading `DATABASE_URL` and defaulting to [`DEFAULT_DATABASE_URL`].

mod create_access_token;
pub mod demo;

pub use create_access_token::{CreateAccessTokenTable, UserIdType};

/// The embedded database used when `DATABASE_URL` is unset: a SQLite file in the working
/// directory, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://authtoken.db?mode=rwc";
