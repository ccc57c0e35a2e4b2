//! The conformance kit on one Redis and on a Redis Cluster (see `common`): each test has a key
//! prefix of its own and deletes its keys at the end.

mod common;

mod single {
    authtoken_conformance::conformance_suite!(
        super::common::setup("AUTHTOKEN_TEST_REDIS_URL", Some("redis://127.0.0.1:6379")),
        listing,
        sessions,
        limiting
    );
}

mod cluster {
    authtoken_conformance::conformance_suite!(
        super::common::setup("AUTHTOKEN_TEST_REDIS_CLUSTER_URL", None),
        sessions,
        limiting
    );
}

/// API tokens: the detailed value format, on one Redis and on the cluster.
mod single_details {
    authtoken_conformance::conformance_suite!(
        super::common::setup_with_details(
            "AUTHTOKEN_TEST_REDIS_URL",
            Some("redis://127.0.0.1:6379")
        ),
        listing,
        sessions,
        details,
        limiting
    );
}

mod cluster_details {
    authtoken_conformance::conformance_suite!(
        super::common::setup_with_details("AUTHTOKEN_TEST_REDIS_CLUSTER_URL", None),
        sessions,
        details,
        limiting
    );
}

/// Refresh tokens in Redis: every family one hash (one slot), on one Redis and on the cluster.
mod single_refresh {
    authtoken_conformance::spec_group! { refresh;
        super::common::setup_with_refresh("AUTHTOKEN_TEST_REDIS_URL", Some("redis://127.0.0.1:6379"))
    }
}

mod cluster_refresh {
    authtoken_conformance::spec_group! { refresh;
        super::common::setup_with_refresh("AUTHTOKEN_TEST_REDIS_CLUSTER_URL", None)
    }
}
