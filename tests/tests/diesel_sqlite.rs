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

/// Refresh tokens in the tables of the shipped refresh migration, UUID and i64 user ids.
mod sqlite_refresh {
    use super::*;
    authtoken_conformance::spec_group! { refresh; DieselBackend::<UuidIds, SqliteConnection>::setup_with_refresh() }

    mod i64_ids {
        use super::*;
        authtoken_conformance::spec_group! { refresh; DieselBackend::<I64Ids, SqliteConnection>::setup_with_refresh() }
    }
}
