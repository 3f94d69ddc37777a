//! The HTTP/JSON API (`serve --http ADDR`), for gateways that don't speak gRPC: Kong's
//! `ai-custom-guardrail`, LiteLLM's generic guardrail API, nginx with njs, a curl in a shell script.
//!
//! - `POST /v1/check`: the body is a `palisade.v1.CheckRequest` in the proto3 JSON mapping, the answer a
//!   `CheckResponse` in the same mapping (so `contentType` or `content_type`, `"DIRECTION_OUTPUT"` or `2`,
//!   `body` as base64, `elapsedUs` as a string). It is the gRPC call, not a second implementation: same
//!   limits, chain, policy, metrics and log line.
//! - `GET /healthz`: the process is up. `GET /readyz`: it serves a bundle and is not shutting down.
//! - Errors are JSON in the shape of `google.rpc.Status` (`code`, `message`), plus `status` (the code's
//!   name), with the gRPC call's code and message and the matching HTTP status.
//!
//! A deadline comes from `x-palisade-timeout` (`250ms`, `2s`), which bounds reading the body, the wait
//! for a worker and the chain, like `grpc-timeout`. Plain HTTP has no client certificates: under mutual TLS
//! (`--client-ca`) this listener serves only calls that claim no principal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tonic::{Code, Status};

use super::{proto, Caller, Shared};

/// How long a request body may take to arrive when the caller sets no deadline.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the HTTP/JSON API on `listener` until `shutdown` resolves; calls in flight finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new()
        .route("/v1/check", post(check))
        .route("/healthz", get(|| async { json(StatusCode::OK, &serde_json::json!({"status": "SERVING"})) }))
        .route("/readyz", get(ready))
        .fallback(|| async {
            Failure::new(
                StatusCode::NOT_FOUND,
                Status::not_found("no such endpoint; Palisade serves POST /v1/check, GET /healthz and GET /readyz"),
            )
        })
        .with_state(shared.clone());
    let stopping = async move {
        shutdown.await;
        shared.drain();
    };
    // Nagle off, as for gRPC: an answer must not wait for the caller's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| super::no_delay(tcp));
    axum::serve(listener, app)
        .with_graceful_shutdown(stopping)
        .await
}

async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    let bundle = shared.bundle.load().bundle.id();
    if shared.is_draining() {
        let body = serde_json::json!({"status": "NOT_SERVING", "bundle": bundle, "message": "shutting down"});
        return json(StatusCode::SERVICE_UNAVAILABLE, &body);
    }
    json(
        StatusCode::OK,
        &serde_json::json!({"status": "SERVING", "bundle": bundle}),
    )
}

async fn check(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let received = Instant::now();
    match read_request(&shared, &headers, body, received).await {
        Ok((request, caller)) => match shared.check(request, caller).await {
            Ok(answer) => json(StatusCode::OK, &answer),
            // Already counted and logged by the check.
            Err(status) => Failure::from(status).into_response(),
        },
        Err(failure) => {
            shared.refused("http", "", &failure.status, received);
            failure.into_response()
        }
    }
}

/// The CheckRequest in the body, and the caller's deadline.
async fn read_request(
    shared: &Shared,
    headers: &HeaderMap,
    body: Body,
    received: Instant,
) -> Result<(proto::CheckRequest, Caller), Failure> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = media.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Status::invalid_argument(format!(
                "content-type is {:?}; POST /v1/check takes application/json (a CheckRequest in proto3 JSON, e.g. {{\"text\": \"…\"}})",
                media
            )),
        ));
    }
    let deadline = match headers.get("x-palisade-timeout") {
        None => None,
        Some(value) => {
            let timeout = value
                .to_str()
                .ok()
                .and_then(|v| humantime::parse_duration(v.trim()).ok())
                .ok_or_else(|| {
                    Failure::from(Status::invalid_argument(format!(
                        "x-palisade-timeout {value:?} is not a duration; write e.g. 250ms or 2s"
                    )))
                })?;
            Some(super::answer_by(received, timeout))
        }
    };

    // JSON escapes can make a payload's text longer than its bytes; the payload limit proper is checked
    // on the decoded request, as over gRPC.
    let limit = shared.max_message();
    let arrived = deadline.unwrap_or(received + BODY_TIMEOUT);
    let bytes = match tokio::time::timeout_at(
        arrived.into(),
        http_body_util::Limited::new(body, limit).collect(),
    )
    .await
    {
        Err(_) => {
            return Err(Failure::new(
                StatusCode::REQUEST_TIMEOUT,
                Status::deadline_exceeded(format!(
                    "the request body did not arrive within {:?}",
                    arrived - received
                )),
            ))
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Failure::from(Status::resource_exhausted(format!(
                "the request is over the limit of {limit} bytes (twice --max-payload, plus 1 MiB)"
            ))))
        }
        Ok(Err(e)) => {
            return Err(Failure::from(Status::invalid_argument(format!(
                "reading the request body failed: {e}"
            ))))
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let request: proto::CheckRequest = serde_json::from_slice(&bytes).map_err(|e| {
        Failure::from(Status::invalid_argument(format!(
            "the body is not a CheckRequest in JSON: {e}"
        )))
    })?;
    if shared.settings.mutual_tls && !request.principal.is_empty() {
        return Err(Failure::from(Status::permission_denied(
            "the HTTP API has no client certificates, so under mutual TLS it cannot vouch for a principal; \
             call over gRPC with mutual TLS, or leave `principal` empty",
        )));
    }
    Ok((
        request,
        Caller {
            transport: "http",
            peer: None,
            deadline,
            received,
        },
    ))
}

/// An error answer: an HTTP status, and the gRPC status it stands for.
pub(super) struct Failure {
    pub(super) http: StatusCode,
    pub(super) status: Status,
}

impl Failure {
    pub(super) fn new(http: StatusCode, status: Status) -> Failure {
        Failure { http, status }
    }
}

impl From<Status> for Failure {
    fn from(status: Status) -> Failure {
        Failure {
            http: http_status(status.code()),
            status,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let code = self.status.code();
        let body = serde_json::json!({
            "code": code as i32,
            "status": status_name(code),
            "message": self.status.message(),
        });
        json(self.http, &body)
    }
}

/// The HTTP status for a gRPC code, as Google's HTTP mapping has it, except RESOURCE_EXHAUSTED: here it
/// always means a payload too large (413), never a rate limit (429).
fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted => StatusCode::PAYLOAD_TOO_LARGE,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A code's name as in `google.rpc.Code` (`INVALID_ARGUMENT`).
fn status_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding the answer as JSON failed: {e}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_statuses_gateways_expect() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            http_status(Code::DeadlineExceeded),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status_name(Code::PermissionDenied), "PERMISSION_DENIED");
    }
}
