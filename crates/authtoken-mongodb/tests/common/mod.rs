//! The MongoDB backend of the tests: a database of its own per test (dropped at the end), on the
//! server `AUTHTOKEN_TEST_MONGODB_URL` names; users in memory, whose deletion deletes their
//! tokens as a cascade would.

#![allow(dead_code)]

use std::io::Write;

use authtoken_conformance::memory::{MemoryBackend, MemoryUser, MemoryUsers};
use authtoken_conformance::{Backend, RefreshBackend};
use authtoken_mongodb::{Layout, MongoRefreshStore, MongoStore, MongoUserId, UuidRepresentation};

/// The test server's URL (without a database), or `None` outside CI when none is configured.
pub fn server_url() -> Option<String> {
    let url = std::env::var("AUTHTOKEN_TEST_MONGODB_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "AUTHTOKEN_TEST_MONGODB_URL is not set: CI must run every backend"
        );
        let _ = writeln!(std::io::stderr(), "SKIPPED: AUTHTOKEN_TEST_MONGODB_URL is not set");
    }
    url
}

/// `url` with `database` as its path (and the query kept).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let hosts_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..hosts_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A fresh database name.
pub fn database_name() -> String {
    format!("authtoken_test_{}", uuid::Uuid::new_v4().simple())
}

/// A store in a database of its own (dropped at the end), with users in memory.
pub type MongoBackend<Id> = MemoryBackend<Id, MongoStore<Id>>;

/// A store on the native layout in a database of its own, its indexes made.
pub async fn setup<Id: MongoUserId>(new_id: fn() -> Id) -> Option<MongoBackend<Id>> {
    setup_with(new_id, Layout::native(), false).await
}

/// The same on `layout`, with the TTL index if `ttl`.
pub async fn setup_with<Id: MongoUserId>(
    new_id: fn() -> Id,
    layout: Layout,
    ttl: bool,
) -> Option<MongoBackend<Id>> {
    let url = with_database(&server_url()?, &database_name());
    // NX-27017 loses BSON binary subtypes, so a UUID stored as binary neither reads back
    // nor matches there: the tests keep UUIDs as text (MongoDB itself takes either).
    let mut store = MongoStore::<Id>::connect(&url)
        .await
        .expect("a MongoDB URL")
        .with_layout(layout)
        .with_uuid_representation(UuidRepresentation::String);
    if ttl {
        store = store.with_ttl_index();
    }
    store.ensure_indexes().await.expect("creating the indexes");
    let client = store.collection().client().clone();
    let cleanup = || async move {
        client.database(&database_of(&url)).drop().await.expect("dropping the test database");
    };
    Some(MemoryBackend::with_store(store, new_id).with_cleanup(cleanup))
}

fn database_of(url: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    base.rsplit('/').next().unwrap_or_default().to_owned()
}

/// [`MongoBackend`] with its refresh tokens in MongoDB too ([`MongoRefreshStore`], its indexes
/// made): what the `refresh` group runs on.
pub struct MongoRefreshBackend<Id: MongoUserId>(MongoBackend<Id>);

/// Like [`setup`], for the `refresh` group.
pub async fn setup_with_refresh<Id: MongoUserId>(
    new_id: fn() -> Id,
) -> Option<MongoRefreshBackend<Id>> {
    let backend = setup(new_id).await?;
    MongoRefreshStore::new(&backend.store()).ensure_indexes().await.expect("the indexes");
    Some(MongoRefreshBackend(backend))
}

impl<Id: MongoUserId> Backend for MongoRefreshBackend<Id> {
    type User = MemoryUser<Id>;
    type Store = MongoStore<Id>;
    type Users = MemoryUsers<MemoryUser<Id>>;

    fn store(&self) -> Self::Store {
        self.0.store()
    }

    fn users(&self) -> &Self::Users {
        self.0.users()
    }

    async fn create_user(&self, active: bool) -> MemoryUser<Id> {
        self.0.create_user(active).await
    }

    async fn delete_user(&self, user: &MemoryUser<Id>) {
        self.0.delete_user(user).await;
    }

    fn is_active(user: &MemoryUser<Id>) -> bool {
        user.is_active
    }

    async fn cleanup(self) {
        self.0.cleanup().await
    }
}

impl<Id: MongoUserId> RefreshBackend for MongoRefreshBackend<Id> {
    type Refresh = MongoRefreshStore<Id>;

    fn refresh_store(&self) -> Self::Refresh {
        MongoRefreshStore::new(&self.0.store())
    }
}
