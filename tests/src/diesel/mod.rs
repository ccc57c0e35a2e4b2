//! The Diesel store over a fresh database per test, with a `users` table of its own and the
//! token table made by this crate's migration (its user id line edited as the migration's text
//! says, for i64 ids).

#![allow(missing_docs)] // test fixtures: the names say what they are

pub mod galera;
pub mod spec;

use std::fmt::Debug;

use crate::sql::{Engine, TestDb};
use authtoken_diesel::sql_types::UserIdSql;
use authtoken_diesel::{AccessTokenTable, DieselStore, DieselUsers, StoreConnection};
use sea_orm::{ConnectionTrait, Statement, Value};

/// A `users` table keyed by a UUID, and its token table.
pub mod uuid_schema {
    diesel::table! {
        use diesel::sql_types::*;
        use authtoken_diesel::sql_types::Uuid;

        users (id) {
            id -> Uuid,
            email -> Text,
            is_active -> Bool,
        }
    }

    authtoken_diesel::access_token_table!(access_token, user_id = Uuid);

    diesel::joinable!(access_token -> users (user_id));
    diesel::allow_tables_to_appear_in_same_query!(access_token, users);
}

/// A `users` table keyed by an i64, and its token table.
pub mod i64_schema {
    diesel::table! {
        users (id) {
            id -> BigInt,
            email -> Text,
            is_active -> Bool,
        }
    }

    authtoken_diesel::access_token_table!(access_token, user_id = BigInt);

    diesel::joinable!(access_token -> users (user_id));
    diesel::allow_tables_to_appear_in_same_query!(access_token, users);
}

/// A `users` table keyed by a UUID, and a token table with the API-token columns (the
/// table's migration, then the details migration).
pub mod details_schema {
    diesel::table! {
        use diesel::sql_types::*;
        use authtoken_diesel::sql_types::Uuid;

        users (id) {
            id -> Uuid,
            email -> Text,
            is_active -> Bool,
        }
    }

    authtoken_diesel::access_token_table!(access_token, user_id = Uuid, details);

    diesel::joinable!(access_token -> users (user_id));
    diesel::allow_tables_to_appear_in_same_query!(access_token, users);
}

/// A user with a UUID key.
#[derive(
    Clone, Debug, PartialEq, diesel::Queryable, diesel::QueryableByName, diesel::Selectable,
)]
#[diesel(table_name = uuid_schema::users)]
pub struct UuidUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub is_active: bool,
}

/// A user with an i64 key.
#[derive(
    Clone, Debug, PartialEq, diesel::Queryable, diesel::QueryableByName, diesel::Selectable,
)]
#[diesel(table_name = i64_schema::users)]
pub struct I64User {
    pub id: i64,
    pub email: String,
    pub is_active: bool,
}

/// A user with a UUID key, whose tokens have the API-token columns.
#[derive(
    Clone, Debug, PartialEq, diesel::Queryable, diesel::QueryableByName, diesel::Selectable,
)]
#[diesel(table_name = details_schema::users)]
pub struct DetailsUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub is_active: bool,
}

impl authtoken::User for DetailsUser {
    type Id = uuid::Uuid;
    fn id(&self) -> &uuid::Uuid {
        &self.id
    }
}

impl authtoken::User for UuidUser {
    type Id = uuid::Uuid;
    fn id(&self) -> &uuid::Uuid {
        &self.id
    }
}

impl authtoken::User for I64User {
    type Id = i64;
    fn id(&self) -> &i64 {
        &self.id
    }
}

authtoken_diesel::join_users!(uuid_schema::access_token -> uuid_schema::users, UuidUser);
authtoken_diesel::join_users!(i64_schema::access_token -> i64_schema::users, I64User);
authtoken_diesel::join_users!(details_schema::access_token -> details_schema::users, DetailsUser);

/// One id type: its schema, its user, and how SQL spells it on each engine.
pub trait Ids: Send + Sync + 'static {
    type Sql: UserIdSql<Id = Self::Id>;
    type Id: authtoken::UserId + authtoken_sea_orm::access_token::AccessTokenId + Into<Value>;
    type Table: AccessTokenTable<UserIdSql = Self::Sql>;
    type User: authtoken::User<Id = Self::Id> + Clone + Debug + Send + Sync + 'static;
    const NAME: &'static str;

    fn new_id() -> Self::Id;
    fn user(id: Self::Id, active: bool) -> Self::User;
    fn is_active(user: &Self::User) -> bool;
    /// The key's type in the `users` table and the migration's `user_id` line.
    fn sql_type(engine: Engine) -> &'static str;
}

pub struct UuidIds;
pub struct I64Ids;
/// UUID ids on a token table with the API-token columns.
pub struct DetailsIds;

impl Ids for UuidIds {
    type Sql = authtoken_diesel::sql_types::Uuid;
    type Id = uuid::Uuid;
    type Table = uuid_schema::access_token::table;
    type User = UuidUser;
    const NAME: &'static str = "uuid";

    fn new_id() -> uuid::Uuid {
        uuid::Uuid::new_v4()
    }
    fn user(id: uuid::Uuid, is_active: bool) -> UuidUser {
        UuidUser { id, email: format!("{id}@example.com"), is_active }
    }
    fn is_active(user: &UuidUser) -> bool {
        user.is_active
    }
    fn sql_type(engine: Engine) -> &'static str {
        match engine {
            Engine::Postgres => "UUID",
            Engine::MySql => "BINARY(16)",
            Engine::Sqlite => "uuid_text",
        }
    }
}

impl Ids for DetailsIds {
    type Sql = authtoken_diesel::sql_types::Uuid;
    type Id = uuid::Uuid;
    type Table = details_schema::access_token::table;
    type User = DetailsUser;
    const NAME: &'static str = "uuid with details";

    fn new_id() -> uuid::Uuid {
        uuid::Uuid::new_v4()
    }
    fn user(id: uuid::Uuid, is_active: bool) -> DetailsUser {
        DetailsUser { id, email: format!("{id}@example.com"), is_active }
    }
    fn is_active(user: &DetailsUser) -> bool {
        user.is_active
    }
    fn sql_type(engine: Engine) -> &'static str {
        UuidIds::sql_type(engine)
    }
}

impl Ids for I64Ids {
    type Sql = authtoken_diesel::sql_types::BigInt;
    type Id = i64;
    type Table = i64_schema::access_token::table;
    type User = I64User;
    const NAME: &'static str = "i64";

    fn new_id() -> i64 {
        use std::sync::atomic::{AtomicI64, Ordering};
        static NEXT: AtomicI64 = AtomicI64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
    fn user(id: i64, is_active: bool) -> I64User {
        I64User { id, email: format!("{id}@example.com"), is_active }
    }
    fn is_active(user: &I64User) -> bool {
        user.is_active
    }
    fn sql_type(engine: Engine) -> &'static str {
        match engine {
            Engine::Sqlite => "INTEGER",
            _ => "BIGINT",
        }
    }
}

/// A connection type and the engine it talks to.
pub trait EngineOf: StoreConnection {
    const ENGINE: Engine;
    /// The shipped migration for this engine.
    const UP: &'static str;
    const DOWN: &'static str;
    /// The shipped migration of the API-token columns.
    const DETAILS_UP: &'static str;
    const DETAILS_DOWN: &'static str;
    /// The shipped migration of the client's columns.
    const CLIENT_UP: &'static str;
    const CLIENT_DOWN: &'static str;
    /// The shipped migration of the refresh-token tables.
    const REFRESH_UP: &'static str;
    /// Runs the token table's and the details' migrations, as `authtoken_diesel::migrations`
    /// embeds them, with Diesel's own harness on a blocking connection to `url`; the versions
    /// applied.
    fn run_embedded_migrations(url: &str) -> Vec<String>;
}

macro_rules! engine_of {
    ($connection:ty, $engine:expr, $folder:literal, $embedded:ident, $details:ident) => {
        impl EngineOf for $connection {
            const ENGINE: Engine = $engine;
            const UP: &'static str = include_str!(concat!(
                "../../../crates/authtoken-diesel/migrations/",
                $folder,
                "/2026-01-01-000100_create_access_token/up.sql"
            ));
            const DOWN: &'static str = include_str!(concat!(
                "../../../crates/authtoken-diesel/migrations/",
                $folder,
                "/2026-01-01-000100_create_access_token/down.sql"
            ));
            const DETAILS_UP: &'static str = include_str!(concat!(
                "../../../crates/authtoken-diesel/migrations/details/",
                $folder,
                "/2026-01-01-000300_add_token_details/up.sql"
            ));
            const DETAILS_DOWN: &'static str = include_str!(concat!(
                "../../../crates/authtoken-diesel/migrations/details/",
                $folder,
                "/2026-01-01-000300_add_token_details/down.sql"
            ));
            const CLIENT_UP: &'static str = include_str!(concat!(
                "../../../crates/authtoken-diesel/migrations/client/",
                $folder,
                "/2026-01-01-000400_add_client_columns/up.sql"
            ));
            const CLIENT_DOWN: &'static str = include_str!(concat!(
                "../../../crates/authtoken-diesel/migrations/client/",
                $folder,
                "/2026-01-01-000400_add_client_columns/down.sql"
            ));
            const REFRESH_UP: &'static str = include_str!(concat!(
                "../../../crates/authtoken-diesel/migrations/refresh/",
                $folder,
                "/2026-01-01-000500_create_refresh_tokens/up.sql"
            ));

            fn run_embedded_migrations(url: &str) -> Vec<String> {
                use diesel::Connection as _;
                use diesel_migrations::MigrationHarness as _;
                type Blocking =
                    diesel_async::async_connection_wrapper::AsyncConnectionWrapper<$connection>;
                let mut conn = Blocking::establish(url).expect("a connection for the harness");
                let sets = [
                    authtoken_diesel::migrations::$embedded,
                    authtoken_diesel::migrations::$details,
                ];
                let mut applied = Vec::new();
                for set in sets {
                    let versions = conn.run_pending_migrations(set).expect("embedded migrations");
                    applied.extend(versions.iter().map(ToString::to_string));
                }
                applied
            }
        }
    };
}

engine_of!(authtoken_diesel::SqliteConnection, Engine::Sqlite, "sqlite", SQLITE, SQLITE_DETAILS);
engine_of!(
    authtoken_diesel::AsyncPgConnection,
    Engine::Postgres,
    "postgres",
    POSTGRES,
    POSTGRES_DETAILS
);
engine_of!(authtoken_diesel::AsyncMysqlConnection, Engine::MySql, "mysql", MYSQL, MYSQL_DETAILS);

/// The shipped `up.sql` with its user id line set to `sql_type`: the edit its text documents.
pub fn migration_for(up: &str, sql_type: &str) -> String {
    up.lines()
        .map(|line| match line.contains("-- the user id's type") {
            true => format!("    user_id {sql_type} NOT NULL, -- the user id's type"),
            false => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fresh database with a `users` table and the token table, the store and the user loader
/// over a Diesel pool on it.
pub struct DieselBackend<I: Ids, C: EngineOf> {
    pub db: TestDb,
    pub store: DieselStore<I::Table, C>,
    pub users: DieselUsers<I::User, C>,
}

impl<I: Ids, C: EngineOf> DieselBackend<I, C> {
    /// `None` outside CI when the engine's server is not there.
    pub async fn setup() -> Option<Self> {
        let db = TestDb::create(C::ENGINE, None).await?;
        create_tables::<I>(&db, C::UP, C::DETAILS_UP).await;
        let pool = authtoken_diesel::connect::<C>(&db.url, 8).await.expect("a Diesel pool");
        let store = DieselStore::new(pool.clone());
        let users = DieselUsers::new(pool);
        Some(Self { db, store, users })
    }

    /// [`setup`](Self::setup), with the refresh-token tables of the shipped migration (its
    /// user id lines set to the key's type).
    pub async fn setup_with_refresh() -> Option<Self> {
        let backend = Self::setup().await?;
        let refresh = migration_for(C::REFRESH_UP, I::sql_type(backend.db.engine));
        backend.db.conn.execute_unprepared(&refresh).await.expect("the refresh migration");
        Some(backend)
    }

    /// Runs `sql` with `values` on the test's SeaORM pool (setup and checks only).
    pub async fn execute(&self, sql: &str, values: Vec<Value>) -> u64 {
        execute(&self.db, sql, values).await
    }
}

impl<I: Ids> DieselBackend<I, authtoken_diesel::AsyncPgConnection>
where
    authtoken_diesel::AsyncPgConnection: authtoken_diesel::IdOn<I::Sql>,
{
    /// A fresh database on the replica set's primary, its token reads on the standbys
    /// (`with_read_replicas`); `None` outside CI when no replica set is configured.
    pub async fn setup_on_replicas() -> Option<Self> {
        use authtoken_diesel::AsyncPgConnection as Pg;
        let set = crate::sql::replicas::replica_set()?;
        let db = set.create_db().await;
        create_tables::<I>(&db, Pg::UP, Pg::DETAILS_UP).await;
        let pool = authtoken_diesel::connect::<Pg>(&db.url, 8).await.expect("a Diesel pool");
        let store = DieselStore::new(pool.clone());
        let store = store.with_read_replicas(set.diesel_pools(&db).await).await;
        let store = store.expect("the replicas");
        Some(Self { db, store, users: DieselUsers::new(pool) })
    }
}

/// The `users` table of `I`'s key and the shipped migration (`up`, its user id line set to the
/// key's type), then the details migration (`details_up`) for a table declared with them.
pub async fn create_tables<I: Ids>(db: &TestDb, up: &str, details_up: &str) {
    let id = I::sql_type(db.engine);
    let users = format!(
        "CREATE TABLE users (id {id} NOT NULL PRIMARY KEY, email VARCHAR(255) NOT NULL, \
         is_active BOOLEAN NOT NULL)"
    );
    db.conn.execute_unprepared(&users).await.expect("creating the users table");
    db.conn.execute_unprepared(&migration_for(up, id)).await.expect("the token table's migration");
    if <I::Table as AccessTokenTable>::DETAILS {
        db.conn.execute_unprepared(details_up).await.expect("the details migration");
    }
}

/// Runs `sql` with `values` on `db`'s SeaORM pool.
async fn execute(db: &TestDb, sql: &str, values: Vec<Value>) -> u64 {
    let backend = db.conn.get_database_backend();
    let statement = Statement::from_sql_and_values(backend, sql, values);
    db.conn.execute_raw(statement).await.unwrap_or_else(|e| panic!("{sql}: {e}")).rows_affected()
}

/// `n` placeholders as `db`'s engine writes them.
fn placeholders(db: &TestDb, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| if db.engine == Engine::Postgres { format!("${i}") } else { "?".to_owned() })
        .collect()
}

/// A new user of `I` in `db`'s `users` table.
pub async fn create_user<I: Ids>(db: &TestDb, active: bool) -> I::User {
    let user = I::user(I::new_id(), active);
    let p = placeholders(db, 3);
    let sql =
        format!("INSERT INTO users (id, email, is_active) VALUES ({}, {}, {})", p[0], p[1], p[2]);
    let id = authtoken::User::id(&user).clone();
    let values = vec![id.clone().into(), format!("{id:?}@example.com").into(), active.into()];
    execute(db, &sql, values).await;
    user
}

/// Deletes `user` from `db`'s `users` table.
pub async fn delete_user<I: Ids>(db: &TestDb, user: &I::User) {
    let sql = format!("DELETE FROM users WHERE id = {}", placeholders(db, 1)[0]);
    execute(db, &sql, vec![authtoken::User::id(user).clone().into()]).await;
}

impl<I, C> authtoken_conformance::RefreshBackend for DieselBackend<I, C>
where
    I: Ids,
    C: EngineOf + authtoken_diesel::IdOn<I::Sql>,
    I::User: authtoken_diesel::LoadUser<C>,
{
    type Refresh = authtoken_diesel::DieselRefreshStore<I::Table, C>;

    fn refresh_store(&self) -> Self::Refresh {
        authtoken_diesel::DieselRefreshStore::new(&self.store)
    }
}

impl<I, C> authtoken_conformance::Backend for DieselBackend<I, C>
where
    I: Ids,
    C: EngineOf + authtoken_diesel::IdOn<I::Sql>,
    I::User: authtoken_diesel::LoadUser<C>,
{
    type User = I::User;
    type Store = DieselStore<I::Table, C>;
    type Users = DieselUsers<I::User, C>;

    fn store(&self) -> Self::Store {
        self.store.clone()
    }

    fn users(&self) -> &Self::Users {
        &self.users
    }

    async fn create_user(&self, active: bool) -> I::User {
        create_user::<I>(&self.db, active).await
    }

    async fn delete_user(&self, user: &I::User) {
        delete_user::<I>(&self.db, user).await
    }

    fn is_active(user: &I::User) -> bool {
        I::is_active(user)
    }

    async fn cleanup(self) {
        let Self { db, store, users } = self;
        // The pool's connections go first: PostgreSQL will not drop a database in use.
        drop((store, users));
        db.drop_database().await
    }
}
