//! Cached backends: [`CachedStore`] in front of the in-memory store (no channel needed) and in
//! front of the SQL store with its revocation channel (LISTEN/NOTIFY on PostgreSQL, the polled
//! log on MySQL/MariaDB and SQLite), for the conformance kit and the cache's own tests.

use std::time::{Duration, Instant};

use authtoken::cache::{CacheOptions, CachedStore};
use authtoken::memory::MemoryStore;
use authtoken_migration::{
    CreateRevocationLog, CreateRevocationPublication, CreateRevocationTrigger,
};
use authtoken_sea_orm::revocations::Revocations;
use authtoken_sea_orm::{SeaOrmStore, SeaOrmUsers, access_token};
use sea_orm_migration::{MigrationTrait, SchemaManager};

use crate::Backend;
use crate::memory::MemoryBackend;
use crate::sql::{Engine, SqlBackend, USER_TABLE, UserSchema};

/// The bound the tests run the cache with.
pub const BOUND: Duration = Duration::from_millis(500);

/// The options the tests run the cache with.
pub fn options() -> CacheOptions {
    CacheOptions { staleness_bound: BOUND, ..CacheOptions::default() }
}

/// Waits until `store` serves hits (its channel proved itself current); fails after a bound.
pub async fn until_serving<S: authtoken::AccessTokenStore>(store: &CachedStore<S>)
where
    S::UserId: std::fmt::Display,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !store.is_serving() {
        assert!(Instant::now() < deadline, "the cache never became current");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The in-memory store behind a local-only cache, users in memory.
pub async fn memory_setup() -> Option<MemoryBackend<u64, CachedStore<MemoryStore<u64>>>> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let store =
        CachedStore::local_only(MemoryStore::new(), options()).expect("valid cache options");
    Some(MemoryBackend::with_store(store, || NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// The SQL store behind a cache kept current by the engine's channel ([`Revocations`]): the
/// NOTIFY trigger on PostgreSQL, the polled revocation log elsewhere.
pub struct CachedSqlBackend<S: UserSchema> {
    /// The uncached backend (its database, users and plain store).
    pub sql: SqlBackend<S>,
    store: CachedStore<SeaOrmStore<access_token::Entity<S::Id>>>,
    channel: Revocations,
}

impl<S: UserSchema> CachedSqlBackend<S>
where
    S::Id: std::fmt::Display,
{
    /// A fresh database on `engine` with the channel's migration, and a cache that is serving.
    pub async fn setup(engine: Engine) -> Option<Self> {
        let sql = SqlBackend::<S>::setup(engine, None).await?;
        let manager = SchemaManager::new(&sql.db.conn);
        CreateRevocationTrigger::new("access_token").up(&manager).await.expect("the trigger");
        CreateRevocationLog::new("access_token", USER_TABLE, "id")
            .up(&manager)
            .await
            .expect("the revocation log");
        let (store, channel) = Self::cache(&sql).await;
        Some(Self { sql, store, channel })
    }

    /// A fresh database on the private PostgreSQL (`wal_level = logical`) with the revocation
    /// publication and no trigger, and a cache that is serving on the logical channel (what
    /// [`Revocations::start`] chooses there).
    pub async fn setup_logical() -> Option<Self> {
        let sql = SqlBackend::<S>::setup_on_private_postgres().await?;
        CreateRevocationPublication::new("access_token")
            .up(&SchemaManager::new(&sql.db.conn))
            .await
            .expect("the publication");
        let (store, channel) = Self::cache(&sql).await;
        assert!(matches!(channel, Revocations::Logical(_)), "the logical channel was not chosen");
        Some(Self { sql, store, channel })
    }

    /// A fresh database on the private MariaDB (its binary log on, in row format) with the
    /// revocation log, and a cache that is serving: the log's poller woken by the binary log.
    pub async fn setup_binlog() -> Option<Self> {
        let sql = SqlBackend::<S>::setup_on_private_mariadb().await?;
        CreateRevocationLog::new("access_token", USER_TABLE, "id")
            .up(&SchemaManager::new(&sql.db.conn))
            .await
            .expect("the revocation log");
        let (store, channel) = Self::cache(&sql).await;
        Some(Self { sql, store, channel })
    }

    /// Another process's view: a cache of its own over the same database, with its own
    /// channel, already serving.
    pub async fn cache(
        sql: &SqlBackend<S>,
    ) -> (CachedStore<SeaOrmStore<access_token::Entity<S::Id>>>, Revocations) {
        let store = CachedStore::new(sql.db_store(), options()).expect("valid cache options");
        let channel = Revocations::start(&sql.db.conn, store.revocation_sink(), "access_token")
            .await
            .expect("the revocation channel");
        let store = store.with_publisher(channel.publisher());
        until_serving(&store).await;
        (store, channel)
    }
}

impl<S: UserSchema> Backend for CachedSqlBackend<S>
where
    S::Id: std::fmt::Display,
{
    type User = S::User;
    type Store = CachedStore<SeaOrmStore<access_token::Entity<S::Id>>>;
    type Users = SeaOrmUsers<S::UserEntity>;

    fn store(&self) -> Self::Store {
        self.store.clone()
    }

    fn users(&self) -> &Self::Users {
        self.sql.users()
    }

    async fn create_user(&self, active: bool) -> S::User {
        self.sql.create_user(active).await
    }

    async fn delete_user(&self, user: &S::User) {
        // The database cascades and the channel tells every other process; this process drops
        // the user's entries at once, as an application deleting a user does.
        self.sql.delete_user(user).await;
        let id = authtoken::User::id(user).clone();
        self.store.invalidate_user(&id).await.expect("invalidating the user");
    }

    fn is_active(user: &S::User) -> bool {
        <SqlBackend<S> as Backend>::is_active(user)
    }

    async fn cleanup(self) {
        self.channel.stop().await;
        self.sql.cleanup().await
    }
}
