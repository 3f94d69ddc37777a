//! Envoy's ext_authz against the real server: a Rust client sends the CheckRequest Envoy sends for an HTTP
//! request with `with_request_body` (headers map or raw header map, body as text or packed as bytes), and
//! reads the answer Envoy would apply: OK, or a denied response with its status and JSON body, plus the
//! dynamic metadata its access log can carry.

use std::collections::HashMap;

use envoy_types::ext_authz::v3::pb::{CheckRequest, CheckResponse, HttpResponse};
use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use envoy_types::pb::google::protobuf::value::Kind;

use crate::serve::Server;
use crate::tls::bundle_denying_sandbox_agents;

const AWS_KEY: &str = "AKIAZ7QW3RTY5UIO2PAS";

/// What Envoy sends for a POST to api.openai.com with these extra headers and this body.
pub(crate) fn envoy_request(
    content_type: &str,
    extra: &[(&str, &str)],
    body: &str,
) -> CheckRequest {
    let mut headers: HashMap<String, String> = [
        (":method", "POST"),
        (":authority", "api.openai.com"),
        (":path", "/v1/chat/completions"),
        ("content-type", content_type),
        ("x-request-id", "req-42"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request {
                http: Some(HttpRequest {
                    id: "req-42".into(),
                    method: "POST".into(),
                    headers,
                    path: "/v1/chat/completions".into(),
                    host: "api.openai.com".into(),
                    scheme: "https".into(),
                    size: body.len() as i64,
                    protocol: "HTTP/1.1".into(),
                    body: body.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// A body packed as bytes (`pack_as_bytes`) that is not UTF-8.
fn not_utf8() -> CheckRequest {
    let mut request = envoy_request("text/plain", &[], "");
    let attributes = request.attributes.as_mut().unwrap();
    let http = attributes.request.as_mut().unwrap().http.as_mut().unwrap();
    http.raw_body = b"ok \xff\xfe".to_vec();
    request
}

pub(crate) fn chat(content: &str) -> String {
    serde_json::json!({"model": "gpt-4o", "messages": [{"role": "user", "content": content}]})
        .to_string()
}

pub(crate) async fn check(server: &Server, request: CheckRequest) -> CheckResponse {
    AuthorizationClient::new(server.channel().await)
        .check(request)
        .await
        .expect("ext_authz answers")
        .into_inner()
}

/// How ext_authz answered: Envoy lets the request through, answers the client with a status, or (on a
/// gRPC error) applies its own failure mode.
#[derive(Debug)]
pub(crate) enum AuthzAnswer {
    Allowed,
    Denied(u16),
    Failed(tonic::Code),
}

/// Like [`check`], with the caller's deadline, and a gRPC error as an answer too.
pub(crate) async fn try_check(
    server: &Server,
    request: CheckRequest,
    timeout: Option<std::time::Duration>,
) -> AuthzAnswer {
    let mut request = tonic::Request::new(request);
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    match AuthorizationClient::new(server.channel().await)
        .check(request)
        .await
    {
        Err(status) => AuthzAnswer::Failed(status.code()),
        Ok(answer) => match denied(&answer.into_inner()) {
            None => AuthzAnswer::Allowed,
            Some((status, _)) => AuthzAnswer::Denied(status as u16),
        },
    }
}

/// The denied response's HTTP status and JSON body, or `None` for OK.
pub(crate) fn denied(answer: &CheckResponse) -> Option<(i32, serde_json::Value)> {
    match answer.http_response.as_ref().expect("an HTTP response") {
        HttpResponse::OkResponse(_) => {
            assert_eq!(answer.status.as_ref().unwrap().code, 0);
            None
        }
        HttpResponse::DeniedResponse(d) => {
            assert_ne!(
                answer.status.as_ref().unwrap().code,
                0,
                "a denied response is not OK"
            );
            let content_type = d.headers.iter().find_map(|h| h.header.as_ref()).unwrap();
            assert_eq!(content_type.key, "content-type");
            Some((
                d.status.unwrap().code,
                serde_json::from_str(&d.body).expect("a JSON body"),
            ))
        }
        HttpResponse::ErrorResponse(e) => panic!("Palisade answers no error responses: {e:?}"),
    }
}

fn metadata(answer: &CheckResponse, key: &str) -> String {
    let m = answer.dynamic_metadata.as_ref().expect("dynamic metadata");
    match m.fields.get(key).and_then(|v| v.kind.as_ref()) {
        Some(Kind::StringValue(s)) => s.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_body_is_ok_a_secret_is_403_naming_the_rule_and_metadata_says_why() {
    let server = Server::start(&[]).await;
    let ok = check(
        &server,
        envoy_request("application/json", &[], &chat("What is Rust?")),
    )
    .await;
    assert_eq!(denied(&ok), None);
    assert_eq!(metadata(&ok, "decision"), "allow");
    assert_eq!(metadata(&ok, "request_id"), "req-42");
    assert_eq!(metadata(&ok, "bundle"), "default@0.3.1");

    let body = chat(&format!("use {AWS_KEY} to deploy"));
    let answer = check(&server, envoy_request("application/json", &[], &body)).await;
    let (status, error) = denied(&answer).expect("denied");
    assert_eq!(status, 403);
    assert_eq!(error["error"]["plugin"], "secrets", "{error}");
    assert!(
        error["error"]["rule"]
            .as_str()
            .unwrap()
            .starts_with("secret."),
        "{error}"
    );
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SECRET"),
        "{error}"
    );
    assert_eq!(metadata(&answer, "decision"), "deny");
    let m = format!("{:?}", answer.dynamic_metadata);
    assert!(
        m.contains("/messages/0/content") && m.contains("SECRET"),
        "{m}"
    );
    assert!(
        !m.contains(AWS_KEY) && !format!("{answer:?}").contains(AWS_KEY),
        "the value never leaves"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_the_policy_would_redact_is_denied_because_ext_authz_cannot_rewrite_it() {
    let server = Server::start(&[]).await;
    let body = chat("mail ana@example.com");
    let answer = check(&server, envoy_request("application/json", &[], &body)).await;
    let (status, error) = denied(&answer).expect("never passed on unredacted");
    assert_eq!(status, 403);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("EMAIL_ADDRESS") && message.contains("use ext_proc"),
        "{message}"
    );
    // The access log says what the answer was, as the audit trail does.
    assert_eq!(metadata(&answer, "decision"), "deny");
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_packed_as_bytes_and_raw_header_maps_are_read_too() {
    let server = Server::start(&[]).await;
    let mut request = envoy_request("text/plain", &[], "");
    let http = request
        .attributes
        .as_mut()
        .unwrap()
        .request
        .as_mut()
        .unwrap()
        .http
        .as_mut()
        .unwrap();
    http.raw_body = format!("key {AWS_KEY}").into_bytes();
    let headers = std::mem::take(&mut http.headers);
    http.header_map = Some(HeaderMap {
        headers: headers
            .into_iter()
            .map(|(key, v)| HeaderValue {
                key,
                raw_value: v.into_bytes(),
                ..Default::default()
            })
            .collect(),
    });
    let answer = check(&server, request).await;
    assert_eq!(denied(&answer).map(|d| d.0), Some(403));
    assert_eq!(metadata(&answer, "request_id"), "req-42");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_cannot_be_checked_is_refused_with_a_status_that_says_why() {
    let server = Server::start(&["--max-payload", "1KiB"]).await;
    let cases = [
        (
            envoy_request(
                "application/json",
                &[("x-envoy-auth-partial-body", "true")],
                "{\"messa",
            ),
            413,
            "max_request_bytes",
        ),
        (
            envoy_request(
                "application/json",
                &[("content-encoding", "gzip")],
                "\u{1f}",
            ),
            415,
            "compressed",
        ),
        (
            envoy_request("application/json", &[], "{\"messages\": [}"),
            400,
            "line 1",
        ),
        (
            envoy_request("text/plain", &[], &"x".repeat(2048)),
            413,
            "1024 bytes",
        ),
        (not_utf8(), 415, "invalid byte at offset 3"),
    ];
    for (request, want, says) in cases {
        let answer = check(&server, request).await;
        let (status, error) = denied(&answer).expect("refused");
        assert_eq!(status, want, "{error}");
        assert!(
            error["error"]["message"].as_str().unwrap().contains(says),
            "{error}"
        );
    }
    // Not text at all (an image upload): it cannot be inspected, so it is refused unless the bundle lists
    // its type under `pass_unread` (tests/all/ext_proc.rs, every content type).
    let answer = check(&server, envoy_request("image/png", &[], "\u{89}PNG")).await;
    let (status, error) = denied(&answer).expect("refused");
    assert_eq!(status, 415);
    assert!(error.to_string().contains("pass_unread"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn principal_and_destination_come_from_the_headers_envoy_forwards() {
    let bundle = bundle_denying_sandbox_agents();
    let server = Server::start(&[
        "--bundle",
        bundle.path().to_str().unwrap(),
        "--principal-header",
        "x-forwarded-client-cert",
    ])
    .await;
    let xfcc = "By=spiffe://example.org/ns/edge/sa/envoy;Hash=ab12;URI=spiffe://example.org/ns/sandbox/sa/agent";
    let body = chat("hello");
    let answer = check(
        &server,
        envoy_request(
            "application/json",
            &[("x-forwarded-client-cert", xfcc)],
            &body,
        ),
    )
    .await;
    let (status, error) = denied(&answer).expect("a sandbox agent may not reach an external model");
    assert_eq!(status, 403);
    assert!(
        metadata(&answer, "reason").contains("sandbox-stays-internal"),
        "{error}"
    );

    let internal = [
        ("x-forwarded-client-cert", xfcc),
        ("x-palisade-destination", "http://llm.internal"),
    ];
    let answer = check(&server, envoy_request("application/json", &internal, &body)).await;
    assert_eq!(denied(&answer), None, "{:?}", answer.dynamic_metadata);
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_lists_a_thousand_findings_and_counts_the_rest() {
    let server = Server::start(&[]).await;
    let text: String = (0..1_100).map(|i| format!("u{i}@example.com ")).collect();
    let answer = check(
        &server,
        envoy_request("application/json", &[], &chat(&text)),
    )
    .await;
    let (status, error) = denied(&answer).expect("redactions it cannot make");
    assert_eq!(status, 403);
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("EMAIL_ADDRESS, …"), "{message}");
    let m = answer.dynamic_metadata.as_ref().unwrap();
    let listed = match m.fields["findings"].kind.as_ref() {
        Some(Kind::ListValue(list)) => list.values.len(),
        other => panic!("findings: {other:?}"),
    };
    assert_eq!(listed, 1_000);
    // 1,100 addresses, and the classification plugin's report on what was found.
    let Some(Kind::NumberValue(dropped)) = m.fields["findings_dropped"].kind else {
        panic!("findings_dropped: {:?}", m.fields.get("findings_dropped"))
    };
    assert!((100.0..=103.0).contains(&dropped), "{dropped}");
}
