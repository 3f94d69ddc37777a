//! Envoy's ext_proc against the real server: a Rust client sends exactly the messages Envoy sends for an
//! HTTP exchange — request headers, body, trailers; response headers, body — in BUFFERED and STREAMED
//! body modes, and reads the answers Envoy would apply.

use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
use envoy_types::pb::envoy::service::ext_proc::v3::{
    body_mutation::Mutation, external_processor_client::ExternalProcessorClient,
    processing_request::Request as In, processing_response::Response as Out, CommonResponse,
    HttpBody, HttpHeaders, HttpTrailers, ImmediateResponse, ProcessingRequest, ProcessingResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::serve::Server;
use crate::util::edited_default_bundle_dir;

const AWS_KEY: &str = "AKIAZ7QW3RTY5UIO2PAS";

/// One ext_proc stream, driven message by message as Envoy drives it.
pub(crate) struct Envoy {
    tx: mpsc::Sender<ProcessingRequest>,
    answers: tonic::Streaming<envoy_types::pb::envoy::service::ext_proc::v3::ProcessingResponse>,
}

impl Envoy {
    pub(crate) async fn connect(server: &Server) -> Envoy {
        let mut client = ExternalProcessorClient::new(server.channel().await);
        let (tx, rx) = mpsc::channel(4);
        let answers = client
            .process(ReceiverStream::new(rx))
            .await
            .expect("ext_proc is served")
            .into_inner();
        Envoy { tx, answers }
    }

    /// Sends one message and returns the one answer Envoy waits for.
    pub(crate) async fn send(&mut self, request: In) -> Out {
        self.send_message(ProcessingRequest {
            request: Some(request),
            ..Default::default()
        })
        .await
    }

    /// Sends request headers with Envoy's `source.principal` attribute (the downstream certificate's
    /// identity Envoy verified), as `request_attributes: ["source.principal"]` has it do.
    pub(crate) async fn send_with_principal(&mut self, request: In, principal: &str) -> Out {
        use envoy_types::pb::google::protobuf::{value::Kind, Struct, Value};
        let value = Value {
            kind: Some(Kind::StringValue(principal.into())),
        };
        let attributes = Struct {
            fields: [("source.principal".to_string(), value)].into(),
        };
        self.send_message(ProcessingRequest {
            request: Some(request),
            attributes: [("envoy.filters.http.ext_proc".to_string(), attributes)].into(),
            ..Default::default()
        })
        .await
    }

    async fn send_message(&mut self, message: ProcessingRequest) -> Out {
        self.send_whole(message).await.response.expect("a response")
    }

    /// Sends one message; the whole answer, its dynamic metadata with it.
    async fn send_whole(&mut self, message: ProcessingRequest) -> ProcessingResponse {
        self.tx.send(message).await.unwrap();
        self.answers
            .message()
            .await
            .expect("no error")
            .expect("an answer")
    }
}

pub(crate) fn headers(pairs: &[(&str, &str)], end_of_stream: bool) -> HttpHeaders {
    HttpHeaders {
        headers: Some(HeaderMap {
            headers: pairs
                .iter()
                .map(|(k, v)| HeaderValue {
                    key: k.to_string(),
                    raw_value: v.as_bytes().to_vec(),
                    ..Default::default()
                })
                .collect(),
        }),
        end_of_stream,
        ..Default::default()
    }
}

pub(crate) fn request_headers(content_type: &str, extra: &[(&str, &str)]) -> In {
    let mut pairs = vec![
        (":method", "POST"),
        (":scheme", "https"),
        (":authority", "api.openai.com"),
        (":path", "/v1/chat/completions"),
        ("content-type", content_type),
        ("x-request-id", "req-42"),
    ];
    pairs.extend_from_slice(extra);
    In::RequestHeaders(headers(&pairs, false))
}

pub(crate) fn body(bytes: &[u8], end_of_stream: bool) -> HttpBody {
    HttpBody {
        body: bytes.to_vec(),
        end_of_stream,
        ..Default::default()
    }
}

/// The common part of a headers or body answer.
pub(crate) fn common(answer: Out) -> CommonResponse {
    match answer {
        Out::RequestHeaders(h) | Out::ResponseHeaders(h) => h.response.unwrap_or_default(),
        Out::RequestBody(b) | Out::ResponseBody(b) => b.response.unwrap_or_default(),
        other => panic!("expected a headers or body answer, got {other:?}"),
    }
}

/// The body a body answer replaces the chunk with (`None`: unchanged).
pub(crate) fn new_body(c: &CommonResponse) -> Option<Vec<u8>> {
    match c.body_mutation.as_ref()?.mutation.as_ref()? {
        Mutation::Body(b) => Some(b.clone()),
        Mutation::ClearBody(true) => Some(Vec::new()),
        other => panic!("unexpected mutation {other:?}"),
    }
}

fn set_header(c: &CommonResponse, name: &str) -> Option<String> {
    c.header_mutation
        .as_ref()?
        .set_headers
        .iter()
        .find_map(|o| {
            let h = o.header.as_ref()?;
            (h.key == name).then(|| String::from_utf8(h.raw_value.clone()).unwrap())
        })
}

fn denied(answer: Out) -> (u16, serde_json::Value) {
    let Out::ImmediateResponse(ImmediateResponse { status, body, .. }) = answer else {
        panic!("expected an immediate response, got {answer:?}")
    };
    let code = status.unwrap().code as u16;
    (
        code,
        serde_json::from_slice(&body).expect("a JSON error body"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn buffered_exchange_redacts_request_and_response_bodies_with_their_lengths() {
    let server = Server::start(&[]).await;
    let mut envoy = Envoy::connect(&server).await;

    let c = common(
        envoy
            .send(request_headers(
                "application/json",
                &[("content-length", "80"), ("accept-encoding", "gzip, br")],
            ))
            .await,
    );
    // The upstream is asked for an answer Palisade can read.
    assert_eq!(
        c.header_mutation.unwrap().remove_headers,
        vec!["accept-encoding".to_string()]
    );

    let request =
        br#"{"model":"gpt-4o","messages":[{"role":"user","content":"mail ana@example.com"}]}"#;
    let c = common(envoy.send(In::RequestBody(body(request, true))).await);
    let redacted =
        br#"{"model":"gpt-4o","messages":[{"role":"user","content":"mail [EMAIL_ADDRESS]"}]}"#;
    assert_eq!(new_body(&c).as_deref(), Some(&redacted[..]));
    assert_eq!(
        set_header(&c, "content-length"),
        Some(redacted.len().to_string())
    );

    let c = common(
        envoy
            .send(In::ResponseHeaders(headers(
                &[(":status", "200"), ("content-type", "application/json")],
                false,
            )))
            .await,
    );
    assert!(c.body_mutation.is_none());
    let response = br#"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Call +1 415 555 0132"},"finish_reason":"stop"}]}"#;
    let c = common(envoy.send(In::ResponseBody(body(response, true))).await);
    let out: serde_json::Value = serde_json::from_slice(&new_body(&c).unwrap()).unwrap();
    assert_eq!(
        out["choices"][0]["message"]["content"],
        "Call [PHONE_NUMBER]"
    );

    // Trailers, when Envoy is set to send them, are answered and left alone.
    let answer = envoy
        .send(In::ResponseTrailers(HttpTrailers::default()))
        .await;
    assert!(matches!(answer, Out::ResponseTrailers(_)), "{answer:?}");

    // A body with nothing to change is passed on as it is.
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers("application/json", &[])).await;
    let c = common(
        envoy
            .send(In::RequestBody(body(
                br#"{"messages":[{"role":"user","content":"hello"}]}"#,
                true,
            )))
            .await,
    );
    assert!(c.body_mutation.is_none() && c.header_mutation.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_request_gets_a_403_naming_the_rule_and_the_stream_ends() {
    let server = Server::start(&[]).await;
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers("application/json", &[])).await;
    let request =
        format!(r#"{{"messages":[{{"role":"user","content":"deploy with {AWS_KEY}"}}]}}"#);
    let (status, error) = denied(
        envoy
            .send(In::RequestBody(body(request.as_bytes(), true)))
            .await,
    );
    assert_eq!(status, 403);
    assert_eq!(error["error"]["type"], "palisade_denied");
    assert_eq!(error["error"]["plugin"], "secrets");
    assert!(error["error"]["rule"]
        .as_str()
        .unwrap()
        .starts_with("secret.aws"));
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("SECRET") && !message.contains(AWS_KEY),
        "{message}"
    );
    // Envoy stops the exchange there; so does the processor.
    assert!(envoy.answers.message().await.unwrap().is_none());
}

/// What a leg decided, as the dynamic metadata of `answer` has it (namespace
/// `envoy.filters.http.ext_proc`, then `input` or `output`), in JSON.
fn decided(answer: &ProcessingResponse, leg: &str) -> serde_json::Value {
    use envoy_types::pb::google::protobuf::{value::Kind, Value};
    fn json(v: &Value) -> serde_json::Value {
        match v.kind.as_ref() {
            Some(Kind::StringValue(s)) => s.as_str().into(),
            Some(Kind::NumberValue(n)) => (*n).into(),
            Some(Kind::BoolValue(b)) => (*b).into(),
            Some(Kind::StructValue(s)) => (s.fields.iter())
                .map(|(k, v)| (k.clone(), json(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            Some(Kind::ListValue(l)) => l.values.iter().map(json).collect(),
            Some(Kind::NullValue(_)) | None => serde_json::Value::Null,
        }
    }
    let metadata = answer.dynamic_metadata.as_ref().expect("dynamic metadata");
    let namespace = &metadata.fields["envoy.filters.http.ext_proc"];
    json(namespace)[leg].clone()
}

fn message(request: In) -> ProcessingRequest {
    ProcessingRequest {
        request: Some(request),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_legs_decision_is_dynamic_metadata_for_envoys_access_log_never_a_value() {
    let server = Server::start(&[]).await;
    let mut envoy = Envoy::connect(&server).await;
    let answer = envoy
        .send_whole(message(request_headers("application/json", &[])))
        .await;
    assert_eq!(answer.dynamic_metadata, None, "nothing is decided yet");
    let request = br#"{"messages":[{"role":"user","content":"mail ana@example.com"}]}"#;
    let answer = envoy
        .send_whole(message(In::RequestBody(body(request, true))))
        .await;
    let input = decided(&answer, "input");
    let email = serde_json::json!({"plugin": "pii", "rule": "pii.email", "category": "EMAIL_ADDRESS",
                                   "action": "redact", "location": "/messages/0/content"});
    assert_eq!(input["findings"][0], email, "{input}");
    let mut summary = input.clone();
    summary.as_object_mut().unwrap().remove("findings");
    assert_eq!(
        summary,
        serde_json::json!({"decision": "modify", "bundle": "default@0.3.1", "request_id": "req-42", "reason": ""})
    );
    assert!(!format!("{:?}", answer.dynamic_metadata).contains("ana@"));

    envoy
        .send(In::ResponseHeaders(headers(
            &[(":status", "200"), ("content-type", "application/json")],
            false,
        )))
        .await;
    let response = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"done"}}]}"#;
    let answer = envoy
        .send_whole(message(In::ResponseBody(body(response, true))))
        .await;
    assert_eq!(decided(&answer, "output")["decision"], "allow");
    assert_eq!(
        decided(&answer, "input"),
        serde_json::Value::Null,
        "each leg once"
    );

    // A deny's immediate response carries it too, with the reason and never the secret.
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers("application/json", &[])).await;
    let request =
        format!(r#"{{"messages":[{{"role":"user","content":"deploy with {AWS_KEY}"}}]}}"#);
    let answer = envoy
        .send_whole(message(In::RequestBody(body(request.as_bytes(), true))))
        .await;
    let input = decided(&answer, "input");
    assert_eq!(input["decision"], "deny");
    assert_eq!(input["findings"][0]["plugin"], "secrets");
    let reason = input["reason"].as_str().unwrap();
    assert!(
        reason.contains("SECRET") && !reason.contains(AWS_KEY),
        "{reason}"
    );
    assert!(!format!("{:?}", answer.dynamic_metadata).contains(AWS_KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_sse_response_is_released_chunk_by_chunk_without_leaks() {
    let server = Server::start(&["--stream-hold-back", "32B"]).await;
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers("application/json", &[])).await;
    envoy
        .send(In::RequestBody(body(
            br#"{"stream":true,"messages":[{"role":"user","content":"contact?"}]}"#,
            true,
        )))
        .await;
    let c = common(
        envoy
            .send(In::ResponseHeaders(headers(
                &[(":status", "200"), ("content-type", "text/event-stream")],
                false,
            )))
            .await,
    );
    assert_eq!(
        c.header_mutation.unwrap().remove_headers,
        vec!["content-length".to_string()]
    );

    let mut sse = String::new();
    for piece in [
        "The admin is ",
        "ana.sil",
        "va@exam",
        "ple.com",
        ", ask them for access to the reports.",
    ] {
        let event = serde_json::json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        sse.push_str(&format!("data: {event}\n\n"));
    }
    sse.push_str("data: [DONE]\n\n");
    let chunks: Vec<&[u8]> = sse.as_bytes().chunks(40).collect();
    let mut released = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let c = common(envoy.send(In::ResponseBody(body(chunk, last))).await);
        // Every chunk is replaced by what may be released now, possibly nothing.
        released.extend(new_body(&c).expect("each chunk is replaced"));
    }
    let released = String::from_utf8(released).unwrap();
    assert!(!released.contains("ana.sil") && !released.contains("example.com"));
    let content: String = released
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(
        content,
        "The admin is [EMAIL_ADDRESS], ask them for access to the reports."
    );
    assert!(released.ends_with("data: [DONE]\n\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compressed_answer_is_refused_not_passed_unchecked() {
    let server = Server::start(&[]).await;
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers("application/json", &[])).await;
    envoy
        .send(In::RequestBody(body(br#"{"messages":[]}"#, true)))
        .await;
    envoy
        .send(In::ResponseHeaders(headers(
            &[
                (":status", "200"),
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            false,
        )))
        .await;
    let (status, error) = denied(
        envoy
            .send(In::ResponseBody(body(b"\x1f\x8b\x08\x00", true)))
            .await,
    );
    assert_eq!(status, 502);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("content-encoding"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_request_body_is_held_and_checked_whole() {
    let server = Server::start(&[]).await;
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers("text/plain", &[])).await;
    let c = common(
        envoy
            .send(In::RequestBody(body(b"please write to ana@exa", false)))
            .await,
    );
    assert_eq!(new_body(&c), Some(Vec::new()), "held: the chunk is cleared");
    let c = common(
        envoy
            .send(In::RequestBody(body(b"mple.com today", true)))
            .await,
    );
    assert_eq!(
        new_body(&c).as_deref(),
        Some(&b"please write to [EMAIL_ADDRESS] today"[..])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_principal_is_envoys_attribute_else_a_configured_header_never_an_unasked_one() {
    let dir = edited_default_bundle_dir(|manifest| {
        manifest
            + r#"
[[plugin.config.rules]]
name = "sandbox-agents-stay-internal"
effect = "deny"
principals = ["spiffe://example.org/ns/sandbox/*"]
unless_tags = ["internal"]
reason = "sandbox agents may only call internal models"
"#
    });
    let hello = br#"{"messages":[{"role":"user","content":"hello"}]}"#;
    // Envoy's own element comes last; a quoted Subject with commas and semicolons splits nothing.
    let xfcc = r#"By=spiffe://example.org/edge;URI=spiffe://example.org/ns/prod/sa/earlier,By=spiffe://example.org/envoy;Hash=1f2e;Subject="CN=bot, O=Example; Inc";URI=spiffe://example.org/ns/sandbox/sa/bot"#;
    let sandboxed = |decided: Out| {
        let (status, error) = denied(decided);
        assert_eq!(status, 403);
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("sandbox agents may only call internal models"),
            "{error}"
        );
    };

    // Configured to read x-forwarded-client-cert: the downstream certificate's URI SAN.
    let server = Server::start(&[
        "--bundle",
        dir.path().to_str().unwrap(),
        "--principal-header",
        "X-Forwarded-Client-Cert",
    ])
    .await;
    let mut envoy = Envoy::connect(&server).await;
    envoy
        .send(request_headers(
            "application/json",
            &[("x-forwarded-client-cert", xfcc)],
        ))
        .await;
    sandboxed(envoy.send(In::RequestBody(body(hello, true))).await);

    // The same agent calling an internal model (the gateway names the real destination) is let through.
    let mut envoy = Envoy::connect(&server).await;
    envoy
        .send(request_headers(
            "application/json",
            &[
                ("x-forwarded-client-cert", xfcc),
                ("x-palisade-destination", "https://llm.internal"),
            ],
        ))
        .await;
    let c = common(envoy.send(In::RequestBody(body(hello, true))).await);
    assert!(c.body_mutation.is_none());

    // Envoy's verified attribute wins over the header.
    let mut envoy = Envoy::connect(&server).await;
    envoy
        .send_with_principal(
            request_headers("application/json", &[("x-forwarded-client-cert", xfcc)]),
            "spiffe://example.org/ns/prod/sa/bot",
        )
        .await;
    let c = common(envoy.send(In::RequestBody(body(hello, true))).await);
    assert!(c.body_mutation.is_none());
    drop(server);

    // Not configured: the header is not read (a client could have sent it), the attribute is.
    let server = Server::start(&["--bundle", dir.path().to_str().unwrap()]).await;
    let mut envoy = Envoy::connect(&server).await;
    envoy
        .send(request_headers(
            "application/json",
            &[("x-forwarded-client-cert", xfcc)],
        ))
        .await;
    let c = common(envoy.send(In::RequestBody(body(hello, true))).await);
    assert!(c.body_mutation.is_none());
    let mut envoy = Envoy::connect(&server).await;
    envoy
        .send_with_principal(
            request_headers("application/json", &[]),
            "spiffe://example.org/ns/sandbox/sa/bot",
        )
        .await;
    sandboxed(envoy.send(In::RequestBody(body(hello, true))).await);
}

/// Twenty request content types, each body carrying a secret: every one is read (and the secret denied) or
/// refused as unreadable, on ext_proc and on ext_authz; only the types the bundle lists under
/// `pass_unread` pass unread, and each such pass is an audit event with its reason.
#[tokio::test(flavor = "multi_thread")]
async fn request_bodies_of_every_content_type_are_read_refused_or_passed_as_the_bundle_says() {
    const READ: u16 = 403;
    const REFUSED: u16 = 415;
    const PASSED: u16 = 0;
    let cases = [
        ("", READ),
        ("application/json", READ),
        ("application/json; charset=utf-8", READ),
        ("APPLICATION/JSON", READ),
        ("application/vnd.api+json", READ),
        ("text/plain", READ),
        ("text/plain; charset=utf-8", READ),
        ("text/markdown", READ),
        ("text/html", READ),
        ("application/xml", READ),
        ("application/x-www-form-urlencoded", READ),
        ("text/event-stream", REFUSED),
        ("application/octet-stream", REFUSED),
        ("multipart/form-data; boundary=xyz", READ),
        ("application/x-ndjson", READ),
        ("image/png", REFUSED),
        ("application/pdf", REFUSED),
        ("json", REFUSED),
        ("audio/mpeg", PASSED),
        ("application/vnd.acme.blob; v=2", PASSED),
    ];
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let bundle = edited_default_bundle_dir(|m| {
        m.replacen(
            "[bundle]\n",
            "[bundle]\npass_unread = [\"audio/*\", \"application/vnd.acme.blob\"]\n",
            1,
        )
    });
    let mut server = Server::start(&[
        "--bundle",
        bundle.path().to_str().unwrap(),
        "--audit",
        audit.to_str().unwrap(),
    ])
    .await;
    let json = format!("{{\"prompt\": \"use the key {AWS_KEY}\"}}");
    // A form's text field, as a browser or `curl -F` sends it.
    let form = format!(
        "--xyz\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nuse the key {AWS_KEY}\r\n--xyz--\r\n"
    );
    for (content_type, want) in cases {
        let body = if content_type.starts_with("multipart/") {
            &form
        } else {
            &json
        };
        let mut envoy = Envoy::connect(&server).await;
        envoy.send(request_headers(content_type, &[])).await;
        let answer = envoy
            .send(In::RequestBody(super::ext_proc::body(
                body.as_bytes(),
                true,
            )))
            .await;
        let got = match answer {
            Out::ImmediateResponse(_) => denied(answer).0,
            other => {
                assert_eq!(
                    new_body(&common(other)),
                    None,
                    "{content_type}: passed changed"
                );
                PASSED
            }
        };
        assert_eq!(got, want, "ext_proc, content-type {content_type:?}");

        let answer = crate::ext_authz::check(
            &server,
            crate::ext_authz::envoy_request(content_type, &[], body),
        )
        .await;
        let got = crate::ext_authz::denied(&answer).map_or(PASSED, |(status, _)| status as u16);
        assert_eq!(got, want, "ext_authz, content-type {content_type:?}");
    }
    server.terminate();
    let events = crate::audit::events(&audit);
    // Decided exchanges are events of their kind (`prompt` here); refusals are `refused`.
    let reasons = |transport: &str, refusals: bool| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["transport"] == transport && (e["event"] == "refused") == refusals)
            .map(|e| {
                e["reason"]
                    .as_str()
                    .or(e["message"].as_str())
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    for transport in ["ext_proc", "ext_authz"] {
        let passed: Vec<String> = reasons(transport, false)
            .into_iter()
            .filter(|r| r.contains("passed unread"))
            .collect();
        assert_eq!(passed.len(), 2, "{transport}: {passed:?}");
        assert!(
            passed[0].contains("audio/mpeg") && passed[0].contains("\"audio/*\""),
            "{passed:?}"
        );
        let refused = reasons(transport, true);
        assert_eq!(refused.len(), 5, "{transport}: {refused:?}");
        assert!(
            refused.iter().all(|r| r.contains("pass_unread")),
            "{refused:?}"
        );
        // Each refusal is audited with the id of the request it refused.
        let mut refusals =
            (events.iter()).filter(|e| e["transport"] == transport && e["event"] == "refused");
        assert!(
            refusals.all(|e| e["request_id"] == "req-42"),
            "{transport}: {events:?}"
        );
    }
}

/// A streamed answer the policy denies ends with a 403 that names the plugin and rule, as a whole body's
/// deny does (and as ext_authz does for the same finding).
#[tokio::test(flavor = "multi_thread")]
async fn a_denied_streamed_answer_names_the_rule() {
    let bundle = edited_default_bundle_dir(|m| {
        m.replacen(
            r#"SECRET = { input = "deny", output = "redact" }"#,
            r#"SECRET = "deny""#,
            1,
        )
    });
    let server = Server::start(&["--bundle", bundle.path().to_str().unwrap()]).await;
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers("application/json", &[])).await;
    envoy
        .send(In::RequestBody(body(br#"{"messages":[]}"#, true)))
        .await;
    envoy
        .send(In::ResponseHeaders(headers(
            &[(":status", "200"), ("content-type", "text/event-stream")],
            false,
        )))
        .await;
    let event = format!(
        "data: {}\n\n",
        serde_json::json!({"choices": [{"index": 0, "delta": {"content": format!("the key is {AWS_KEY}")}, "finish_reason": "stop"}]})
    );
    let answer = envoy
        .send(In::ResponseBody(body(event.as_bytes(), true)))
        .await;
    let (status, error) = denied(answer);
    assert_eq!(status, 403);
    assert_eq!(error["error"]["plugin"], "secrets", "{error}");
    assert_eq!(error["error"]["rule"], "secret.aws-access-token", "{error}");
}

/// A form is read part by part; one with a file that is not text cannot be, and is refused (unless the
/// bundle lets such bodies pass unread), never passed on with its text fields unread.
#[tokio::test(flavor = "multi_thread")]
async fn a_form_with_a_binary_file_is_refused_and_a_text_form_redacted_in_place() {
    let server = Server::start(&[]).await;
    let content_type = "multipart/form-data; boundary=----f0rm";
    let part = |headers: &str, content: &[u8]| {
        let mut p = format!("------f0rm\r\n{headers}\r\n\r\n").into_bytes();
        p.extend_from_slice(content);
        p.extend_from_slice(b"\r\n");
        p
    };
    let field = part(
        "Content-Disposition: form-data; name=\"note\"",
        b"mail ana@example.com",
    );
    let mut binary = field.clone();
    binary.extend(part(
        "Content-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Type: image/png",
        b"\x89PNG\r\n\x1a\n\x00\xff",
    ));
    binary.extend_from_slice(b"------f0rm--\r\n");
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers(content_type, &[])).await;
    let (status, error) = denied(envoy.send(In::RequestBody(body(&binary, true))).await);
    assert_eq!(status, 415);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pass_unread"),
        "{error}"
    );

    let mut text = field;
    text.extend_from_slice(b"------f0rm--\r\n");
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers(content_type, &[])).await;
    let c = common(envoy.send(In::RequestBody(body(&text, true))).await);
    let redacted = String::from_utf8(new_body(&c).unwrap()).unwrap();
    assert_eq!(
        redacted,
        "------f0rm\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nmail [EMAIL_ADDRESS]\r\n------f0rm--\r\n"
    );
}

/// An answer Palisade cannot read passes only if it is an image, audio or video, or the bundle lists its
/// type; an answer in a binary format it does not read (protobuf, an octet stream) is refused, not passed.
#[tokio::test(flavor = "multi_thread")]
async fn answers_that_cannot_be_read_pass_only_when_they_are_media_or_listed() {
    let bundle = edited_default_bundle_dir(|m| {
        m.replacen(
            "[bundle]\n",
            "[bundle]\npass_unread = [\"application/vnd.acme.blob\"]\n",
            1,
        )
    });
    let server = Server::start(&["--bundle", bundle.path().to_str().unwrap()]).await;
    for (content_type, passes) in [
        ("image/png", true),
        ("audio/mpeg", true),
        ("video/mp4", true),
        ("application/vnd.acme.blob", true),
        ("application/x-protobuf", false),
        ("application/octet-stream", false),
    ] {
        let mut envoy = Envoy::connect(&server).await;
        envoy.send(request_headers("application/json", &[])).await;
        envoy
            .send(In::ResponseHeaders(headers(
                &[(":status", "200"), ("content-type", content_type)],
                false,
            )))
            .await;
        let answer = envoy
            .send(In::ResponseBody(body(
                b"\x00\x00\x01 ana@example.com",
                true,
            )))
            .await;
        if passes {
            assert_eq!(
                new_body(&common(answer)),
                None,
                "{content_type} passes as it is"
            );
        } else {
            let (status, error) = denied(answer);
            assert_eq!(status, 502, "{content_type}");
            assert!(
                error["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("pass_unread"),
                "{error}"
            );
        }
    }
}
