//! The conformance kit and the Diesel specs on postgres, with UUID and i64 user ids.

use authtoken_diesel::AsyncPgConnection;
use authtoken_tests::diesel::{DieselBackend, I64Ids, UuidIds};

mod postgres_uuid {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<UuidIds, AsyncPgConnection>::setup(),
        listing,
        purging,
        limiting
    );
    authtoken_tests::diesel_suite!(UuidIds, AsyncPgConnection);
}

mod postgres_i64 {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<I64Ids, AsyncPgConnection>::setup(),
        listing,
        purging,
        limiting
    );
    authtoken_tests::diesel_suite!(I64Ids, AsyncPgConnection);
}
