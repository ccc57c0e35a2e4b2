//! The whole life of a token on an embedded SQLite file, one printed step at a time.
//!
//! `cargo run -p quickstart`. It keeps its rows in `quickstart.db` in the working directory and
//! can run again and again: each run adds a user of its own and deletes it at the end.

mod user;

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken_migration::demo::Migrator;
use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers, access_token};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Database, EntityTrait, ModelTrait, PaginatorTrait, QueryFilter,
};
use sea_orm_migration::MigratorTrait;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = "sqlite://quickstart.db?mode=rwc";
    authtoken_migration::create_private_sqlite_file(url)?;
    let db = Database::connect(url).await?;
    Migrator::up(&db, None).await?;
    println!("1. migrated {url}: tables `user` and `access_token`");

    let id = uuid::Uuid::new_v4();
    let alice = user::ActiveModel {
        id: Set(id),
        email: Set(format!("alice-{}@example.com", &id.simple().to_string()[..8])),
        is_active: Set(true),
    }
    .insert(&db)
    .await?;
    println!("2. created user {} ({})", alice.email, alice.id);

    let store = SeaOrmStore::<access_token::Entity>::new(db.clone());
    let users = SeaOrmUsers::<user::Entity>::new(db.clone());
    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;

    let token = strategy.write_token(&alice).await?;
    println!(
        "3. logged in: token {} (shown once; the table keeps its SHA-256)",
        token.expose_secret()
    );

    let who = strategy.read_token(token.expose_secret(), &users).await?.map(|(user, _row)| user);
    println!("4. the token authenticates: {}", who.as_ref().map_or("nobody", |u| &u.email));
    assert_eq!(who.map(|u| u.id), Some(alice.id));

    let revoked = strategy.destroy_token(token.expose_secret(), &alice).await?;
    println!("5. logged out: token revoked = {revoked}");

    let who = strategy.read_token(token.expose_secret(), &users).await?.map(|(user, _row)| user);
    println!("6. the same token now: {}", if who.is_none() { "refused" } else { "ACCEPTED (bug)" });
    assert!(who.is_none());

    for _ in 0..2 {
        strategy.write_token(&alice).await?;
    }
    let tokens_of_alice = || {
        <access_token::Entity>::find()
            .filter(access_token::by_uuid::Column::UserId.eq(id))
            .count(&db)
    };
    let before = tokens_of_alice().await?;
    alice.delete(&db).await?;
    let after = tokens_of_alice().await?;
    println!("7. logged in twice more ({before} token rows), deleted the user: {after} rows left");
    assert_eq!(after, 0, "the foreign key cascades");
    Ok(())
}
