//! The conformance suite and the SQL suite on SQLite files, with UUID and i64 user ids.

use authtoken_tests::sql::{Engine, SqlBackend, i64_users::I64Users, uuid_users::UuidUsers};

mod sqlite_uuid {
    use super::*;
    authtoken_tests::conformance_suite!(
        SqlBackend::<UuidUsers>::setup(Engine::Sqlite, None),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::sql_suite!(SqlBackend::<UuidUsers>::setup(Engine::Sqlite, None));
}

mod sqlite_i64 {
    use super::*;
    authtoken_tests::conformance_suite!(
        SqlBackend::<I64Users>::setup(Engine::Sqlite, None),
        listing,
        sessions,
        purging,
        limiting
    );
    authtoken_tests::sql_suite!(SqlBackend::<I64Users>::setup(Engine::Sqlite, None));
}

/// API tokens: the details columns added to an existing table, every group.
mod sqlite_details {
    use super::*;
    authtoken_tests::conformance_suite!(
        SqlBackend::<I64Users>::setup_with_details(Engine::Sqlite),
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting
    );
}

/// Refresh tokens: the refresh-token tables beside the token table (the `refresh` group alone:
/// the suites above run the rest on the same tables).
mod sqlite_refresh {
    use super::*;
    authtoken_conformance::spec_group! { refresh; SqlBackend::<UuidUsers>::setup_with_refresh(Engine::Sqlite) }
}
