//! authtoken added to an existing SeaORM app whose users are keyed by `i64`.
//!
//! `cargo run -p existing-schema`

mod entity;
mod migration;

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken_sea_orm::SeaOrmStore;
use entity::{user, user_token};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, Database, EntityTrait, ModelTrait, QueryFilter};
use sea_orm_migration::MigratorTrait;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = "sqlite://existing-schema.db?mode=rwc";
    authtoken_migration::create_private_sqlite_file(url)?;
    let db = Database::connect(url).await?;
    migration::Migrator::up(&db, None).await?;
    println!(
        "migrated: users, then user_tokens (user_id BIGINT REFERENCES users ON DELETE CASCADE)"
    );

    let grace = user::ActiveModel { username: Set("grace".to_owned()), ..Default::default() };
    let grace =
        match user::Entity::find().filter(user::Column::Username.eq("grace")).one(&db).await? {
            Some(existing) => existing, // a second run
            None => grace.insert(&db).await?,
        };

    // The store over the app's own token entity; its user id type (i64) comes with it.
    let strategy = DatabaseStrategy::new(
        SeaOrmStore::<user_token::Entity>::new(db.clone()),
        Some(Duration::from_secs(900)),
    )?;
    let token = strategy.write_token(&grace).await?;
    println!("logged in user #{}", grace.id);

    // One query: the token joined with its user.
    let who: Option<user::Model> = strategy
        .read_token(token.expose_secret(), &authtoken::Joined)
        .await?
        .map(|(user, _row)| user);
    println!("authenticated as {:?}", who.as_ref().map(|u| &u.username));
    assert_eq!(who.map(|u| u.id), Some(grace.id));

    // The entity is an ordinary SeaORM entity: relations work both ways.
    let tokens = grace.find_related(user_token::Entity).all(&db).await?;
    println!("grace holds {} token row(s)", tokens.len());

    strategy.destroy_token(token.expose_secret(), &grace).await?;
    let who: Option<user::Model> = strategy
        .read_token(token.expose_secret(), &authtoken::Joined)
        .await?
        .map(|(user, _row)| user);
    println!("after logout: {}", if who.is_none() { "refused" } else { "accepted (bug)" });
    assert!(who.is_none());
    assert!(grace.find_related(user_token::Entity).all(&db).await?.is_empty());
    Ok(())
}
