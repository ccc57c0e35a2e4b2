//! The token entity, ready-made for the usual user id types.
//!
//! `access_token::Entity` is the entity for UUID user ids and `access_token::Entity<i64>` (or
//! `i32`, `String`) the one for other id types: a type alias with a default, for type positions
//! such as `SeaOrmStore<access_token::Entity<i64>>`. Rust does not apply an alias's default in
//! expressions, so call SeaORM's methods through the concrete modules (`access_token::by_i64::Entity::find()`)
//! or in angle brackets (`<access_token::Entity>::find()`).
//!
//! All four share the table name `access_token`. For another table name, or to relate the token
//! to your own user entity, invoke [`access_token_entity!`](crate::access_token_entity) yourself.

use sea_orm::EntityTrait;

use crate::AccessTokenEntity;

/// The token entity for UUID user ids.
pub mod by_uuid {
    crate::access_token_entity!(table_name = "access_token", user_id = uuid::Uuid);
}

/// The token entity for 32-bit integer user ids.
pub mod by_i32 {
    crate::access_token_entity!(table_name = "access_token", user_id = i32);
}

/// The token entity for 64-bit integer user ids.
pub mod by_i64 {
    crate::access_token_entity!(table_name = "access_token", user_id = i64);
}

/// The token entity for string user ids.
pub mod by_string {
    crate::access_token_entity!(table_name = "access_token", user_id = String);
}

/// Maps a user id type to its ready-made token entity.
pub trait AccessTokenId: authtoken::UserId {
    /// The token entity whose `user_id` has this type.
    type Entity: AccessTokenEntity<UserId = Self>;
}

impl AccessTokenId for uuid::Uuid {
    type Entity = by_uuid::Entity;
}

impl AccessTokenId for i32 {
    type Entity = by_i32::Entity;
}

impl AccessTokenId for i64 {
    type Entity = by_i64::Entity;
}

impl AccessTokenId for String {
    type Entity = by_string::Entity;
}

/// The token entity for user ids of type `Id` (UUID unless given).
pub type Entity<Id = uuid::Uuid> = <Id as AccessTokenId>::Entity;

/// A row of the token table for user ids of type `Id`.
pub type Model<Id = uuid::Uuid> = <Entity<Id> as EntityTrait>::Model;

/// The insertable form of a row, for user ids of type `Id`.
pub type ActiveModel<Id = uuid::Uuid> = <Entity<Id> as EntityTrait>::ActiveModel;

/// The columns of the token table, for user ids of type `Id`.
pub type Column<Id = uuid::Uuid> = <Entity<Id> as EntityTrait>::Column;
