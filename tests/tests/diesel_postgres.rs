//! The conformance kit and the Diesel specs on postgres, with UUID and i64 user ids, and
//! on a table with the API-token columns.

use authtoken_diesel::AsyncPgConnection;
use authtoken_tests::diesel::{DetailsIds, DieselBackend, I64Ids, UuidIds};

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

mod postgres_details {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<DetailsIds, AsyncPgConnection>::setup(),
        listing,
        purging,
        details,
        details_purging,
        limiting
    );
    authtoken_tests::diesel_details_suite!(AsyncPgConnection);
}
