//! The app's entities: its own `users` table, and the token table authtoken adds beside it.

pub mod user;

/// The token table, named and related the app's way: `user_tokens`, owned by `users.id` (i64).
pub mod user_token {
    authtoken_sea_orm::access_token_entity! {
        table_name = "user_tokens",
        user_id = i64,
        user = crate::entity::user,
    }
}
