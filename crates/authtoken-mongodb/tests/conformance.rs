//! The conformance kit on MongoDB (`AUTHTOKEN_TEST_MONGODB_URL`), for ObjectId and UUID user ids,
//! on the native layout and on fastapi-users' Beanie layout: each test in a database of its own.
//! (The TTL index has a test of its own: the kit's clock stands in 2026-01-01, and MongoDB's TTL
//! monitor drops documents by its own clock.)

mod common;

use authtoken_mongodb::Layout;
use authtoken_mongodb::mongodb::bson::oid::ObjectId;

fn object_id() -> ObjectId {
    ObjectId::new()
}

mod native_object_id {
    authtoken_conformance::conformance_suite!(
        super::common::setup(super::object_id),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
}

mod native_uuid {
    authtoken_conformance::conformance_suite!(
        super::common::setup(uuid::Uuid::new_v4),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
}

mod beanie_object_id {
    authtoken_conformance::conformance_suite!(
        super::common::setup_with(super::object_id, super::Layout::beanie(), false),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
}

mod native_i64 {
    fn next() -> i64 {
        use std::sync::atomic::{AtomicI64, Ordering};
        static NEXT: AtomicI64 = AtomicI64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
    authtoken_conformance::conformance_suite!(
        super::common::setup(next),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
}

/// Refresh tokens: one document per family, ObjectId and UUID user ids.
mod refresh_object_id {
    authtoken_conformance::spec_group! { refresh; super::common::setup_with_refresh(super::object_id) }
}

mod refresh_uuid {
    authtoken_conformance::spec_group! { refresh; super::common::setup_with_refresh(uuid::Uuid::new_v4) }
}
