//! The HTTP/JSON API (`serve --http ADDR`), for gateways that don't speak gRPC: Kong's
//! `ai-custom-guardrail`, LiteLLM's generic guardrail API, nginx with njs, a curl in a shell script.
//!
//! - `POST /v1/check`: the body is a `palisade.v1.CheckRequest` in the proto3 JSON mapping, the answer a
//!   `CheckResponse` in the same mapping (so `contentType` or `content_type`, `"DIRECTION_OUTPUT"` or `2`,
//!   `body` as base64, `elapsedUs` as a string). It is the gRPC call, not a second implementation: same
//!   limits, chain, policy, metrics and log line.
//! - `POST /beta/litellm_basic_guardrail_api`: LiteLLM's generic guardrail API, read as a chat body and
//!   checked as a Check is (`litellm.rs`).
//! - `GET /healthz`: the process is up. `GET /readyz`: it serves a bundle and is not shutting down.
//! - Errors are JSON in the shape of `google.rpc.Status` (`code`, `message`), plus `status` (the code's
//!   name), with the gRPC call's code and message and the matching HTTP status.
//!
//! A deadline comes from `x-palisade-timeout` (`250ms`, `2s`), which bounds reading the body, the wait
//! for a worker and the chain, like `grpc-timeout`. It is served with the gRPC listener's TLS: under mutual
//! TLS (`--client-ca`) a caller is its certificate's SPIFFE ID here too, and may claim no other principal
//! unless it is a trusted gateway.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tonic::Code;

use super::api::{self, Caller};
use super::gate::Refused;
use super::identity;
use super::listen::Peer;
use super::{litellm, proto, Shared};
use crate::telemetry::Parent;

/// How long a request body may take to arrive when the caller sets no deadline.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the HTTP/JSON API on `listener` until `shutdown` resolves; calls in flight finish first. With
/// `--tls-cert` it is served over TLS (HTTP/2 or HTTP/1.1), with `--client-ca` mutual TLS, as gRPC is.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let app = axum::Router::new()
        .route("/v1/check", post(check))
        .route(litellm::PATH, post(litellm_guardrail))
        .route(
            "/healthz",
            get(|| async { json(StatusCode::OK, &serde_json::json!({"status": "SERVING"})) }),
        )
        .route("/readyz", get(ready))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                Code::NotFound,
                "no such endpoint; Palisade serves POST /v1/check, POST /beta/litellm_basic_guardrail_api \
                 (LiteLLM's generic guardrail API), GET /healthz and GET /readyz",
            )
        })
        .with_state(shared.clone());
    let tls = shared
        .settings
        .tls
        .as_ref()
        .map(|t| t.with_alpn(&[b"h2", b"http/1.1"]));
    let limits = shared.settings.limits;
    let budget = shared.in_flight.clone();
    let service = tower::service_fn(move |request: axum::http::Request<hyper::body::Incoming>| {
        let (request, charge) = budget.meter(request);
        let call = tower::ServiceExt::oneshot(app.clone(), request);
        async move {
            let response = call.await;
            drop(charge); // held until answered
            response
        }
    });
    let stopping = async move {
        shutdown.await;
        shared.drain();
    };
    super::listen::serve(listener, tls, false, limits, service, stopping).await;
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

async fn check(State(shared): State<Arc<Shared>>, request: axum::extract::Request) -> Response {
    let received = Instant::now();
    let (parts, body) = request.into_parts();
    let read = read_json(&shared, &parts, body, received, "/v1/check", "http").await;
    let answer = match read.and_then(|(bytes, caller)| {
        let request: proto::CheckRequest = serde_json::from_slice(&bytes).map_err(|e| {
            Refused::Invalid(format!("the body is not a CheckRequest in JSON: {e}"))
        })?;
        Ok((request, caller))
    }) {
        // Refusals from here on are recorded by the check.
        Ok((request, caller)) => api::check(&shared, request, caller).await,
        Err(refused) => {
            shared.refuse("http", "", received, &refused);
            Err(refused)
        }
    };
    match answer {
        Ok(answer) => json(StatusCode::OK, &answer),
        Err(refused) => refusal(&refused),
    }
}

/// LiteLLM's generic guardrail API: its request read as a chat body and checked as a Check is (see
/// [`litellm`]).
async fn litellm_guardrail(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
) -> Response {
    let received = Instant::now();
    let (parts, body) = request.into_parts();
    let read = read_json(&shared, &parts, body, received, litellm::PATH, "litellm").await;
    let read = read.and_then(|(bytes, caller)| {
        let request = serde_json::from_slice(&bytes).map_err(|e| {
            Refused::Invalid(format!(
                "the body is not a LiteLLM guardrail request in JSON: {e}"
            ))
        })?;
        let (request, sent) = litellm::check_request(request)?;
        Ok((request, sent, caller))
    });
    let (request, sent, caller) = match read {
        Ok(read) => read,
        Err(refused) => {
            shared.refuse("litellm", "", received, &refused);
            return refusal(&refused);
        }
    };
    match api::check(&shared, request, caller).await {
        Ok(answer) => {
            let hold_back = shared.settings.stream_hold_back;
            json(StatusCode::OK, &litellm::response(&sent, answer, hold_back))
        }
        Err(refused) => refusal(&refused),
    }
}

/// The JSON body of a POST to `endpoint`, read within the caller's deadline and the size limit, and who
/// sent it.
async fn read_json(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    body: Body,
    received: Instant,
    endpoint: &str,
    transport: &'static str,
) -> Result<(axum::body::Bytes, Caller), Refused> {
    let headers = &parts.headers;
    let peer = identity::spiffe_id_of(parts.extensions.get::<Peer>())?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !crate::payload::media_type(media).eq_ignore_ascii_case("application/json") {
        let example = if endpoint == "/v1/check" {
            " (a CheckRequest in proto3 JSON, e.g. {\"text\": \"…\"})"
        } else {
            ""
        };
        return Err(Refused::Unreadable(format!(
            "content-type is {media:?}; POST {endpoint} takes application/json{example}"
        )));
    }
    let deadline = match headers.get("x-palisade-timeout") {
        None => None,
        Some(value) => {
            let timeout = value
                .to_str()
                .ok()
                .and_then(|v| humantime::parse_duration(v.trim()).ok())
                .ok_or_else(|| {
                    Refused::Invalid(format!(
                        "x-palisade-timeout {value:?} is not a duration; write e.g. 250ms or 2s"
                    ))
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
            return Err(Refused::SlowBody(format!(
                "the request body did not arrive within {:?}",
                arrived - received
            )))
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Refused::TooLarge(format!(
                "the request is over the limit of {limit} bytes (twice --max-payload, plus 1 MiB)"
            )))
        }
        Ok(Err(e)) => {
            return Err(match super::in_flight::over_budget(&*e) {
                Some(message) => Refused::Overloaded(message),
                None => Refused::Invalid(format!("reading the request body failed: {e}")),
            })
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    Ok((
        bytes,
        Caller {
            transport,
            peer,
            deadline,
            received,
            trace: Parent::from_http(headers),
        },
    ))
}

/// A refusal, answered with its HTTP status.
fn refusal(refused: &Refused) -> Response {
    let status = StatusCode::from_u16(refused.http()).unwrap_or(StatusCode::BAD_REQUEST);
    error(status, refused.code(), refused.message())
}

/// An error as JSON in the shape of `google.rpc.Status`, plus the code's name.
fn error(status: StatusCode, code: Code, message: &str) -> Response {
    let body = serde_json::json!({
        "code": code as i32,
        "status": status_name(code),
        "message": message,
    });
    json(status, &body)
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
    fn codes_are_named_as_google_rpc_names_them() {
        assert_eq!(status_name(Code::PermissionDenied), "PERMISSION_DENIED");
        assert_eq!(status_name(Code::ResourceExhausted), "RESOURCE_EXHAUSTED");
    }
}
