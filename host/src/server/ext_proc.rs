//! Envoy's `envoy.service.ext_proc.v3.ExternalProcessor`: Envoy calls Palisade directly, one gRPC stream per
//! HTTP exchange, with the request's headers and body (input) and the response's headers and body
//! (output).
//!
//! - Request headers give the exchange: the principal (a configured header, else the URI of Envoy's
//!   `x-forwarded-client-cert`, else the `source.principal` attribute), the destination
//!   (`x-palisade-destination` or `scheme://authority`, then the path), the body's content type, and
//!   `x-request-id` for the logs.
//! - A body sent whole (BUFFERED mode) is checked like `Check`: a modify answers with the new body and its
//!   `content-length` (which Envoy leaves to the processor in that mode), a deny with an ImmediateResponse
//!   403 whose JSON body names the plugin and rule.
//! - Values the request's policy pseudonymizes are restored in the response of the same exchange (its
//!   body, or its event stream as it flows): the stand-ins and their values stay in this stream's memory.
//! - A body sent in chunks (STREAMED mode): `text/event-stream` responses go through CheckStream's
//!   hold-back, each chunk replaced by what may be released; other bodies are held (each chunk cleared)
//!   and checked whole at the end of the stream, which then carries the whole (possibly redacted) body.
//!
//! Request bodies Palisade cannot read (binary, a form with a file that is not text, an event stream sent upstream) are
//! refused, unless the bundle lists their media type under `[bundle] pass_unread`; response bodies pass unread
//! only if they are images, audio or video, or listed there too. Either pass is an audit event that says so. Compressed bodies cannot be
//! read and are refused; the request's `accept-encoding` is removed so upstreams answer plainly. Every
//! refusal is counted, logged and audited as one.

use std::sync::Arc;
use std::time::Instant;

use envoy_types::pb::envoy::r#type::v3::HttpStatus;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    body_mutation::Mutation, external_processor_server::ExternalProcessor, processing_request,
    processing_response, BodyMutation, BodyResponse, CommonResponse, HeaderMutation,
    HeadersResponse, HttpBody, HttpHeaders, ImmediateResponse, ProcessingRequest,
    ProcessingResponse, TrailersResponse,
};
use envoy_types::pb::google::protobuf::{value::Kind, Struct, Value};
use tonic::{Request, Response, Status, Streaming};

use super::envoy::{destination, error_body, forwarded_principal, header, metadata, set_header};
use super::gate::{Body, BodyKind, Bytes, Call, Decided, Pushed, Refused, Streamed};
use super::{identity, next_within, non_empty, Shared, Silence};
use crate::bundle::Bundle;
use crate::chain::{self, Dir, Findings, Outcome, ReportedFinding};
use crate::payload::ContentType;
use crate::telemetry::Parent;

/// The dynamic metadata namespace Palisade writes (Envoy accepts it with `metadata_options:
/// receiving_namespaces: untyped: [envoy.filters.http.ext_proc]`).
const NAMESPACE: &str = "envoy.filters.http.ext_proc";

/// `envoy.service.ext_proc.v3.ExternalProcessor`.
pub struct ExtProcService(pub(super) Arc<Shared>);

type Answers = tokio::sync::mpsc::Sender<Result<ProcessingResponse, Status>>;

#[tonic::async_trait]
impl ExternalProcessor for ExtProcService {
    type ProcessStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<ProcessingResponse, Status>> + Send>,
    >;

    async fn process(
        &self,
        request: Request<Streaming<ProcessingRequest>>,
    ) -> Result<Response<Self::ProcessStream>, Status> {
        let opened = self
            .0
            .open_stream()
            .and_then(|permit| Ok((permit, identity::peer_spiffe_id(&request)?)));
        let (permit, peer) = opened.map_err(|refused| {
            self.0.refuse("ext_proc", "", Instant::now(), &refused);
            Status::from(refused)
        })?;
        let trace = Parent::from_http(request.metadata().as_ref());
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let shared = self.0.clone();
        tokio::spawn(async move {
            let _open = permit;
            let mut exchange = Exchange::new(shared, peer, trace);
            if let Err(status) = exchange.run(request.into_inner(), &tx).await {
                tracing::warn!(code = ?status.code(), message = status.message(), "ext_proc stream failed");
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

/// One HTTP exchange as Envoy shows it.
struct Exchange {
    shared: Arc<Shared>,
    /// The SPIFFE ID of Envoy's client certificate, with mutual TLS.
    peer: Option<String>,
    /// The bundle at the request's headers decides the whole exchange.
    bundle: Arc<Bundle>,
    fields: chain::Request,
    request_id: String,
    request_kind: BodyKind,
    response_kind: BodyKind,
    /// The `content-type` of the request and of the response, as sent.
    request_type: String,
    response_type: String,
    /// Whether the body Palisade does not read on that leg was let through (decided and audited once
    /// per leg, at its first chunk).
    unread_passed: [bool; 2],
    /// A body arriving in chunks, held until its end.
    held: Vec<u8>,
    /// An event stream from the upstream, going through the gate chunk by chunk.
    stream: Option<Streamed>,
    /// What a leg's decision gives Envoy's access log, sent with the answer to the message that decided it.
    decided: Option<Struct>,
    /// The span of the request Envoy forwards (its `traceparent` header), else of Envoy's own call to
    /// ext_proc (the stream's gRPC metadata, when Envoy traces).
    trace: Option<Parent>,
}

impl Exchange {
    fn new(shared: Arc<Shared>, peer: Option<String>, trace: Option<Parent>) -> Exchange {
        let bundle = shared.bundle.load().bundle.clone();
        Exchange {
            shared,
            peer,
            bundle,
            fields: chain::Request::default(),
            request_id: String::new(),
            request_kind: BodyKind::Payload(ContentType::Text),
            response_kind: BodyKind::Payload(ContentType::Text),
            request_type: String::new(),
            response_type: String::new(),
            unread_passed: [false; 2],
            held: Vec::new(),
            stream: None,
            decided: None,
            trace,
        }
    }

    async fn run(
        &mut self,
        mut inbound: Streaming<ProcessingRequest>,
        tx: &Answers,
    ) -> Result<(), Status> {
        use processing_request::Request as In;
        use processing_response::Response as Out;
        let settings = &self.shared.settings;
        let (idle, longest) = (settings.stream_idle, settings.stream_max_duration);
        let ends = self.shared.stream_deadline(None, Instant::now());
        loop {
            let message = match next_within(inbound.message(), idle, Some(ends)).await {
                Ok(message) => message?,
                Err(Silence::Idle) => {
                    return Err(Status::deadline_exceeded(format!(
                    "Envoy sent nothing on this exchange for {} (--stream-idle), so it was ended",
                    humantime::format_duration(idle)
                )))
                }
                Err(Silence::Deadline) => {
                    return Err(Status::deadline_exceeded(format!(
                        "the exchange lasted longer than {} (--stream-max-duration)",
                        humantime::format_duration(longest)
                    )))
                }
            };
            let Some(message) = message else {
                break;
            };
            let principal_attribute = attribute(&message, "source.principal")
                .or_else(|| attribute(&message, "connection.uri_san_peer_certificate"));
            let Some(part) = message.request else {
                continue;
            };
            let answer = match part {
                In::RequestHeaders(h) => match self.request_headers(&h, principal_attribute) {
                    // Ask the upstream for an answer Palisade can read: no compression.
                    Ok(()) => Out::RequestHeaders(HeadersResponse {
                        response: Some(CommonResponse {
                            header_mutation: Some(HeaderMutation {
                                remove_headers: vec!["accept-encoding".into()],
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                    }),
                    Err(refused) => {
                        let received = Instant::now();
                        self.shared
                            .refuse("ext_proc", &self.request_id, received, &refused);
                        Out::ImmediateResponse(immediate(refused.http(), refused.message(), None))
                    }
                },
                In::ResponseHeaders(h) => {
                    self.response_headers(&h);
                    let mut response = CommonResponse::default();
                    if matches!(self.response_kind, BodyKind::Stream(_)) {
                        // Redaction changes lengths; an event stream has no business with one anyway.
                        response.header_mutation = Some(HeaderMutation {
                            remove_headers: vec!["content-length".into()],
                            ..Default::default()
                        });
                    }
                    Out::ResponseHeaders(HeadersResponse {
                        response: Some(response),
                    })
                }
                In::RequestBody(b) => match self.body(Dir::Input, b).await? {
                    Step::Continue(r) => Out::RequestBody(r),
                    Step::Deny(r) => Out::ImmediateResponse(r),
                },
                In::ResponseBody(b) => match self.body(Dir::Output, b).await? {
                    Step::Continue(r) => Out::ResponseBody(r),
                    Step::Deny(r) => Out::ImmediateResponse(r),
                },
                In::RequestTrailers(_) => Out::RequestTrailers(TrailersResponse::default()),
                In::ResponseTrailers(_) => Out::ResponseTrailers(TrailersResponse::default()),
            };
            let denied = matches!(answer, Out::ImmediateResponse(_));
            let answer = ProcessingResponse {
                response: Some(answer),
                dynamic_metadata: self.decided.take(),
                ..Default::default()
            };
            if tx.send(Ok(answer)).await.is_err() || denied {
                // Envoy has gone, or ends the exchange with our immediate response.
                return Ok(());
            }
        }
        Ok(())
    }

    fn request_headers(
        &mut self,
        h: &HttpHeaders,
        principal_attribute: Option<String>,
    ) -> Result<(), Refused> {
        let headers = h.headers.as_ref();
        let get = |name: &str| header(headers, name);
        let principal = forwarded_principal(&self.shared.settings, get, principal_attribute);
        let destination = destination(
            get("x-palisade-destination"),
            get(":scheme"),
            get(":authority"),
            get(":path"),
        );
        self.request_id = get("x-request-id").unwrap_or_default();
        if let Some(trace) =
            Parent::from_headers(get("traceparent").as_deref(), get("tracestate").as_deref())
        {
            self.trace = Some(trace);
        }
        self.request_type = get("content-type").unwrap_or_default();
        self.request_kind = BodyKind::of(
            get("content-type").as_deref(),
            get("content-encoding").as_deref(),
        );
        // Envoy speaks for the users behind it: with mutual TLS it must be a trusted gateway to do so.
        let principal = identity::principal(
            principal.and_then(non_empty),
            self.peer.clone(),
            &self.shared.settings.trusted_gateways,
        )?;
        self.fields = chain::Request {
            principal,
            destination,
            ..chain::Request::default()
        };
        Ok(())
    }

    fn response_headers(&mut self, h: &HttpHeaders) {
        let headers = h.headers.as_ref();
        self.response_type = header(headers, "content-type").unwrap_or_default();
        self.response_kind = BodyKind::of(
            header(headers, "content-type").as_deref(),
            header(headers, "content-encoding").as_deref(),
        )
        .as_answer();
        if let BodyKind::Stream(kind) = self.response_kind {
            let call = self.call(Dir::Output, Instant::now());
            self.stream = Some(self.shared.stream(call, kind));
        }
    }

    async fn body(&mut self, direction: Dir, body: HttpBody) -> Result<Step, Status> {
        let received = Instant::now();
        let (kind, declared) = match direction {
            Dir::Input => (self.request_kind, &self.request_type),
            Dir::Output => (self.response_kind, &self.response_type),
        };
        let declared = declared.clone();
        if direction == Dir::Output && matches!(kind, BodyKind::Stream(_)) {
            return self.stream_chunk(body).await;
        }
        let leg = usize::from(direction == Dir::Output);
        let last = body.end_of_stream;
        let whole = last && self.held.is_empty();
        let bytes = match kind {
            BodyKind::Payload(_) | BodyKind::Multipart => {
                self.held.extend(body.body);
                let limit = self.shared.settings.max_payload;
                if self.held.len() > limit {
                    // Refused as soon as it is over, not at its end.
                    let refused = Refused::too_large(self.held.len(), limit);
                    self.shared
                        .refuse("ext_proc", &self.request_id, received, &refused);
                    return self.refusal(refused);
                }
                if !last {
                    // Held until the end; this chunk goes on as nothing.
                    return Ok(Step::Continue(mutation(Mutation::ClearBody(true), None)));
                }
                std::mem::take(&mut self.held)
            }
            // A body the gate does not read is decided on at its first chunk; if it passes, the rest
            // passes as it comes.
            _ if self.unread_passed[leg] => return Ok(Step::Continue(BodyResponse::default())),
            _ => Vec::new(),
        };
        // A multipart body with a part that is not text is decided on as unreadable after it was held:
        // if it may pass, what was held goes on.
        let held = (kind == BodyKind::Multipart && !whole).then(|| bytes.clone());
        let call = self.call(direction, received);
        let body = Body {
            bytes: Bytes::Raw(bytes),
            kind,
            declared,
        };
        let mut checked = match self.shared.decide(&call, body).await {
            Ok(Decided::Checked(checked)) => *checked,
            Ok(Decided::Unread { reason }) => {
                self.record(direction, Outcome::Allow, &reason, &Findings::new());
                self.unread_passed[leg] = true;
                return Ok(Step::Continue(match held {
                    Some(bytes) => mutation(Mutation::Body(bytes), None),
                    None => BodyResponse::default(),
                }));
            }
            Err(refused) => return self.refusal(refused),
        };
        // What the request leg pseudonymized, the response leg of the same exchange restores: the
        // mapping never leaves this stream.
        if direction == Dir::Input && !checked.pseudonyms.is_empty() {
            self.fields.vault = Some(Arc::new(std::mem::take(&mut checked.pseudonyms)));
        }
        let reason = checked.reason.as_deref().unwrap_or_default();
        self.record(direction, checked.outcome, reason, &checked.findings);
        match checked.outcome {
            Outcome::Deny => Ok(Step::Deny(denied(
                checked.reason.as_deref(),
                &checked.findings,
            ))),
            // A body sent whole leaves as it came unless modified, and its length is ours to set
            // (BUFFERED mode); a body sent in chunks had them cleared, so its end carries it all, and
            // Envoy drops the length itself (STREAMED mode).
            Outcome::Allow if whole => Ok(Step::Continue(BodyResponse::default())),
            Outcome::Allow | Outcome::Modify => {
                let length = whole.then_some(checked.content.len());
                Ok(Step::Continue(mutation(
                    Mutation::Body(checked.content.into_bytes()),
                    length,
                )))
            }
        }
    }

    /// One chunk of an event stream from the upstream, through the gate's hold-back: it is replaced by
    /// what may be released.
    async fn stream_chunk(&mut self, body: HttpBody) -> Result<Step, Status> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(Step::Continue(BodyResponse::default()));
        };
        let pushed = stream.push(body.body, body.end_of_stream).await;
        if let Ok(Pushed {
            decided: Some(summary),
            ..
        }) = &pushed
        {
            let reason = summary.reason.as_deref().unwrap_or_default();
            self.record(Dir::Output, summary.outcome, reason, &summary.findings);
        }
        match pushed {
            Err(refused) => self.refusal(refused),
            Ok(Pushed {
                decided: Some(summary),
                ..
            }) if summary.outcome == Outcome::Deny => Ok(Step::Deny(denied(
                summary.reason.as_deref(),
                &summary.findings,
            ))),
            Ok(pushed) => Ok(Step::Continue(mutation(
                Mutation::Body(pushed.released),
                None,
            ))),
        }
    }

    /// The answer to a refusal the gate (or this exchange) has recorded: an immediate response with its
    /// HTTP status, or, when the trouble is Palisade's own, a failed stream, so that Envoy applies its
    /// `failure_mode_allow`.
    fn refusal(&self, refused: Refused) -> Result<Step, Status> {
        if refused.is_ours() {
            return Err(refused.into());
        }
        Ok(Step::Deny(immediate(
            refused.http(),
            refused.message(),
            None,
        )))
    }

    /// Keeps what the leg decided for Envoy's dynamic metadata, in the namespace
    /// `envoy.filters.http.ext_proc` under `input` or `output` (Envoy merges each answer's metadata into
    /// the namespace, so the two legs sit side by side): `%DYNAMIC_METADATA(envoy.filters.http.ext_proc:input:decision)%`.
    fn record(&mut self, direction: Dir, outcome: Outcome, reason: &str, findings: &Findings) {
        let bundle = self.bundle.id();
        let fields = metadata(
            outcome.as_str(),
            &bundle,
            &self.request_id,
            reason,
            findings,
        );
        let leg = match direction {
            Dir::Input => "input",
            Dir::Output => "output",
        };
        let nested = |key: &str, fields: Struct| {
            let value = Value {
                kind: Some(Kind::StructValue(fields)),
            };
            Struct {
                fields: [(key.to_string(), value)].into_iter().collect(),
            }
        };
        self.decided = Some(nested(NAMESPACE, nested(leg, fields)));
    }

    /// The gate's call for one leg of this exchange.
    fn call(&self, direction: Dir, received: Instant) -> Call {
        Call {
            transport: "ext_proc",
            request_id: self.request_id.clone(),
            exchange: Arc::new(chain::Request {
                direction,
                ..self.fields.clone()
            }),
            bundle: self.bundle.clone(),
            rewrites: true,
            received,
            trace: self.trace.clone(),
        }
    }
}

/// The 403 for a deny, naming the rule to blame.
fn denied(reason: Option<&str>, findings: &[ReportedFinding]) -> ImmediateResponse {
    let rule = chain::blamed(findings, Outcome::Deny).map(|f| (f.plugin.as_str(), f.rule.as_str()));
    immediate(403, reason.unwrap_or("denied"), rule)
}

/// What a body message is answered with.
enum Step {
    Continue(BodyResponse),
    Deny(ImmediateResponse),
}

fn mutation(mutation: Mutation, content_length: Option<usize>) -> BodyResponse {
    BodyResponse {
        response: Some(CommonResponse {
            body_mutation: Some(BodyMutation {
                mutation: Some(mutation),
            }),
            header_mutation: content_length.map(|n| HeaderMutation {
                set_headers: vec![set_header("content-length", &n.to_string())],
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// The answer that ends the exchange: `status` with [`error_body`].
fn immediate(status: u16, reason: &str, rule: Option<(&str, &str)>) -> ImmediateResponse {
    let body = error_body(reason, rule);
    ImmediateResponse {
        status: Some(HttpStatus {
            code: i32::from(status),
        }),
        headers: Some(HeaderMutation {
            set_headers: vec![set_header("content-type", "application/json")],
            ..Default::default()
        }),
        body: body.into_bytes(),
        details: "palisade_denied".into(),
        ..Default::default()
    }
}

/// A string attribute Envoy was configured to send (`request_attributes`).
fn attribute(message: &ProcessingRequest, name: &str) -> Option<String> {
    use envoy_types::pb::google::protobuf::value::Kind;
    message
        .attributes
        .values()
        .find_map(|s| match s.fields.get(name)?.kind.as_ref()? {
            Kind::StringValue(v) if !v.is_empty() => Some(v.clone()),
            _ => None,
        })
}
