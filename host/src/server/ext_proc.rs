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
//! - A body sent in chunks (STREAMED mode): `text/event-stream` responses go through CheckStream's
//!   hold-back, each chunk replaced by what may be released; other bodies are held (each chunk cleared)
//!   and checked whole at the end of the stream, which then carries the whole (possibly redacted) body.
//!
//! Request bodies Palisade cannot read (binary, multipart, NDJSON, an event stream sent upstream) are
//! refused, unless the bundle lists their media type under `[bundle] pass_unread`; response bodies that are
//! not text (images, audio) pass. Either pass is an audit event that says so. Compressed bodies cannot be
//! read and are refused; the request's `accept-encoding` is removed so upstreams answer plainly. Every
//! refusal is counted, logged and audited as one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3::{
    header_value_option::HeaderAppendAction, HeaderMap, HeaderValue, HeaderValueOption,
};
use envoy_types::pb::envoy::r#type::v3::{HttpStatus, StatusCode};
use envoy_types::pb::envoy::service::ext_proc::v3::{
    body_mutation::Mutation, external_processor_server::ExternalProcessor, processing_request,
    processing_response, BodyMutation, BodyResponse, CommonResponse, HeaderMutation,
    HeadersResponse, HttpBody, HttpHeaders, ImmediateResponse, ProcessingRequest,
    ProcessingResponse, TrailersResponse,
};
use tonic::{Request, Response, Status, Streaming};

use super::{non_empty, stream_status, Shared};
use crate::audit;
use crate::bundle::Bundle;
use crate::chain::{self, Dir, Outcome};
use crate::check;
use crate::payload::ContentType;
use crate::stream::{StreamCheck, StreamSettings, StreamType};

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
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let shared = self.0.clone();
        let peer = super::identity::peer_spiffe_id(&request);
        tokio::spawn(async move {
            let mut exchange = Exchange::new(shared, peer);
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

/// How a body is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum BodyKind {
    Payload(ContentType),
    Sse,
    /// Not text: passed on unchecked.
    Opaque,
    /// Compressed (`content-encoding`): cannot be read, so never passed unchecked.
    Encoded,
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
    /// Whether a body passed unread on that leg has been audited (once per leg, not per chunk).
    unread_recorded: [bool; 2],
    /// A body arriving in chunks, held until its end.
    held: Vec<u8>,
    stream: Option<StreamCheck>,
}

impl Exchange {
    fn new(shared: Arc<Shared>, peer: Option<String>) -> Exchange {
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
            unread_recorded: [false; 2],
            held: Vec::new(),
            stream: None,
        }
    }

    async fn run(
        &mut self,
        mut inbound: Streaming<ProcessingRequest>,
        tx: &Answers,
    ) -> Result<(), Status> {
        use processing_request::Request as In;
        use processing_response::Response as Out;
        while let Some(message) = inbound.message().await? {
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
                    Err(status) => Out::ImmediateResponse(immediate(
                        StatusCode::Forbidden,
                        status.message(),
                        None,
                    )),
                },
                In::ResponseHeaders(h) => {
                    self.response_headers(&h);
                    let mut response = CommonResponse::default();
                    if self.response_kind == BodyKind::Sse {
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
    ) -> Result<(), Status> {
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
        self.request_type = get("content-type").unwrap_or_default();
        self.request_kind = body_kind(
            get("content-type").as_deref(),
            get("content-encoding").as_deref(),
        );
        // Envoy speaks for the users behind it: with mutual TLS it must be a trusted gateway to do so.
        let principal = super::identity::principal(
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
        self.response_kind = body_kind(
            header(headers, "content-type").as_deref(),
            header(headers, "content-encoding").as_deref(),
        );
        if self.response_kind == BodyKind::Sse {
            let fields = chain::Request {
                direction: Dir::Output,
                ..self.fields.clone()
            };
            let settings = StreamSettings::new(
                self.shared.settings.stream_hold_back,
                self.shared.settings.max_payload,
            );
            self.stream = Some(StreamCheck::new(
                self.bundle.clone(),
                fields,
                StreamType::Sse,
                settings,
            ));
        }
    }

    async fn body(&mut self, direction: Dir, body: HttpBody) -> Result<Step, Status> {
        let received = Instant::now();
        let kind = match direction {
            Dir::Input => self.request_kind,
            Dir::Output => self.response_kind,
        };
        let last = body.end_of_stream;
        match kind {
            BodyKind::Encoded => Ok(self.refuse(
                match direction {
                    Dir::Input => StatusCode::UnsupportedMediaType,
                    Dir::Output => StatusCode::BadGateway,
                },
                "a compressed body (content-encoding) cannot be inspected; send it uncompressed",
                received,
            )),
            BodyKind::Opaque => Ok(self.unread(direction, received)),
            // An event stream is what a model answers; sent upstream, it is a body Palisade does not read.
            BodyKind::Sse if direction == Dir::Input => Ok(self.unread(direction, received)),
            BodyKind::Sse => self.stream_chunk(body, received).await,
            BodyKind::Payload(content_type) => {
                let whole = last && self.held.is_empty();
                self.held.extend(body.body);
                if self.held.len() > self.shared.settings.max_payload {
                    let limit = self.shared.settings.max_payload;
                    return Ok(self.refuse(
                        StatusCode::PayloadTooLarge,
                        &format!("the body is over Palisade's limit of {limit} bytes"),
                        received,
                    ));
                }
                if !last {
                    // Held until the end; this chunk goes on as nothing.
                    return Ok(Step::Continue(mutation(Mutation::ClearBody(true), None)));
                }
                let held = std::mem::take(&mut self.held);
                let text = match String::from_utf8(held) {
                    Ok(text) => text,
                    Err(e) => {
                        let at = e.utf8_error().valid_up_to();
                        return Ok(self.refuse(
                            StatusCode::UnsupportedMediaType,
                            &format!("the body is not valid UTF-8: invalid byte at offset {at}"),
                            received,
                        ));
                    }
                };
                let exchange = chain::Request {
                    direction,
                    ..self.fields.clone()
                };
                let bundle = self.bundle.clone();
                let key = self.shared.hash_key.clone();
                let (checked, exchange) = self
                    .shared
                    .on_worker(None, received, move || {
                        let checked = check::run(&bundle, content_type, text, &exchange, &key);
                        (checked, exchange)
                    })
                    .await?;
                let checked = match checked {
                    Ok(c) => c,
                    Err(e) => {
                        return Ok(self.refuse(StatusCode::BadRequest, &e.to_string(), received))
                    }
                };
                self.shared.record(&audit::Exchange {
                    decision: checked.outcome,
                    reason: checked.reason.as_deref(),
                    findings: &checked.findings,
                    labels: &checked.labels,
                    failures: &checked.failures,
                    would: checked.would.as_ref(),
                    chain_time: checked.elapsed,
                    plugin_time: checked.plugin_time.as_slice(),
                    ..self.exchange(&exchange, received)
                });
                match checked.outcome {
                    Outcome::Deny => {
                        let rule = chain::blamed(&checked.findings, checked.outcome)
                            .map(|f| (f.plugin.as_str(), f.rule.as_str()));
                        Ok(Step::Deny(immediate(
                            StatusCode::Forbidden,
                            checked.reason.as_deref().unwrap_or("denied"),
                            rule,
                        )))
                    }
                    // A body sent whole leaves as it came unless modified, and its length is ours to
                    // set (BUFFERED mode); a body sent in chunks had them cleared, so its end carries it
                    // all, and Envoy drops the length itself (STREAMED mode).
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
        }
    }

    async fn stream_chunk(&mut self, body: HttpBody, received: Instant) -> Result<Step, Status> {
        let Some(mut check) = self.stream.take() else {
            return Ok(Step::Continue(BodyResponse::default()));
        };
        let key = self.shared.hash_key.clone();
        let last = body.end_of_stream;
        let (check, released) = self
            .shared
            .on_worker(None, received, move || {
                let mut released = check.push(&body.body, &key);
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
            .await?;
        let released = released.map_err(stream_status)?;
        let denied = check.denied();
        if denied || last {
            let summary = check.summary();
            let request = chain::Request {
                direction: Dir::Output,
                ..self.fields.clone()
            };
            self.shared.record(&audit::Exchange {
                decision: summary.outcome,
                reason: summary.reason.as_deref(),
                findings: &summary.findings,
                labels: &summary.labels,
                failures: &summary.failures,
                would: summary.would.as_ref(),
                chain_time: summary.chain_time,
                plugin_time: summary.plugin_time.as_slice(),
                ..self.exchange(&request, received)
            });
            if denied {
                let rule = chain::blamed(&summary.findings, Outcome::Deny)
                    .map(|f| (f.plugin.as_str(), f.rule.as_str()));
                return Ok(Step::Deny(immediate(
                    StatusCode::Forbidden,
                    summary.reason.as_deref().unwrap_or("denied"),
                    rule,
                )));
            }
        } else {
            self.stream = Some(check);
        }
        Ok(Step::Continue(mutation(Mutation::Body(released), None)))
    }

    /// A body Palisade cannot read. On the request leg it passes only if the bundle lists its media type
    /// under `[bundle] pass_unread`, and is refused otherwise; on the response leg (an image, audio from a
    /// model) it passes. A pass is audited once per leg, with the reason.
    fn unread(&mut self, direction: Dir, received: Instant) -> Step {
        let reason = match direction {
            Dir::Input => match unread_request(&self.bundle, &self.request_type) {
                Ok(reason) => reason,
                Err(message) => {
                    return self.refuse(StatusCode::UnsupportedMediaType, &message, received)
                }
            },
            Dir::Output => format!(
                "the response body ({}) is not text and passed unread",
                self.response_type
            ),
        };
        let leg = usize::from(direction == Dir::Output);
        if !std::mem::replace(&mut self.unread_recorded[leg], true) {
            let request = chain::Request {
                direction,
                ..self.fields.clone()
            };
            self.shared.record(&audit::Exchange {
                reason: Some(&reason),
                ..self.exchange(&request, received)
            });
        }
        Step::Continue(BodyResponse::default())
    }

    /// Refuses the exchange with `status` and a message that says what to do; counted, logged and
    /// audited as a refusal.
    fn refuse(&self, status: StatusCode, message: &str, received: Instant) -> Step {
        let code = match status {
            StatusCode::PayloadTooLarge => tonic::Code::ResourceExhausted,
            StatusCode::BadGateway => tonic::Code::Unavailable,
            _ => tonic::Code::InvalidArgument,
        };
        let status_for_records = Status::new(code, message);
        self.shared
            .refused("ext_proc", &self.request_id, &status_for_records, received);
        Step::Deny(immediate(status, message, None))
    }

    /// This exchange's audit record for `request`, decided nothing yet: callers fill in the decision.
    fn exchange<'a>(
        &'a self,
        request: &'a chain::Request,
        received: Instant,
    ) -> audit::Exchange<'a> {
        audit::Exchange {
            transport: "ext_proc",
            request_id: &self.request_id,
            request,
            bundle: &self.bundle,
            decision: Outcome::Allow,
            reason: None,
            findings: &[],
            labels: &[],
            failures: &[],
            would: None,
            elapsed: received.elapsed(),
            chain_time: Duration::ZERO,
            plugin_time: &[],
        }
    }
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

pub(super) fn set_header(key: &str, value: &str) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.into(),
            raw_value: value.as_bytes().to_vec(),
            ..Default::default()
        }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
        ..Default::default()
    }
}

/// The answer that ends the exchange: `status` with [`error_body`].
fn immediate(status: StatusCode, reason: &str, rule: Option<(&str, &str)>) -> ImmediateResponse {
    let body = error_body(reason, rule);
    ImmediateResponse {
        status: Some(HttpStatus {
            code: status as i32,
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

/// The JSON body of an answer Palisade gives in the upstream's place, in the shape OpenAI's and Anthropic's
/// clients read (`error.message`, `error.type`), naming the plugin and rule when known.
pub(super) fn error_body(reason: &str, rule: Option<(&str, &str)>) -> String {
    let mut error = serde_json::json!({
        "type": "palisade_denied",
        "message": format!("Palisade: {reason}"),
    });
    if let Some((plugin, rule)) = rule {
        error["plugin"] = plugin.into();
        error["rule"] = rule.into();
    }
    serde_json::json!({ "error": error }).to_string()
}

/// A header's value (Envoy sends `raw_value`; older versions `value`).
pub(super) fn header(headers: Option<&HeaderMap>, name: &str) -> Option<String> {
    let h = headers?.headers.iter().find(|h| h.key == name)?;
    if h.raw_value.is_empty() {
        Some(h.value.clone())
    } else {
        String::from_utf8(h.raw_value.clone()).ok()
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

/// The principal Envoy forwards: the configured header (`--principal-header`), else the client
/// certificate's URI from `x-forwarded-client-cert`, else what Envoy's attributes say.
pub(super) fn forwarded_principal(
    settings: &super::Settings,
    get: impl Fn(&str) -> Option<String>,
    attribute: Option<String>,
) -> Option<String> {
    settings
        .principal_header
        .as_deref()
        .and_then(&get)
        .or_else(|| get("x-forwarded-client-cert").and_then(|x| xfcc_uri(&x)))
        .or(attribute)
}

/// Where a request goes: `x-palisade-destination` (`explicit`, set by the gateway when it rewrites the
/// host) or the scheme and authority the client used; then the path.
pub(super) fn destination(
    explicit: Option<String>,
    scheme: Option<String>,
    authority: Option<String>,
    path: Option<String>,
) -> Option<String> {
    let base = explicit.or_else(|| {
        let scheme = scheme.unwrap_or_else(|| "https".into());
        authority.map(|authority| format!("{scheme}://{authority}"))
    })?;
    Some(format!(
        "{}{}",
        base.trim_end_matches('/'),
        path.unwrap_or_default()
    ))
}

/// The `URI=` of the first element of an `x-forwarded-client-cert` header: the client certificate's
/// URI SAN, which is its SPIFFE ID.
fn xfcc_uri(header: &str) -> Option<String> {
    let first = header.split(',').next()?;
    first.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("uri")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// Whether a request body Palisade cannot read may pass: the reason to audit if the bundle lists its
/// `content_type` under `pass_unread`, else the refusal, saying what to do.
pub(super) fn unread_request(bundle: &Bundle, content_type: &str) -> Result<String, String> {
    match bundle.passes_unread(content_type) {
        Some(entry) => Ok(format!(
            "the request body ({content_type}) passed unread: [bundle] pass_unread lists {entry:?}"
        )),
        None => Err(format!(
            "a request body of type {content_type:?} cannot be inspected, so it is refused; send text \
             or JSON, or list its media type under [bundle] pass_unread to let such bodies pass unread"
        )),
    }
}

pub(super) fn body_kind(content_type: Option<&str>, content_encoding: Option<&str>) -> BodyKind {
    if content_encoding
        .is_some_and(|e| !e.trim().is_empty() && !e.trim().eq_ignore_ascii_case("identity"))
    {
        return BodyKind::Encoded;
    }
    let Some(value) = content_type else {
        return BodyKind::Payload(ContentType::Text);
    };
    if matches!(StreamType::parse(value), Ok(StreamType::Sse)) {
        return BodyKind::Sse;
    }
    if let Ok(ct) = ContentType::parse(value) {
        return BodyKind::Payload(ct);
    }
    let media = crate::payload::media_type(value);
    if media.starts_with("text/") || media.contains("xml") || media.contains("form-urlencoded") {
        BodyKind::Payload(ContentType::Text)
    } else {
        BodyKind::Opaque
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xfcc_gives_the_first_certificates_uri() {
        let h = r#"By=spiffe://example.org/envoy;Hash=abc;Subject="CN=x";URI=spiffe://example.org/ns/a/sa/agent,By=x;URI=spiffe://other"#;
        assert_eq!(
            xfcc_uri(h).as_deref(),
            Some("spiffe://example.org/ns/a/sa/agent")
        );
        assert_eq!(xfcc_uri("By=x;Hash=y"), None);
    }

    #[test]
    fn body_kinds_follow_the_content_type() {
        assert_eq!(
            body_kind(Some("application/json"), None),
            BodyKind::Payload(ContentType::Json)
        );
        assert_eq!(
            body_kind(Some("text/event-stream; charset=utf-8"), None),
            BodyKind::Sse
        );
        assert_eq!(
            body_kind(Some("text/markdown"), None),
            BodyKind::Payload(ContentType::Text)
        );
        assert_eq!(body_kind(Some("image/png"), None), BodyKind::Opaque);
        assert_eq!(body_kind(None, None), BodyKind::Payload(ContentType::Text));
        assert_eq!(
            body_kind(Some("application/json"), Some("gzip")),
            BodyKind::Encoded
        );
        assert_eq!(
            body_kind(Some("application/json"), Some("identity")),
            BodyKind::Payload(ContentType::Json)
        );
    }
}
