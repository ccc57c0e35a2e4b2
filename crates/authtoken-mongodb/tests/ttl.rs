//! The optional TTL index: each document carries `drop_after` (its expiry), the index drops it
//! on the server's clock, and until then the strategy refuses it by its own check.

mod common;

use std::time::{Duration, Instant};

use authtoken::{DatabaseStrategy, IssueOptions};
use authtoken_conformance::Backend as _;
use authtoken_conformance::memory::MemoryUser;
use authtoken_mongodb::Layout;
use authtoken_mongodb::mongodb::bson::{Bson, Document, doc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ttl_index_drops_expired_documents() {
    let Some(backend) = common::setup_with::<i64>(|| 1, Layout::native(), true).await else {
        return;
    };
    let collection = backend.store().collection().clone();
    let indexes: Vec<Document> = {
        use futures_util::TryStreamExt;
        let cursor = collection.list_indexes().await.unwrap();
        cursor.map_ok(|model| model.keys).try_collect().await.unwrap()
    };
    assert!(indexes.iter().any(|keys| keys.contains_key("drop_after")), "{indexes:?}");

    let strategy =
        DatabaseStrategy::new(backend.store().clone(), Some(Duration::from_secs(3600))).unwrap();
    let alice = MemoryUser { id: 1i64, is_active: true };
    let session = strategy.write_token(&alice).await.unwrap().into_secret();
    let short = IssueOptions::new().lifetime(Duration::from_secs(1));
    let brief = strategy.issue_token(&alice, &short).await.unwrap().into_secret();
    let key = |token: &str| authtoken_conformance::spec::sha256_base64url(token);

    // `drop_after` is each token's expiry.
    let document = collection.find_one(doc! { "_id": key(&session) }).await.unwrap().unwrap();
    let (Some(Bson::DateTime(created)), Some(Bson::DateTime(drop))) =
        (document.get("created_at"), document.get("drop_after"))
    else {
        panic!("{document}")
    };
    assert_eq!(drop.timestamp_millis() - created.timestamp_millis(), 3_600_000);

    // The one-second token is refused once past its second, and the server drops it (MongoDB's
    // TTL monitor runs about once a minute: a bound, not a timing).
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let gone = collection.find_one(doc! { "_id": key(&brief) }).await.unwrap().is_none();
        if gone {
            break;
        }
        if strategy.now()
            > chrono::DateTime::from_timestamp_millis(created.timestamp_millis()).unwrap()
                + chrono::TimeDelta::seconds(2)
        {
            assert!(
                strategy.read_token_row(&brief).await.unwrap().is_none(),
                "expired but accepted"
            );
        }
        assert!(Instant::now() < deadline, "the TTL index never dropped the expired document");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(strategy.read_token_row(&session).await.unwrap().is_some(), "the live one went");
    authtoken_conformance::Backend::cleanup(backend).await;
}
