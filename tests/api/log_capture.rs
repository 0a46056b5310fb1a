//! What the code under test logs, formatted as the server formats it
//! (romgate's escaping field formatter, no colours).
//!
//! One global subscriber, installed before any test app is built, writes
//! each line to the buffer of the thread that logged it, if that thread is
//! capturing. (A thread-local subscriber per test races with the callsite
//! interest cache of `tracing` when tests run in parallel: a line logged
//! first by a test without a subscriber could stay disabled for the others.)
//! A `#[tokio::test]` (current-thread runtime) runs the app on its own
//! thread, so a capture sees what its test's app logs.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

thread_local! {
    /// The buffer of the capture running on this thread, if any.
    static CAPTURING: RefCell<Option<Buffer>> = const { RefCell::new(None) };
}

/// Writes to this thread's capture buffer, or nowhere.
struct ThreadSink;

impl std::io::Write for ThreadSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|capturing| {
            if let Some(buffer) = capturing.borrow().as_ref() {
                buffer.0.lock().expect("lock").extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the test binary's one subscriber (once; later calls do nothing).
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(romgate::logging::escaped_fields())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(|| ThreadSink)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

pub struct LogCapture {
    buffer: Buffer,
}

impl LogCapture {
    /// Captures every line logged on this thread until dropped.
    pub fn start() -> LogCapture {
        install();
        let buffer = Buffer::default();
        CAPTURING.with(|capturing| *capturing.borrow_mut() = Some(buffer.clone()));
        LogCapture { buffer }
    }

    /// The lines logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.lock().expect("lock")).into_owned()
    }

    /// The one line containing `needle`.
    pub fn line(&self, needle: &str) -> String {
        let text = self.text();
        let found: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
        assert_eq!(found.len(), 1, "one line with {needle:?} in:\n{text}");
        found[0].to_string()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURING.with(|capturing| *capturing.borrow_mut() = None);
    }
}
