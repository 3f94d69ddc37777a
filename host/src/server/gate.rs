//! The gate: the one path from "a transport has read a call" to "the transport writes its answer".
//!
//! Every transport — gRPC `Check` and `CheckStream`, HTTP `/v1/check`, Envoy's ext_proc and ext_authz —
//! reads its wire format into a [`Call`] and a [`Body`] (or a stream of chunks), hands them here, and
//! writes the [`Decided`] or [`Refused`] it gets back in its own terms. The gate alone takes a worker,
//! applies the deadline, runs the check, and counts, logs and audits the outcome: once per call, for
//! decisions and refusals alike. A transport that refuses a call before it has one to hand over (a
//! malformed header, an unknown direction) records that refusal through [`Shared::refuse`], the same way.
//!
//! Bodies the gate cannot read are never passed unread by accident: they are refused unless the bundle
//! lists their media type under `[bundle] pass_unread`, or, on the response leg, they are images, audio or
//! video. Each pass is audited with its reason.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tonic::{Code, Status};

use super::{until, Shared};
use crate::audit;
use crate::bundle::Bundle;
use crate::chain::{self, Dir, Findings, Outcome, PluginTimes};
use crate::check::{self, Checked};
use crate::payload::{self, ContentType, PayloadError};
use crate::stream::{StreamCheck, StreamError, StreamSettings, StreamType, Summary};
use crate::telemetry::Parent;

/// One call, as its transport read it.
pub(crate) struct Call {
    /// How the call arrived (`grpc`, `grpc-stream`, `http`, `ext_proc`, `ext_authz`), for the log and
    /// the audit trail.
    pub transport: &'static str,
    /// The gateway's id for the exchange, for the log and the audit trail; may be empty.
    pub request_id: String,
    /// What the gateway told about the exchange. Its deadline (the caller's, less a margin) bounds both
    /// the wait for a worker and the chain.
    pub exchange: Arc<chain::Request>,
    /// The bundle that decides the call: an exchange keeps the one it started with across a reload.
    pub bundle: Arc<Bundle>,
    /// Whether the transport can answer with a changed body. Where it cannot (ext_authz), what the policy
    /// would redact is denied, and recorded as the deny it is answered with.
    pub rewrites: bool,
    /// When the call arrived.
    pub received: Instant,
    /// The caller's span (W3C trace context), which the exchange's span is a child of.
    pub trace: Option<Parent>,
}

/// How a body is read, from what its sender declared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BodyKind {
    /// Text or JSON, read by the payload adapter.
    Payload(ContentType),
    /// Server-sent events or an AWS event stream: read event by event where a stream is expected (the
    /// response leg).
    Stream(StreamType),
    /// `multipart/form-data` with its boundary: every part read, if the whole body is text.
    Multipart,
    /// Not text (binary, audio, a form with a file that is not text): nothing Palisade reads.
    Opaque,
    /// Compressed (`content-encoding`): cannot be read, so never passed unread.
    Encoded,
}

impl BodyKind {
    /// A body's kind from its HTTP `content-type` and `content-encoding` headers. No `content-type` is
    /// read as text: a body that claims nothing is still inspected.
    pub fn of(content_type: Option<&str>, content_encoding: Option<&str>) -> BodyKind {
        if content_encoding
            .is_some_and(|e| !e.trim().is_empty() && !e.trim().eq_ignore_ascii_case("identity"))
        {
            return BodyKind::Encoded;
        }
        let Some(value) = content_type else {
            return BodyKind::Payload(ContentType::Text);
        };
        if let Ok(kind @ (StreamType::Sse | StreamType::EventStream)) = StreamType::parse(value) {
            return BodyKind::Stream(kind);
        }
        if let Ok(ct) = ContentType::parse(value) {
            return BodyKind::Payload(ct);
        }
        if payload::multipart_boundary(value).is_some() {
            return BodyKind::Multipart;
        }
        let media = payload::media_type(value);
        if media.starts_with("text/") || media.contains("xml") || media.contains("form-urlencoded")
        {
            BodyKind::Payload(ContentType::Text)
        } else {
            BodyKind::Opaque
        }
    }

    /// The kind of an answer: newline-delimited JSON is read as a stream of events, so that a value
    /// split across lines (Ollama streams its answers a few characters a line) is seen whole.
    pub fn as_answer(self) -> BodyKind {
        match self {
            BodyKind::Payload(ContentType::Ndjson) => BodyKind::Stream(StreamType::Ndjson),
            other => other,
        }
    }
}

/// A body to decide on.
pub(crate) struct Body {
    pub bytes: Bytes,
    pub kind: BodyKind,
    /// The `content-type` as sent: what a refusal or an audited pass names, what `pass_unread` matches.
    pub declared: String,
}

/// A body's bytes: text a caller already sent as a string, or bytes that should be UTF-8.
pub(crate) enum Bytes {
    Text(String),
    Raw(Vec<u8>),
}

impl Bytes {
    fn len(&self) -> usize {
        match self {
            Bytes::Text(text) => text.len(),
            Bytes::Raw(bytes) => bytes.len(),
        }
    }
}

/// What the gate decided, recorded by the time a transport sees it.
#[derive(Debug)]
pub(crate) enum Decided {
    /// The chain ran over the body (boxed: it is the large variant, and moved through every transport).
    Checked(Box<Checked>),
    /// A body the gate cannot read, let through for `reason` (the bundle's `pass_unread`, or an answer
    /// that is not text).
    Unread { reason: String },
}

/// Why a call gets no decision. Each transport answers it in its own terms: [`Refused::code`] for gRPC,
/// [`Refused::http`] for HTTP and Envoy's immediate responses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// The call is malformed: a bad field, header or value.
    #[error("{0}")]
    Invalid(String),
    /// The caller's certificate does not say who it is (no SPIFFE ID, or several).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller claimed what it may not (a principal, without being a trusted gateway).
    #[error("{0}")]
    NotPermitted(String),
    /// Over a size limit.
    #[error("{0}")]
    TooLarge(String),
    /// More calls waiting for a worker, or more streams open, than the server takes at once.
    #[error("{0}")]
    Overloaded(String),
    /// A request body the gate cannot read: compressed, not UTF-8, or of a type it does not read and the
    /// bundle does not let pass.
    #[error("{0}")]
    Unreadable(String),
    /// An upstream's answer the gate cannot read (compressed).
    #[error("{0}")]
    UnreadableAnswer(String),
    /// The caller's deadline passed, waiting for a worker or in the chain.
    #[error("{0}")]
    Late(String),
    /// The request's body did not arrive in time.
    #[error("{0}")]
    SlowBody(String),
    /// The caller went away.
    #[error("{0}")]
    Cancelled(String),
    /// Palisade's own failure.
    #[error("{0}")]
    Internal(String),
}

impl Refused {
    /// The gRPC code it is answered with.
    pub fn code(&self) -> Code {
        match self {
            Refused::Invalid(_) | Refused::Unreadable(_) => Code::InvalidArgument,
            Refused::Unauthenticated(_) => Code::Unauthenticated,
            Refused::NotPermitted(_) => Code::PermissionDenied,
            Refused::TooLarge(_) | Refused::Overloaded(_) => Code::ResourceExhausted,
            Refused::UnreadableAnswer(_) => Code::Unavailable,
            Refused::Late(_) | Refused::SlowBody(_) => Code::DeadlineExceeded,
            Refused::Cancelled(_) => Code::Cancelled,
            Refused::Internal(_) => Code::Internal,
        }
    }

    /// The HTTP status it is answered with.
    pub fn http(&self) -> u16 {
        match self {
            Refused::Invalid(_) => 400,
            Refused::Unauthenticated(_) => 401,
            Refused::NotPermitted(_) => 403,
            Refused::TooLarge(_) => 413,
            Refused::Overloaded(_) => 429,
            Refused::Unreadable(_) => 415,
            Refused::UnreadableAnswer(_) => 502,
            Refused::Late(_) => 504,
            Refused::SlowBody(_) => 408,
            Refused::Cancelled(_) => 499,
            Refused::Internal(_) => 500,
        }
    }

    /// What it says, for the caller to act on.
    pub fn message(&self) -> &str {
        match self {
            Refused::Invalid(m)
            | Refused::Unauthenticated(m)
            | Refused::NotPermitted(m)
            | Refused::TooLarge(m)
            | Refused::Overloaded(m)
            | Refused::Unreadable(m)
            | Refused::UnreadableAnswer(m)
            | Refused::Late(m)
            | Refused::SlowBody(m)
            | Refused::Cancelled(m)
            | Refused::Internal(m) => m,
        }
    }

    /// Whether the trouble is Palisade's rather than the call's: a gateway then applies its own failure
    /// mode (Envoy's `failure_mode_allow`) instead of passing a refusal on to its client.
    pub fn is_ours(&self) -> bool {
        matches!(self, Refused::Late(_) | Refused::Internal(_))
    }

    /// Over the payload limit.
    pub fn too_large(len: usize, limit: usize) -> Refused {
        Refused::TooLarge(format!(
            "the payload is {len} bytes, over the limit of {limit} bytes (raise it with \
             --max-payload / PALISADE_MAX_PAYLOAD)"
        ))
    }
}

impl From<Refused> for Status {
    fn from(refused: Refused) -> Status {
        Status::new(refused.code(), refused.message())
    }
}

impl From<crate::Error> for Refused {
    fn from(e: crate::Error) -> Refused {
        match e {
            crate::Error::DeadlineExceeded { .. } => Refused::Late(e.to_string()),
            crate::Error::Payload(PayloadError::TooManyTexts { .. }) => {
                Refused::TooLarge(e.to_string())
            }
            crate::Error::Payload(_) => Refused::Invalid(e.to_string()),
            other => Refused::Internal(other.to_string()),
        }
    }
}

impl From<StreamError> for Refused {
    fn from(e: StreamError) -> Refused {
        match e {
            StreamError::Chain(e) => e.into(),
            StreamError::TooLarge(_) | StreamError::TooManyTexts(_) => {
                Refused::TooLarge(e.to_string())
            }
            StreamError::UnsupportedType(_) => Refused::Invalid(e.to_string()),
            StreamError::InvalidUtf8(_) | StreamError::InvalidFrame { .. } => {
                Refused::Unreadable(e.to_string())
            }
        }
    }
}

impl Shared {
    /// Decides on one body: reads it, runs the check on a worker within the call's deadline, and records
    /// the decision or the refusal.
    pub(crate) async fn decide(
        self: &Arc<Self>,
        call: &Call,
        body: Body,
    ) -> Result<Decided, Refused> {
        let decided = self.read_and_check(call, body).await;
        match &decided {
            Ok(Decided::Checked(checked)) => self.record(
                call,
                &audit::Exchange {
                    decision: checked.outcome,
                    reason: checked.reason.as_deref(),
                    findings: &checked.findings,
                    labels: &checked.labels,
                    failures: &checked.failures,
                    would: checked.would.as_ref(),
                    chain_time: checked.elapsed,
                    plugin_time: &checked.plugin_time,
                    ..call.audited()
                },
            ),
            Ok(Decided::Unread { reason }) => self.record(
                call,
                &audit::Exchange {
                    reason: Some(reason),
                    ..call.audited()
                },
            ),
            Err(refused) => self.refuse_call(call, refused),
        }
        decided
    }

    async fn read_and_check(self: &Arc<Self>, call: &Call, body: Body) -> Result<Decided, Refused> {
        let direction = call.exchange.direction;
        let content_type = match (body.kind, direction) {
            (BodyKind::Payload(content_type), _) => Some(content_type),
            // Read when it is text throughout; a file part that is not (an image, audio) makes the body
            // one Palisade cannot read, decided on below as such.
            (BodyKind::Multipart, _) => None,
            (BodyKind::Encoded, Dir::Input) => return Err(Refused::Unreadable(
                "a compressed body (content-encoding) cannot be inspected; send it uncompressed"
                    .into(),
            )),
            (BodyKind::Encoded, Dir::Output) => return Err(Refused::UnreadableAnswer(
                "the upstream answered with a compressed body (content-encoding), which cannot \
                     be inspected; Palisade removes the request's accept-encoding, so the upstream \
                     compressed regardless"
                    .into(),
            )),
            // An event stream sent upstream is a body like any other Palisade does not read.
            (BodyKind::Opaque | BodyKind::Stream(_), _) => {
                return unread(call, &body.declared, direction)
            }
        };
        let limit = self.settings.max_payload;
        if body.bytes.len() > limit {
            return Err(Refused::too_large(body.bytes.len(), limit));
        }
        let text = match body.bytes {
            Bytes::Text(text) => text,
            Bytes::Raw(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) if content_type.is_none() => return unread(call, &body.declared, direction),
                Err(e) => {
                    return Err(Refused::Unreadable(format!(
                        "the body is not valid UTF-8: invalid byte at offset {}",
                        e.utf8_error().valid_up_to()
                    )))
                }
            },
        };
        let boundary = payload::multipart_boundary(&body.declared).unwrap_or_default();
        let (bundle, exchange, key) = (
            call.bundle.clone(),
            call.exchange.clone(),
            self.hash_key.clone(),
        );
        let mut checked = self
            .on_worker(call, move || match content_type {
                Some(content_type) => check::run(&bundle, content_type, text, &exchange, &key),
                None => check::run_multipart(&bundle, &boundary, text, &exchange, &key),
            })
            .await??;
        call.within_deadline()?;
        if checked.outcome == Outcome::Modify && !call.rewrites {
            checked.outcome = Outcome::Deny;
            checked.reason = Some(format!(
                "the policy would redact {} in this body, and {} cannot change a body; use ext_proc \
                 for redaction",
                categories(&checked.findings),
                call.transport
            ));
        }
        Ok(Decided::Checked(Box::new(checked)))
    }

    /// A stream through the hold-back, decided chunk by chunk on the gate's terms.
    pub(crate) fn stream(self: &Arc<Self>, call: Call, kind: StreamType) -> Streamed {
        let settings =
            StreamSettings::new(self.settings.stream_hold_back, self.settings.max_payload);
        let check = StreamCheck::new(
            call.bundle.clone(),
            chain::Request::clone(&call.exchange),
            kind,
            settings,
        );
        Streamed {
            gate: self.clone(),
            call,
            check: Some(check),
        }
    }

    /// Runs `work` (Wasm: synchronous CPU work) on the blocking pool once a worker is free; the call's
    /// deadline bounds both the wait and the work.
    async fn on_worker<T: Send + 'static>(
        &self,
        call: &Call,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refused> {
        let deadline = call.exchange.deadline;
        let permit = match self.workers.clone().try_acquire_owned() {
            Ok(free) => free,
            Err(_) => {
                let _waiting = self.wait_for_worker()?;
                until(deadline, self.workers.clone().acquire_owned())
                    .await
                    .map_err(|_| {
                        Refused::Late(format!(
                            "deadline passed after {:?} waiting for a free worker",
                            call.received.elapsed()
                        ))
                    })?
                    // The pool is never closed (shutdown waits for it to be idle instead).
                    .map_err(|_| Refused::Internal("the worker pool is closed".into()))?
            }
        };
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        });
        until(deadline, task)
            .await
            .map_err(|_| {
                Refused::Late(format!(
                    "deadline passed after {:?} in the chain",
                    call.received.elapsed()
                ))
            })?
            .map_err(|e| Refused::Internal(format!("a chain worker failed: {e}")))
    }

    /// Counts, logs, audits and traces an exchange that was decided.
    fn record(&self, call: &Call, exchange: &audit::Exchange<'_>) {
        let decision = exchange.decision.as_str();
        let direction = exchange.request.direction.as_str();
        self.metrics.checked(decision, direction, exchange.elapsed);
        self.metrics.found(exchange.findings, direction);
        let plugins = &exchange.bundle.plugins;
        self.metrics.chain_ran(
            exchange.chain_time,
            exchange
                .plugin_time
                .as_slice()
                .iter()
                .filter_map(|&(i, took)| Some((plugins.get(i)?.name(), took))),
        );
        self.metrics.gates_shut(
            exchange
                .plugin_time
                .shut()
                .iter()
                .filter_map(|&(i, texts)| Some((plugins.get(i)?.name(), texts))),
        );
        for failure in exchange.failures {
            self.metrics.plugin_failed(&failure.plugin, &failure.error);
        }
        tracing::info!(
            transport = exchange.transport,
            request_id = exchange.request_id,
            direction,
            bundle = %exchange.bundle.id(),
            decision,
            elapsed_us = u64::try_from(exchange.elapsed.as_micros()).unwrap_or(u64::MAX),
            findings = exchange.findings.len(),
            findings_dropped = exchange.findings.dropped(),
            "checked"
        );
        if let Some(audit) = &self.audit {
            audit.record(exchange.to_line(SystemTime::now()));
        }
        if let Some(telemetry) = &self.telemetry {
            telemetry.exchange(call.trace.as_ref(), exchange);
        }
    }

    /// [`Shared::refuse`] for a call the gate took in, whose refusal is traced as its span.
    fn refuse_call(&self, call: &Call, refused: &Refused) {
        self.refuse(call.transport, &call.request_id, call.received, refused);
        if let Some(telemetry) = &self.telemetry {
            telemetry.refusal(
                call.trace.as_ref(),
                call.transport,
                call.received,
                refused.code(),
                refused.message(),
            );
        }
    }

    /// Counts, logs and audits a call answered with a refusal instead of a decision. The gate records its
    /// own; a transport calls this for a call it refuses before there is one to hand over.
    pub(crate) fn refuse(
        &self,
        transport: &'static str,
        request_id: &str,
        received: Instant,
        refused: &Refused,
    ) {
        let (code, message) = (refused.code(), refused.message());
        self.metrics.check_error(code, received.elapsed());
        tracing::info!(transport, request_id, ?code, message, "check refused");
        if let Some(audit) = &self.audit {
            audit.record(audit::refusal_line(
                transport,
                request_id,
                code,
                message,
                SystemTime::now(),
            ));
        }
    }
}

/// What a call that decided nothing found, and the plugins it called.
static NO_FINDINGS: Findings = Findings::new();
static NO_PLUGIN_CALLS: PluginTimes = PluginTimes::new();

impl Call {
    /// This call's audit record, decided nothing yet: the gate fills in the decision.
    fn audited(&self) -> audit::Exchange<'_> {
        audit::Exchange {
            transport: self.transport,
            request_id: &self.request_id,
            request: &self.exchange,
            bundle: &self.bundle,
            decision: Outcome::Allow,
            reason: None,
            findings: &NO_FINDINGS,
            labels: &[],
            failures: &[],
            would: None,
            received: self.received,
            elapsed: self.received.elapsed(),
            chain_time: Duration::ZERO,
            plugin_time: &NO_PLUGIN_CALLS,
        }
    }

    fn within_deadline(&self) -> Result<(), Refused> {
        match self.exchange.deadline {
            Some(deadline) if Instant::now() > deadline => Err(Refused::Late(format!(
                "deadline passed after {:?}",
                self.received.elapsed()
            ))),
            _ => Ok(()),
        }
    }
}

/// A stream going through the gate: chunks in, what may be released out, and the decision recorded once
/// the stream ends or is denied.
pub(crate) struct Streamed {
    gate: Arc<Shared>,
    call: Call,
    /// `None` once the stream is decided or refused: nothing more is read or released.
    check: Option<StreamCheck>,
}

/// What one chunk released.
pub(crate) struct Pushed {
    /// The bytes that may go on now (possibly none).
    pub released: Vec<u8>,
    /// Once the stream is decided (its end, or a deny): how. Recorded by then.
    pub decided: Option<Summary>,
}

impl Streamed {
    /// Passes one chunk through the hold-back; `last` ends the stream, releasing what is still held.
    /// After a decision or a refusal the stream is over, and further chunks release nothing.
    pub(crate) async fn push(&mut self, chunk: Vec<u8>, last: bool) -> Result<Pushed, Refused> {
        let Some(mut check) = self.check.take() else {
            return Ok(Pushed {
                released: Vec::new(),
                decided: None,
            });
        };
        let key = self.gate.hash_key.clone();
        let worked = self
            .gate
            .on_worker(&self.call, move || {
                let mut released = check.push(&chunk, &key);
                if last {
                    if let Ok(bytes) = &mut released {
                        match check.finish(&key) {
                            Ok(rest) => bytes.extend(rest),
                            Err(e) => released = Err(e),
                        }
                    }
                }
                (check, released)
            })
            .await;
        let (check, released) = match worked {
            Ok((check, Ok(released))) => (check, released),
            Ok((_, Err(e))) => return Err(self.refused(e.into())),
            Err(refused) => return Err(self.refused(refused)),
        };
        if !last && !check.denied() {
            self.check = Some(check);
            return Ok(Pushed {
                released,
                decided: None,
            });
        }
        let summary = check.summary();
        self.gate.record(
            &self.call,
            &audit::Exchange {
                decision: summary.outcome,
                reason: summary.reason.as_deref(),
                findings: &summary.findings,
                labels: &summary.labels,
                failures: &summary.failures,
                would: summary.would.as_ref(),
                chain_time: summary.chain_time,
                plugin_time: &summary.plugin_time,
                ..self.call.audited()
            },
        );
        Ok(Pushed {
            released,
            decided: Some(summary),
        })
    }

    /// The call the stream answers.
    pub(crate) fn call(&self) -> &Call {
        &self.call
    }

    /// Records a refusal of the stream (the caller went away, a chunk did not come in time), which ends it.
    pub(crate) fn refused(&mut self, refused: Refused) -> Refused {
        self.check = None;
        self.gate.refuse_call(&self.call, &refused);
        refused
    }
}

/// A body Palisade cannot read: it passes only if the bundle lists its media type under `pass_unread`, or,
/// on the response leg, if it is an image, audio or video (what a model answers that is not text); each
/// pass comes with the reason to audit. Anything else is refused: an answer in a framing Palisade does
/// not read (AWS's binary event stream, say) carries text all the same.
fn unread(call: &Call, declared: &str, direction: Dir) -> Result<Decided, Refused> {
    let media = payload::media_type(declared);
    let major = media.split('/').next().unwrap_or_default();
    if direction == Dir::Output && matches!(major, "image" | "audio" | "video") {
        return Ok(Decided::Unread {
            reason: format!(
                "the response body ({declared}) is {major}, not text, and passed unread"
            ),
        });
    }
    if let Some(entry) = call.bundle.passes_unread(declared) {
        let leg = match direction {
            Dir::Input => "request",
            Dir::Output => "response",
        };
        return Ok(Decided::Unread {
            reason: format!(
                "the {leg} body ({declared}) passed unread: [bundle] pass_unread lists {entry:?}"
            ),
        });
    }
    Err(match direction {
        Dir::Input => Refused::Unreadable(format!(
            "a request body of type {declared:?} cannot be inspected, so it is refused; send text \
             or JSON, or list its media type under [bundle] pass_unread to let such bodies pass unread"
        )),
        Dir::Output => Refused::UnreadableAnswer(format!(
            "the upstream answered with a body of type {declared:?}, which cannot be inspected, so it \
             is refused; list its media type under [bundle] pass_unread to let such answers pass unread"
        )),
    })
}

/// The categories the policy acts on, in the order found, for a message: `EMAIL, GITHUB_TOKEN`.
fn categories(findings: &Findings) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for f in findings {
        if f.action != crate::policy::Action::Report && !seen.contains(&f.category.as_str()) {
            seen.push(&f.category);
        }
    }
    if findings.dropped() > 0 {
        seen.push("…");
    }
    seen.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_kinds_follow_the_content_type() {
        let kind = |ct: Option<&str>, ce: Option<&str>| BodyKind::of(ct, ce);
        assert_eq!(kind(None, None), BodyKind::Payload(ContentType::Text));
        assert_eq!(
            kind(Some("application/json; charset=utf-8"), None),
            BodyKind::Payload(ContentType::Json)
        );
        assert_eq!(
            kind(Some("text/event-stream"), None),
            BodyKind::Stream(StreamType::Sse)
        );
        assert_eq!(
            kind(Some("application/vnd.amazon.eventstream"), None),
            BodyKind::Stream(StreamType::EventStream)
        );
        assert_eq!(
            kind(Some("text/html"), None),
            BodyKind::Payload(ContentType::Text)
        );
        assert_eq!(kind(Some("image/png"), None), BodyKind::Opaque);
        assert_eq!(
            kind(Some("application/json"), Some("gzip")),
            BodyKind::Encoded
        );
        assert_eq!(
            kind(Some("application/json"), Some("identity")),
            BodyKind::Payload(ContentType::Json)
        );
    }

    #[test]
    fn every_refusal_has_a_code_and_a_status_that_agree() {
        let all = [
            Refused::Invalid(String::new()),
            Refused::Unauthenticated(String::new()),
            Refused::NotPermitted(String::new()),
            Refused::TooLarge(String::new()),
            Refused::Overloaded(String::new()),
            Refused::Unreadable(String::new()),
            Refused::UnreadableAnswer(String::new()),
            Refused::Late(String::new()),
            Refused::SlowBody(String::new()),
            Refused::Cancelled(String::new()),
            Refused::Internal(String::new()),
        ];
        for refused in all {
            let (code, http) = (refused.code(), refused.http());
            // The caller's fault is a 4xx, Palisade's or the upstream's a 5xx.
            let callers = matches!(
                code,
                Code::InvalidArgument
                    | Code::Unauthenticated
                    | Code::PermissionDenied
                    | Code::ResourceExhausted
                    | Code::Cancelled
            ) || matches!(refused, Refused::SlowBody(_));
            assert_eq!(callers, (400..500).contains(&http), "{refused:?}");
            assert_eq!(!callers, refused.is_ours() || http >= 500, "{refused:?}");
        }
    }
}
