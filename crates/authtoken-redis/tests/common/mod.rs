//! The Redis backends live in the test-support crate, beside the SQL ones.

#![allow(unused_imports)]

pub use authtoken_tests::redis::{RedisBackend, setup, setup_with_details, setup_with_refresh};
