//! A token issued, accepted and, after logout, refused, with no database at all.
//!
//! `cargo run -p in-memory`

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken::memory::{MemoryStore, MemoryUsers};

/// The application's user: anything with an id.
#[derive(Clone, Debug)]
struct Account {
    id: u64,
    name: &'static str,
}

impl authtoken::User for Account {
    type Id = u64;

    fn id(&self) -> &u64 {
        &self.id
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> authtoken::Result<()> {
    let users = MemoryUsers::new();
    let ada = Account { id: 1, name: "ada" };
    users.insert(ada.clone());
    let strategy = DatabaseStrategy::new(MemoryStore::new(), Some(Duration::from_secs(3600)))?;

    let token = strategy.write_token(&ada).await?;
    println!("issued:   {} for {}", token.expose_secret(), ada.name);
    let who = strategy.read_token(token.expose_secret(), &users).await?.map(|(user, _row)| user);
    println!("accepted: {:?}", who.map(|u| u.name));
    strategy.destroy_token(token.expose_secret(), &ada).await?;
    let who = strategy.read_token(token.expose_secret(), &users).await?.map(|(user, _row)| user);
    println!("after logout: {}", if who.is_none() { "refused" } else { "accepted (bug)" });
    Ok(())
}
