//! The Diesel store on a MariaDB Galera cluster (`AUTHTOKEN_TEST_GALERA_URLS`), writes through
//! one node and reads through another: the conformance kit, and revocation that holds across
//! nodes at once, for the token lookup and for the joined read.

use std::time::Duration;

use authtoken::DatabaseStrategy;
use authtoken_conformance::Backend;
use authtoken_tests::diesel::galera::DieselGaleraBackend;

mod galera_i64 {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselGaleraBackend::setup(),
        listing,
        sessions,
        purging
    );
}

const ROUNDS: usize = 1000;

/// A login through the first node is found at once through the second, by the lookup and by
/// the joined read; a logout through the first is refused at once through the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_and_a_revocation_through_one_node_hold_at_once_through_another() {
    let Some(backend) = DieselGaleraBackend::setup().await else { return };
    let hour = Some(Duration::from_secs(3600));
    let through_first = DatabaseStrategy::new(backend.store.writer.clone(), hour).unwrap();
    let through_second = DatabaseStrategy::new(backend.store.reader.clone(), hour).unwrap();
    let user = backend.create_user(true).await;
    let (mut unseen, mut accepted_revoked) = (0, 0);
    for round in 0..ROUNDS {
        let token = through_first.write_token(&user).await.unwrap().into_secret();
        let found = match round % 2 {
            0 => through_second.read_token(&token, backend.users()).await.unwrap(),
            _ => through_second.read_token(&token, &authtoken::Joined).await.unwrap(),
        };
        unseen += usize::from(found.is_none());
        assert!(through_first.destroy_token(&token, &user).await.unwrap());
        let found = match round % 2 {
            0 => through_second.read_token(&token, backend.users()).await.unwrap(),
            _ => through_second.read_token(&token, &authtoken::Joined).await.unwrap(),
        };
        accepted_revoked += usize::from(found.is_some());
    }
    assert_eq!(
        (unseen, accepted_revoked),
        (0, 0),
        "over {ROUNDS} rounds: logins unseen through the other node, revoked tokens accepted"
    );
    drop((through_first, through_second));
    backend.cleanup().await;
}
