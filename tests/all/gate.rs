//! One gate for every transport: a call refused instead of decided — whichever transport carried it, whatever
//! was wrong with it — is exactly one audit event and one metric increment, never none and never two, with
//! the same code on every transport. Refusals for an identity claimed without the right to (PermissionDenied)
//! are counted and audited in `tls.rs`, which has the certificates.

use std::collections::HashMap;
use std::time::Duration;

use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as In;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response as Out;
use envoy_types::pb::envoy::service::ext_proc::v3::HttpHeaders;
use palisade::server::proto::{check_request, CheckRequest, CheckStreamRequest};

use crate::ext_authz::{envoy_request, AuthzAnswer};
use crate::ext_proc::{body, request_headers, Envoy};
use crate::serve::{text, Server};
use crate::util::{bundle_dir, testbed, HEADER};

/// The counters a refusal or a decision moves: errors by code, and decisions in all.
async fn counters(server: &Server) -> (HashMap<String, u64>, u64) {
    let page = server.metrics().await;
    let mut errors = HashMap::new();
    let mut decided = 0;
    for line in page.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        if let Some(code) = series
            .strip_prefix("palisade_check_errors_total{code=\"")
            .and_then(|rest| rest.strip_suffix("\"}"))
        {
            errors.insert(code.to_string(), value.parse().unwrap());
        } else if series.starts_with("palisade_checks_total{") {
            decided += value.parse::<u64>().unwrap();
        }
    }
    (errors, decided)
}

/// The calls refused so far, in order, and what each should have been recorded as.
struct Table<'a> {
    server: &'a Server,
    expected: Vec<(&'static str, &'static str, String)>,
}

impl Table<'_> {
    /// Runs `call`, which must be refused with `code` (the gRPC code's name) on `transport`, and checks that
    /// the refusal moved the error counter for its code by one and nothing else.
    async fn refused(
        &mut self,
        transport: &'static str,
        code: &'static str,
        what: &str,
        call: impl std::future::Future<Output = String>,
    ) {
        let (errors, decided) = counters(self.server).await;
        let answered = call.await;
        assert_eq!(answered, code, "{transport}, {what}: answered");
        // A caller that went away is not waited for: its refusal is recorded when the server notices.
        let mut after = counters(self.server).await;
        for _ in 0..100 {
            if after.0 != errors {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            after = counters(self.server).await;
        }
        let (errors_after, decided_after) = after;
        let moved: Vec<(&String, u64)> = errors_after
            .iter()
            .map(|(c, n)| (c, n - errors.get(c).copied().unwrap_or(0)))
            .filter(|&(_, d)| d > 0)
            .collect();
        assert_eq!(
            moved,
            [(&code.to_string(), 1)],
            "{transport}, {what}: counted once, under its code"
        );
        assert_eq!(
            decided_after, decided,
            "{transport}, {what}: not a decision"
        );
        self.expected.push((transport, code, what.to_string()));
    }
}

fn code_name(code: tonic::Code) -> String {
    format!("{code:?}")
}

/// What an HTTP status stands for here: the gate's statuses for its codes.
fn http_code(status: u16) -> String {
    match status {
        400 | 415 => "InvalidArgument",
        403 => "PermissionDenied",
        408 => "DeadlineExceeded",
        413 => "ResourceExhausted",
        502 | 503 => "Unavailable",
        504 => "DeadlineExceeded",
        other => panic!("unexpected status {other}"),
    }
    .to_string()
}

async fn grpc(server: &Server, request: CheckRequest, timeout: Option<Duration>) -> String {
    let mut request = tonic::Request::new(request);
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    let status = server.client().await.check(request).await.unwrap_err();
    code_name(status.code())
}

async fn grpc_stream(
    server: &Server,
    messages: Vec<CheckStreamRequest>,
    timeout: Option<Duration>,
) -> String {
    let mut request = tonic::Request::new(tokio_stream::iter(messages));
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    let status = match server.client().await.check_stream(request).await {
        Err(status) => status,
        Ok(answers) => {
            let mut answers = answers.into_inner();
            loop {
                match answers.message().await {
                    Err(status) => break status,
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("the stream ended without a refusal"),
                }
            }
        }
    };
    code_name(status.code())
}

async fn http(server: &Server, body: &str, content_type: &str, timeout: Option<&str>) -> String {
    let addr = server.http_addr.expect("started with --http");
    let mut request = reqwest::Client::new()
        .post(format!("http://{addr}/v1/check"))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(timeout) = timeout {
        request = request.header("x-palisade-timeout", timeout);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let error: serde_json::Value = answer.json().await.unwrap();
    // The body names the same code the status stands for.
    assert_eq!(error["code"].as_i64().map(|_| ()), Some(()), "{error}");
    let code = http_code(status);
    assert_eq!(error["status"], to_screaming(&code), "{error}");
    code
}

/// An HTTP request whose body never finishes arriving: the server stops waiting at the caller's deadline.
async fn http_slow_body(server: &Server) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.http_addr.expect("started with --http");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = "POST /v1/check HTTP/1.1\r\nhost: palisade\r\ncontent-type: application/json\r\n\
                content-length: 100\r\nx-palisade-timeout: 300ms\r\n\r\n{\"text\": ";
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "the connection closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let status = String::from_utf8_lossy(&answer[9..12]).parse().unwrap();
    http_code(status)
}

/// A CheckStream whose caller goes away after its first chunk: its connection is cut (through a relay
/// this test holds), as when a gateway's pod dies mid-stream.
async fn grpc_stream_abandoned(server: &Server) -> String {
    let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_addr = relay.local_addr().unwrap();
    let upstream = server.addr();
    let relaying = tokio::spawn(async move {
        let (mut client, _) = relay.accept().await.unwrap();
        let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    });
    let channel = tonic::transport::Channel::from_shared(format!("http://{relay_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let (send, receive) = tokio::sync::mpsc::channel(1);
    send.send(stream_message("text/plain", b"hello"))
        .await
        .unwrap();
    let mut answers = palisade::server::proto::guardrail_client::GuardrailClient::new(channel)
        .check_stream(tokio_stream::wrappers::ReceiverStream::new(receive))
        .await
        .unwrap()
        .into_inner();
    // The first chunk is taken (held back, so nothing comes out yet); then the connection is gone.
    answers.message().await.unwrap();
    relaying.abort();
    drop((send, answers));
    "Cancelled".into()
}

fn to_screaming(code: &str) -> String {
    let mut out = String::new();
    for (i, c) in code.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// One ext_proc exchange: the request's headers, then `then` (the messages Envoy sends next); the status
/// of the immediate response that ends it.
async fn ext_proc(
    server: &Server,
    content_type: &str,
    extra: &[(&str, &str)],
    then: Vec<In>,
) -> String {
    let mut envoy = Envoy::connect(server).await;
    envoy.send(request_headers(content_type, extra)).await;
    let mut last = None;
    for message in then {
        last = Some(envoy.send(message).await);
    }
    match last {
        Some(Out::ImmediateResponse(r)) => http_code(r.status.unwrap().code as u16),
        other => panic!("expected an immediate response, got {other:?}"),
    }
}

async fn ext_authz(
    server: &Server,
    request: envoy_types::ext_authz::v3::pb::CheckRequest,
    timeout: Option<Duration>,
) -> String {
    match crate::ext_authz::try_check(server, request, timeout).await {
        AuthzAnswer::Denied(status) => http_code(status),
        AuthzAnswer::Failed(code) => code_name(code),
        AuthzAnswer::Allowed => panic!("allowed"),
    }
}

fn stream_message(content_type: &str, chunk: &[u8]) -> CheckStreamRequest {
    CheckStreamRequest {
        content_type: content_type.into(),
        chunk: chunk.to_vec(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_on_every_transport_is_one_audit_event_and_one_count() {
    // A plugin that never answers: a call that reaches the chain runs into its deadline. Every other call
    // here is refused before the chain runs.
    let manifest = format!(
        "{HEADER}{}",
        testbed("slow", r#"{ mode = "loop" }"#, "budget = \"2s\"")
    );
    let dir = bundle_dir(&manifest);
    let audit = dir.path().join("audit.jsonl");
    let mut server = Server::start(&[
        "--bundle",
        dir.path().to_str().unwrap(),
        "--audit",
        audit.to_str().unwrap(),
        "--metrics",
        "127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--max-payload",
        "1024",
    ])
    .await;
    let s = &server;
    let mut table = Table {
        server: s,
        expected: Vec::new(),
    };
    let big = "x".repeat(2048);
    let big_json = format!("{{\"prompt\": \"{big}\"}}");
    let late = Some(Duration::from_millis(300));
    let raw = |bytes: &[u8], content_type: &str| CheckRequest {
        content: Some(check_request::Content::Body(bytes.to_vec())),
        content_type: content_type.into(),
        ..Default::default()
    };

    // gRPC Check.
    let t = "grpc";
    let invalid = "InvalidArgument";
    table
        .refused(
            t,
            invalid,
            "no content",
            grpc(s, CheckRequest::default(), None),
        )
        .await;
    let unknown_direction = CheckRequest {
        direction: 7,
        ..text("x")
    };
    table
        .refused(
            t,
            invalid,
            "unknown direction",
            grpc(s, unknown_direction, None),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "unread content type",
            grpc(s, raw(b"x", "image/png"), None),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "not UTF-8",
            grpc(s, raw(b"ok \xff", "text/plain"), None),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "malformed JSON",
            grpc(s, raw(b"{\"a\": [", "application/json"), None),
        )
        .await;
    table
        .refused(
            t,
            "ResourceExhausted",
            "too large",
            grpc(s, text(&big), None),
        )
        .await;

    // gRPC CheckStream.
    let t = "grpc-stream";
    table
        .refused(
            t,
            invalid,
            "unread content type",
            grpc_stream(s, vec![stream_message("image/png", b"x")], None),
        )
        .await;
    let unknown_direction = CheckStreamRequest {
        direction: 9,
        ..stream_message("text/plain", b"x")
    };
    table
        .refused(
            t,
            invalid,
            "unknown direction",
            grpc_stream(s, vec![unknown_direction], None),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "not UTF-8",
            grpc_stream(
                s,
                vec![stream_message("text/plain", b"ok \xff\xfe\xfd\xfc")],
                None,
            ),
        )
        .await;
    let over = vec![stream_message("text/plain", big.as_bytes())];
    table
        .refused(
            t,
            "ResourceExhausted",
            "too large",
            grpc_stream(s, over, None),
        )
        .await;

    table
        .refused(t, "Cancelled", "caller gone", grpc_stream_abandoned(s))
        .await;

    // HTTP.
    let t = "http";
    table
        .refused(t, invalid, "not JSON", http(s, "x", "text/plain", None))
        .await;
    table
        .refused(
            t,
            invalid,
            "not a CheckRequest",
            http(s, "{\"text\": 1}", "application/json", None),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "bad timeout",
            http(s, "{\"text\": \"x\"}", "application/json", Some("soon")),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "no content",
            http(s, "{}", "application/json", None),
        )
        .await;
    let not_utf8 = serde_json::json!({"body": "b2sg/w==", "contentType": "text/plain"}).to_string();
    table
        .refused(
            t,
            invalid,
            "not UTF-8",
            http(s, &not_utf8, "application/json", None),
        )
        .await;
    let over = serde_json::json!({ "text": big }).to_string();
    table
        .refused(
            t,
            "ResourceExhausted",
            "too large",
            http(s, &over, "application/json", None),
        )
        .await;

    table
        .refused(t, "DeadlineExceeded", "slow body", http_slow_body(s))
        .await;

    // Envoy's ext_proc.
    let t = "ext_proc";
    let whole = |bytes: &[u8]| vec![In::RequestBody(body(bytes, true))];
    table
        .refused(
            t,
            "ResourceExhausted",
            "too large",
            ext_proc(s, "application/json", &[], whole(big_json.as_bytes())),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "not UTF-8",
            ext_proc(s, "text/plain", &[], whole(b"ok \xff")),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "malformed JSON",
            ext_proc(s, "application/json", &[], whole(b"{\"a\": [")),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "compressed",
            ext_proc(
                s,
                "application/json",
                &[("content-encoding", "gzip")],
                whole(b"x"),
            ),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "unread content type",
            ext_proc(s, "image/png", &[], whole(b"x")),
        )
        .await;
    let compressed_answer = vec![
        In::ResponseHeaders(HttpHeaders {
            headers: Some(envoy_types::pb::envoy::config::core::v3::HeaderMap {
                headers: [
                    ("content-type", "application/json"),
                    ("content-encoding", "br"),
                ]
                .iter()
                .map(
                    |(k, v)| envoy_types::pb::envoy::config::core::v3::HeaderValue {
                        key: k.to_string(),
                        raw_value: v.as_bytes().to_vec(),
                        ..Default::default()
                    },
                )
                .collect(),
            }),
            ..Default::default()
        }),
        In::ResponseBody(body(b"\x1b\x00", true)),
    ];
    table
        .refused(
            t,
            "Unavailable",
            "compressed answer",
            ext_proc(s, "application/json", &[], compressed_answer),
        )
        .await;

    // Envoy's ext_authz.
    let t = "ext_authz";
    let no_attributes = envoy_types::ext_authz::v3::pb::CheckRequest::default();
    table
        .refused(
            t,
            invalid,
            "no HTTP attributes",
            ext_authz(s, no_attributes, None),
        )
        .await;
    let partial = envoy_request(
        "application/json",
        &[("x-envoy-auth-partial-body", "true")],
        "{}",
    );
    table
        .refused(
            t,
            "ResourceExhausted",
            "partial body",
            ext_authz(s, partial, None),
        )
        .await;
    table
        .refused(
            t,
            "ResourceExhausted",
            "too large",
            ext_authz(s, envoy_request("application/json", &[], &big_json), None),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "malformed JSON",
            ext_authz(s, envoy_request("application/json", &[], "{\"a\": ["), None),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "compressed",
            ext_authz(
                s,
                envoy_request("application/json", &[("content-encoding", "gzip")], "x"),
                None,
            ),
        )
        .await;
    table
        .refused(
            t,
            invalid,
            "unread content type",
            ext_authz(s, envoy_request("image/png", &[], "x"), None),
        )
        .await;

    // Deadlines last: the plugin that never answers holds a worker until its budget is up.
    let deadline = "DeadlineExceeded";
    table
        .refused("grpc", deadline, "deadline", grpc(s, text("x"), late))
        .await;
    table
        .refused(
            "grpc-stream",
            deadline,
            "deadline",
            grpc_stream(s, vec![stream_message("text/plain", b"x")], late),
        )
        .await;
    table
        .refused(
            "http",
            deadline,
            "deadline",
            http(s, "{\"text\": \"x\"}", "application/json", Some("300ms")),
        )
        .await;
    table
        .refused(
            "ext_authz",
            deadline,
            "deadline",
            ext_authz(s, envoy_request("text/plain", &[], "x"), late),
        )
        .await;

    let expected = std::mem::take(&mut table.expected);
    server.terminate();
    let events = crate::audit::events(&audit);
    let recorded: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["event"], "refused", "only refusals here: {e}");
            (
                e["transport"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(t, c, _)| (t.to_string(), c.to_string()))
        .collect();
    assert_eq!(
        recorded, want,
        "one audit event per refusal, in order: {expected:?}"
    );
}
