//! `serve --audit`: one JSON line per exchange, whatever carried it, with who, what kind, where, the
//! decision and each finding's plugin, rule, category and action — and never a matched value.

use std::collections::BTreeMap;

use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as In;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request::RequestBody;
use palisade::server::proto::{check_request, CheckRequest, CheckStreamRequest, Direction};
use serde_json::Value;

use crate::serve::{text, Server};

const EMAIL: &str = "ana.silva@example.com";
const AWS_KEY: &str = "AKIAZ7QW3RTY5UIO2PAS";
const QUERY_TOKEN: &str = "ghp_R4nd0mT0k3nV4lu3F0rTh3Qu3ryStr1ngX9";
/// What [`planted_traffic`] plants: none of it may reach the audit trail or the log.
pub(crate) const PLANTED: [&str; 5] = [EMAIL, "ana.silva", "AKIAZ7QW3RTY", AWS_KEY, QUERY_TOKEN];

/// The audit events written to `path`, one per line.
pub(crate) fn events(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// One exchange of each kind on every transport, each carrying planted values: a prompt over gRPC
/// (redacted), a tool call (denied), a model's answer over the HTTP API, a streamed answer, Envoy ext_authz
/// and ext_proc with a credential in the query string, and a call refused for bad input. The server needs
/// `--http`.
pub(crate) async fn planted_traffic(server: &Server) {
    let mut client = server.client().await;

    // A prompt to a model, with an email: redacted.
    client
        .check(CheckRequest {
            principal: "spiffe://corp/ns/apps/sa/support-bot".into(),
            destination: "api.openai.com".into(),
            request_id: "prompt-1".into(),
            ..text(&format!("write to {EMAIL}"))
        })
        .await
        .unwrap();
    // A tool call carrying a credential: denied.
    client
        .check(CheckRequest {
            tool: "shell".into(),
            request_id: "tool-1".into(),
            ..text(&format!("export AWS_ACCESS_KEY_ID={AWS_KEY}"))
        })
        .await
        .unwrap();
    // A model's answer, over the HTTP API.
    let answer = reqwest::Client::new()
        .post(format!("http://{}/v1/check", server.http_addr.unwrap()))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"text": format!("reach me at {EMAIL}"), "direction": "DIRECTION_OUTPUT", "request_id": "http-1"})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // A streamed answer.
    let first = CheckStreamRequest {
        chunk: format!("the address is {EMAIL}.").into_bytes(),
        content_type: "text/plain".into(),
        direction: Direction::Output.into(),
        request_id: "stream-1".into(),
        ..Default::default()
    };
    let mut answers = client
        .check_stream(tokio_stream::iter([first]))
        .await
        .unwrap()
        .into_inner();
    while answers.message().await.unwrap().is_some() {}
    // Envoy ext_authz, with a chat body, and a credential in the query string that must not become part
    // of the destination (the audit trail, plugins' identifiers).
    let mut request = crate::ext_authz::envoy_request(
        "application/json",
        &[],
        &crate::ext_authz::chat(&format!("mail {EMAIL}")),
    );
    let http = (request.attributes.as_mut().unwrap().request.as_mut())
        .and_then(|r| r.http.as_mut())
        .unwrap();
    http.path = format!("/v1/chat/completions?api_key={QUERY_TOKEN}");
    crate::ext_authz::check(server, request).await;
    // Envoy ext_proc, buffering a chat request body.
    let mut envoy = crate::ext_proc::Envoy::connect(server).await;
    let with_query = format!("/v1/chat/completions?api_key={QUERY_TOKEN}#frag");
    envoy
        .send(In::RequestHeaders(crate::ext_proc::headers(
            &[
                (":method", "POST"),
                (":scheme", "https"),
                (":authority", "api.openai.com"),
                (":path", &with_query),
                ("content-type", "application/json"),
                ("x-request-id", "req-42"),
            ],
            false,
        )))
        .await;
    let chat = crate::ext_authz::chat(&format!("mail {EMAIL}"));
    envoy
        .send(RequestBody(crate::ext_proc::body(chat.as_bytes(), true)))
        .await;
    drop(envoy);
    // A call refused for bad input.
    let refused = client
        .check(CheckRequest {
            request_id: "bad-1".into(),
            direction: 9,
            ..text("x")
        })
        .await;
    assert!(refused.is_err());
    // Bodies refused for what they are, with values where an error message might quote them: a key
    // twice (the key is a value), and JSON cut off inside a credential.
    for (id, body) in [
        (
            "dup-1",
            format!(r#"{{"messages": [], "{EMAIL}": 1, "{EMAIL}": 2}}"#),
        ),
        (
            "broken-1",
            format!(r#"{{"messages": [{{"content": "{AWS_KEY}"#),
        ),
    ] {
        let refused = client
            .check(CheckRequest {
                request_id: id.into(),
                content: Some(check_request::Content::Body(body.into_bytes())),
                content_type: "application/json".into(),
                ..Default::default()
            })
            .await;
        assert_eq!(refused.unwrap_err().code(), tonic::Code::InvalidArgument);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_transport_writes_one_event_per_exchange_and_no_matched_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut server =
        Server::start(&["--audit", path.to_str().unwrap(), "--http", "127.0.0.1:0"]).await;
    planted_traffic(&server).await;

    // Shutting down writes out what is queued.
    server.terminate();

    let raw = std::fs::read_to_string(&path).unwrap();
    for value in PLANTED {
        assert!(
            !raw.contains(value),
            "the audit trail holds {value}:\n{raw}"
        );
    }
    let events = events(&path);
    // ext_authz and ext_proc both see Envoy's x-request-id.
    let by_id: BTreeMap<(&str, &str), &Value> = events
        .iter()
        .map(|e| {
            let key = (
                e["transport"].as_str().unwrap(),
                e["request_id"].as_str().unwrap(),
            );
            (key, e)
        })
        .collect();
    assert_eq!(events.len(), 9, "{raw}");
    let expect = [
        ("prompt-1", "prompt", "grpc", "input", "modify"),
        ("tool-1", "tool_call", "grpc", "input", "deny"),
        ("http-1", "output", "http", "output", "modify"),
        ("stream-1", "output", "grpc-stream", "output", "modify"),
        ("req-42", "prompt", "ext_authz", "input", "deny"),
        ("req-42", "prompt", "ext_proc", "input", "modify"),
    ];
    for (id, event, transport, direction, decision) in expect {
        let e = by_id
            .get(&(transport, id))
            .unwrap_or_else(|| panic!("no {transport} event {id}:\n{raw}"));
        assert_eq!(
            (
                &e["event"],
                &e["transport"],
                &e["direction"],
                &e["decision"]
            ),
            (
                &Value::from(event),
                &Value::from(transport),
                &Value::from(direction),
                &Value::from(decision)
            ),
            "{e}"
        );
        assert_eq!(e["bundle"], "default@0.3.1");
        assert_eq!(e["bundle_digest"].as_str().unwrap().len(), 64);
        assert!(e["time"].as_str().unwrap().ends_with('Z'), "{e}");
    }
    let prompt = by_id[&("grpc", "prompt-1")];
    assert_eq!(prompt["principal"], "spiffe://corp/ns/apps/sa/support-bot");
    assert_eq!(prompt["destination"], "api.openai.com");
    let email = &prompt["findings"][0];
    assert_eq!(
        (
            &email["plugin"],
            &email["rule"],
            &email["category"],
            &email["action"]
        ),
        (
            &Value::from("pii"),
            &Value::from("pii.email"),
            &Value::from("EMAIL_ADDRESS"),
            &Value::from("redact")
        )
    );
    assert_eq!(
        (email["start"].as_u64(), email["end"].as_u64()),
        (Some(9), Some(30))
    );
    let tool = by_id[&("grpc", "tool-1")];
    assert_eq!(tool["tool"], "shell");
    assert!(
        tool["reason"]
            .as_str()
            .unwrap()
            .contains("secret.aws-access-token"),
        "{tool}"
    );
    // Envoy's exchanges: where the request went, and which message held the finding. (ext_authz cannot
    // redact, so what the policy would redact was denied: its event says deny, above.)
    for transport in ["ext_authz", "ext_proc"] {
        let e = by_id[&(transport, "req-42")];
        assert_eq!(
            e["destination"], "https://api.openai.com/v1/chat/completions",
            "{e}"
        );
        assert_eq!(e["findings"][0]["location"], "/messages/0/content", "{e}");
    }
    for id in ["bad-1", "dup-1", "broken-1"] {
        let refused = by_id[&("grpc", id)];
        assert_eq!(
            (&refused["event"], &refused["code"]),
            (&Value::from("refused"), &Value::from("InvalidArgument")),
            "{refused}"
        );
    }
}

#[test]
fn an_audit_file_that_cannot_be_opened_stops_the_server_with_the_reason() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--audit",
            "/nonexistent-dir/audit.jsonl",
        ])
        .env("PALISADE_CACHE_DIR", crate::util::BINARY_CACHE_DIR)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/nonexistent-dir/audit.jsonl") && stderr.contains("--audit"),
        "{stderr}"
    );
}
