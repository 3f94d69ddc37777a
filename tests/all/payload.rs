//! The payload adapters through the default bundle: real-shaped OpenAI Chat Completions, OpenAI Responses
//! and Anthropic Messages bodies (requests and responses, written after the providers' documented examples),
//! tool calls whose arguments hold a secret, multi-part contents, and the generic fallback; fields no shape
//! names, logprobs, and random documents with a value planted at any leaf.

use palisade::chain::{Dir, Outcome, Request};
use palisade::check::{self, Checked};
use palisade::payload::{ContentType, Shape};
use serde_json::{json, Value};

use crate::util::{default_bundle, edited_default_bundle, key, leaves, load, testbed, HEADER};

const AWS_KEY: &str = "AKIAZ7QW3RTY5UIO2PAS";

fn check_json(body: &Value, direction: Dir) -> Checked {
    check_with(default_bundle(), body, direction)
}

fn check_with(bundle: &palisade::bundle::Bundle, body: &Value, direction: Dir) -> Checked {
    let exchange = Request {
        direction,
        destination: Some("https://api.openai.com/v1/chat/completions".into()),
        ..Request::default()
    };
    let body = serde_json::to_string_pretty(body).unwrap();
    check::run(bundle, ContentType::Json, body, &exchange, &key()).expect("checks")
}

/// (location, category) of every finding that has a span.
fn found(c: &Checked) -> Vec<(String, String)> {
    c.findings
        .iter()
        .filter(|f| f.span.is_some())
        .map(|f| (f.location.clone(), f.category.clone()))
        .collect()
}

fn pointer<'v>(v: &'v Value, p: &str) -> &'v Value {
    v.pointer(p)
        .unwrap_or_else(|| panic!("{p} missing from {v:#}"))
}

fn openai_chat_request() -> Value {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "developer", "content": "You help the support team. Reply briefly."},
            {"role": "user", "content": [
                {"type": "text", "text": "Customer ana.silva@example.com asked about her order."},
                {"type": "image_url", "image_url": {"url": "https://cdn.example.com/receipt.png", "detail": "low"}},
                {"type": "text", "text": "Her phone is +44 20 7946 0958."}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_abc123", "type": "function",
                "function": {"name": "lookup_order", "arguments": format!("{{\"email\":\"ana.silva@example.com\",\"aws_key\":\"{AWS_KEY}\"}}")}
            }]},
            {"role": "tool", "tool_call_id": "call_abc123", "content": "Order 1182 shipped to ana.silva@example.com"}
        ],
        "temperature": 0.2,
        "tools": [{"type": "function", "function": {"name": "lookup_order", "description": "Finds an order by email", "parameters": {"type": "object", "properties": {"email": {"type": "string"}}}}}]
    })
}

#[test]
fn openai_chat_request_output_redacts_every_text_in_place() {
    let c = check_json(&openai_chat_request(), Dir::Output);
    assert_eq!(c.shape, Shape::ChatRequest);
    assert_eq!(c.outcome, Outcome::Modify, "{:?}", c.reason);
    let out: Value = serde_json::from_str(&c.content).expect("still JSON");
    assert_eq!(
        pointer(&out, "/messages/1/content/0/text"),
        "Customer [EMAIL_ADDRESS] asked about her order."
    );
    assert_eq!(
        pointer(&out, "/messages/1/content/2/text"),
        "Her phone is [PHONE_NUMBER]."
    );
    // Arguments are JSON inside a string: redacted inside, and still JSON.
    let args: Value = serde_json::from_str(
        pointer(&out, "/messages/2/tool_calls/0/function/arguments")
            .as_str()
            .unwrap(),
    )
    .expect("arguments are still JSON");
    assert_eq!(
        args,
        json!({"email": "[EMAIL_ADDRESS]", "aws_key": "[SECRET]"})
    );
    assert_eq!(
        pointer(&out, "/messages/3/content"),
        "Order 1182 shipped to [EMAIL_ADDRESS]"
    );
    // The image's URL is read too, though no shape names it: the default policy redacts links in answers
    // (a link is a way out for data), so it goes.
    assert_eq!(
        pointer(&out, "/messages/1/content/1/image_url/url"),
        "[URL]"
    );
    // Everything else is exactly as it was: the tool schema, the ids, the numbers.
    let mut expected = openai_chat_request();
    for p in [
        "/messages/1/content/0/text",
        "/messages/1/content/1/image_url/url",
        "/messages/1/content/2/text",
        "/messages/2/tool_calls/0/function/arguments",
        "/messages/3/content",
    ] {
        *expected.pointer_mut(p).unwrap() = out.pointer(p).unwrap().clone();
    }
    assert_eq!(out, expected);

    let found = found(&c);
    for want in [
        ("/messages/1/content/0/text", "EMAIL_ADDRESS"),
        ("/messages/1/content/2/text", "PHONE_NUMBER"),
        ("/messages/2/tool_calls/0/function/arguments", "SECRET"),
        ("/messages/3/content", "EMAIL_ADDRESS"),
    ] {
        assert!(
            found.contains(&(want.0.into(), want.1.into())),
            "{want:?} not in {found:?}"
        );
    }
    // Spans are byte offsets into the text at the finding's location.
    let original = openai_chat_request();
    for f in c.findings.iter().filter(|f| f.category == "EMAIL_ADDRESS") {
        let text = pointer(&original, &f.location).as_str().unwrap();
        assert_eq!(
            &text[f.span.clone().unwrap()],
            "ana.silva@example.com",
            "{f:?}"
        );
    }
    // The system prompt and the tool definitions (read as well) had nothing to find.
    assert!(!found
        .iter()
        .any(|(at, _)| at.starts_with("/tools") || at == "/messages/0/content"));
}

#[test]
fn a_secret_in_tool_call_arguments_is_denied_on_input_naming_where() {
    let c = check_json(&openai_chat_request(), Dir::Input);
    assert_eq!(c.outcome, Outcome::Deny);
    let reason = c.reason.unwrap();
    assert!(
        reason.contains("SECRET") && reason.contains("/messages/2/tool_calls/0/function/arguments"),
        "{reason}"
    );
}

#[test]
fn tool_calls_and_tool_results_carry_the_tool_name_to_plugins() {
    // destinations denies one tool (rules look at an exchange's destination, so there is one): both its
    // call (named in the call) and its result (named through tool_call_id) must reach the plugin with
    // `tool` set.
    let bundle = edited_default_bundle(|m| {
        m + r#"
[[plugin.config.rules]]
name = "no-order-lookups"
effect = "deny"
tools = ["lookup_order"]
reason = "order lookups are off"
"#
    });
    let mut body = openai_chat_request();
    *body
        .pointer_mut("/messages/2/tool_calls/0/function/arguments")
        .unwrap() = json!("{\"order\": 1182}");
    let c = check_with(&bundle, &body, Dir::Input);
    assert_eq!(c.outcome, Outcome::Deny);
    assert!(
        c.reason
            .as_deref()
            .unwrap()
            .contains("/messages/2/tool_calls/0/function/arguments"),
        "{:?}",
        c.reason
    );

    // Only the tool's result is a text here (the call has no arguments): its name comes from the call
    // with the same id.
    let only_result = json!({
        "messages": [
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup_order"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "shipped"}
        ]
    });
    let c = check_with(&bundle, &only_result, Dir::Output);
    assert_eq!(c.outcome, Outcome::Deny, "{c:?}");
    assert!(c.reason.as_deref().unwrap().contains("/messages/1/content"));
}

#[test]
fn openai_chat_response_redacts_choices() {
    let body = json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4.1-2025-04-14",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Write to ops@example.org, they rotate keys.", "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29}
    });
    let c = check_json(&body, Dir::Output);
    assert_eq!(c.shape, Shape::ChatResponse);
    let out: Value = serde_json::from_str(&c.content).unwrap();
    assert_eq!(
        pointer(&out, "/choices/0/message/content"),
        "Write to [EMAIL_ADDRESS], they rotate keys."
    );
    assert_eq!(pointer(&out, "/usage/total_tokens"), 29);
    assert_eq!(
        found(&c),
        vec![("/choices/0/message/content".into(), "EMAIL_ADDRESS".into())]
    );
}

#[test]
fn openai_responses_request_and_response() {
    let request = json!({
        "model": "gpt-4.1",
        "instructions": "Escalate to billing@example.com when unsure.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "My card is 4111 1111 1111 1111"}]},
            {"type": "function_call", "id": "fc_12345", "call_id": "call_9", "name": "charge_card", "arguments": "{\"card\":\"4111111111111111\"}"},
            {"type": "function_call_output", "call_id": "call_9", "output": "charged card ending 1111, receipt to ana@example.com"}
        ]
    });
    let c = check_json(&request, Dir::Output);
    assert_eq!(c.shape, Shape::ResponsesRequest);
    let out: Value = serde_json::from_str(&c.content).unwrap();
    assert_eq!(
        pointer(&out, "/instructions"),
        "Escalate to [EMAIL_ADDRESS] when unsure."
    );
    let card = pointer(&out, "/input/0/content/0/text").as_str().unwrap();
    assert!(
        !card.contains("4111 1111 1111 1111") && card.ends_with("1111"),
        "{card}"
    );
    let args: Value =
        serde_json::from_str(pointer(&out, "/input/1/arguments").as_str().unwrap()).unwrap();
    assert!(!args["card"].as_str().unwrap().contains("41111111"));
    assert_eq!(
        pointer(&out, "/input/2/output"),
        "charged card ending 1111, receipt to [EMAIL_ADDRESS]"
    );

    let response = json!({
        "id": "resp_67ccd2bed1ec8190b14f964abc054267",
        "object": "response",
        "created_at": 1741476542,
        "status": "completed",
        "model": "gpt-4.1-2025-04-14",
        "output": [
            {"type": "message", "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e6", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "Her SSN is 078-05-1120.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_2", "name": "notify", "arguments": "{\"to\":\"ana@example.com\"}"}
        ],
        "usage": {"input_tokens": 36, "output_tokens": 87}
    });
    let c = check_json(&response, Dir::Output);
    assert_eq!(c.shape, Shape::ResponsesResponse);
    let out: Value = serde_json::from_str(&c.content).unwrap();
    assert_eq!(
        pointer(&out, "/output/0/content/0/text"),
        "Her SSN is [US_SSN]."
    );
    assert_eq!(
        pointer(&out, "/output/1/arguments"),
        "{\"to\":\"[EMAIL_ADDRESS]\"}"
    );
}

fn anthropic_request() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are a travel agent. Confirm bookings to the customer."}],
        "messages": [
            {"role": "user", "content": "Book a flight for ana.silva@example.com"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "I'll book that."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "book_flight",
                 "input": {"passenger": "ana.silva@example.com", "github_token": "ghp_R8sL3kQ9vW2xZ7mN4pB6tY1cF5hJ0dG8aE3u", "seats": 1}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                 "content": [{"type": "text", "text": "Booked. Confirmation sent to ana.silva@example.com"}]}
            ]}
        ]
    })
}

#[test]
fn anthropic_request_tool_use_input_is_an_object_redacted_as_one() {
    let c = check_json(&anthropic_request(), Dir::Output);
    assert_eq!(c.shape, Shape::AnthropicRequest);
    let out: Value = serde_json::from_str(&c.content).unwrap();
    assert_eq!(
        pointer(&out, "/messages/0/content"),
        "Book a flight for [EMAIL_ADDRESS]"
    );
    assert_eq!(
        pointer(&out, "/messages/1/content/1/input"),
        &json!({"passenger": "[EMAIL_ADDRESS]", "github_token": "[SECRET]", "seats": 1})
    );
    assert_eq!(
        pointer(&out, "/messages/2/content/0/content/0/text"),
        "Booked. Confirmation sent to [EMAIL_ADDRESS]"
    );
    assert_eq!(
        pointer(&out, "/system/0/text"),
        "You are a travel agent. Confirm bookings to the customer."
    );
    let secret = c
        .findings
        .iter()
        .find(|f| f.category == "SECRET")
        .expect("the token is found");
    assert_eq!(secret.location, "/messages/1/content/1/input");

    let c = check_json(&anthropic_request(), Dir::Input);
    assert_eq!(c.outcome, Outcome::Deny);
}

#[test]
fn anthropic_response_content_blocks() {
    let body = json!({
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "The user wants the admin contact: root@example.net", "signature": "EqQBCgIYAhIM"},
            {"type": "text", "text": "Contact root@example.net."}
        ],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 2095, "output_tokens": 503}
    });
    let c = check_json(&body, Dir::Output);
    assert_eq!(c.shape, Shape::AnthropicResponse);
    let out: Value = serde_json::from_str(&c.content).unwrap();
    assert_eq!(
        pointer(&out, "/content/0/thinking"),
        "The user wants the admin contact: [EMAIL_ADDRESS]"
    );
    assert_eq!(pointer(&out, "/content/1/text"), "Contact [EMAIL_ADDRESS].");
    assert_eq!(pointer(&out, "/content/0/signature"), "EqQBCgIYAhIM");
}

#[test]
fn json_of_another_shape_falls_back_to_every_string() {
    let body = json!({"ticket": {"from": "ana@example.com", "tags": ["billing", "call +1 415 555 0132"]}, "n": 3});
    let c = check_json(&body, Dir::Output);
    assert_eq!(c.shape, Shape::Generic);
    let out: Value = serde_json::from_str(&c.content).unwrap();
    assert_eq!(
        out,
        json!({"ticket": {"from": "[EMAIL_ADDRESS]", "tags": ["billing", "call [PHONE_NUMBER]"]}, "n": 3})
    );
}

#[test]
fn bytes_outside_redacted_values_are_kept_exactly() {
    // Odd spacing, escapes, a number no f64 can hold, non-ASCII: all survive byte for byte.
    let body = "{ \"messages\" :[\n\t{\"role\":\"user\",\"content\":\"caf\\u00e9 \u{00e9}t\u{00e9} \\\"ana@example.com\\\"\"}],\n \"seed\": 123456789012345678901234567890 }";
    let exchange = Request {
        direction: Dir::Output,
        ..Request::default()
    };
    let c = check::run(
        default_bundle(),
        ContentType::Json,
        body.into(),
        &exchange,
        &key(),
    )
    .unwrap();
    assert_eq!(
        c.content,
        "{ \"messages\" :[\n\t{\"role\":\"user\",\"content\":\"café été \\\"[EMAIL_ADDRESS]\\\"\"}],\n \"seed\": 123456789012345678901234567890 }"
    );
    // An allowed body comes back as it came.
    let c = check::run(
        default_bundle(),
        ContentType::Json,
        "{\"messages\": [ ]}".into(),
        &exchange,
        &key(),
    )
    .unwrap();
    assert_eq!(
        (c.outcome, c.content.as_str()),
        (Outcome::Allow, "{\"messages\": [ ]}")
    );
}

#[test]
fn invalid_json_is_an_error_with_line_and_column() {
    let e = check::run(
        default_bundle(),
        ContentType::Json,
        "{\"messages\": [\n  {\"role\": \"user\", \"content\": \"hi\"\n]}".into(),
        &Request::default(),
        &key(),
    )
    .unwrap_err();
    let message = e.to_string();
    assert!(message.contains("line 3 column 1"), "{message}");
}

/// Fields no shape names, from the providers' API references: each body is checked with an AWS key in the
/// field (denied on input) and with an e-mail in it (redacted on output).
fn bodies_with_unnamed_fields(value: &str) -> Vec<(&'static str, Value)> {
    vec![
        (
            "embeddings input",
            json!({"model": "text-embedding-3-small", "input": ["fine", value]}),
        ),
        (
            "anthropic document text",
            json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [
            {"role": "user", "content": [{"type": "document", "title": "notes",
                "source": {"type": "text", "media_type": "text/plain", "data": value}}]}]}),
        ),
        (
            "anthropic document context",
            json!({"model": "claude-sonnet-4-5", "messages": [
            {"role": "user", "content": [{"type": "document", "context": value,
                "source": {"type": "url", "url": "https://example.com/a.pdf"}}]}]}),
        ),
        (
            "anthropic search_result",
            json!({"model": "claude-sonnet-4-5", "messages": [
            {"role": "user", "content": [{"type": "search_result", "source": "https://example.com",
                "title": "result", "content": [{"type": "text", "text": "fine"}], "citations": {"enabled": true},
                "snippet": value}]}]}),
        ),
        (
            "anthropic mcp_tool_use",
            json!({"type": "message", "role": "assistant", "content": [
            {"type": "mcp_tool_use", "id": "mcptoolu_01", "name": "lookup", "server_name": "crm",
                "input": {"query": value}}]}),
        ),
        (
            "responses custom_tool_call",
            json!({"model": "gpt-5", "input": [
            {"type": "custom_tool_call", "call_id": "call_1", "name": "run_sql", "input": value}]}),
        ),
        (
            "responses mcp_call",
            json!({"object": "response", "output": [
            {"type": "mcp_call", "id": "mcp_1", "server_label": "crm", "name": "lookup",
                "arguments": "{}", "output": value}]}),
        ),
        (
            "chat custom tool call",
            json!({"model": "gpt-5", "messages": [
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "custom",
                "custom": {"name": "run_sql", "input": value}}]}]}),
        ),
        (
            "chat tool description",
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "description": value}}]}),
        ),
        (
            "chat prediction",
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
            "prediction": {"type": "content", "content": value}}),
        ),
        (
            "decoy messages on a Responses body",
            json!({"model": "gpt-5", "messages": [], "input": value}),
        ),
        (
            "decoy messages on a completions body",
            json!({"model": "davinci-002", "messages": [], "prompt": value}),
        ),
        (
            "legacy suffix",
            json!({"model": "davinci-002", "prompt": "fine", "suffix": value}),
        ),
    ]
}

#[test]
fn a_secret_in_a_field_no_shape_names_is_denied() {
    let value = format!("use {AWS_KEY} for it");
    for (name, body) in bodies_with_unnamed_fields(&value) {
        let c = check_json(&body, Dir::Input);
        assert_eq!(c.outcome, Outcome::Deny, "{name}: {:?}", c.reason);
    }
}

#[test]
fn an_email_in_a_field_no_shape_names_is_redacted_in_place() {
    for (name, body) in bodies_with_unnamed_fields("write to ana.silva@example.com") {
        let c = check_json(&body, Dir::Output);
        assert_eq!(c.outcome, Outcome::Modify, "{name}");
        assert!(!c.content.contains("ana.silva"), "{name}: {}", c.content);
        assert!(
            c.content.contains("[EMAIL_ADDRESS]"),
            "{name}: {}",
            c.content
        );
    }
}

#[test]
fn logprobs_of_a_redacted_choice_are_dropped_and_others_kept() {
    let body = json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o", "choices": [
        {"index": 0, "finish_reason": "stop",
         "message": {"role": "assistant", "content": "Write to ana.silva@example.com."},
         "logprobs": {"content": [
             {"token": "Write to ", "logprob": -0.1, "bytes": [87], "top_logprobs": []},
             {"token": "ana", "logprob": -0.2, "bytes": [97], "top_logprobs": [{"token": "anna", "logprob": -3.0, "bytes": [97]}]},
             {"token": ".silva", "logprob": -0.1, "bytes": [46], "top_logprobs": []},
             {"token": "@example", "logprob": -0.1, "bytes": [64], "top_logprobs": []},
             {"token": ".com.", "logprob": -0.1, "bytes": [46], "top_logprobs": []}], "refusal": null}},
        {"index": 1, "finish_reason": "stop", "message": {"role": "assistant", "content": "No address here."},
         "logprobs": {"content": [{"token": "No address here.", "logprob": -0.1, "bytes": [78], "top_logprobs": []}]}}
    ]});
    let c = check_json(&body, Dir::Output);
    assert_eq!(c.outcome, Outcome::Modify);
    let out: Value = serde_json::from_str(&c.content).unwrap();
    assert_eq!(
        pointer(&out, "/choices/0/message/content"),
        "Write to [EMAIL_ADDRESS]."
    );
    assert_eq!(pointer(&out, "/choices/0/logprobs"), &Value::Null);
    assert_eq!(
        pointer(&out, "/choices/1/logprobs"),
        pointer(&body, "/choices/1/logprobs")
    );
    assert!(!c.content.contains("silva"), "{}", c.content);

    // A value only the logprobs spell out (the text says otherwise) is caught there.
    let mut lying = body.clone();
    lying["choices"][0]["message"]["content"] = json!("Nothing to see.");
    let c = check_json(&lying, Dir::Output);
    assert!(!c.content.contains("silva"), "{}", c.content);
}

/// Keys the shapes look for, so that random documents take every branch of the shape detection.
const KEYS: &[&str] = &[
    "messages",
    "choices",
    "input",
    "output",
    "prompt",
    "content",
    "text",
    "type",
    "role",
    "object",
    "tool_calls",
    "function",
    "arguments",
    "name",
    "id",
    "call_id",
    "tool_use_id",
    "logprobs",
    "token",
    "delta",
    "message",
    "system",
    "instructions",
    "summary",
    "thinking",
    "refusal",
    "model",
    "ключ",
    "🔑",
];
const WORDS: &[&str] = &[
    "message",
    "response",
    "user",
    "assistant",
    "tool_use",
    "tool_result",
    "function_call",
    "text",
    "function_call_output",
    "reasoning",
    "chat.completion",
    "{\"a\": 1}",
    "",
    "x",
];

fn json_document() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        proptest::sample::select(WORDS).prop_map(Value::from),
        "\\PC{0,10}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        proptest::sample::select(KEYS).prop_map(String::from),
        "\\PC{1,6}"
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 256, failure_persistence: None, ..Default::default()
    })]

    /// Whatever the document's shape, a secret at any leaf is denied on input, and an e-mail at any leaf
    /// never comes back on output.
    #[test]
    fn a_value_planted_at_any_leaf_of_any_document_never_passes(
        mut doc in json_document(),
        pick in proptest::prelude::any::<proptest::sample::Index>(),
        prefix in proptest::sample::select(&["", "key ", "note: ", "\n"][..]),
    ) {
        let mut at = Vec::new();
        leaves(&doc, String::new(), &mut at);
        if at.is_empty() {
            doc = json!({"x": null});
            at.push("/x".into());
        }
        let leaf = at[pick.index(at.len())].clone();
        let target = if leaf.is_empty() { &mut doc } else { doc.pointer_mut(&leaf).unwrap() };
        *target = json!(format!("{prefix}{AWS_KEY}"));
        let c = check_json(&doc, Dir::Input);
        proptest::prop_assert_eq!(c.outcome, Outcome::Deny, "{} in {:#}", leaf, doc);

        let target = if leaf.is_empty() { &mut doc } else { doc.pointer_mut(&leaf).unwrap() };
        *target = json!(format!("{prefix}ana.silva@example.com"));
        let c = check_json(&doc, Dir::Output);
        proptest::prop_assert!(
            c.outcome == Outcome::Deny || !c.content.contains("ana.silva@example.com"),
            "{} in {:#}: {}", leaf, doc, c.content
        );
    }
}

/// The pointers of every object in `v`.
fn objects(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, item) in o {
                objects(
                    item,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
            out.push(at);
        }
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                objects(item, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 128, failure_persistence: None, ..Default::default()
    })]

    /// A key carries data as well as a value does: a secret as a key of any object of any document is
    /// denied on input, and an e-mail as one never comes back on output (keys are not rewritten, so
    /// that is a deny too).
    #[test]
    fn a_value_planted_as_any_key_of_any_document_never_passes(
        doc in json_document(),
        pick in proptest::prelude::any::<proptest::sample::Index>(),
        prefix in proptest::sample::select(&["", "key ", "note: "][..]),
    ) {
        let mut doc = if doc.is_object() { doc } else { json!({ "x": doc }) };
        let mut at = Vec::new();
        objects(&doc, String::new(), &mut at);
        let object = at[pick.index(at.len())].clone();
        let plant = |doc: &mut Value, value: &str| {
            let target = if object.is_empty() { &mut *doc } else { doc.pointer_mut(&object).unwrap() };
            target.as_object_mut().unwrap().insert(format!("{prefix}{value}"), Value::Null);
        };
        let mut with_secret = doc.clone();
        plant(&mut with_secret, AWS_KEY);
        let c = check_json(&with_secret, Dir::Input);
        proptest::prop_assert_eq!(c.outcome, Outcome::Deny, "{} in {:#}", object, with_secret);

        plant(&mut doc, "ana.silva@example.com");
        let c = check_json(&doc, Dir::Output);
        proptest::prop_assert!(
            c.outcome == Outcome::Deny || !c.content.contains("ana.silva@example.com"),
            "{} in {:#}: {}", object, doc, c.content
        );
    }
}

#[test]
fn keys_are_read_located_by_their_object_and_never_rewritten() {
    let mut body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]});
    body["metadata"] = json!({"trace": "t-1", "ana.silva@example.com": "vip"});
    let c = check_json(&body, Dir::Output);
    assert_eq!(c.outcome, Outcome::Deny);
    assert!(
        c.reason
            .as_deref()
            .unwrap()
            .contains("keys are not rewritten"),
        "{:?}",
        c.reason
    );
    // The finding names the key by its place in its object, never by the key itself.
    assert_eq!(
        found(&c),
        [("/metadata#keys/1".to_string(), "EMAIL_ADDRESS".to_string())]
    );
    // Keys that are plain names are not read at all; keys with digits or other scripts are, and pass
    // when clean.
    body["metadata"] = json!({"trace_id": "t-1", "v2": 1, "ключ": true});
    let c = check_json(&body, Dir::Output);
    assert_eq!(c.outcome, Outcome::Allow, "{:?}", c.reason);
    // A value under such a key is located by the key's place too: no finding, reason or log line that
    // names where a value sits ever spells out the key.
    body["metadata"] = json!({"AKIAZ7QW3RTY5UIO2PAS": {"note": "mail ana.silva@example.com"}});
    let c = check_json(&body, Dir::Output);
    assert_eq!(c.outcome, Outcome::Deny);
    let located: Vec<(String, String)> = found(&c);
    assert!(
        located.contains(&("/metadata#keys/0".into(), "SECRET".into())),
        "{located:?}"
    );
    assert!(
        located.contains(&("/metadata/#0/note".into(), "EMAIL_ADDRESS".into())),
        "{located:?}"
    );
    let reported = format!("{:?} {:?}", c.findings, c.reason);
    assert!(!reported.contains("AKIAZ7QW3RTY5UIO2PAS"), "{reported}");
}

fn check_ndjson(body: &str, direction: Dir) -> Checked {
    let exchange = Request {
        direction,
        ..Request::default()
    };
    check::run(
        default_bundle(),
        ContentType::Ndjson,
        body.to_string(),
        &exchange,
        &key(),
    )
    .expect("checks")
}

/// An Ollama `/api/chat` answer as it streams: one JSON document per line.
fn ollama_answer(words: &[&str]) -> String {
    let mut body = String::new();
    for word in words {
        body.push_str(
            &json!({"model": "llama3.2", "created_at": "2026-12-03T10:00:00Z",
                "message": {"role": "assistant", "content": word}, "done": false})
            .to_string(),
        );
        body.push('\n');
    }
    body.push_str(
        &json!({"model": "llama3.2", "created_at": "2026-12-03T10:00:01Z",
            "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
            "total_duration": 4_883_583_458u64, "eval_count": 7})
        .to_string(),
    );
    body.push('\n');
    body
}

#[test]
fn newline_delimited_json_is_read_document_by_document_and_written_back_line_by_line() {
    let body = ollama_answer(&["Write ", "to ana.silva@example.com ", "today."]);
    let c = check_ndjson(&body, Dir::Output);
    assert_eq!(c.outcome, Outcome::Modify);
    assert_eq!(c.shape, Shape::Lines);
    assert_eq!(
        found(&c),
        [(
            "/1/message/content".to_string(),
            "EMAIL_ADDRESS".to_string()
        )]
    );
    let lines: Vec<&str> = c.content.lines().collect();
    let original: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), original.len());
    assert!(c.content.ends_with('\n'));
    for (i, (out, was)) in lines.iter().zip(&original).enumerate() {
        if i == 1 {
            let out: Value = serde_json::from_str(out).unwrap();
            assert_eq!(out["message"]["content"], "to [EMAIL_ADDRESS] ");
        } else {
            assert_eq!(out, was, "line {i} as it came");
        }
    }
    // A secret in any line, a request's line included, denies the whole body.
    let batch = format!(
        "{}\r\n\r\n{}\r\n",
        json!({"custom_id": "a", "body": {"messages": [{"role": "user", "content": "hi"}]}}),
        json!({"custom_id": "b", "body": {"messages": [{"role": "user", "content": AWS_KEY}]}}),
    );
    let c = check_ndjson(&batch, Dir::Input);
    assert_eq!(c.outcome, Outcome::Deny);
    assert!(
        c.reason
            .as_deref()
            .unwrap()
            .contains("/1/body/messages/0/content"),
        "{:?}",
        c.reason
    );
    assert_eq!(c.content, batch);
    // Clean lines pass as they came; a line that is not JSON is an error that names it.
    let c = check_ndjson(&ollama_answer(&["Nothing ", "here."]), Dir::Output);
    assert_eq!(c.outcome, Outcome::Allow);
    let e = check::run(
        default_bundle(),
        ContentType::Ndjson,
        "{\"a\": 1}\n{\"b\": \n".into(),
        &Request::default(),
        &key(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
}

fn check_multipart(body: &str, direction: Dir) -> palisade::Result<Checked> {
    let exchange = Request {
        direction,
        ..Request::default()
    };
    check::run_multipart(
        default_bundle(),
        "b0undary",
        body.to_string(),
        &exchange,
        &key(),
    )
}

/// A form as `curl -F` sends it: a text field, a JSON part and a text file.
fn form(field: &str, json_part: &str, file: &str, file_name: &str) -> String {
    format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n{field}\r\n\
         --b0undary\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{json_part}\r\n\
         --b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/plain\r\n\r\n{file}\r\n\
         --b0undary--\r\n"
    )
}

#[test]
fn multipart_forms_are_read_part_by_part_and_written_back_in_place() {
    let meta = r#"{"user": "u-1", "note": "call ana.silva@example.com"}"#;
    let body = form(
        "Transcribe this.",
        meta,
        "Minutes: lena.berg@example.org said hi",
        "notes.txt",
    );
    let c = check_multipart(&body, Dir::Output).unwrap();
    assert_eq!(c.outcome, Outcome::Modify);
    assert_eq!(c.shape, Shape::Multipart);
    assert_eq!(
        found(&c),
        [
            ("/1/note".to_string(), "EMAIL_ADDRESS".to_string()),
            ("/2".to_string(), "EMAIL_ADDRESS".to_string())
        ]
    );
    let redacted = form(
        "Transcribe this.",
        r#"{"user": "u-1", "note": "call [EMAIL_ADDRESS]"}"#,
        "Minutes: [EMAIL_ADDRESS] said hi",
        "notes.txt",
    );
    assert_eq!(
        c.content, redacted,
        "only the values change, every other byte as it came"
    );

    // A secret in any part denies; so does one in a part's headers, which are not rewritten.
    let c = check_multipart(&form(AWS_KEY, "{}", "x", "a.txt"), Dir::Input).unwrap();
    assert_eq!(c.outcome, Outcome::Deny);
    assert!(
        c.reason.as_deref().unwrap().contains("(at /0)"),
        "{:?}",
        c.reason
    );
    let c = check_multipart(
        &form("hi", "{}", "x", "ana.silva@example.com.txt"),
        Dir::Output,
    )
    .unwrap();
    assert_eq!(c.outcome, Outcome::Deny);
    assert!(
        c.reason
            .as_deref()
            .unwrap()
            .contains("headers are not rewritten"),
        "{:?}",
        c.reason
    );
    // Text before the first part is read too; a body that does not follow its boundary is an error.
    let c = check_multipart(
        &format!("{AWS_KEY}\r\n{}", form("hi", "{}", "x", "a.txt")),
        Dir::Input,
    )
    .unwrap();
    assert_eq!(c.outcome, Outcome::Deny);
    let e = check_multipart("--b0undary\r\n\r\nno end", Dir::Input).unwrap_err();
    assert!(e.to_string().contains("not closed by its boundary"), "{e}");
}

#[test]
fn findings_in_strings_no_shape_names_carry_their_own_location() {
    // Several such strings are checked joined first; a finding sends them through one by one.
    let body =
        json!({"model": "m", "records": ["fine", "write to ana.silva@example.com"], "user": "u-1"});
    let c = check_json(&body, Dir::Output);
    assert_eq!(
        found(&c),
        [("/records/1".to_string(), "EMAIL_ADDRESS".to_string())]
    );
    let out: Value = serde_json::from_str(&c.content).unwrap();
    assert_eq!(out["records"], json!(["fine", "write to [EMAIL_ADDRESS]"]));
    // Clean, they are let through as they came, with no finding.
    let clean = json!({"model": "m", "records": ["fine", "also fine"], "user": "u-1"});
    let c = check_json(&clean, Dir::Output);
    assert_eq!((c.outcome, found(&c)), (Outcome::Allow, vec![]));
    // The joined check names the body as a whole for what it reports about the exchange.
    let reported: Vec<&str> = c.findings.iter().map(|f| f.location.as_str()).collect();
    assert_eq!(reported, [""], "{:#?}", c.findings);
}

/// A plugin whose finding takes in the quotes around a value: redacting it would leave the JSON it sits in
/// invalid — tool-call arguments (JSON in a string) and a tool_use input (JSON itself) alike.
fn quote_eater() -> palisade::bundle::Bundle {
    load(&format!(
        "{HEADER}{}",
        testbed(
            "quotes",
            r#"{ mode = "find", needles = ["\"ana@example.com\"", "bob@example.com"], category = "EMAIL_ADDRESS" }"#,
            ""
        )
    ))
    .expect("loads")
}

#[test]
fn a_redaction_that_would_break_tool_call_json_denies_instead() {
    let bundle = quote_eater();
    let call = |to: &str| {
        json!({"model": "gpt-4o", "messages": [
            {"role": "user", "content": "Mail the customer."},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "send_mail", "arguments": format!("{{\"to\":\"{to}\"}}")}}]}
        ]})
    };
    let use_tool = |to: &str| {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [
            {"role": "user", "content": "Mail the customer."},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "send_mail",
                "input": {"to": to}}]}
        ]})
    };
    for (body, at) in [
        (
            &call as &dyn Fn(&str) -> Value,
            "/messages/1/tool_calls/0/function/arguments",
        ),
        (&use_tool, "/messages/1/content/0/input"),
    ] {
        // The control: a finding inside the string is redacted in place and the JSON still parses.
        let c = check_with(&bundle, &body("bob@example.com"), Dir::Input);
        assert_eq!(c.outcome, Outcome::Modify, "{:?}", c.reason);
        assert!(!c.content.contains("bob@example.com"));
        let out: Value = serde_json::from_str(&c.content).unwrap();
        let redacted = pointer(&out, at);
        let inner = redacted.as_str().map_or(redacted.clone(), |s| {
            serde_json::from_str(s).expect("arguments are still JSON")
        });
        assert_eq!(inner, json!({"to": "[EMAIL_ADDRESS]"}));

        // The same redaction taking in the quotes: the body is denied, not passed on broken or unredacted.
        let c = check_with(&bundle, &body("ana@example.com"), Dir::Input);
        assert_eq!(c.outcome, Outcome::Deny, "{at}");
        let reason = c.reason.as_deref().unwrap_or_default();
        assert!(
            reason.contains("cannot be applied")
                && reason.contains(at)
                && reason.contains("would leave its JSON invalid"),
            "{reason}"
        );
        assert!(!c.content.contains("ana@example.com"), "{}", c.content);
    }
}
