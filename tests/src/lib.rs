//! authtoken's own test suites: the conformance kit (`authtoken-conformance`) on every SQL
//! backend, the specs only SQL can show, and the reliability suites (faults through a proxy,
//! races, bad input, secrets in rows and logs).
//!
//! The conformance kit's items are re-exported here, so test files name one crate.

pub mod cached;
pub mod ci_script;
pub mod diesel;
pub mod galera;
pub mod interop;
pub mod logs;
pub mod outage;
pub mod proxy;
pub mod redis;
pub mod redis_cluster;
pub mod restarts;
pub mod sql;
pub mod throttle;

pub use authtoken_conformance::{Backend, conformance_suite, faults, memory, spec};
