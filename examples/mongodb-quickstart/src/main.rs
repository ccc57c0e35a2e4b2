//! The whole life of a token on MongoDB, one printed step at a time, with the users in a
//! `users` collection of their own (ObjectId keys, as Beanie's users have).
//!
//! `MONGODB_URL=mongodb://127.0.0.1:27017/quickstart cargo run -p mongodb-quickstart` (that URL
//! is the default). It can run again and again: each run adds a user of its own and deletes it,
//! and its tokens, at the end.

use std::time::Duration;

use authtoken::{BoxError, DatabaseStrategy, User, UserLoader};
use authtoken_mongodb::MongoStore;
use authtoken_mongodb::mongodb::bson::oid::ObjectId;
use authtoken_mongodb::mongodb::bson::{Document, doc};
use authtoken_mongodb::mongodb::{Client, Collection};

type Error = Box<dyn std::error::Error>;

/// The application's user, as its `users` collection keeps it.
struct Account {
    id: ObjectId,
    email: String,
}

impl User for Account {
    type Id = ObjectId;

    fn id(&self) -> &ObjectId {
        &self.id
    }
}

/// Loads users from the `users` collection by `_id`.
struct Accounts(Collection<Document>);

impl UserLoader for Accounts {
    type User = Account;

    async fn load_user(&self, id: &ObjectId) -> Result<Option<Account>, BoxError> {
        let Some(found) = self.0.find_one(doc! { "_id": id }).await? else {
            return Ok(None);
        };
        Ok(Some(Account { id: *id, email: found.get_str("email")?.to_owned() }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::var("MONGODB_URL")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/quickstart".to_owned());
    let store = MongoStore::<ObjectId>::connect(&url).await?;
    store.ensure_indexes().await?;
    println!("1. connected; indexes on `access_token` made (the user, the creation time)");

    let client = Client::with_uri_str(&url).await?;
    let database = client.default_database().ok_or("the URL names no database")?;
    let users = Accounts(database.collection("users"));
    let id = ObjectId::new();
    let alice = Account { id, email: format!("alice-{}@example.com", &id.to_hex()[16..]) };
    users.0.insert_one(doc! { "_id": id, "email": &alice.email }).await?;
    println!("2. created user {} ({})", alice.email, alice.id);

    let strategy = DatabaseStrategy::new(store, Some(Duration::from_secs(3600)))?;
    let token = strategy.write_token(&alice).await?;
    println!(
        "3. logged in: token {} (shown once; the document keeps its SHA-256)",
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
    // MongoDB has no foreign keys: deleting a user is deleting its tokens too.
    users.0.delete_one(doc! { "_id": id }).await?;
    let gone = strategy.destroy_all_tokens(&alice).await?;
    println!(
        "7. logged in twice more, deleted the user and logged it out everywhere: {gone} tokens"
    );
    assert_eq!(gone, 2);
    Ok(())
}
