//! The SQL backends: SeaORM's store over a fresh database per test, on SQLite, PostgreSQL and
//! MySQL/MariaDB, with UUID or i64 user ids.

pub mod catalog;
mod db;
pub mod replicas;
pub mod spec;
mod users;

use authtoken_migration::CreateAccessTokenTable;
use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers, access_token};
use sea_orm::{ConnectionTrait, Schema};
use sea_orm_migration::{MigrationTrait, SchemaManager};

use crate::Backend;
pub use db::{Engine, TestDb, query_one_string};
pub use users::{USER_TABLE, UserSchema, i64_users, uuid_users};

/// The token-table migration for schema `S`.
pub fn token_migration<S: UserSchema>() -> CreateAccessTokenTable {
    CreateAccessTokenTable::new(USER_TABLE, "id", S::ID_TYPE)
}

/// A fresh database with `S`'s user table and the token table made by the migration.
pub struct SqlBackend<S: UserSchema> {
    /// The test's database.
    pub db: TestDb,
    store: SeaOrmStore<access_token::Entity<S::Id>>,
    users: SeaOrmUsers<S::UserEntity>,
}

impl<S: UserSchema> SqlBackend<S> {
    /// Sets up a database on `engine` (its session prepared by `session_sql`, see
    /// [`TestDb::create`]); `None` if the engine is not configured outside CI.
    pub async fn setup(engine: Engine, session_sql: Option<&str>) -> Option<Self> {
        Some(Self::with_tables(TestDb::create(engine, session_sql).await?).await)
    }

    /// A database on the PostgreSQL primary of the replica set, its store reading tokens
    /// through the standbys ([`SeaOrmStore::with_read_replicas`]).
    pub async fn setup_on_replicas() -> Option<Self> {
        let set = replicas::replica_set()?;
        let mut backend = Self::with_tables(set.create_db().await).await;
        let pools = set.replica_pools(&backend.db).await;
        backend.store = backend.store.with_read_replicas(pools).await.expect("the replicas");
        Some(backend)
    }

    /// A database on the private PostgreSQL (`.ci/private-servers`: `wal_level = logical`);
    /// `None` outside CI when it is not configured.
    pub async fn setup_on_private_postgres() -> Option<Self> {
        let server = crate::restarts::PrivateServers::from_env()?.postgres;
        Some(Self::with_tables(TestDb::create_at(Engine::Postgres, server, None).await).await)
    }

    /// A database on the private MariaDB (`.ci/private-servers`: a binary log in row format);
    /// `None` outside CI when it is not configured.
    pub async fn setup_on_private_mariadb() -> Option<Self> {
        let server = crate::restarts::PrivateServers::from_env()?.mariadb;
        Some(Self::with_tables(TestDb::create_at(Engine::MySql, server, None).await).await)
    }

    /// `db` with `S`'s user table and the token table, and the store and users on it.
    async fn with_tables(db: TestDb) -> Self {
        let schema = Schema::new(db.conn.get_database_backend());
        let create_users = schema.create_table_from_entity(S::UserEntity::default());
        db.conn.execute(&create_users).await.expect("creating the user table");
        token_migration::<S>()
            .up(&SchemaManager::new(&db.conn))
            .await
            .expect("the token migration");
        let store = SeaOrmStore::new(db.conn.clone());
        let users = SeaOrmUsers::new(db.conn.clone());
        Self { db, store, users }
    }

    /// Like [`setup`](Self::setup), then the API-token columns and the client's added to the
    /// existing table (`AddTokenDetails`, `AddClientColumns`: the `ALTER` path) and found by the
    /// store (`detect_details`).
    pub async fn setup_with_details(engine: Engine) -> Option<Self> {
        let mut backend = Self::setup(engine, None).await?;
        let manager = SchemaManager::new(&backend.db.conn);
        authtoken_migration::AddTokenDetails::new("access_token")
            .up(&manager)
            .await
            .expect("adding the token details");
        authtoken_migration::AddClientColumns::new("access_token")
            .up(&manager)
            .await
            .expect("adding the client's columns");
        backend.store = backend.store.detect_details().await.expect("detecting the details");
        assert_eq!(
            authtoken::AccessTokenStore::columns(&backend.store),
            authtoken::TokenColumns::ALL,
            "the store did not find the columns"
        );
        Some(backend)
    }

    /// Like [`setup`](Self::setup), with the refresh-token tables
    /// (`CreateRefreshTokenTables`) for the `refresh` group.
    pub async fn setup_with_refresh(engine: Engine) -> Option<Self> {
        let backend = Self::setup(engine, None).await?;
        authtoken_migration::CreateRefreshTokenTables::new(USER_TABLE, "id", S::ID_TYPE)
            .up(&SchemaManager::new(&backend.db.conn))
            .await
            .expect("the refresh-token tables");
        Some(backend)
    }

    /// The store under test, with its inherent (SeaORM-only) methods.
    pub fn db_store(&self) -> SeaOrmStore<access_token::Entity<S::Id>> {
        self.store.clone()
    }
}

impl<S: UserSchema> authtoken_conformance::RefreshBackend for SqlBackend<S>
where
    S::Id: Into<sea_orm::Value> + sea_orm::TryGetable,
{
    type Refresh = authtoken_sea_orm::SeaOrmRefreshStore<S::Id>;

    fn refresh_store(&self) -> Self::Refresh {
        authtoken_sea_orm::SeaOrmRefreshStore::new(self.db.conn.clone())
    }
}

impl<S: UserSchema> Backend for SqlBackend<S> {
    type User = S::User;
    type Store = SeaOrmStore<access_token::Entity<S::Id>>;
    type Users = SeaOrmUsers<S::UserEntity>;

    fn store(&self) -> Self::Store {
        self.store.clone()
    }

    fn users(&self) -> &Self::Users {
        &self.users
    }

    async fn create_user(&self, active: bool) -> S::User {
        S::create(&self.db.conn, active).await
    }

    async fn delete_user(&self, user: &S::User) {
        S::delete(&self.db.conn, user).await
    }

    fn is_active(user: &S::User) -> bool {
        S::is_active(user)
    }

    async fn cleanup(self) {
        self.db.drop_database().await
    }
}
