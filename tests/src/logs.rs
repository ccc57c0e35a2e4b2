//! Captures what the library logs through `tracing`, at every level, for assertions.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything logged while it is the default subscriber of the current thread.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Starts capturing TRACE and above on this thread until the guard is dropped.
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let guard = tracing::subscriber::set_default(logs.subscriber());
        (logs, guard)
    }

    /// Captures TRACE and above from every thread of the process, for the rest of its life
    /// (the first call installs it; later calls share it). For code that logs from threads of
    /// its own, as sqlx's SQLite driver does.
    pub fn global() -> Self {
        static GLOBAL: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let logs = Self::default();
                tracing::subscriber::set_global_default(logs.subscriber())
                    .expect("no other global subscriber");
                logs
            })
            .clone()
    }

    /// A subscriber writing everything, TRACE and up, into these logs.
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
    }

    /// The captured text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
