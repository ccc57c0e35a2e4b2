//! The conformance kit of [`authtoken`]: one behavioural spec, run against any token store.
//!
//! A store proves it keeps the storage contract by running this crate's spec in its own tests:
//! describe how to make a fresh store and users ([`Backend`]), then one macro line,
//! [`conformance_suite!`], turns every spec function into a `#[test]`. The spec drives the store
//! through [`DatabaseStrategy`](authtoken::DatabaseStrategy) on a manual clock, so expiry
//! boundaries are exact, and through a [`FaultyStore`](faults::FaultyStore), so it can count the
//! calls that reach the store and make them fail.
//!
//! # Implementing a store
//!
//! 1. Implement [`AccessTokenStore`](authtoken::AccessTokenStore): `get` (by stored key),
//!    `create` (a duplicate key is
//!    [`Error::DuplicateToken`](authtoken::Error::DuplicateToken), never an overwrite), `delete`
//!    (only if the owner matches) and `delete_all_of_user`. A backend failure is
//!    [`Error::Store`](authtoken::Error::Store); "not found" is `None`, `false` or `0`.
//! 2. Implement the capabilities your backend has: [`ListTokens`](authtoken::ListTokens) for an
//!    operator's listing, [`PurgeExpired`](authtoken::PurgeExpired) if expired rows stay until
//!    deleted, [`JoinedUserStore`](authtoken::JoinedUserStore) if you can join a token
//!    with its user in one query, [`LimitTokens`](authtoken::LimitTokens) if you can keep a user
//!    under a per-user limit exactly (a lock per user).
//! 3. Say how each test gets a fresh, isolated store (its own table, key prefix or database) and
//!    users: [`memory::MemoryBackend::with_store`] keeps the users in memory; a store whose
//!    tokens reference a real user table implements [`Backend`] (create and delete users;
//!    deleting a user must take its tokens with it, as a cascade does).
//! 4. Run the suite, naming the capability groups your store has (`listing`, `purging`,
//!    `details`, `details_purging`, `limiting`):
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::{Arc, Mutex};
//!
//! use authtoken::store::{AccessToken, AccessTokenStore};
//! use authtoken::{Error, Result};
//! use authtoken_conformance::memory::MemoryBackend;
//! use chrono::{DateTime, Utc};
//!
//! /// The store under test: rows in a `HashMap`.
//! #[derive(Clone, Default)]
//! struct MapStore(Arc<Mutex<HashMap<String, AccessToken<u64>>>>);
//!
//! impl AccessTokenStore for MapStore {
//!     type UserId = u64;
//!
//!     async fn get(&self, token: &str) -> Result<Option<AccessToken<u64>>> {
//!         Ok(self.0.lock().unwrap().get(token).cloned())
//!     }
//!
//!     async fn create(&self, row: AccessToken<u64>, _expires_at: Option<DateTime<Utc>>) -> Result<()> {
//!         let mut rows = self.0.lock().unwrap();
//!         if rows.contains_key(&row.token) {
//!             return Err(Error::DuplicateToken);
//!         }
//!         rows.insert(row.token.clone(), row);
//!         Ok(())
//!     }
//!
//!     async fn delete(&self, token: &str, owner: &u64) -> Result<bool> {
//!         let mut rows = self.0.lock().unwrap();
//!         let owned = rows.get(token).is_some_and(|r| r.user_id == *owner);
//!         Ok(owned && rows.remove(token).is_some())
//!     }
//!
//!     async fn delete_all_of_user(&self, owner: &u64) -> Result<u64> {
//!         let mut rows = self.0.lock().unwrap();
//!         let before = rows.len();
//!         rows.retain(|_, r| r.user_id != *owner);
//!         Ok((before - rows.len()) as u64)
//!     }
//! }
//!
//! fn next_id() -> u64 {
//!     static NEXT: AtomicU64 = AtomicU64::new(1);
//!     NEXT.fetch_add(1, Ordering::Relaxed)
//! }
//!
//! // In a test file, this line is the whole suite (add `, listing, purging` for those groups):
//! authtoken_conformance::conformance_suite!(async {
//!     Some(MemoryBackend::with_store(MapStore::default(), next_id))
//! });
//! # fn main() {}
//! ```
//!
//! The setup expression runs once per test and evaluates to a future of `Option<backend>`:
//! `None` means "this backend is not configured here" (the test prints nothing and passes), so
//! return `None` only outside CI, and fail loudly when CI expects the backend.
//!
//! # Proving a web adapter
//!
//! With the feature `http`, the module `http` is the black-box spec every web adapter runs: build
//! the app its `http::Fixture` describes (the same backends, users and clock for every
//! framework), serve it on 127.0.0.1, and one line, `authtoken_conformance::http_spec!(serve);`,
//! turns each of its checks (logins, cookies, CSRF, policies, throttling, scopes, a failing
//! store as 500) into a `#[tokio::test]` over real TCP.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
pub mod faults;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod memory;
pub mod spec;

pub use backend::{Backend, RefreshBackend};

/// Instantiates the spec as `#[test]`s, each on a fresh backend from `$setup`.
///
/// `conformance_suite!(setup)` runs the groups every store must pass (reading, revoking, storage
/// modes, the storage contract, failures); add capability groups after the setup:
/// `listing` ([`ListTokens`](authtoken::ListTokens)), `sessions` (a user's sessions listed and
/// ended, on [`ListTokens`](authtoken::ListTokens)), `purging`
/// ([`PurgeExpired`](authtoken::PurgeExpired)), `details` (the API-token columns: own expiry,
/// name, scopes, last use), `details_purging` (a purge by each row's own expiry), `limiting`
/// ([`LimitTokens`](authtoken::LimitTokens)) and `refresh` (refresh tokens with rotation and
/// reuse detection, on a [`RefreshBackend`]), e.g. `conformance_suite!(setup, listing, purging)`.
#[macro_export]
macro_rules! conformance_suite {
    ($setup:expr $(, $group:ident)* $(,)?) => {
        $crate::spec_tests! { $setup;
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
            a_row_dated_in_the_future_authenticates_nobody,
            destroy_own_token_revokes_it,
            destroy_other_users_token_leaves_it,
            destroy_unknown_token_is_a_noop,
            destroy_malformed_token_is_a_noop_without_a_query,
            destroy_expired_token_deletes_it,
            destroy_all_tokens_leaves_other_users_tokens,
            hashed_mode_stores_the_sha256_not_the_token,
            plain_mode_stores_the_token,
            plain_mode_reads_a_token_written_by_another_program,
            keyed_hash_stores_the_hmac_and_rotates,
            keyed_hash_refuses_rows_planted_without_the_key,
            bound_rows_refuse_rows_rewritten_by_hand,
            failing_store_is_an_error_from_every_call,
            failing_user_loader_is_an_error,
            zero_lifetime_is_rejected,
            absurd_lifetimes_are_rejected_and_the_longest_works,
            token_debug_and_display_do_not_reveal_it,
            store_rejects_a_duplicate_token,
            store_get_returns_the_row_as_written,
            store_create_with_an_expiry_keeps_the_row,
            concurrent_logins_give_distinct_valid_tokens,
            inspect_token_tells_unknown_from_expired,
            operator_revoke_deletes_any_users_token,
            prefixed_tokens_authenticate_and_store_the_hash_of_the_whole_token,
            prefixed_token_with_a_wrong_checksum_is_refused_without_a_query,
            bare_tokens_still_work_under_a_prefixed_format,
            prefixed_format_in_plain_mode_is_a_config_error,
            details_need_their_columns,
        }
        $( $crate::spec_group! { $group; $setup } )*
    };
}

/// The specs of one capability group; see [`conformance_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! spec_group {
    (listing; $setup:expr) => {
        $crate::spec_tests! { $setup;
            store_lists_a_users_tokens_oldest_first,
            a_failed_login_leaves_no_row,
            store_finds_rows_by_key_prefix,
        }
    };
    (sessions; $setup:expr) => {
        $crate::spec_tests! { $setup;
            sessions_list_the_users_live_sessions_newest_first,
            ending_a_session_revokes_only_its_token,
            another_users_session_id_ends_nothing,
            ending_other_sessions_keeps_the_current_one,
            a_session_shows_the_client_it_was_opened_from,
            failing_store_fails_session_calls,
        }
    };
    (refresh; $setup:expr) => {
        $crate::spec_tests! { $setup;
            the_refresh_store_rotates_a_token_once,
            a_refresh_rotates_and_a_retry_is_refused,
            reuse_after_the_grace_window_ends_the_family,
            concurrent_refreshes_of_one_token_rotate_once,
            refresh_tokens_expire_idle_and_families_at_their_lifetime,
            logout_ends_the_family_and_garbage_is_unknown,
            ending_sessions_ends_their_families,
            refresh_rows_planted_without_the_key_mint_nothing,
        }
    };
    (purging; $setup:expr) => {
        $crate::spec_tests! { $setup;
            purge_removes_exactly_the_expired_rows,
            purge_respects_the_batch_size,
            purge_without_lifetime_deletes_nothing,
            purge_count_matches_what_a_purge_deletes,
            failing_store_fails_the_purge,
        }
    };
    (details; $setup:expr) => {
        $crate::spec_tests! { $setup;
            own_lifetime_outlives_the_strategys,
            own_short_lifetime_ends_first,
            name_and_scopes_round_trip,
            malformed_scopes_are_refused,
            last_use_is_written_at_most_once_per_interval,
            sliding_expiry_extends_on_use_up_to_the_cap,
            sliding_never_extends_a_tokens_own_expiry,
            bound_rows_slide_only_sliding_sessions,
        }
    };
    (limiting; $setup:expr) => {
        $crate::spec_tests! { $setup;
            limit_refuses_logins_beyond_it,
            limit_evicts_the_oldest_tokens,
            expired_tokens_do_not_count_against_the_limit,
            refusing_limit_is_exact_under_concurrent_logins,
            evicting_limit_is_exact_under_concurrent_logins,
            failing_store_fails_a_limited_login,
        }
    };
    (details_purging; $setup:expr) => {
        $crate::spec_tests! { $setup;
            purge_honours_own_expiry,
        }
    };
    ($other:ident; $setup:expr) => {
        compile_error!(concat!(
            "unknown conformance group `",
            stringify!($other),
            "`: the groups are `listing`, `sessions`, `purging`, `details`, `details_purging`, `limiting` and `refresh`"
        ));
    };
}

/// One `#[test]` per named spec function, each on a multi-threaded runtime of its own.
#[doc(hidden)]
#[macro_export]
macro_rules! spec_tests {
    ($setup:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::run(async {
                    let Some(backend) = $setup.await else { return };
                    $crate::spec::$name(&backend).await;
                    $crate::Backend::cleanup(backend).await;
                });
            }
        )*
    };
}

/// Runs one test on a fresh two-worker tokio runtime, so the crate using the macros need not
/// depend on tokio itself.
#[doc(hidden)]
pub fn run(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the test")
        .block_on(test);
}
