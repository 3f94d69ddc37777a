//! Audit events: the security team's record of every exchange, one JSON line each, kept apart from the
//! logs. An event says who sent what kind of exchange where, what was decided and by which plugin and
//! rule — never a matched value, nor the payload.
//!
//! Writing never holds up a call: events are serialised on the request path and handed to a writer
//! thread through a bounded queue. When the sink is slower than the traffic for long enough to fill the
//! queue (in events or in bytes), new events are dropped and counted (`palisade_audit_events_total{result="dropped"}`), with a
//! warning in the log; a failed write is counted as `result="error"`. The writer flushes whenever the
//! queue runs empty, and on shutdown.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::bundle::Bundle;
use crate::chain::{Dir, Findings, Outcome, PluginFailure, Request, WouldHave};
use crate::metrics::Metrics;

/// Events the writer may be behind by before new ones are dropped.
pub const QUEUE: usize = 65_536;

/// Bytes of events the writer may be behind by before new ones are dropped: events are small, but one
/// with thousands of findings is not, and the queue must not grow the process without bound.
pub const QUEUE_BYTES: usize = 64 << 20;

/// Where events go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Standard output (`--audit -`), for a container's log pipeline.
    Stdout,
    /// A file, appended to (created readable by owner and group only).
    File(PathBuf),
}

impl Sink {
    /// `-` is standard output, anything else a file path.
    pub fn parse(arg: &str) -> Sink {
        match arg {
            "-" => Sink::Stdout,
            path => Sink::File(PathBuf::from(path)),
        }
    }
}

/// What one answered exchange came to.
pub struct Exchange<'a> {
    /// How it arrived: `grpc`, `http`, `grpc-stream`, `ext_proc`, `ext_authz`.
    pub transport: &'static str,
    /// The caller's request id (may be empty).
    pub request_id: &'a str,
    /// Direction, principal, destination and tool, as the chain saw them.
    pub request: &'a Request,
    /// The bundle that decided.
    pub bundle: &'a Bundle,
    /// What was done (for ext_authz, which cannot rewrite, a redaction is a deny).
    pub decision: Outcome,
    /// On deny, why.
    pub reason: Option<&'a str>,
    /// The findings (those past the most reported counted in the event's `findings_dropped`).
    pub findings: &'a Findings,
    /// Labels over the exchange.
    pub labels: &'a [String],
    /// Plugins that failed.
    pub failures: &'a [PluginFailure],
    /// What plugins in report mode would have done.
    pub would: Option<&'a WouldHave>,
    /// When the call was received.
    pub received: Instant,
    /// From receiving the call to answering it.
    pub elapsed: Duration,
    /// Of which in the chain (for metrics; not in the event).
    pub chain_time: Duration,
    /// Of which in each plugin, by position in the bundle (for metrics; not in the event).
    pub plugin_time: &'a crate::chain::PluginTimes,
}

/// The kind of an exchange, for the audit trail: what went to a model, what a tool was asked to do, and
/// what came back.
fn kind(request: &Request) -> &'static str {
    match (request.direction, &request.tool) {
        (Dir::Output, _) => "output",
        (Dir::Input, Some(_)) => "tool_call",
        (Dir::Input, None) => "prompt",
    }
}

#[derive(Serialize)]
struct Event<'a> {
    time: String,
    event: &'static str,
    request_id: &'a str,
    transport: &'static str,
    principal: Option<&'a str>,
    destination: Option<&'a str>,
    tool: Option<&'a str>,
    direction: &'static str,
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    bundle: String,
    bundle_digest: &'a str,
    labels: &'a [String],
    findings: Vec<EventFinding<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings_dropped: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failures: Vec<EventFailure<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    would: Option<EventWould<'a>>,
    elapsed_us: u64,
}

/// What report-mode plugins would have done: `decision` and, on deny, `reason`.
#[derive(Serialize)]
struct EventWould<'a> {
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct EventFinding<'a> {
    plugin: &'a str,
    rule: &'a str,
    category: &'a str,
    action: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    report_only: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    location: &'a str,
    start: Option<usize>,
    end: Option<usize>,
}

#[derive(Serialize)]
struct EventFailure<'a> {
    plugin: &'a str,
    kind: &'static str,
    on_error: &'static str,
}

#[derive(Serialize)]
struct Refusal<'a> {
    time: String,
    event: &'static str,
    request_id: &'a str,
    transport: &'static str,
    code: String,
    message: &'a str,
}

impl Exchange<'_> {
    /// The event as one JSON line.
    pub fn to_line(&self, at: SystemTime) -> Vec<u8> {
        let event = Event {
            time: humantime::format_rfc3339_millis(at).to_string(),
            event: kind(self.request),
            request_id: self.request_id,
            transport: self.transport,
            principal: self.request.principal.as_deref(),
            destination: self.request.destination.as_deref(),
            tool: self.request.tool.as_deref(),
            direction: self.request.direction.as_str(),
            decision: self.decision.as_str(),
            reason: self.reason,
            bundle: self.bundle.id(),
            bundle_digest: &self.bundle.digest,
            labels: self.labels,
            findings: self
                .findings
                .iter()
                .map(|f| EventFinding {
                    plugin: &f.plugin,
                    rule: &f.rule,
                    category: &f.category,
                    action: f.action.as_str(),
                    report_only: !f.enforced,
                    location: &f.location,
                    start: f.span.as_ref().map(|s| s.start),
                    end: f.span.as_ref().map(|s| s.end),
                })
                .collect(),
            findings_dropped: Some(self.findings.dropped()).filter(|&n| n > 0),
            failures: self
                .failures
                .iter()
                .map(|f| EventFailure {
                    plugin: &f.plugin,
                    kind: f.error.kind(),
                    on_error: f.on_error.as_str(),
                })
                .collect(),
            would: self.would.map(|w| EventWould {
                decision: w.outcome.as_str(),
                reason: w.reason.as_deref(),
            }),
            elapsed_us: u64::try_from(self.elapsed.as_micros()).unwrap_or(u64::MAX),
        };
        line(&event)
    }
}

/// The event for a call answered with an error instead of a decision (bad input, over a limit, past its
/// deadline): the gateway may have let the exchange through on its own failure policy.
pub fn refusal_line(
    transport: &'static str,
    request_id: &str,
    code: tonic::Code,
    message: &str,
    at: SystemTime,
) -> Vec<u8> {
    line(&Refusal {
        time: humantime::format_rfc3339_millis(at).to_string(),
        event: "refused",
        request_id,
        transport,
        code: format!("{code:?}"),
        message,
    })
}

fn line(event: &impl Serialize) -> Vec<u8> {
    // Serialising borrowed strings and numbers cannot fail.
    let mut line = serde_json::to_vec(event).unwrap_or_default();
    line.push(b'\n');
    line
}

enum Message {
    Line(Vec<u8>),
    Flush(std::sync::mpsc::Sender<()>),
}

/// The audit trail: a queue and the thread that writes it out.
pub struct AuditLog {
    queue: SyncSender<Message>,
    /// Bytes of lines queued and not yet written, and the most there may be.
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    metrics: Arc<Metrics>,
}

/// Why the audit trail could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be opened for appending.
    #[error("cannot open the audit file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the audit writer thread: {0}")]
    Thread(std::io::Error),
}

impl AuditLog {
    /// Opens `sink` and starts its writer thread.
    pub fn open(sink: &Sink, metrics: Arc<Metrics>) -> Result<AuditLog, OpenError> {
        let out: Box<dyn Write + Send> = match sink {
            Sink::Stdout => Box::new(std::io::stdout()),
            Sink::File(path) => {
                let mut options = std::fs::OpenOptions::new();
                options.create(true).append(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o640);
                let file = options.open(path).map_err(|source| OpenError::File {
                    path: path.clone(),
                    source,
                })?;
                Box::new(file)
            }
        };
        AuditLog::start(out, QUEUE, QUEUE_BYTES, metrics).map_err(OpenError::Thread)
    }

    /// An audit log writing to `out` from a thread of its own, at most `queue` events and `max_queued`
    /// bytes behind.
    fn start(
        out: Box<dyn Write + Send>,
        queue: usize,
        max_queued: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<AuditLog> {
        let (queue, rx) = sync_channel(queue);
        let queued = Arc::new(AtomicUsize::new(0));
        let (writer_metrics, writer_queued) = (metrics.clone(), queued.clone());
        std::thread::Builder::new()
            .name("palisade-audit".into())
            .spawn(move || {
                write_out(
                    rx,
                    std::io::BufWriter::new(out),
                    &writer_metrics,
                    &writer_queued,
                )
            })?;
        Ok(AuditLog {
            queue,
            queued,
            max_queued,
            metrics,
        })
    }

    /// Queues one event line; drops it (and counts it) when the writer is too far behind.
    pub fn record(&self, line: Vec<u8>) {
        let len = line.len();
        let sent = if self.queued.fetch_add(len, Ordering::Relaxed) + len > self.max_queued {
            Err(TrySendError::Full(()))
        } else {
            self.queue
                .try_send(Message::Line(line))
                .map_err(|e| match e {
                    TrySendError::Full(_) => TrySendError::Full(()),
                    TrySendError::Disconnected(_) => TrySendError::Disconnected(()),
                })
        };
        if sent.is_err() {
            self.queued.fetch_sub(len, Ordering::Relaxed);
        }
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(())) => {
                if self.metrics.audit("dropped") == 1 {
                    tracing::warn!(
                        queue = QUEUE,
                        "the audit sink is too slow: events are being dropped (palisade_audit_events_total{{result=\"dropped\"}})"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.metrics.audit("error");
            }
        }
    }

    /// Waits (at most `within`) until every event queued so far is written out.
    pub fn flush(&self, within: Duration) {
        let (done, wait) = std::sync::mpsc::channel();
        if self.queue.send(Message::Flush(done)).is_ok() && wait.recv_timeout(within).is_err() {
            tracing::warn!("the audit sink did not finish writing within {within:?}");
        }
    }
}

fn write_out(rx: Receiver<Message>, mut out: impl Write, metrics: &Metrics, queued: &AtomicUsize) {
    // The first failure is logged; every one is counted (a full disk fails each write).
    let mut logged = false;
    let mut check = |result: std::io::Result<()>| {
        if let Err(e) = result {
            metrics.audit("error");
            if !std::mem::replace(&mut logged, true) {
                tracing::error!(error = %e, "cannot write audit events");
            }
            return false;
        }
        true
    };
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        // Write what is queued, then flush once: a burst costs one write, not one per event.
        while let Some(message) = next {
            match message {
                Message::Line(line) => {
                    if check(out.write_all(&line)) {
                        metrics.audit("written");
                    }
                    queued.fetch_sub(line.len(), Ordering::Relaxed);
                }
                Message::Flush(done) => {
                    check(out.flush());
                    let _ = done.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        check(out.flush());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that takes nothing until `open` receives, then writes into `written`.
    struct Stuck {
        open: std::sync::mpsc::Receiver<()>,
        written: Arc<std::sync::Mutex<Vec<u8>>>,
    }

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.open.recv();
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn count(metrics: &Metrics, result: &str) -> u64 {
        let line = format!("palisade_audit_events_total{{result=\"{result}\"}} ");
        metrics
            .render()
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .map_or(0, |n| n.parse().unwrap())
    }

    /// An audit log on a sink that takes nothing until `unstick` is called; what it wrote, and the metrics.
    struct StuckLog {
        log: AuditLog,
        open: std::sync::mpsc::Sender<()>,
        written: Arc<std::sync::Mutex<Vec<u8>>>,
        metrics: Arc<Metrics>,
    }

    impl StuckLog {
        fn start(queue: usize, max_queued: usize) -> StuckLog {
            let (open, opened) = std::sync::mpsc::channel();
            let written = Arc::new(std::sync::Mutex::new(Vec::new()));
            let metrics = Arc::new(Metrics::new());
            let stuck = Stuck {
                open: opened,
                written: written.clone(),
            };
            let log = AuditLog::start(Box::new(stuck), queue, max_queued, metrics.clone()).unwrap();
            StuckLog {
                log,
                open,
                written,
                metrics,
            }
        }

        /// Lets the sink take everything from now on, and waits until what was queued is written.
        fn unstick(&self) {
            let open = self.open.clone();
            std::thread::spawn(move || while open.send(()).is_ok() {});
            self.log.flush(Duration::from_secs(10));
        }
    }

    #[test]
    fn a_stuck_sink_never_blocks_recording_and_what_is_dropped_is_counted() {
        let stuck = StuckLog::start(4, usize::MAX);
        // The sink takes nothing: these return at once whatever happens to them (a blocking record
        // would hang this test). Each line is longer than the writer's buffer, so the writer is stuck
        // in the first write it makes.
        for i in 0..100 {
            stuck.log.record(format!("{i:09000}\n").into_bytes());
        }
        let dropped = count(&stuck.metrics, "dropped");
        // At most the queue (4) and the one the writer holds were accepted.
        assert!((95..100).contains(&dropped), "dropped {dropped}");
        // Unstick the sink: everything accepted is written, in order, nothing more. The queue was full
        // from the first four on; the writer freed a slot for one later event when it took the first.
        stuck.unstick();
        let accepted = 100 - dropped;
        assert_eq!(count(&stuck.metrics, "written"), accepted);
        let text = String::from_utf8(stuck.written.lock().unwrap().clone()).unwrap();
        let numbers: Vec<u64> = text.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(numbers.len() as u64, accepted);
        assert_eq!(numbers[..4], [0, 1, 2, 3]);
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_too() {
        // Room for 1,000 events but only 20,000 bytes: two 9,001-byte lines, not three.
        let stuck = StuckLog::start(1000, 20_000);
        for i in 0..10 {
            stuck.log.record(format!("{i:09000}\n").into_bytes());
        }
        assert_eq!(count(&stuck.metrics, "dropped"), 8);
        stuck.unstick();
        assert_eq!(count(&stuck.metrics, "written"), 2);
        // Written out, the bytes are free again.
        stuck.log.record(b"{}\n".to_vec());
        stuck.log.flush(Duration::from_secs(10));
        assert_eq!(count(&stuck.metrics, "written"), 3);
    }
}
