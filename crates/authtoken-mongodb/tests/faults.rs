//! MongoDB goes away: a proxy between the store and the server cuts or stalls every connection.
//! Calls fail with `Err` within a bound, never "not authenticated" and never a user; the same
//! store recovers when traffic flows again. And documents that do not read are errors.

mod common;

use authtoken_conformance::Backend as _;

use std::time::Duration;

use authtoken::{DatabaseStrategy, Error};
use authtoken_mongodb::MongoStore;
use authtoken_mongodb::mongodb::bson::doc;
use authtoken_tests::outage::outages_are_errors_and_the_store_recovers;
use authtoken_tests::proxy::FaultProxy;

/// The store's call timeout.
const CALL: Duration = Duration::from_secs(2);
/// How long the driver may take to reconnect once traffic flows again.
const RECOVERY: Duration = Duration::from_secs(40);

fn upstream(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_outages_are_errors_and_the_store_recovers() {
    let Some(server) = common::server_url() else { return };
    let database = common::database_name();
    let proxy = FaultProxy::start(upstream(&server)).await;
    let url = common::with_database(&proxy.url_for(&server), &database);
    let store = MongoStore::<i64>::connect(&url).await.unwrap().with_timeout(CALL);
    outages_are_errors_and_the_store_recovers(
        store.clone(),
        1i64,
        |mode| proxy.set(mode),
        RECOVERY,
    )
    .await;
    store.collection().client().database(&database).drop().await.unwrap();
}

/// A document another program wrote in another shape (a string user id, a text date) is a
/// schema error naming the field, never a panic, a user, or "not authenticated".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_documents_are_schema_errors() {
    let Some(backend) = common::setup::<i64>(|| 1).await else { return };
    let strategy = DatabaseStrategy::new(backend.store().clone(), None).unwrap();
    let token = authtoken_conformance::spec::foreign_token();
    let key = authtoken_conformance::spec::sha256_base64url(&token);
    let now = authtoken_mongodb::mongodb::bson::DateTime::now();
    for (document, field) in [
        (doc! { "_id": &key, "user_id": "1", "created_at": now }, "user_id"),
        (doc! { "_id": &key, "user_id": 1i64, "created_at": "2026-01-01" }, "created_at"),
        (doc! { "_id": &key, "user_id": 1i64, "created_at": now, "scopes": 7 }, "scopes"),
    ] {
        backend.store().collection().delete_many(doc! {}).await.unwrap();
        backend.store().collection().insert_one(document).await.unwrap();
        match strategy.read_token_row(&token).await {
            Err(Error::Schema(message)) => assert!(message.contains(field), "{message}"),
            other => panic!("{field}: {other:?}"),
        }
    }
    authtoken_conformance::Backend::cleanup(backend).await;
}
