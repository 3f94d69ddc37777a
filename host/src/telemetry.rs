//! OpenTelemetry traces for `palisade serve --otlp-endpoint URL`: a span per exchange, with a child span
//! per plugin call, exported over OTLP/gRPC. The caller's W3C `traceparent` (gRPC metadata, an HTTP
//! header, or the request headers Envoy forwards to ext_proc and ext_authz) makes the exchange a child of
//! the caller's span, and the caller's sampling decision is kept: a trace the caller did not sample is not
//! recorded here either.
//!
//! What a span carries is what the audit event carries, less: decision, bundle, categories found, plugin
//! outcomes and how much of its budget each call used. Never a value, never the text.
//!
//! Spans are built after the exchange is decided, from the times the chain measured, and handed to one
//! export task on the runtime: a bounded queue in between, so a collector that is slow or down drops
//! spans (counted in the log), never holds up a call.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use tokio::sync::{mpsc, oneshot};

use crate::audit::Exchange;
use crate::chain::Outcome;

/// Exchanges whose spans may wait for the exporter; past this many, spans are dropped.
const QUEUE: usize = 4096;
/// Spans sent in one export, and the longest a span waits for one.
const BATCH: usize = 512;
const BATCH_WAIT: Duration = Duration::from_secs(1);
/// The longest one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why traces cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The endpoint is not a URL tonic can connect to.
    #[error("--otlp-endpoint {endpoint:?} is not a usable URL ({reason}); give the collector's OTLP/gRPC address, e.g. http://127.0.0.1:4317")]
    BadEndpoint {
        /// What was given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The caller's span, from its W3C trace context headers.
#[derive(Clone, Debug, PartialEq)]
pub struct Parent(SpanContext);

impl Parent {
    /// The span `traceparent` (and `tracestate`) name, when they are valid W3C trace context.
    pub fn from_headers(traceparent: Option<&str>, tracestate: Option<&str>) -> Option<Parent> {
        struct Headers<'a>(Option<&'a str>, Option<&'a str>);
        impl Extractor for Headers<'_> {
            fn get(&self, key: &str) -> Option<&str> {
                match key {
                    "traceparent" => self.0,
                    "tracestate" => self.1,
                    _ => None,
                }
            }
            fn keys(&self) -> Vec<&str> {
                vec!["traceparent", "tracestate"]
            }
        }
        // The propagator pads short ids; W3C trace context says a traceparent whose fields are not
        // exactly 2, 32, 16 and 2 hex digits is not one.
        let fields: Vec<&str> = traceparent?.splitn(5, '-').collect();
        if fields.len() < 4 || fields[..4].iter().map(|f| f.len()).ne([2, 32, 16, 2]) {
            return None;
        }
        let context = TraceContextPropagator::new().extract(&Headers(traceparent, tracestate));
        let span = context.span().span_context().clone();
        span.is_valid().then_some(Parent(span))
    }

    /// The caller's span from HTTP headers (or gRPC metadata, which are HTTP/2 headers).
    pub fn from_http(headers: &http::HeaderMap) -> Option<Parent> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Parent::from_headers(get("traceparent"), get("tracestate"))
    }

    /// The trace id, as hex.
    pub fn trace_id(&self) -> String {
        self.0.trace_id().to_string()
    }
}

enum Message {
    Spans(Vec<Span>),
    Flush(oneshot::Sender<()>),
}

/// The exporter: spans in, OTLP out, on a task of its own.
pub struct Telemetry {
    queue: mpsc::Sender<Message>,
    ids: RandomIdGenerator,
}

impl Telemetry {
    /// Starts exporting to `endpoint` (OTLP/gRPC, e.g. `http://collector:4317`). Connects lazily: a
    /// collector that is not up yet is tried again at every export. Must be called within the runtime.
    pub fn start(endpoint: &str) -> Result<Telemetry, TelemetryError> {
        let bad = |reason: String| TelemetryError::BadEndpoint {
            endpoint: endpoint.to_string(),
            reason,
        };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(bad("it must start with http:// or https://".into()));
        }
        let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string())
            .map_err(|e| bad(e.to_string()))?
            .timeout(EXPORT_TIMEOUT)
            .connect_lazy();
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(export(
            TraceServiceClient::new(channel),
            receiver,
            endpoint.to_string(),
        ));
        Ok(Telemetry {
            queue,
            ids: RandomIdGenerator::default(),
        })
    }

    /// The spans of one decided exchange: the exchange's, and one per plugin call.
    pub fn exchange(&self, parent: Option<&Parent>, exchange: &Exchange<'_>) {
        // One clock for every span of the exchange, so that the plugins' spans lie inside the exchange's
        // however late this runs after the answer.
        let clock = Clock::now();
        let (received, elapsed) = (exchange.received, exchange.elapsed);
        let Some(mut spans) = self.begin(parent, exchange.transport, &clock, received, elapsed)
        else {
            return;
        };
        let root = &mut spans[0];
        let mut categories: Vec<&str> = exchange
            .findings
            .iter()
            .map(|f| f.category.as_str())
            .collect();
        categories.sort_unstable();
        categories.dedup();
        root.attributes.extend([
            text("palisade.transport", exchange.transport),
            text("palisade.direction", exchange.request.direction.as_str()),
            text("palisade.decision", exchange.decision.as_str()),
            text("palisade.bundle", &exchange.bundle.id()),
            int(
                "palisade.findings",
                exchange.findings.len() + exchange.findings.dropped(),
            ),
            texts("palisade.categories", &categories),
            int("palisade.plugin_failures", exchange.failures.len()),
        ]);
        if !exchange.request_id.is_empty() {
            root.attributes
                .push(text("palisade.request_id", exchange.request_id));
        }
        if exchange.decision == Outcome::Deny {
            if let Some(reason) = exchange.reason {
                root.attributes.push(text("palisade.reason", reason));
            }
        }
        let (trace_id, parent_id) = (root.trace_id.clone(), root.span_id.clone());
        let plugins = &exchange.bundle.plugins;
        for call in exchange.plugin_time.calls() {
            let Some(plugin) = plugins.get(call.index) else {
                continue;
            };
            let ok = call.outcome == "ok";
            spans.push(Span {
                trace_id: trace_id.clone(),
                span_id: self.span_id(),
                parent_span_id: parent_id.clone(),
                name: format!("plugin {}", plugin.name()),
                kind: span::SpanKind::Internal as i32,
                start_time_unix_nano: clock.unix_nanos(call.began),
                end_time_unix_nano: clock.unix_nanos(call.began + call.took),
                attributes: vec![
                    text("palisade.plugin", plugin.name()),
                    text("palisade.outcome", call.outcome),
                    int("palisade.findings", call.findings),
                    float("palisade.budget_ms", call.budget.as_secs_f64() * 1e3),
                    float(
                        "palisade.budget_used",
                        call.took.as_secs_f64() / call.budget.as_secs_f64().max(1e-9),
                    ),
                ],
                status: (!ok).then(|| Status {
                    code: status::StatusCode::Error as i32,
                    message: format!("the plugin failed: {}", call.outcome),
                }),
                ..Default::default()
            });
        }
        self.send(spans);
    }

    /// The span of a call refused after it reached the gate (too late, too large, unreadable).
    pub fn refusal(
        &self,
        parent: Option<&Parent>,
        transport: &str,
        received: Instant,
        code: tonic::Code,
        message: &str,
    ) {
        let clock = Clock::now();
        let Some(mut spans) = self.begin(parent, transport, &clock, received, received.elapsed())
        else {
            return;
        };
        let root = &mut spans[0];
        root.attributes.extend([
            text("palisade.transport", transport),
            text("rpc.grpc.status_code", &format!("{code:?}")),
        ]);
        root.status = Some(Status {
            code: status::StatusCode::Error as i32,
            message: message.to_string(),
        });
        self.send(spans);
    }

    /// Waits until every span queued so far is exported (or failed to be), at most `wait`.
    pub async fn flush(&self, wait: Duration) {
        let (done, exported) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = tokio::time::timeout(wait, exported).await;
        }
    }

    /// The exchange's span, unfinished but for its times; `None` when the caller did not sample it.
    fn begin(
        &self,
        parent: Option<&Parent>,
        transport: &str,
        clock: &Clock,
        received: Instant,
        elapsed: Duration,
    ) -> Option<Vec<Span>> {
        let (trace_id, parent_span_id, trace_state) = match parent {
            Some(Parent(p)) if !p.is_sampled() => return None,
            Some(Parent(p)) => (
                p.trace_id(),
                p.span_id().to_bytes().to_vec(),
                p.trace_state().header(),
            ),
            None => (self.ids.new_trace_id(), Vec::new(), String::new()),
        };
        Some(vec![Span {
            trace_id: trace_id_bytes(trace_id),
            span_id: self.span_id(),
            parent_span_id,
            trace_state,
            name: format!("palisade check ({transport})"),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: clock.unix_nanos(received),
            end_time_unix_nano: clock.unix_nanos(received + elapsed),
            ..Default::default()
        }])
    }

    fn span_id(&self) -> Vec<u8> {
        let id: SpanId = self.ids.new_span_id();
        id.to_bytes().to_vec()
    }

    fn send(&self, spans: Vec<Span>) {
        if self.queue.try_send(Message::Spans(spans)).is_err() {
            tracing::debug!("the trace exporter is behind; an exchange's spans were dropped");
        }
    }
}

fn trace_id_bytes(id: TraceId) -> Vec<u8> {
    id.to_bytes().to_vec()
}

/// Instants (which the chain measures) as Unix time, from one reading of both clocks.
struct Clock {
    instant: Instant,
    unix: u64,
}

impl Clock {
    fn now() -> Clock {
        Clock {
            instant: Instant::now(),
            unix: unix_nanos(SystemTime::now()),
        }
    }

    fn unix_nanos(&self, at: Instant) -> u64 {
        let before = self.instant.saturating_duration_since(at).as_nanos() as u64;
        self.unix.saturating_sub(before)
    }
}

fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(key: &str, value: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.to_string()))
}

fn int(key: &str, value: usize) -> KeyValue {
    attribute(key, any_value::Value::IntValue(value as i64))
}

fn float(key: &str, value: f64) -> KeyValue {
    attribute(key, any_value::Value::DoubleValue(value))
}

fn texts(key: &str, values: &[&str]) -> KeyValue {
    let values = values
        .iter()
        .map(|v| AnyValue {
            value: Some(any_value::Value::StringValue(v.to_string())),
        })
        .collect();
    attribute(key, any_value::Value::ArrayValue(ArrayValue { values }))
}

/// The export task: batches spans, sends them, and says in the log when the collector stops (and
/// starts again) taking them.
async fn export(
    mut client: TraceServiceClient<tonic::transport::Channel>,
    mut queue: mpsc::Receiver<Message>,
    endpoint: String,
) {
    let resource = Resource {
        attributes: vec![
            text("service.name", "palisade"),
            text("service.version", env!("CARGO_PKG_VERSION")),
        ],
        ..Default::default()
    };
    let scope = InstrumentationScope {
        name: "palisade".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    };
    let mut failing = false;
    let mut batch: Vec<Span> = Vec::new();
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        // Wait for spans; once some are in, wait at most BATCH_WAIT for more, then send what there is.
        let (message, waited_out) = if batch.is_empty() {
            (queue.recv().await, false)
        } else {
            match tokio::time::timeout(BATCH_WAIT, queue.recv()).await {
                Ok(message) => (message, false),
                Err(_) => (None, true),
            }
        };
        let closed = message.is_none() && !waited_out;
        match message {
            Some(Message::Spans(spans)) => batch.extend(spans),
            Some(Message::Flush(done)) => flushes.push(done),
            None => {}
        }
        if batch.len() < BATCH && flushes.is_empty() && !closed && !waited_out {
            continue;
        }
        if !batch.is_empty() {
            let spans = std::mem::take(&mut batch);
            let count = spans.len();
            let request = ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(resource.clone()),
                    scope_spans: vec![ScopeSpans {
                        scope: Some(scope.clone()),
                        spans,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            };
            match client.export(request).await {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!(endpoint, "exporting traces again");
                }
                Ok(_) => {}
                Err(status) if !failing => {
                    failing = true;
                    tracing::warn!(
                        endpoint,
                        spans = count,
                        "exporting traces failed ({}: {}); spans are dropped until the collector takes them",
                        status.code(),
                        status.message()
                    );
                }
                Err(_) => {}
            }
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        if closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_w3c_traceparent_names_the_callers_span_and_anything_else_names_none() {
        let parent = Parent::from_headers(
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("vendor=opaque"),
        )
        .unwrap();
        assert_eq!(parent.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(parent.0.is_sampled() && parent.0.is_remote());
        assert_eq!(parent.0.trace_state().header(), "vendor=opaque");
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "not a traceparent",
        ] {
            assert_eq!(Parent::from_headers(Some(bad), None), None, "{bad}");
        }
        assert_eq!(Parent::from_headers(None, Some("vendor=opaque")), None);
    }

    #[test]
    fn instants_map_to_unix_time_through_one_reading_of_both_clocks() {
        let clock = Clock::now();
        let earlier = clock.instant - Duration::from_millis(5);
        assert_eq!(clock.unix_nanos(earlier), clock.unix - 5_000_000);
        // An instant after the reading (a call that ended later) is not placed in the future.
        assert_eq!(
            clock.unix_nanos(clock.instant + Duration::from_secs(1)),
            clock.unix
        );
    }
}
