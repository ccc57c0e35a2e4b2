//! The conformance kit and the Diesel specs on mysql, with UUID and i64 user ids, and
//! on a table with the API-token columns.

use authtoken_diesel::AsyncMysqlConnection;
use authtoken_tests::diesel::{DetailsIds, DieselBackend, I64Ids, UuidIds};

mod mysql_uuid {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<UuidIds, AsyncMysqlConnection>::setup(),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::diesel_suite!(UuidIds, AsyncMysqlConnection);
}

mod mysql_i64 {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<I64Ids, AsyncMysqlConnection>::setup(),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::diesel_suite!(I64Ids, AsyncMysqlConnection);
}

mod mysql_details {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<DetailsIds, AsyncMysqlConnection>::setup(),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
    authtoken_tests::diesel_details_suite!(AsyncMysqlConnection);
}

/// Refresh tokens in the tables of the shipped refresh migration, UUID and i64 user ids.
mod mysql_refresh {
    use super::*;
    authtoken_conformance::spec_group! { refresh; DieselBackend::<UuidIds, AsyncMysqlConnection>::setup_with_refresh() }

    mod i64_ids {
        use super::*;
        authtoken_conformance::spec_group! { refresh; DieselBackend::<I64Ids, AsyncMysqlConnection>::setup_with_refresh() }
    }
}
