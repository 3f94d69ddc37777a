//! A plugin's stdout and stderr: each line goes to the host's log, tagged with the plugin's name, within
//! the same per-call line budget as `host.log`. Past the budget, lines are counted and dropped, never
//! buffered, and the plugin's writes still succeed, so logging can't make a plugin fail.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use super::LOG_LINE_MAX;

/// Takes one line from the budget; false (and one more dropped) when it is spent.
pub(super) fn take_line(budget: &AtomicUsize, dropped: &AtomicUsize) -> bool {
    let took = budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok();
    if !took {
        dropped.fetch_add(1, Ordering::Relaxed);
    }
    took
}

/// `s` cut to at most `max` bytes, on a character boundary.
pub(super) fn truncate(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

#[derive(Clone)]
pub(super) struct LogSink {
    plugin: Arc<str>,
    stream: &'static str,
    budget: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl LogSink {
    pub(super) fn new(
        plugin: Arc<str>,
        stream: &'static str,
        budget: Arc<AtomicUsize>,
        dropped: Arc<AtomicUsize>,
    ) -> Self {
        LogSink {
            plugin,
            stream,
            budget,
            dropped,
        }
    }
}

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only WASIp3 guests write through this; the engine links WASIp2 alone, so nothing reaches it.
        Box::new(tokio::io::sink())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for LogSink {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if take_line(&self.budget, &self.dropped) {
                // stderr carries panic messages, the first thing an operator needs when a plugin fails.
                if self.stream == "stderr" {
                    tracing::warn!(plugin = %self.plugin, stream = self.stream, "{}", truncate(line, LOG_LINE_MAX));
                } else {
                    tracing::info!(plugin = %self.plugin, stream = self.stream, "{}", truncate(line, LOG_LINE_MAX));
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogSink {
    async fn ready(&mut self) {}
}
