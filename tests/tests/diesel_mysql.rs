//! The conformance kit and the Diesel specs on mysql, with UUID and i64 user ids.

use authtoken_diesel::AsyncMysqlConnection;
use authtoken_tests::diesel::{DieselBackend, I64Ids, UuidIds};

mod mysql_uuid {
    use super::*;
    authtoken_conformance::conformance_suite!(
        DieselBackend::<UuidIds, AsyncMysqlConnection>::setup(),
        listing,
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
        purging,
        limiting
    );
    authtoken_tests::diesel_suite!(I64Ids, AsyncMysqlConnection);
}
