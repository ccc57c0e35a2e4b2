//! A MariaDB Galera cluster (`AUTHTOKEN_TEST_GALERA_URLS`: the nodes' `mysql://` URLs,
//! comma-separated; `.ci/galera start DIR` starts one): a fresh database per test, replicated to
//! every node, and a store whose writes go through one node and reads through another.

use std::io::Write;

use authtoken::Result;
use authtoken::store::{AccessToken, AccessTokenStore, ListTokens, PurgeExpired};
use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers, access_token};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Schema};
use sea_orm_migration::{MigrationTrait, SchemaManager};

use crate::Backend;
use crate::sql::{Engine, TestDb, UserSchema, token_migration};

/// Makes every read of a session causal: for the user loader, whose reads are the
/// application's own (the store makes its own reads causal per statement).
pub const CAUSAL_SESSION: &str = "SET SESSION wsrep_sync_wait = 1";

/// The nodes' URLs; `None` (with a notice) outside CI when unset; in CI a failure.
pub fn node_urls() -> Option<Vec<String>> {
    let urls: Vec<String> = std::env::var("AUTHTOKEN_TEST_GALERA_URLS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect();
    if urls.len() >= 2 {
        return Some(urls);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "AUTHTOKEN_TEST_GALERA_URLS must name two or more Galera nodes in CI"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: AUTHTOKEN_TEST_GALERA_URLS is not set, so this Galera test did not run"
    );
    None
}

/// Writes through one node's store, reads through another's.
#[derive(Clone)]
pub struct CrossNodeStore<S> {
    /// Logins, logouts, purges.
    pub writer: S,
    /// Lookups, listings, counts.
    pub reader: S,
}

impl<S: AccessTokenStore> AccessTokenStore for CrossNodeStore<S> {
    type UserId = S::UserId;

    async fn get(&self, token: &str) -> Result<Option<AccessToken<S::UserId>>> {
        self.reader.get(token).await
    }

    async fn create(
        &self,
        row: AccessToken<S::UserId>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.writer.create(row, expires_at).await
    }

    async fn delete(&self, token: &str, owner: &S::UserId) -> Result<bool> {
        self.writer.delete(token, owner).await
    }

    async fn delete_all_of_user(&self, owner: &S::UserId) -> Result<u64> {
        self.writer.delete_all_of_user(owner).await
    }

    fn columns(&self) -> authtoken::TokenColumns {
        self.writer.columns()
    }

    async fn record_use(&self, token: &str, used: &authtoken::TokenUse) -> Result<()> {
        self.writer.record_use(token, used).await
    }
}

impl<S: ListTokens> ListTokens for CrossNodeStore<S> {
    async fn list_of_user(&self, owner: &S::UserId) -> Result<Vec<AccessToken<S::UserId>>> {
        self.reader.list_of_user(owner).await
    }

    async fn list_by_key_prefix(
        &self,
        prefix: &str,
        limit: std::num::NonZeroU32,
    ) -> Result<Vec<AccessToken<S::UserId>>> {
        self.reader.list_by_key_prefix(prefix, limit).await
    }
}

impl<S: PurgeExpired> PurgeExpired for CrossNodeStore<S> {
    async fn delete_expired(
        &self,
        now: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        limit: std::num::NonZeroU32,
    ) -> Result<u64> {
        self.writer.delete_expired(now, cutoff, limit).await
    }

    async fn count_expired(&self, now: DateTime<Utc>, cutoff: DateTime<Utc>) -> Result<u64> {
        self.reader.count_expired(now, cutoff).await
    }
}

/// A fresh database on the cluster: tables made and users written through the first node,
/// tokens written through the first and read through the second, each store with causal reads.
pub struct GaleraBackend<S: UserSchema> {
    /// The database, through the first node.
    pub db: TestDb,
    /// A pool through the second node (plain sessions: the store makes its reads causal).
    pub second: sea_orm::DatabaseConnection,
    store: CrossNodeStore<SeaOrmStore<access_token::Entity<S::Id>>>,
    users: SeaOrmUsers<S::UserEntity>,
}

impl<S: UserSchema> GaleraBackend<S> {
    /// Sets the database up; `None` when no cluster is configured outside CI.
    pub async fn setup() -> Option<Self> {
        let urls = node_urls()?;
        let db = TestDb::create_at(Engine::MySql, urls[0].clone(), None).await;
        let schema = Schema::new(db.conn.get_database_backend());
        let create_users = schema.create_table_from_entity(S::UserEntity::default());
        db.conn.execute(&create_users).await.expect("creating the user table");
        token_migration::<S>().up(&SchemaManager::new(&db.conn)).await.expect("the migration");
        let second = db.connect_through(&urls[1], None).await;
        let causal_users = db.connect_through(&urls[1], Some(CAUSAL_SESSION)).await;
        let writer = SeaOrmStore::new(db.conn.clone()).detect_galera().await.expect("detecting");
        let reader = SeaOrmStore::new(second.clone()).detect_galera().await.expect("detecting");
        assert!(writer.causal_reads() && reader.causal_reads(), "not a Galera cluster");
        let store = CrossNodeStore { writer, reader };
        Some(Self { db, second, store, users: SeaOrmUsers::new(causal_users) })
    }
}

impl<S: UserSchema> Backend for GaleraBackend<S> {
    type User = S::User;
    type Store = CrossNodeStore<SeaOrmStore<access_token::Entity<S::Id>>>;
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
        self.second.close().await.ok();
        self.db.drop_database().await
    }
}

/// Crashes and restarts the nodes of the cluster `.ci/galera start DIR` made
/// (`AUTHTOKEN_TEST_GALERA_DIR` names DIR).
pub struct ClusterControl {
    dir: std::path::PathBuf,
}

impl ClusterControl {
    /// The cluster's folder; `None` (with a notice) outside CI when unset; in CI a failure.
    pub fn from_env() -> Option<Self> {
        match std::env::var_os("AUTHTOKEN_TEST_GALERA_DIR") {
            Some(dir) if !dir.is_empty() => Some(Self { dir: dir.into() }),
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "AUTHTOKEN_TEST_GALERA_DIR must name the folder of `.ci/galera start` in CI"
                );
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: AUTHTOKEN_TEST_GALERA_DIR is not set, so no node can be crashed"
                );
                None
            }
        }
    }

    /// Kills node `index` as a crash would (SIGKILL), returning once it is gone.
    pub async fn kill(&self, index: usize) {
        self.run("kill", index).await
    }

    /// Restarts node `index`, returning once it is synced with the others.
    pub async fn rejoin(&self, index: usize) {
        self.run("rejoin", index).await
    }

    async fn run(&self, command: &'static str, index: usize) {
        let dir = self.dir.display().to_string();
        crate::ci_script::run("galera", vec![command.to_owned(), dir, index.to_string()]).await;
    }
}
