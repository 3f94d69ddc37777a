//! The bypass suite: request and response bodies of every provider shape Palisade meets (written after the
//! providers' API references), each with a secret, then an e-mail, planted in every string leaf in turn,
//! sent over every transport that carries a body — gRPC `Check`, HTTP `/v1/check`, Envoy's ext_proc (the
//! request and the response leg, sent whole and in chunks) and ext_authz. A planted secret is denied on
//! every transport; a planted e-mail in an answer never comes back, redacted in place or denied. Streamed
//! answers of every provider (SSE, Bedrock's binary event stream, Ollama's lines of JSON) get the same over CheckStream and
//! ext_proc's streamed response leg, cut at every event boundary and inside an event.

use base64::Engine as _;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as In;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response as Out;
use palisade::server::proto::{check_request, check_response, CheckRequest, Decision, Direction};
use serde_json::{json, Value};

use crate::ext_authz::{envoy_request, try_check, AuthzAnswer};
use crate::ext_proc::{body, common, headers, new_body, request_headers, Envoy};
use crate::serve::Server;
use crate::util::leaves;

const SECRET: &str = "ghp_R8cVq2mXz4Lw7Ty1Nb6Hd3Kp9Fs0Ja5Ue2Qo";
const EMAIL: &str = "lena.berg@example.org";

/// Requests, as a client sends them to the provider.
fn requests() -> Vec<(&'static str, Value)> {
    vec![
        (
            "OpenAI Chat Completions",
            json!({
                "model": "gpt-4o",
                "messages": [
                    {"role": "developer", "content": "You are a travel assistant."},
                    {"role": "user", "content": [{"type": "text", "text": "Book me a seat."},
                        {"type": "image_url", "image_url": {"url": "https://cdn.example.com/a.png"}}]},
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "book", "arguments": "{\"seat\": \"12A\"}"}}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "booked"}
                ],
                "tools": [{"type": "function", "function": {"name": "book", "description": "Books a seat",
                    "parameters": {"type": "object", "properties": {"seat": {"type": "string"}}}}}],
                "prediction": {"type": "content", "content": "Your seat is"},
                "metadata": {"team": "travel"},
                "user": "u-1"
            }),
        ),
        (
            "OpenAI Responses",
            json!({
                "model": "gpt-5",
                "instructions": "Answer briefly.",
                "input": [
                    {"role": "user", "content": [{"type": "input_text", "text": "What is the weather?"}]},
                    {"type": "function_call", "call_id": "fc_1", "name": "weather", "arguments": "{\"city\": \"Oslo\"}"},
                    {"type": "function_call_output", "call_id": "fc_1", "output": "cloudy"},
                    {"type": "custom_tool_call", "call_id": "ct_1", "name": "sql", "input": "select 1"}
                ],
                "tools": [{"type": "function", "name": "weather", "description": "Weather by city"}]
            }),
        ),
        (
            "OpenAI Completions",
            json!({
                "model": "gpt-3.5-turbo-instruct", "prompt": "Say hello", "suffix": "Goodbye", "max_tokens": 16
            }),
        ),
        (
            "OpenAI Embeddings",
            json!({
                "model": "text-embedding-3-small", "input": ["first text", "second text"], "encoding_format": "float"
            }),
        ),
        (
            "Anthropic Messages",
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 1024,
                "system": [{"type": "text", "text": "You are a support agent."}],
                "messages": [
                    {"role": "user", "content": [
                        {"type": "document", "title": "Policy", "context": "internal",
                            "source": {"type": "text", "media_type": "text/plain", "data": "Refunds in 30 days."}},
                        {"type": "text", "text": "Summarise the policy."}
                    ]},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup",
                        "input": {"order": "A-17"}}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "shipped"}]}]}
                ],
                "tools": [{"name": "lookup", "description": "Looks up an order",
                    "input_schema": {"type": "object", "properties": {"order": {"type": "string"}}}}]
            }),
        ),
        (
            "Gemini generateContent",
            json!({
                "systemInstruction": {"parts": [{"text": "Be concise."}]},
                "contents": [
                    {"role": "user", "parts": [{"text": "Find my order"}]},
                    {"role": "model", "parts": [{"functionCall": {"name": "find", "args": {"id": "A-17"}}}]},
                    {"role": "user", "parts": [{"functionResponse": {"name": "find", "response": {"status": "shipped"}}}]}
                ],
                "generationConfig": {"temperature": 0.2}
            }),
        ),
        (
            "Bedrock Converse",
            json!({
                "modelId": "anthropic.claude-3-haiku",
                "system": [{"text": "You are helpful."}],
                "messages": [
                    {"role": "user", "content": [{"text": "Check the order"}]},
                    {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "order",
                        "input": {"id": "A-17"}}}]},
                    {"role": "user", "content": [{"toolResult": {"toolUseId": "t1",
                        "content": [{"text": "delivered"}]}}]}
                ],
                "inferenceConfig": {"maxTokens": 256}
            }),
        ),
    ]
}

/// Answers, as the provider sends them back.
fn responses() -> Vec<(&'static str, Value)> {
    vec![
        (
            "OpenAI Chat Completions",
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                    "content": "Your seat is booked.", "refusal": null,
                    "tool_calls": [{"id": "call_2", "type": "function",
                        "function": {"name": "notify", "arguments": "{\"text\": \"done\"}"}}]}}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 12}
            }),
        ),
        (
            "OpenAI Responses",
            json!({
                "id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5",
                "output": [
                    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Thinking about it"}]},
                    {"type": "message", "id": "msg_1", "role": "assistant", "content": [{"type": "output_text",
                        "text": "It is cloudy.", "annotations": [{"type": "url_citation", "title": "Weather", "url": "https://met.example/oslo"}]}]},
                    {"type": "function_call", "call_id": "fc_2", "name": "weather", "arguments": "{\"city\": \"Bergen\"}"}
                ]
            }),
        ),
        (
            "OpenAI Completions",
            json!({
                "id": "cmpl-1", "object": "text_completion", "choices": [{"index": 0, "text": "Hello there", "finish_reason": "stop"}]
            }),
        ),
        (
            "Anthropic Messages",
            json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [
                    {"type": "thinking", "thinking": "The user wants a summary.", "signature": "c2ln"},
                    {"type": "text", "text": "Refunds take 30 days.", "citations": [{"type": "char_location", "cited_text": "Refunds in 30 days.", "document_title": "Policy"}]},
                    {"type": "tool_use", "id": "toolu_2", "name": "notify", "input": {"text": "sent"}}
                ],
                "stop_reason": "tool_use"
            }),
        ),
        (
            "Gemini generateContent",
            json!({
                "candidates": [{"content": {"role": "model", "parts": [{"text": "Your order has shipped."}]},
                    "finishReason": "STOP", "citationMetadata": {"citationSources": [{"uri": "https://shop.example/a"}]}}],
                "usageMetadata": {"promptTokenCount": 5},
                "modelVersion": "gemini-2.5-flash"
            }),
        ),
        (
            "Bedrock Converse",
            json!({
                "output": {"message": {"role": "assistant", "content": [{"text": "It was delivered."},
                    {"toolUse": {"toolUseId": "t2", "name": "notify", "input": {"text": "ok"}}}]}},
                "stopReason": "end_turn", "usage": {"inputTokens": 5, "outputTokens": 7}
            }),
        ),
    ]
}

/// `body` with the string at `leaf` replaced by `value`.
fn planted(body: &Value, leaf: &str, value: &str) -> String {
    let mut body = body.clone();
    *body.pointer_mut(leaf).unwrap() = Value::String(format!("see {value} now"));
    body.to_string()
}

/// Every string leaf of `body`.
fn string_leaves(body: &Value) -> Vec<String> {
    let mut at = Vec::new();
    leaves(body, String::new(), &mut at);
    at.into_iter()
        .filter(|p| body.pointer(p).is_some_and(Value::is_string))
        .collect()
}

fn check_request(text: &str, direction: Direction) -> CheckRequest {
    CheckRequest {
        direction: direction as i32,
        content: Some(check_request::Content::Body(text.as_bytes().to_vec())),
        content_type: "application/json".into(),
        ..Default::default()
    }
}

/// What came back over one transport: denied, or the body that goes on.
#[derive(Debug)]
enum Passed {
    Denied,
    Body(String),
}

async fn over_grpc(server: &Server, text: &str, direction: Direction) -> Passed {
    let answer = (server.client().await)
        .check(check_request(text, direction))
        .await
        .unwrap()
        .into_inner();
    match (answer.decision(), answer.content) {
        (Decision::Deny, _) => Passed::Denied,
        (Decision::Modify, Some(check_response::Content::Body(b))) => {
            Passed::Body(String::from_utf8(b).unwrap())
        }
        (Decision::Allow, None) => Passed::Body(text.to_string()),
        other => panic!("unexpected answer {other:?}"),
    }
}

/// The HTTP API's answer to `request`, a CheckRequest in JSON.
async fn post_check(server: &Server, request: &Value) -> Value {
    let addr = server.http_addr.expect("started with --http");
    reqwest::Client::new()
        .post(format!("http://{addr}/v1/check"))
        .json(request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn over_http(server: &Server, text: &str, direction: Direction) -> Passed {
    let request = json!({
        "direction": direction as i32,
        "body": base64::engine::general_purpose::STANDARD.encode(text),
        "contentType": "application/json",
    });
    let answer = post_check(server, &request).await;
    match answer["decision"].as_str().unwrap() {
        "DECISION_DENY" => Passed::Denied,
        "DECISION_MODIFY" => Passed::Body(
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(answer["body"].as_str().unwrap())
                    .unwrap(),
            )
            .unwrap(),
        ),
        "DECISION_ALLOW" => Passed::Body(text.to_string()),
        other => panic!("unexpected decision {other}: {answer}"),
    }
}

/// One ext_proc exchange carrying `text` on the leg for `direction`, whole or in two chunks.
async fn over_ext_proc(server: &Server, text: &str, direction: Direction, chunked: bool) -> Passed {
    let mut envoy = Envoy::connect(server).await;
    envoy.send(request_headers("application/json", &[])).await;
    let leg = |bytes: &[u8], end: bool| match direction {
        Direction::Input => In::RequestBody(body(bytes, end)),
        _ => In::ResponseBody(body(bytes, end)),
    };
    if direction == Direction::Output {
        envoy
            .send(In::ResponseHeaders(headers(
                &[(":status", "200"), ("content-type", "application/json")],
                false,
            )))
            .await;
    }
    let bytes = text.as_bytes();
    let (first, last) = if chunked {
        bytes.split_at(bytes.len() / 2)
    } else {
        (&bytes[..0], bytes)
    };
    if chunked {
        let answer = envoy.send(leg(first, false)).await;
        assert_eq!(
            new_body(&common(answer)).as_deref(),
            Some(&b""[..]),
            "a chunk is held"
        );
    }
    match envoy.send(leg(last, true)).await {
        Out::ImmediateResponse(r) => {
            assert_eq!(r.status.unwrap().code, 403);
            Passed::Denied
        }
        answer => match new_body(&common(answer)) {
            Some(b) => Passed::Body(String::from_utf8(b).unwrap()),
            None => Passed::Body(text.to_string()),
        },
    }
}

async fn over_ext_authz(server: &Server, text: &str) -> Passed {
    match try_check(server, envoy_request("application/json", &[], text), None).await {
        AuthzAnswer::Denied(403) => Passed::Denied,
        AuthzAnswer::Allowed => Passed::Body(text.to_string()),
        other => panic!("unexpected ext_authz answer {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_planted_in_any_string_of_any_providers_body_is_stopped_on_every_transport() {
    let server = Server::start(&["--http", "127.0.0.1:0"]).await;
    let mut sent = 0;
    for (shape, body) in requests() {
        for leaf in string_leaves(&body) {
            let text = planted(&body, &leaf, SECRET);
            let mut answers = vec![
                ("gRPC", over_grpc(&server, &text, Direction::Input).await),
                ("HTTP", over_http(&server, &text, Direction::Input).await),
                (
                    "ext_proc",
                    over_ext_proc(&server, &text, Direction::Input, false).await,
                ),
                (
                    "ext_proc chunked",
                    over_ext_proc(&server, &text, Direction::Input, true).await,
                ),
                ("ext_authz", over_ext_authz(&server, &text).await),
            ];
            for (transport, passed) in answers.drain(..) {
                sent += 1;
                assert!(
                    matches!(passed, Passed::Denied),
                    "{shape} request, secret at {leaf}, over {transport}: {passed:?}"
                );
            }
        }
    }
    for (shape, body) in requests().into_iter().chain(responses()) {
        for leaf in string_leaves(&body) {
            let text = planted(&body, &leaf, EMAIL);
            let answers = [
                ("gRPC", over_grpc(&server, &text, Direction::Output).await),
                ("HTTP", over_http(&server, &text, Direction::Output).await),
                (
                    "ext_proc",
                    over_ext_proc(&server, &text, Direction::Output, false).await,
                ),
                (
                    "ext_proc chunked",
                    over_ext_proc(&server, &text, Direction::Output, true).await,
                ),
            ];
            for (transport, passed) in answers {
                sent += 1;
                if let Passed::Body(out) = &passed {
                    assert!(
                        !out.contains(EMAIL),
                        "{shape}, e-mail at {leaf}, over {transport}: {out}"
                    );
                    serde_json::from_str::<Value>(out).expect("still JSON");
                }
            }
        }
    }
    assert!(sent > 500, "{sent} bodies sent");
}

/// A streamed answer of each provider's format, as events, and how its events go on the wire.
type Events = Vec<(Option<String>, Value)>;
type Encode = fn(&[(Option<String>, Value)]) -> Vec<u8>;

fn streams() -> Vec<(&'static str, &'static str, Events, Encode)> {
    use crate::stream::*;
    let sse: Encode = |events| sse_of(events).into_bytes();
    let text = "The weather in Oslo is mild, with light wind from the west all day.";
    vec![
        (
            "OpenAI Chat",
            "text/event-stream",
            chat_stream_beyond_content(),
            sse,
        ),
        (
            "OpenAI Responses",
            "text/event-stream",
            responses_stream_beyond_text(),
            sse,
        ),
        (
            "Anthropic Messages",
            "text/event-stream",
            anthropic_stream_beyond_text(),
            sse,
        ),
        ("Gemini", "text/event-stream", gemini_stream(text), sse),
        (
            "Bedrock ConverseStream",
            "application/vnd.amazon.eventstream",
            bedrock_events(text),
            event_stream_of,
        ),
        (
            "Ollama",
            "application/x-ndjson",
            ollama_events(text),
            ndjson_of,
        ),
    ]
}

/// What a stream released, and whether it was denied.
async fn over_check_stream(
    server: &Server,
    content_type: &str,
    chunks: &[Vec<u8>],
) -> (Vec<u8>, bool) {
    use palisade::server::proto::CheckStreamRequest;
    let messages: Vec<CheckStreamRequest> = (chunks.iter().enumerate())
        .map(|(i, chunk)| CheckStreamRequest {
            direction: Direction::Output as i32,
            content_type: if i == 0 {
                content_type.into()
            } else {
                String::new()
            },
            chunk: chunk.clone(),
            ..Default::default()
        })
        .collect();
    let (released, last) = crate::serve::stream_all(&mut server.client().await, messages).await;
    (released, last.decision() == Decision::Deny)
}

async fn over_ext_proc_stream(
    server: &Server,
    content_type: &str,
    chunks: &[Vec<u8>],
) -> (Vec<u8>, bool) {
    let mut envoy = Envoy::connect(server).await;
    envoy.send(request_headers("application/json", &[])).await;
    envoy
        .send(In::RequestBody(body(br#"{"stream": true}"#, true)))
        .await;
    envoy
        .send(In::ResponseHeaders(headers(
            &[(":status", "200"), ("content-type", content_type)],
            false,
        )))
        .await;
    let mut released = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        match envoy
            .send(In::ResponseBody(body(chunk, i + 1 == chunks.len())))
            .await
        {
            Out::ImmediateResponse(r) => {
                assert_eq!(r.status.unwrap().code, 403);
                return (released, true);
            }
            answer => released.extend(new_body(&common(answer)).expect("each chunk is replaced")),
        }
    }
    (released, false)
}

/// Every string of every kind of event of each provider's streamed answer, with an e-mail planted in it
/// in turn (a leaf repeated in events of the same kind is planted once, in its first), sent over
/// CheckStream and ext_proc's response leg cut at every event boundary and once more inside one event.
#[tokio::test(flavor = "multi_thread")]
async fn a_value_planted_in_any_string_of_any_streamed_answer_is_stopped_over_check_stream_and_ext_proc(
) {
    let server = Server::start(&[]).await;
    let mut sent = 0;
    for (format, content_type, events, encode) in streams() {
        let mut planted = std::collections::HashSet::new();
        for i in 0..events.len() {
            let (name, event) = &events[i];
            let kind = (event
                .get("type")
                .and_then(Value::as_str)
                .map(str::to_string))
            .or_else(|| name.clone())
            .unwrap_or_default();
            let mut pointers = Vec::new();
            leaves(event, String::new(), &mut pointers);
            pointers.retain(|p| event.pointer(p).is_some_and(Value::is_string));
            pointers.retain(|p| planted.insert((kind.clone(), p.clone())));
            for pointer in pointers {
                let mut copy = events.clone();
                let leaf = copy[i].1.pointer_mut(&pointer).unwrap();
                *leaf = json!(format!("{} {EMAIL} ", leaf.as_str().unwrap()));
                let mut chunks: Vec<Vec<u8>> = copy
                    .iter()
                    .map(|e| encode(std::slice::from_ref(e)))
                    .collect();
                let cut = (sent * 7919) % chunks[i].len();
                let rest = chunks[i].split_off(cut);
                chunks.insert(i + 1, rest);
                for (transport, (released, denied)) in [
                    (
                        "CheckStream",
                        over_check_stream(&server, content_type, &chunks).await,
                    ),
                    (
                        "ext_proc",
                        over_ext_proc_stream(&server, content_type, &chunks).await,
                    ),
                ] {
                    sent += 1;
                    assert!(
                        !String::from_utf8_lossy(&released).contains(EMAIL),
                        "{format}: e-mail at event {i} {pointer} released over {transport}"
                    );
                    assert!(
                        denied || !released.is_empty(),
                        "{format} over {transport}: nothing came out"
                    );
                }
            }
        }
    }
    assert!(sent > 100, "{sent} streams sent");
}

/// One deny, two secrets in it: every transport blames the same rule with the same reason — gRPC and HTTP
/// in the reason and the first enforced deny among the findings, Envoy's in the error body it answers
/// with, CheckStream in its last message.
#[tokio::test(flavor = "multi_thread")]
async fn a_deny_blames_the_same_rule_with_the_same_reason_on_every_transport() {
    use palisade::server::proto::{CheckStreamRequest, Finding};
    const AWS_KEY: &str = "AKIAZ7QW3RTY5UIO2PAS";
    let server = Server::start(&["--http", "127.0.0.1:0"]).await;
    let text = json!({"model": "m", "messages": [
        {"role": "user", "content": format!("my token is {SECRET}")},
        {"role": "user", "content": format!("and the key {AWS_KEY}")}]})
    .to_string();
    let first_deny = |findings: &[Finding]| -> String {
        let f = (findings.iter())
            .find(|f| f.action == "deny" && !f.report_only)
            .expect("a deny among the findings");
        f.rule.clone()
    };
    let mut blamed: Vec<(&str, String, String)> = Vec::new();

    let answer = (server.client().await)
        .check(check_request(&text, Direction::Input))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.decision(), Decision::Deny);
    blamed.push(("gRPC", first_deny(&answer.findings), answer.reason.clone()));

    let request =
        json!({"direction": "DIRECTION_INPUT", "text": text, "contentType": "application/json"});
    let answer = post_check(&server, &request).await;
    let findings: Vec<Finding> = serde_json::from_value(answer["findings"].clone())
        .unwrap_or_else(|e| panic!("{e}: {answer}"));
    blamed.push((
        "HTTP",
        first_deny(&findings),
        answer["reason"].as_str().unwrap().into(),
    ));

    let error = |body: &[u8]| -> (String, String) {
        let e: Value = serde_json::from_slice(body).unwrap();
        let message = e["error"]["message"].as_str().unwrap();
        let reason = message.strip_prefix("Palisade: ").unwrap().to_string();
        (e["error"]["rule"].as_str().unwrap().to_string(), reason)
    };
    let mut envoy = Envoy::connect(&server).await;
    envoy.send(request_headers("application/json", &[])).await;
    let Out::ImmediateResponse(r) = envoy
        .send(In::RequestBody(body(text.as_bytes(), true)))
        .await
    else {
        panic!("ext_proc did not deny")
    };
    let (rule, reason) = error(&r.body);
    blamed.push(("ext_proc", rule, reason));

    let answer =
        crate::ext_authz::check(&server, envoy_request("application/json", &[], &text)).await;
    let (_, body) = crate::ext_authz::denied(&answer).unwrap();
    let (rule, reason) = error(body.to_string().as_bytes());
    blamed.push(("ext_authz", rule, reason));

    let stream = CheckStreamRequest {
        direction: Direction::Input as i32,
        content_type: "text/plain".into(),
        chunk: format!("my token is {SECRET}, and the key {AWS_KEY}").into_bytes(),
        ..Default::default()
    };
    let mut answers = (server.client().await)
        .check_stream(tokio_stream::iter([stream]))
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(a) = answers.message().await.unwrap() {
        last = Some(a);
    }
    let last = last.unwrap();
    assert_eq!(last.decision(), Decision::Deny);
    let rule = first_deny(&last.findings);

    let (_, rule_0, reason_0) = blamed[0].clone();
    for (transport, rule, reason) in &blamed {
        assert_eq!(
            (rule, reason),
            (&rule_0, &reason_0),
            "{transport} blames otherwise"
        );
    }
    assert!(
        reason_0.contains(&rule_0),
        "the reason names the rule: {reason_0}"
    );
    // A stream has no JSON locations; its reason names the same rule.
    assert_eq!(rule, rule_0);
    assert!(last.reason.contains(&rule_0), "{}", last.reason);
}
