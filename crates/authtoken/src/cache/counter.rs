//! A counter that threads bump without sharing a cache line: the hit path counts every read,
//! and one atomic bumped by every core would make the cores take turns on it.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Cells per counter: threads beyond this share cells (still correct, only slower).
const CELLS: usize = 16;

/// One cell on a cache line of its own.
#[derive(Default)]
#[repr(align(128))]
struct Cell128(AtomicU64);

/// A sum of per-thread cells.
#[derive(Default)]
pub(crate) struct Counter {
    cells: [Cell128; CELLS],
}

/// The next index handed to a thread that counts for the first time.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_CELL: Cell<Option<usize>> = const { Cell::new(None) };
}

/// This thread's cell index.
fn cell_index() -> usize {
    THREAD_CELL.with(|cell| match cell.get() {
        Some(index) => index,
        None => {
            let index = NEXT_THREAD.fetch_add(1, Ordering::Relaxed) % CELLS;
            cell.set(Some(index));
            index
        }
    })
}

impl Counter {
    pub(crate) fn add_one(&self) {
        self.cells[cell_index()].0.fetch_add(1, Ordering::Relaxed);
    }

    /// The total so far.
    pub(crate) fn sum(&self) -> u64 {
        self.cells.iter().map(|cell| cell.0.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_every_thread_add_up() {
        let counter = std::sync::Arc::new(Counter::default());
        let threads: Vec<_> = (0..20)
            .map(|_| {
                let counter = std::sync::Arc::clone(&counter);
                std::thread::spawn(move || (0..1000).for_each(|_| counter.add_one()))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(counter.sum(), 20_000);
    }
}
