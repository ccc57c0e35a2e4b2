//! [`SeaOrmUsers`]: the user loader for users kept in a SeaORM entity.

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use authtoken::{BoxError, User, UserLoader};
use sea_orm::sea_query::IntoValueTuple;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, PrimaryKeyTrait,
    QuerySelect, Statement, Value,
};

/// Loads users of entity `U` by primary key. Its `Model` implements [`User`], whose id is the
/// primary key's type.
///
/// The `SELECT` is SeaORM's own `find_by_id`, rendered once on the first load and reused: building
/// it costs more than running it.
pub struct SeaOrmUsers<U, C = DatabaseConnection> {
    conn: C,
    by_id: Arc<OnceLock<String>>,
    timeout: Option<Duration>,
    entity: PhantomData<fn() -> U>,
}

impl<U: EntityTrait, C: ConnectionTrait> SeaOrmUsers<U, C> {
    /// A loader over `conn`.
    pub fn new(conn: C) -> Self {
        Self { conn, by_id: Arc::default(), timeout: None, entity: PhantomData }
    }

    /// Fails a load that takes longer than `limit`, as
    /// [`SeaOrmStore::with_timeout`](crate::SeaOrmStore::with_timeout) does for the token
    /// lookup: neither SeaORM nor sqlx bounds a statement on a stalled connection.
    pub fn with_timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }
}

impl<U, C: Clone> Clone for SeaOrmUsers<U, C> {
    fn clone(&self) -> Self {
        Self {
            conn: self.conn.clone(),
            by_id: Arc::clone(&self.by_id),
            timeout: self.timeout,
            entity: PhantomData,
        }
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
        let backend = self.conn.get_database_backend();
        let key: <U::PrimaryKey as PrimaryKeyTrait>::ValueType = id.clone().into();
        let values: Vec<Value> = key.into_value_tuple().into_iter().collect();
        let statement = match self.by_id.get() {
            Some(sql) => Statement::from_sql_and_values(backend, sql.as_str(), values),
            None => {
                let mut select = U::find_by_id(id.clone());
                let statement = backend.build(QuerySelect::query(&mut select));
                // Reusable when the key's values are all it binds.
                if statement.values.as_ref().map_or(0, |v| v.0.len()) == values.len() {
                    let _ = self.by_id.set(statement.sql.clone());
                }
                statement
            }
        };
        let query = self.conn.query_one_raw(statement);
        let row = match self.timeout {
            None => query.await?,
            Some(limit) => tokio::time::timeout(limit, query).await.map_err(|_| {
                format!("the database did not answer within {limit:?} (loading a user)")
            })??,
        };
        Ok(row.map(|row| U::Model::from_query_result(&row, "")).transpose()?)
    }
}
