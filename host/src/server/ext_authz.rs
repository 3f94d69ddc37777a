//! Envoy's `envoy.service.auth.v3.Authorization` (the ext_authz filter), for deployments that already run
//! it. ext_authz can only allow or deny a request — it cannot rewrite a body — so it is the input path
//! only, and deny-only:
//!
//! - The request body Envoy forwards (`with_request_body`; `pack_as_bytes` or not) is checked like
//!   `Check` with direction input; the exchange's fields come from the headers as for ext_proc.
//! - Allow → OK. Deny → 403 with a JSON body naming the plugin and rule. A decision to *modify* (redact)
//!   is also a 403: passing the body on unredacted would let through what the policy was told to stop.
//!   Redaction needs ext_proc (`examples/envoy`).
//! - A body Envoy cut short (`allow_partial_message`, marked `x-envoy-auth-partial-body: true`) cannot be
//!   vouched for: 413. Compressed bodies: 415. Bodies that are not text (images, audio): 415, unless the
//!   bundle lists their media type under `[bundle] pass_unread` (then OK, and audited as such).
//! - Every answer carries dynamic metadata (namespace `envoy.filters.http.ext_authz`): `decision`,
//!   `bundle`, `request_id`, `reason` and the findings (plugin, rule, category, action, location — never a
//!   value), for Envoy's access log (`%DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision)%`).

use std::sync::Arc;
use std::time::Instant;

use envoy_types::ext_authz::v3::pb::{
    Authorization, CheckRequest, CheckResponse, DeniedHttpResponse, HttpResponse, HttpStatus,
    OkHttpResponse,
};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::HttpRequest;
use envoy_types::pb::google::protobuf::Struct;
use envoy_types::pb::google::rpc;
use tonic::{Code, Request, Response, Status};

use super::envoy::{destination, error_body, forwarded_principal, header, metadata, set_header};
use super::gate::{Body, BodyKind, Bytes, Call, Decided, Refused};
use super::{caller_deadline, identity, non_empty, Shared};
use crate::chain::{self, Dir, Findings, Outcome};
use crate::telemetry::Parent;

/// `envoy.service.auth.v3.Authorization`.
pub struct ExtAuthzService(pub(super) Arc<Shared>);

#[tonic::async_trait]
impl Authorization for ExtAuthzService {
    /// A request that cannot be checked is the client's to fix: a denied response with the HTTP status
    /// for its refusal (400, 413, 415, 403). Palisade's own trouble (a deadline, a failed worker) is a gRPC
    /// error, so Envoy applies its `failure_mode_allow` and `status_on_error`.
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let received = Instant::now();
        let shared = &self.0;
        // Read first, so that a refusal is audited with the id of the request it refused.
        let request_id = request_id_of(request.get_ref());
        let decided = match read(shared, request, request_id.clone(), received) {
            Ok((call, body)) => shared
                .decide(&call, body)
                .await
                .map(|decided| (decided, call)),
            Err(refused) => {
                shared.refuse("ext_authz", &request_id, received, &refused);
                Err(refused)
            }
        };
        match decided {
            Ok((decided, call)) => Ok(Response::new(answer(decided, &call))),
            Err(refused) if refused.is_ours() => Err(refused.into()),
            Err(refused) => Ok(Response::new(denied(
                refused.http(),
                refused.code(),
                refused.message(),
                None,
            ))),
        }
    }
}

/// The gate's call and body for what Envoy forwarded.
fn read(
    shared: &Shared,
    request: Request<CheckRequest>,
    request_id: String,
    received: Instant,
) -> Result<(Call, Body), Refused> {
    let deadline = caller_deadline(&request, received)?;
    let peer = identity::peer_spiffe_id(&request)?;
    let message = request.into_inner();
    let principal_attribute = message
        .attributes
        .as_ref()
        .and_then(|a| a.source.as_ref())
        .map(|source| source.principal.clone());
    let Some(mut http) = message
        .attributes
        .and_then(|a| a.request)
        .and_then(|r| r.http)
    else {
        return Err(Refused::Invalid(
            "Envoy sent no HTTP request attributes; Palisade checks HTTP requests".into(),
        ));
    };
    let bytes = request_body(&mut http);
    let get = |name: &str| {
        http.headers
            .get(name)
            .cloned()
            .or_else(|| header(http.header_map.as_ref(), name))
    };
    if get("x-envoy-auth-partial-body").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(Refused::TooLarge(
            "Envoy forwarded only part of the body (over its with_request_body.max_request_bytes); \
             raise that limit so the whole body can be checked"
                .into(),
        ));
    }
    let principal =
        forwarded_principal(&shared.settings, get, principal_attribute).and_then(non_empty);
    // Envoy speaks for the users behind it: with mutual TLS it must be a trusted gateway to do so.
    let principal = identity::principal(principal, peer, &shared.settings.trusted_gateways)?;
    let declared = get("content-type").unwrap_or_default();
    let kind = BodyKind::of(
        get("content-type").as_deref(),
        get("content-encoding").as_deref(),
    );
    // Envoy's attributes, else the pseudo-headers it also forwards.
    let field = |value: &str, name: &str| non_empty(value.to_string()).or_else(|| get(name));
    let destination = destination(
        get("x-palisade-destination"),
        field(&http.scheme, ":scheme"),
        field(&http.host, ":authority"),
        field(&http.path, ":path"),
    );
    let exchange = chain::Request {
        direction: Dir::Input,
        principal,
        destination,
        deadline,
        ..chain::Request::default()
    };
    let call = Call {
        transport: "ext_authz",
        request_id,
        exchange: Arc::new(exchange),
        bundle: shared.bundle.load().bundle.clone(),
        // ext_authz cannot rewrite a body: what the policy would redact is denied.
        rewrites: false,
        received,
        trace: Parent::from_headers(get("traceparent").as_deref(), get("tracestate").as_deref()),
    };
    let body = Body {
        bytes: Bytes::Raw(bytes),
        kind,
        declared,
    };
    Ok((call, body))
}

/// Envoy's answer for what the gate decided, with the dynamic metadata for its access log.
fn answer(decided: Decided, call: &Call) -> CheckResponse {
    let bundle = call.bundle.id();
    let checked = match decided {
        Decided::Checked(checked) => *checked,
        Decided::Unread { reason } => {
            return allow(metadata(
                "allow",
                &bundle,
                &call.request_id,
                &reason,
                &Findings::new(),
            ))
        }
    };
    let reason = match checked.outcome {
        Outcome::Allow => String::new(),
        Outcome::Deny | Outcome::Modify => checked.reason.unwrap_or_else(|| "denied".into()),
    };
    let metadata = metadata(
        checked.outcome.as_str(),
        &bundle,
        &call.request_id,
        &reason,
        &checked.findings,
    );
    match checked.outcome {
        Outcome::Allow => allow(metadata),
        Outcome::Deny | Outcome::Modify => {
            let rule = chain::blamed(&checked.findings, Outcome::Deny)
                .map(|f| (f.plugin.as_str(), f.rule.as_str()));
            CheckResponse {
                dynamic_metadata: Some(metadata),
                ..denied(403, Code::PermissionDenied, &reason, rule)
            }
        }
    }
}

/// Envoy's id of the HTTP request, else its `x-request-id` header; empty if neither.
fn request_id_of(request: &CheckRequest) -> String {
    let Some(http) = (request.attributes.as_ref())
        .and_then(|a| a.request.as_ref())
        .and_then(|r| r.http.as_ref())
    else {
        return String::new();
    };
    non_empty(http.id.clone())
        .or_else(|| http.headers.get("x-request-id").cloned())
        .or_else(|| header(http.header_map.as_ref(), "x-request-id"))
        .unwrap_or_default()
}

/// The body as Envoy sent it: `raw_body` with `pack_as_bytes`, else `body`.
fn request_body(http: &mut HttpRequest) -> Vec<u8> {
    if http.raw_body.is_empty() {
        std::mem::take(&mut http.body).into_bytes()
    } else {
        std::mem::take(&mut http.raw_body)
    }
}

fn allow(metadata: Struct) -> CheckResponse {
    CheckResponse {
        status: Some(rpc::Status {
            code: Code::Ok as i32,
            ..Default::default()
        }),
        dynamic_metadata: Some(metadata),
        http_response: Some(HttpResponse::OkResponse(OkHttpResponse::default())),
    }
}

/// A denied response: `http` with the JSON error body, and `code` as the call's status.
fn denied(http: u16, code: Code, reason: &str, rule: Option<(&str, &str)>) -> CheckResponse {
    CheckResponse {
        status: Some(rpc::Status {
            code: code as i32,
            message: reason.into(),
            ..Default::default()
        }),
        dynamic_metadata: None,
        http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus {
                code: i32::from(http),
            }),
            headers: vec![set_header("content-type", "application/json")],
            body: error_body(reason, rule),
        })),
    }
}
