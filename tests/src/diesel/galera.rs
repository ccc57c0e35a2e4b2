//! The Diesel store on a MariaDB Galera cluster (`AUTHTOKEN_TEST_GALERA_URLS`): tables made and
//! users written through the first node, tokens written through the first and read through the
//! second, each store causal by detection, users loaded causally through the second.

use authtoken_diesel::{AsyncMysqlConnection, DieselStore, DieselUsers};

use super::{EngineOf, I64Ids, I64User, Ids, create_tables, create_user, delete_user};
use crate::galera::{CrossNodeStore, node_urls};
use crate::sql::{Engine, TestDb};

/// The token table of i64 ids, through Diesel on MariaDB.
pub type Store = DieselStore<<I64Ids as Ids>::Table, AsyncMysqlConnection>;

/// A fresh database on the cluster, as [`GaleraBackend`](crate::galera::GaleraBackend) makes
/// it for the SeaORM store.
pub struct DieselGaleraBackend {
    /// The database, through the first node.
    pub db: TestDb,
    /// Writes through the first node, reads through the second.
    pub store: CrossNodeStore<Store>,
    users: DieselUsers<I64User, AsyncMysqlConnection>,
}

impl DieselGaleraBackend {
    /// Sets the database up; `None` when no cluster is configured outside CI.
    pub async fn setup() -> Option<Self> {
        let urls = node_urls()?;
        let db = TestDb::create_at(Engine::MySql, urls[0].clone(), None).await;
        create_tables::<I64Ids>(&db, AsyncMysqlConnection::UP, AsyncMysqlConnection::DETAILS_UP)
            .await;
        let first = authtoken_diesel::connect::<AsyncMysqlConnection>(&db.url, 8).await.unwrap();
        let second_url = db.url_through(&urls[1]);
        let second = authtoken_diesel::connect::<AsyncMysqlConnection>(&second_url, 8).await;
        let second = second.expect("a pool through the second node");
        let writer = Store::new(first).detect_galera().await.expect("detecting Galera");
        let reader = Store::new(second.clone()).detect_galera().await.expect("detecting Galera");
        assert!(writer.causal_reads() && reader.causal_reads(), "not a Galera cluster");
        let users = DieselUsers::new(second).with_causal_reads();
        Some(Self { db, store: CrossNodeStore { writer, reader }, users })
    }
}

impl authtoken_conformance::Backend for DieselGaleraBackend {
    type User = I64User;
    type Store = CrossNodeStore<Store>;
    type Users = DieselUsers<I64User, AsyncMysqlConnection>;

    fn store(&self) -> Self::Store {
        self.store.clone()
    }

    fn users(&self) -> &Self::Users {
        &self.users
    }

    async fn create_user(&self, active: bool) -> I64User {
        create_user::<I64Ids>(&self.db, active).await
    }

    async fn delete_user(&self, user: &I64User) {
        delete_user::<I64Ids>(&self.db, user).await
    }

    fn is_active(user: &I64User) -> bool {
        user.is_active
    }

    async fn cleanup(self) {
        let Self { db, store, users } = self;
        drop((store, users));
        db.drop_database().await
    }
}
