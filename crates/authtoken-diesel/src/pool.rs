//! A pool for the store, with each database's connection set up as the store needs it.

use authtoken::Result;

use crate::connection::StoreConnection;

/// A pool of at most `max_size` connections to `url`, one of them opened now (so that a wrong
/// URL or a database that is down fails here, not on the first request).
///
/// SQLite connections are set up as a web app needs them: foreign keys enforced (the token
/// table's cascade), a 5-second busy timeout (writers wait for each other instead of failing)
/// and the write-ahead log (readers never wait for a writer). A SQLite URL is a path,
/// `sqlite://path` or a `file:` URI (`?mode=rwc` creates the file).
///
/// ```no_run
/// # #[cfg(feature = "sqlite")] async fn run() -> authtoken::Result<()> {
/// use authtoken_diesel::SqliteConnection;
/// let pool = authtoken_diesel::connect::<SqliteConnection>("sqlite://app.db?mode=rwc", 8).await?;
/// # Ok(()) }
/// ```
pub async fn connect<C: StoreConnection>(url: &str, max_size: usize) -> Result<C::Pool> {
    let pool = C::pool(url, max_size)?;
    drop(C::take(&pool).await?);
    Ok(pool)
}
