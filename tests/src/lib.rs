//! The conformance suite of authtoken: one behavioural spec, run against every store.
//!
//! A backend implements [`Backend`] (a fresh store, a user directory, and a way to create and
//! delete users), and [`conformance_suite!`] turns every function of [`spec`] into a test for it.
//! The in-memory store runs it in `tests/memory.rs`; each SQL backend runs it in a file of its own.

pub mod backend;
pub mod faults;
pub mod logs;
pub mod memory;
pub mod proxy;
pub mod spec;
pub mod sql;

pub use backend::Backend;

/// Instantiates the whole spec as `#[tokio::test]`s, each on a fresh backend from `$setup`.
///
/// `$setup` is an expression that evaluates to a future of `Option<backend>`: it runs once per
/// test, so every test has its own tables and no test sees another's rows. `None` means the
/// backend is not configured on this machine (never in CI): the test prints a notice and returns.
#[macro_export]
macro_rules! conformance_suite {
    ($setup:expr) => {
        $crate::conformance_tests! { $setup;
            missing_token_is_refused_without_a_query,
            malformed_tokens_are_refused_without_a_query,
            unknown_token_is_refused,
            valid_token_authenticates_its_user,
            token_one_second_past_its_lifetime_is_refused,
            token_exactly_at_its_lifetime_is_accepted,
            token_without_lifetime_never_expires,
            token_of_deleted_user_is_refused,
            inactive_user_is_still_returned,
            altered_token_is_refused,
            stored_hash_presented_as_token_is_refused,
            two_logins_give_two_distinct_tokens,
            reading_never_writes,
            destroy_own_token_revokes_it,
            destroy_other_users_token_leaves_it,
            destroy_unknown_token_is_a_noop,
            destroy_malformed_token_is_a_noop_without_a_query,
            destroy_expired_token_deletes_it,
            destroy_all_tokens_leaves_other_users_tokens,
            purge_removes_exactly_the_expired_rows,
            purge_respects_the_batch_size,
            purge_without_lifetime_deletes_nothing,
            hashed_mode_stores_the_sha256_not_the_token,
            plain_mode_stores_the_token,
            plain_mode_reads_a_token_written_by_another_program,
            failing_store_is_an_error_from_every_call,
            failing_user_loader_is_an_error,
            zero_lifetime_is_rejected,
            token_debug_and_display_do_not_reveal_it,
            store_rejects_a_duplicate_token,
            store_update_replaces_owner_and_creation_time,
            store_get_respects_not_before,
            store_lists_a_users_tokens_oldest_first,
            concurrent_logins_give_distinct_valid_tokens,
            inspect_token_tells_unknown_from_expired,
            operator_revoke_deletes_any_users_token,
        }
    };
}

/// The expansion behind [`conformance_suite!`]: one test per named spec function.
#[doc(hidden)]
#[macro_export]
macro_rules! conformance_tests {
    ($setup:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(backend) = $setup.await else { return };
                $crate::spec::$name(&backend).await;
                $crate::Backend::cleanup(backend).await;
            }
        )*
    };
}
