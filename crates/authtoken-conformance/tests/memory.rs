//! The whole spec, every group, on the core crate's in-memory store, with integer and UUID ids.

use std::sync::atomic::{AtomicI64, Ordering};

use authtoken_conformance::memory::MemoryBackend;

fn next_i64() -> i64 {
    static NEXT: AtomicI64 = AtomicI64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

mod memory_i64 {
    authtoken_conformance::conformance_suite!(
        async { Some(super::MemoryBackend::new(super::next_i64)) },
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting,
        refresh
    );
}

mod memory_uuid {
    authtoken_conformance::conformance_suite!(
        async { Some(super::MemoryBackend::new(uuid::Uuid::new_v4)) },
        listing,
        sessions,
        purging,
        details,
        details_purging,
        limiting,
        refresh
    );
}
