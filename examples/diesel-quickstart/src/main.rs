//! The whole life of a token on Diesel and an embedded SQLite file, one printed step at a time.
//!
//! `cargo run -p diesel-quickstart`. It keeps its rows in `diesel-quickstart.db` in the working
//! directory and can run again and again: each run adds a user of its own and deletes it at the
//! end.

mod schema;

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken_diesel::{DieselStore, DieselUsers, SqliteConnection};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use schema::{access_token, users};

/// The app's migrations: its users table, then the token table (authtoken-diesel's SQLite
/// migration, its user id line set to INTEGER for i64 ids).
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// A user, as the app keeps it.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// The key.
    pub id: i64,
    /// A unique email.
    pub email: String,
    /// Whether the user may log in.
    pub is_active: bool,
}

impl authtoken::User for User {
    type Id = i64;
    fn id(&self) -> &i64 {
        &self.id
    }
}

// The joined read (token and user in one query) and the user loader, through `joinable!`.
authtoken_diesel::join_users!(access_token -> users, User);

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let path = "diesel-quickstart.db";
    // The file holds token rows: its owner alone may read it (SQLite gives the journal files the
    // same mode).
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    }
    tokio::task::spawn_blocking(move || -> Result<(), Error> {
        let mut conn = diesel::SqliteConnection::establish(path)?;
        conn.run_pending_migrations(MIGRATIONS)?;
        Ok(())
    })
    .await??;
    println!("1. migrated {path}: tables `users` and `access_token`");

    let pool = authtoken_diesel::connect::<SqliteConnection>(path, 4).await?;
    let mut conn = pool.get().await?;
    let next: Option<i64> =
        users::table.select(diesel::dsl::max(users::id)).first(&mut conn).await?;
    let id = next.unwrap_or(0) + 1;
    let alice = User { id, email: format!("alice-{id}@example.com"), is_active: true };
    diesel::insert_into(users::table)
        .values((
            users::id.eq(alice.id),
            users::email.eq(&alice.email),
            users::is_active.eq(alice.is_active),
        ))
        .execute(&mut conn)
        .await?;
    println!("2. created user {} ({})", alice.email, alice.id);

    let store = DieselStore::<access_token::table, SqliteConnection>::new(pool.clone());
    let users = DieselUsers::<User, SqliteConnection>::new(pool.clone());
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;

    let token = strategy.write_token(&alice).await?;
    println!(
        "3. logged in: token {} (shown once; the table keeps its SHA-256)",
        token.expose_secret()
    );

    let who: Option<User> = strategy
        .read_token(token.expose_secret(), &authtoken::Joined)
        .await?
        .map(|(user, _row)| user);
    println!(
        "4. the token authenticates, in one query: {}",
        who.as_ref().map_or("nobody", |u| &u.email)
    );
    assert_eq!(who.map(|u| u.id), Some(alice.id));

    let revoked = strategy.destroy_token(token.expose_secret(), &alice).await?;
    println!("5. logged out: token revoked = {revoked}");

    let who = strategy.read_token(token.expose_secret(), &users).await?.map(|(user, _row)| user);
    println!("6. the same token now: {}", if who.is_none() { "refused" } else { "ACCEPTED (bug)" });
    assert!(who.is_none());

    for _ in 0..2 {
        strategy.write_token(&alice).await?;
    }
    let tokens_of_alice = access_token::table.filter(access_token::user_id.eq(alice.id)).count();
    let before: i64 = tokens_of_alice.get_result(&mut conn).await?;
    diesel::delete(users::table.find(alice.id)).execute(&mut conn).await?;
    let after: i64 = tokens_of_alice.get_result(&mut conn).await?;
    println!("7. logged in twice more ({before} token rows), deleted the user: {after} rows left");
    assert_eq!(after, 0, "the foreign key cascades");
    Ok(())
}
