//! `serve --http`: the HTTP/JSON API called with a real HTTP client, cross-checked against the gRPC call on
//! the same inputs, and its errors (bad JSON, oversize, wrong content type, deadlines) with their statuses.

use std::time::{Duration, Instant};

use palisade::server::proto::{check_request, CheckRequest, CheckResponse, Direction};
use serde_json::Value;

use crate::serve::{text, Server};
use crate::util::{bundle_dir, testbed, HEADER};

/// POSTs `body` to `/v1/check` with `content_type`; the status and the JSON answer.
async fn post(server: &Server, body: &str, content_type: &str) -> (u16, Value) {
    post_with(server, body, content_type, &[]).await
}

async fn post_with(
    server: &Server,
    body: &str,
    content_type: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    post_at(server, "/v1/check", body, content_type, headers).await
}

/// POSTs `body` to `path`; the status and the JSON answer (which every answer must be).
async fn post_at(
    server: &Server,
    path: &str,
    body: &str,
    content_type: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let addr = server.http_addr.expect("started with --http");
    let mut request = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .header("content-type", content_type)
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the HTTP API answers");
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "every answer, errors too, is JSON"
    );
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).expect("a JSON answer"),
    )
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let addr = server.http_addr.expect("started with --http");
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn without_timing(mut r: CheckResponse) -> CheckResponse {
    r.elapsed_us = 0;
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn json_answers_match_grpc_answers_on_the_same_inputs() {
    let server = Server::start(&["--http", "127.0.0.1:0"]).await;
    let mut grpc = server.client().await;
    let chat = r#"{"model": "m", "messages": [{"role": "user", "content": "I'm ana@example.com, +1 415 555 0132"}]}"#;
    let requests = [
        text("Call me at (415) 555-0132 or mail ana@example.com — ünïcode first"),
        CheckRequest {
            direction: Direction::Output as i32,
            request_id: "r-7".into(),
            ..text("nothing to see here")
        },
        CheckRequest {
            content: Some(check_request::Content::Body(chat.as_bytes().to_vec())),
            content_type: "application/json".into(),
            destination: "https://api.openai.com/v1/chat/completions".into(),
            ..Default::default()
        },
        CheckRequest {
            labels: vec!["team:a".into()],
            metadata: [("k".to_string(), "v".to_string())].into(),
            ..text("the key is AKIAZ7QW3RTY5UIO2PAS")
        },
    ];
    for request in requests {
        let over_grpc = grpc.check(request.clone()).await.unwrap().into_inner();
        let json = serde_json::to_string(&request).unwrap();
        let (status, answer) = post(&server, &json, "application/json").await;
        assert_eq!(status, 200, "{answer}");
        let over_http: CheckResponse = serde_json::from_value(answer.clone()).unwrap();
        assert_eq!(
            without_timing(over_http),
            without_timing(over_grpc),
            "{json}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn field_names_and_enums_read_as_the_proto3_json_mapping_has_them() {
    let server = Server::start(&["--http", "127.0.0.1:0"]).await;
    // snake_case and lowerCamelCase names, enum names and numbers: all the mapping allows.
    let (status, answer) = post(
        &server,
        r#"{"text": "{\"messages\": [{\"role\": \"user\", \"content\": \"mail ana@example.com\"}]}",
            "content_type": "application/json", "requestId": "r-1", "direction": 2}"#,
        "application/json; charset=utf-8",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decision"], "DECISION_MODIFY");
    assert_eq!(
        answer["text"],
        r#"{"messages": [{"role": "user", "content": "mail [EMAIL_ADDRESS]"}]}"#
    );
    let finding = &answer["findings"][0];
    assert_eq!(finding["location"], "/messages/0/content");
    assert_eq!(
        (finding["start"].as_u64(), finding["end"].as_u64()),
        (Some(5), Some(20))
    );
    // uint64 is a string in proto3 JSON; defaults are written out for callers that don't know them.
    assert!(answer["elapsedUs"].is_string(), "{answer}");
    assert_eq!(answer["reason"], "");
    assert_eq!(answer["failures"], serde_json::json!([]));

    let (status, answer) = post(
        &server,
        r#"{"text": "the key is AKIAZ7QW3RTY5UIO2PAS", "direction": "DIRECTION_INPUT"}"#,
        "application/json",
    )
    .await;
    assert_eq!(status, 200, "a deny is an answer, not an error");
    assert_eq!(answer["decision"], "DECISION_DENY");
    assert!(
        answer["reason"].as_str().unwrap().contains("SECRET"),
        "{answer}"
    );
    assert!(answer.get("text").is_none(), "a deny carries no payload");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_json_errors_with_the_grpc_code_and_the_http_status() {
    let server = Server::start(&["--http", "127.0.0.1:0", "--max-payload", "1KiB"]).await;
    let cases: [(&str, &str, u16, &str, &str); 7] = [
        (
            r#"{"text": "x""#,
            "application/json",
            400,
            "INVALID_ARGUMENT",
            "EOF while parsing",
        ),
        (
            r#"{"txt": "x"}"#,
            "application/json",
            400,
            "INVALID_ARGUMENT",
            "unknown field `txt`",
        ),
        (
            "{}",
            "application/json",
            400,
            "INVALID_ARGUMENT",
            "the request has no content; set `text` or `body`",
        ),
        (
            r#"{"text": "x"}"#,
            "text/plain",
            415,
            "INVALID_ARGUMENT",
            "takes application/json",
        ),
        (
            r#"{"text": "x", "direction": "SIDEWAYS"}"#,
            "application/json",
            400,
            "INVALID_ARGUMENT",
            "SIDEWAYS",
        ),
        (
            r#"{"body": "b2sg//4="}"#,
            "application/json",
            415,
            "INVALID_ARGUMENT",
            "invalid byte at offset 3",
        ),
        (
            &format!(r#"{{"text": "{}"}}"#, "x".repeat(2048)),
            "application/json",
            413,
            "RESOURCE_EXHAUSTED",
            "2048 bytes, over the limit of 1024 bytes",
        ),
    ];
    for (body, content_type, http, code, message) in cases {
        let (status, answer) = post(&server, body, content_type).await;
        assert_eq!(status, http, "{answer}");
        assert_eq!(answer["status"], code, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(message),
            "{answer}"
        );
        assert!(answer["code"].is_number(), "{answer}");
    }

    // Over the request limit itself (twice the payload limit, plus 1 MiB): refused while reading.
    let huge = format!(r#"{{"text": "{}"}}"#, "x".repeat(3 << 20));
    let (status, answer) = post(&server, &huge, "application/json").await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (413, Some("RESOURCE_EXHAUSTED")),
        "{answer}"
    );

    let (status, answer) = post_with(
        &server,
        r#"{"text": "x"}"#,
        "application/json",
        &[("x-palisade-timeout", "soon")],
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("x-palisade-timeout"),
        "{answer}"
    );

    // A timeout too long to add to a clock is not a crash: it is as good as none.
    let (status, answer) = post_with(
        &server,
        r#"{"text": "x"}"#,
        "application/json",
        &[("x-palisade-timeout", "400000000000y")],
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let (status, answer) = get(&server, "/v2/check").await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (404, Some("NOT_FOUND"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_timeout_header_bounds_the_chain_and_answers_504() {
    let manifest = format!(
        "{HEADER}{}",
        testbed("slow", r#"{ mode = "loop" }"#, "budget = \"10s\"")
    );
    let dir = bundle_dir(&manifest);
    let server = Server::start(&[
        "--http",
        "127.0.0.1:0",
        "--bundle",
        dir.path().to_str().unwrap(),
    ])
    .await;
    let started = Instant::now();
    let (status, answer) = post_with(
        &server,
        r#"{"text": "x"}"#,
        "application/json",
        &[("x-palisade-timeout", "300ms")],
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (504, Some("DEADLINE_EXCEEDED")),
        "{answer}"
    );
    // At the deadline, not after the plugin's 10 s budget. Loose bound for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness_answer_while_serving() {
    let server = Server::start(&["--http", "127.0.0.1:0"]).await;
    assert_eq!(
        get(&server, "/healthz").await,
        (200, serde_json::json!({"status": "SERVING"}))
    );
    let (status, ready) = get(&server, "/readyz").await;
    assert_eq!(status, 200);
    assert_eq!(ready["status"], "SERVING");
    assert_eq!(ready["bundle"], "default@0.3.1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_over_http_is_counted_like_one_over_grpc() {
    let server = Server::start(&["--http", "127.0.0.1:0", "--metrics", "127.0.0.1:0"]).await;
    let (status, _) = post(
        &server,
        r#"{"text": "mail ana@example.com"}"#,
        "application/json",
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = post(&server, "{}", "application/json").await;
    assert_eq!(status, 400);
    let page = format!("http://{}/metrics", server.metrics_addr.unwrap());
    let metrics = reqwest::get(page).await.unwrap().text().await.unwrap();
    for want in [
        r#"palisade_checks_total{decision="modify",direction="input"} 1"#,
        r#"palisade_check_errors_total{code="InvalidArgument"} 1"#,
    ] {
        assert!(metrics.contains(want), "{want} missing from:\n{metrics}");
    }
}

/// LiteLLM's generic guardrail API, posted as LiteLLM's `generic_guardrail_api` guardrail posts it
/// (tests/litellm/run.sh runs LiteLLM's real proxy against it).
#[tokio::test(flavor = "multi_thread")]
async fn litellms_generic_guardrail_api_blocks_redacts_and_holds_back_an_answers_tail() {
    use serde_json::json;
    let server = Server::start(&["--http", "127.0.0.1:0"]).await;
    let litellm = |body: Value| {
        let server = &server;
        async move {
            let body = body.to_string();
            post_at(
                server,
                "/beta/litellm_basic_guardrail_api",
                &body,
                "application/json",
                &[],
            )
            .await
        }
    };
    let key = "AKIAZ7QW3RTY5UIO2PAS";
    let (status, answer) = litellm(json!({
        "input_type": "request", "texts": [format!("deploy with {key}")], "litellm_call_id": "call-7",
        "request_data": {"user_api_key_team_id": "team-a"}, "litellm_version": "1.106.2"
    }))
    .await;
    assert_eq!(
        (status, &answer["action"]),
        (200, &json!("BLOCKED")),
        "{answer}"
    );
    let reason = answer["blocked_reason"].as_str().unwrap();
    assert!(
        reason.contains("secrets") && !reason.contains(key),
        "{reason}"
    );

    let prompt = json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "mail ana@example.com"}]);
    let (_, answer) = litellm(json!({
        "input_type": "request", "texts": ["be brief", "mail ana@example.com"], "structured_messages": prompt
    }))
    .await;
    assert_eq!(answer["action"], "GUARDRAIL_INTERVENED", "{answer}");
    assert_eq!(answer["structured_messages"][0], prompt[0]);
    assert_eq!(
        answer["structured_messages"][1]["content"],
        "mail [EMAIL_ADDRESS]"
    );

    let (_, answer) =
        litellm(json!({"input_type": "response", "texts": ["reach root@example.net", "ok"]})).await;
    assert_eq!(
        answer,
        json!({"action": "GUARDRAIL_INTERVENED", "texts": ["reach [EMAIL_ADDRESS]", "ok"],
               "stream_holdback_chars": [21, 2]})
    );
    let (_, answer) =
        litellm(json!({"input_type": "request", "texts": ["what is the weather like?"]})).await;
    assert_eq!(answer, json!({"action": "NONE"}));

    let (status, error) = litellm(json!({"input_type": "prompt", "texts": ["x"]})).await;
    assert_eq!(
        (status, &error["status"]),
        (400, &json!("INVALID_ARGUMENT")),
        "{error}"
    );
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("\"request\" or \"response\""));
    let (status, error) = post_at(
        &server,
        "/beta/litellm_basic_guardrail_api",
        "{}",
        "text/plain",
        &[],
    )
    .await;
    assert_eq!(status, 415, "{error}");
}
