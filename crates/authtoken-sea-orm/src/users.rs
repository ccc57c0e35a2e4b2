//! [`SeaOrmUsers`]: the user loader for users kept in a SeaORM entity.

use std::marker::PhantomData;

use authtoken::{BoxError, User, UserLoader};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PrimaryKeyTrait};

/// Loads users of entity `U` by primary key. Its `Model` implements [`User`], whose id is the
/// primary key's type.
pub struct SeaOrmUsers<U, C = DatabaseConnection> {
    conn: C,
    entity: PhantomData<fn() -> U>,
}

impl<U: EntityTrait, C: ConnectionTrait> SeaOrmUsers<U, C> {
    /// A loader over `conn`.
    pub fn new(conn: C) -> Self {
        Self { conn, entity: PhantomData }
    }
}

impl<U, C: Clone> Clone for SeaOrmUsers<U, C> {
    fn clone(&self) -> Self {
        Self { conn: self.conn.clone(), entity: PhantomData }
    }
}

impl<U, C> std::fmt::Debug for SeaOrmUsers<U, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmUsers").field("entity", &std::any::type_name::<U>()).finish()
    }
}

impl<U, C> UserLoader for SeaOrmUsers<U, C>
where
    U: EntityTrait,
    U::Model: User + Sync,
    <U::Model as User>::Id: Into<<U::PrimaryKey as PrimaryKeyTrait>::ValueType>,
    C: ConnectionTrait + Send + Sync,
{
    type User = U::Model;

    async fn load_user(&self, id: &<U::Model as User>::Id) -> Result<Option<U::Model>, BoxError> {
        Ok(U::find_by_id(id.clone()).one(&self.conn).await?)
    }
}
