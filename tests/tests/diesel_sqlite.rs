//! The conformance kit and the Diesel specs on sqlite, with UUID and i64 user ids, and
//! on a table with the API-token columns.

use authtoken_diesel::SqliteConnection;
use authtoken_tests::diesel::{DetailsIds, DieselBackend, I64Ids, UuidIds};

mod sqlite_uuid {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<UuidIds, SqliteConnection>::setup(),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::diesel_suite!(UuidIds, SqliteConnection);
}

mod sqlite_i64 {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<I64Ids, SqliteConnection>::setup(),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::diesel_suite!(I64Ids, SqliteConnection);
}

mod sqlite_details {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<DetailsIds, SqliteConnection>::setup(),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
    authtoken_tests::diesel_details_suite!(SqliteConnection);
}
