//! Streamed output through the hold-back: raw text and OpenAI / Anthropic server-sent events, split at
//! every boundary and at random ones. Nothing the policy redacts may ever be released, and what is
//! released, put together, is what a one-shot check of the whole text answers.

use std::sync::Arc;

use palisade::bundle::Bundle;
use palisade::chain::{Dir, Outcome, Request};
use palisade::stream::{StreamCheck, StreamSettings, StreamType, Summary};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::util::{default_bundle, key, leaves, run_dir};

const EMAIL: &str = "ana.silva@example.com";
const AWS_KEY: &str = "AKIAZ7QW3RTY5UIO2PAS";
const CARD: &str = "4111 1111 1111 1111";
/// Values planted into streams that already hold the ones above, so that what is looked for is the plant.
const PLANTED_TOKEN: &str = "ghp_R8x2Kq7LmZ4vT9wN3bY6cF1hJ5dS0gA2pE7u";
const PLANTED_EMAIL: &str = "lena.berg@example.org";

fn stock() -> Arc<Bundle> {
    static BUNDLE: std::sync::OnceLock<Arc<Bundle>> = std::sync::OnceLock::new();
    BUNDLE
        .get_or_init(|| {
            Arc::new(palisade::bundle::load_embedded(crate::util::engine()).expect("loads"))
        })
        .clone()
}

/// A small hold-back, so short texts cross it many times.
fn settings() -> StreamSettings {
    StreamSettings {
        context: 64,
        ..StreamSettings::new(64, 4 << 20)
    }
}

/// Feeds `chunks` through a stream check; returns every released byte and the summary.
fn stream(kind: StreamType, direction: Dir, chunks: &[&[u8]]) -> (Vec<u8>, Summary) {
    let exchange = Request {
        direction,
        ..Request::default()
    };
    let mut check = StreamCheck::new(stock(), exchange, kind, settings());
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(check.push(chunk, &key()).expect("chunk accepted"));
        if check.denied() {
            return (out, check.summary());
        }
    }
    out.extend(check.finish(&key()).expect("stream ends"));
    (out, check.summary())
}

pub(crate) fn split_at(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for cut in cuts {
        pieces.push(bytes[from..cut].to_vec());
        from = cut;
    }
    pieces.push(bytes[from..].to_vec());
    pieces
}

/// `body` cut in two at every byte, and into many pieces at once.
fn splits_of(body: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut splits: Vec<Vec<Vec<u8>>> = (0..=body.len()).map(|at| split_at(body, &[at])).collect();
    splits.extend(
        (1..=16).map(|n| split_at(body, &(1..=n).map(|i| i * 7919 * n).collect::<Vec<_>>())),
    );
    splits
}

/// Streams `body` (SSE, output) cut in two at every byte, and hands each result to `check`.
fn at_every_split(body: &str, check: impl Fn(usize, Vec<u8>, Summary)) {
    let bytes = body.as_bytes();
    for at in 0..=bytes.len() {
        let (released, summary) =
            stream(StreamType::Sse, Dir::Output, &[&bytes[..at], &bytes[at..]]);
        assert_nothing_leaks(&released);
        check(at, released, summary);
    }
}

fn refs(pieces: &[Vec<u8>]) -> Vec<&[u8]> {
    pieces.iter().map(Vec::as_slice).collect()
}

fn assert_nothing_leaks(released: &[u8]) {
    let released = String::from_utf8_lossy(released);
    for value in [EMAIL, AWS_KEY, CARD, "silva@", "Z7QW3RTY5UIO"] {
        assert!(
            !released.contains(value),
            "{value:?} was released: {released}"
        );
    }
}

#[test]
fn raw_text_split_at_every_byte_is_released_redacted_and_whole() {
    let text = format!(
        "Dear team, the invoice goes to {EMAIL} today; ops rotated {AWS_KEY} last week and the card {CARD} expires soon. Thanks — Grüße"
    );
    let whole = run_dir(default_bundle(), &text, Dir::Output).text;
    for at in 0..=text.len() {
        let (released, summary) = stream(
            StreamType::Text,
            Dir::Output,
            &[&text.as_bytes()[..at], &text.as_bytes()[at..]],
        );
        assert_nothing_leaks(&released);
        assert_eq!(
            String::from_utf8(released).expect("UTF-8, even split inside ü"),
            whole,
            "split at {at}"
        );
        assert_eq!(summary.outcome, Outcome::Modify);
        let mut categories: Vec<&str> = summary
            .findings
            .iter()
            .filter(|f| f.span.is_some())
            .map(|f| f.category.as_str())
            .collect();
        categories.sort_unstable();
        assert_eq!(
            categories,
            ["CREDIT_CARD", "EMAIL_ADDRESS", "SECRET"],
            "split at {at}"
        );
    }
}

#[test]
fn findings_have_offsets_into_the_whole_stream() {
    let filler = "word ".repeat(60);
    let text = format!("{filler}write to {EMAIL} please");
    let (_, summary) = stream(StreamType::Text, Dir::Output, &[text.as_bytes()]);
    let pieces: Vec<&[u8]> = text.as_bytes().chunks(7).collect();
    let (_, chunked) = stream(StreamType::Text, Dir::Output, &pieces);
    for s in [summary, chunked] {
        let f = s
            .findings
            .iter()
            .find(|f| f.category == "EMAIL_ADDRESS")
            .unwrap();
        assert_eq!(&text[f.span.clone().unwrap()], EMAIL);
    }
}

#[test]
fn a_deny_ends_the_stream_and_what_was_held_back_is_never_released() {
    let text = format!(
        "{} and the key is {AWS_KEY} {}",
        "lorem ipsum ".repeat(20),
        "dolor ".repeat(30)
    );
    let pieces: Vec<&[u8]> = text.as_bytes().chunks(5).collect();
    let (released, summary) = stream(StreamType::Text, Dir::Input, &pieces);
    assert_eq!(summary.outcome, Outcome::Deny);
    assert!(summary.reason.unwrap().contains("SECRET"));
    let released = String::from_utf8(released).unwrap();
    assert!(!released.contains("AKIA"), "{released}");
    assert!(text.starts_with(&released), "released a prefix of the text");
}

#[test]
fn a_plain_stream_with_nothing_to_find_is_allowed_unchanged() {
    let text = "The weather is mild. ".repeat(40);
    let pieces: Vec<&[u8]> = text.as_bytes().chunks(3).collect();
    let (released, summary) = stream(StreamType::Text, Dir::Output, &pieces);
    assert_eq!(String::from_utf8(released).unwrap(), text);
    assert_eq!(summary.outcome, Outcome::Allow);
}

#[test]
fn invalid_utf8_and_oversize_streams_are_errors() {
    let mut check = StreamCheck::new(stock(), Request::default(), StreamType::Text, settings());
    check.push(b"abc", &key()).unwrap();
    let e = check.push(b"\xff\xfe", &key()).unwrap_err();
    assert!(e.to_string().contains("offset 3"), "{e}");

    // In an event stream too, counted from the stream's first byte.
    let mut check = StreamCheck::new(stock(), Request::default(), StreamType::Sse, settings());
    check.push(b"data: {}\n\ndata: ab", &key()).unwrap();
    let e = check.push(b"c\xff\n\n", &key()).unwrap_err();
    assert!(e.to_string().contains("offset 19"), "{e}");

    let mut check = StreamCheck::new(
        stock(),
        Request::default(),
        StreamType::Text,
        StreamSettings {
            max_total: 10,
            ..settings()
        },
    );
    check.push(b"0123456789", &key()).unwrap();
    assert!(check.push(b"x", &key()).is_err());
}

// ---------------------------------------------------------------------------------------------------------
// Server-sent events.

pub(crate) fn sse(events: &[(Option<&str>, String)]) -> String {
    events
        .iter()
        .map(|(name, data)| match name {
            Some(n) => format!("event: {n}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        })
        .collect()
}

/// Splits `text` into small token-like pieces.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        piece.push(c);
        if piece.len() >= 3 || c == ' ' {
            out.push(std::mem::take(&mut piece));
        }
    }
    out.push(piece);
    out
}

fn chat_content() -> String {
    format!("Sure! Write to {EMAIL} and pay with {CARD}.")
}

/// What a one-shot check makes of the whole content.
fn chat_content_redacted() -> String {
    let redacted = run_dir(default_bundle(), &chat_content(), Dir::Output).text;
    assert!(redacted.contains("[EMAIL_ADDRESS]") && !redacted.contains(CARD));
    redacted
}

fn openai_chat_stream() -> String {
    let chunk = |delta: Value, finish: Value| {
        (
            None,
            json!({"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190, "model": "gpt-4o-mini",
                   "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
            .to_string(),
        )
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for t in tokens(&chat_content()) {
        events.push(chunk(json!({"content": t}), Value::Null));
    }
    events.push(chunk(
        json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "store_key", "arguments": ""}}]}),
        Value::Null,
    ));
    for t in tokens(&format!("{{\"key\": \"{AWS_KEY}\"}}")) {
        events.push(chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": t}}]}),
            Value::Null,
        ));
    }
    events.push(chunk(json!({}), json!("tool_calls")));
    events.push((None, "[DONE]".into()));
    sse(&events)
}

/// Parses released SSE into (event name, data) pairs; every event must be well-formed.
pub(crate) fn events_of(released: &[u8]) -> Vec<(Option<String>, String)> {
    let text = String::from_utf8(released.to_vec()).expect("UTF-8");
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "ends mid-event: {text:?}"
    );
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut name = None;
            let mut data = String::new();
            for line in e.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = Some(n.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            (name, data)
        })
        .collect()
}

/// The text of `pointer` across all events, concatenated (what a streaming client would show).
pub(crate) fn joined(events: &[(Option<String>, String)], pointer: &str) -> String {
    events
        .iter()
        .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn openai_chat_sse_split_at_every_byte_never_releases_a_redacted_value() {
    at_every_split(&openai_chat_stream(), |at, released, summary| {
        let events = events_of(&released);
        assert_eq!(
            joined(&events, "/choices/0/delta/content"),
            chat_content_redacted(),
            "split at {at}"
        );
        assert_eq!(
            joined(&events, "/choices/0/delta/tool_calls/0/function/arguments"),
            "{\"key\": \"[SECRET]\"}",
            "split at {at}"
        );
        assert_eq!(events.last().unwrap().1, "[DONE]");
        assert_eq!(summary.outcome, Outcome::Modify);
        let locations: Vec<&str> = summary
            .findings
            .iter()
            .map(|f| f.location.as_str())
            .collect();
        assert!(locations.contains(&"/choices/0/delta/content"));
        assert!(locations.contains(&"/choices/0/delta/tool_calls/0/function/arguments"));
    });
}

fn anthropic_stream() -> String {
    let mut events = vec![
        (Some("message_start"), json!({"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}).to_string()),
        (Some("content_block_start"), json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}).to_string()),
        (Some("ping"), json!({"type": "ping"}).to_string()),
    ];
    for t in tokens(&format!("Mail {EMAIL} the report.")) {
        events.push((
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}).to_string(),
        ));
    }
    events.push((
        Some("content_block_stop"),
        json!({"type": "content_block_stop", "index": 0}).to_string(),
    ));
    events.push((Some("content_block_start"), json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "save", "input": {}}}).to_string()));
    for t in tokens(&format!("{{\"token\": \"{AWS_KEY}\"}}")) {
        events.push((
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": t}}).to_string(),
        ));
    }
    events.push((
        Some("content_block_stop"),
        json!({"type": "content_block_stop", "index": 1}).to_string(),
    ));
    events.push((Some("message_delta"), json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 89}}).to_string()));
    events.push((
        Some("message_stop"),
        json!({"type": "message_stop"}).to_string(),
    ));
    sse(&events)
}

#[test]
fn anthropic_sse_split_at_every_byte_never_releases_a_redacted_value() {
    at_every_split(&anthropic_stream(), |at, released, summary| {
        let events = events_of(&released);
        assert_eq!(
            joined(&events, "/delta/text"),
            "Mail [EMAIL_ADDRESS] the report."
        );
        assert_eq!(
            joined(&events, "/delta/partial_json"),
            "{\"token\": \"[SECRET]\"}"
        );
        // Every event is passed on, in order, with its name.
        let names: Vec<&str> = events.iter().filter_map(|(n, _)| n.as_deref()).collect();
        assert_eq!(names.first(), Some(&"message_start"));
        assert_eq!(names.last(), Some(&"message_stop"));
        assert!(names.contains(&"ping"));
        // Block 0's held-back text goes out before its stop event.
        let first_stop = events
            .iter()
            .position(|(n, _)| n.as_deref() == Some("content_block_stop"))
            .unwrap();
        assert!(
            !events[first_stop..]
                .iter()
                .any(|(n, d)| n.as_deref() == Some("content_block_delta")
                    && d.contains("\"index\":0")),
            "split at {at}"
        );
        let secret = summary
            .findings
            .iter()
            .find(|f| f.category == "SECRET")
            .unwrap();
        assert_eq!(secret.location, "/content/1/input");
    });
}

#[test]
fn openai_responses_sse_done_events_repeat_the_redacted_text() {
    let text = format!("Your contact is {EMAIL}.");
    let mut events = vec![(
        Some("response.created"),
        json!({"type": "response.created", "response": {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}}).to_string(),
    )];
    for t in tokens(&text) {
        events.push((Some("response.output_text.delta"), json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": t}).to_string()));
    }
    events.push((Some("response.output_text.done"), json!({"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0, "content_index": 0, "text": text}).to_string()));
    events.push((Some("response.content_part.done"), json!({"type": "response.content_part.done", "item_id": "msg_1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": []}}).to_string()));
    events.push((Some("response.completed"), json!({"type": "response.completed", "response": {"id": "resp_1", "object": "response", "status": "completed",
        "output": [{"type": "message", "id": "msg_1", "role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": []}]}]}}).to_string()));
    at_every_split(&sse(&events), |_, released, _| {
        let events = events_of(&released);
        let redacted = "Your contact is [EMAIL_ADDRESS].";
        assert_eq!(joined(&events, "/delta"), redacted);
        assert_eq!(joined(&events, "/text"), redacted);
        assert_eq!(joined(&events, "/part/text"), redacted);
        assert_eq!(
            joined(&events, "/response/output/0/content/0/text"),
            redacted
        );
    });
}

// ---------------------------------------------------------------------------------------------------------
// Nothing in a stream passes unread: fields no list names, event kinds not known yet, lines other than
// data, token log-probabilities, and a value planted in any string of any event.

/// Server-sent events from JSON values (`Value::Null` is `[DONE]`).
pub(crate) fn sse_of(events: &[(Option<String>, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| {
            let data = match data {
                Value::Null => "[DONE]".to_string(),
                v => v.to_string(),
            };
            match name {
                Some(n) => format!("event: {n}\ndata: {data}\n\n"),
                None => format!("data: {data}\n\n"),
            }
        })
        .collect()
}

/// One token's log-probability entry, with an alternative the model weighed.
fn logprob(token: &str, alternative: &str) -> Value {
    json!({"token": token, "logprob": -0.25, "bytes": token.as_bytes(),
           "top_logprobs": [{"token": alternative, "logprob": -2.5, "bytes": alternative.as_bytes()}]})
}

/// A Chat Completions stream with what the first adapters did not read: reasoning in a field of its own,
/// legacy `function_call`, an audio transcript, per-token log-probabilities, padding, and metadata.
pub(crate) fn chat_stream_beyond_content() -> Vec<(Option<String>, Value)> {
    let chunk = |delta: Value, logprobs: Value, finish: Value| {
        (
            None,
            json!({"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1694268190,
                   "model": "gpt-4o-audio", "system_fingerprint": "fp_44709d6fcb", "service_tier": "default",
                   "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}],
                   "obfuscation": "q7Xb"}),
        )
    };
    let none = Value::Null;
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        none.clone(),
        none.clone(),
    )];
    for t in tokens(&format!("The user wants mail sent to {EMAIL} now")) {
        events.push(chunk(json!({"reasoning": t}), none.clone(), none.clone()));
    }
    for t in tokens(&chat_content()) {
        let lp = json!({"content": [logprob(&t, "maybe")], "refusal": null});
        events.push(chunk(json!({"content": t}), lp, none.clone()));
    }
    events.push(chunk(
        json!({"function_call": {"name": "lookup", "arguments": ""}}),
        none.clone(),
        none.clone(),
    ));
    for t in tokens(&format!("{{\"key\": \"{AWS_KEY}\"}}")) {
        events.push(chunk(
            json!({"function_call": {"arguments": t}}),
            none.clone(),
            none.clone(),
        ));
    }
    events.push(chunk(
        json!({"audio": {"id": "audio_1", "data": "UklGRiQAAABXQVZF", "expires_at": 1729234747, "transcript": ""}}),
        none.clone(),
        none.clone(),
    ));
    for t in tokens(&format!("Call back on card {CARD}.")) {
        events.push(chunk(
            json!({"audio": {"transcript": t}}),
            none.clone(),
            none.clone(),
        ));
    }
    events.push(chunk(json!({}), none.clone(), json!("stop")));
    events.push((None, Value::Null));
    events
}

/// A Responses stream with every kind of delta the API has, one it does not have yet, log-probabilities,
/// and the `*.done` and `response.completed` events that repeat each text whole.
pub(crate) fn responses_stream_beyond_text() -> Vec<(Option<String>, Value)> {
    let mut events = Vec::new();
    let mut push = |kind: &str, mut v: Value| {
        v["type"] = json!(kind);
        events.push((Some(kind.to_string()), v));
    };
    let text = format!("Your contact is {EMAIL}.");
    let texts = [
        (
            "response.custom_tool_call_input",
            0,
            format!("key={AWS_KEY}"),
            "input",
        ),
        (
            "response.mcp_call_arguments",
            1,
            format!("{{\"to\": \"{EMAIL}\"}}"),
            "arguments",
        ),
        (
            "response.reasoning_text",
            2,
            format!("I should email {EMAIL}"),
            "text",
        ),
        (
            "response.code_interpreter_call_code",
            3,
            format!("charge('{CARD}')"),
            "code",
        ),
        (
            "response.audio.transcript",
            4,
            format!("Read out {AWS_KEY}"),
            "",
        ),
        (
            "response.hologram_caption",
            5,
            format!("Caption {EMAIL}"),
            "",
        ),
    ];
    push(
        "response.created",
        json!({"sequence_number": 0, "response": {"id": "resp_9", "object": "response", "status": "in_progress", "output": []}}),
    );
    for (kind, oi, value, field) in &texts {
        for t in tokens(value) {
            push(
                &format!("{kind}.delta"),
                json!({"item_id": format!("it_{oi}"), "output_index": oi, "content_index": 0, "delta": t, "obfuscation": "Zq"}),
            );
        }
        let mut done =
            json!({"item_id": format!("it_{oi}"), "output_index": oi, "content_index": 0});
        if !field.is_empty() {
            done[*field] = json!(value);
        }
        push(&format!("{kind}.done"), done);
    }
    for t in tokens(&text) {
        push(
            "response.output_text.delta",
            json!({"item_id": "msg_6", "output_index": 6, "content_index": 0, "delta": t, "logprobs": [logprob(&t, "perhaps")]}),
        );
    }
    let all_logprobs: Vec<Value> = tokens(&text)
        .iter()
        .map(|t| logprob(t, "perhaps"))
        .collect();
    push(
        "response.output_text.done",
        json!({"item_id": "msg_6", "output_index": 6, "content_index": 0, "text": text, "logprobs": all_logprobs}),
    );
    push(
        "response.completed",
        json!({"response": {"id": "resp_9", "object": "response", "status": "completed", "output": [
            {"type": "custom_tool_call", "id": "it_0", "name": "shell", "input": format!("key={AWS_KEY}")},
            {"type": "mcp_call", "id": "it_1", "name": "send", "arguments": format!("{{\"to\": \"{EMAIL}\"}}")},
            {"type": "reasoning", "id": "it_2", "content": [{"type": "reasoning_text", "text": format!("I should email {EMAIL}")}]},
            {"type": "code_interpreter_call", "id": "it_3", "code": format!("charge('{CARD}')")},
            {"type": "message", "id": "it_4", "content": [{"type": "output_audio", "transcript": format!("Read out {AWS_KEY}")}]},
            {"type": "hologram", "id": "it_5", "caption": format!("Caption {EMAIL}")},
            {"type": "message", "id": "msg_6", "role": "assistant", "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": all_logprobs}]}
        ]}}),
    );
    events
}

/// An Anthropic stream with a delta type not known yet, a citation, and a thinking signature.
pub(crate) fn anthropic_stream_beyond_text() -> Vec<(Option<String>, Value)> {
    let mut events = Vec::new();
    let mut push = |v: Value| {
        let kind = v["type"].as_str().unwrap().to_string();
        events.push((Some(kind), v));
    };
    push(
        json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5"}}),
    );
    push(
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
    );
    for t in tokens(&format!("Their key is {AWS_KEY}, careful")) {
        push(
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": t}}),
        );
    }
    push(
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}),
    );
    push(json!({"type": "content_block_stop", "index": 0}));
    push(
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
    );
    for t in tokens(&format!("Forward to {EMAIL} today")) {
        push(
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "sparkle_delta", "sparkle": t}}),
        );
    }
    push(
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": format!("card {CARD}"), "document_index": 0, "document_title": "Billing", "start_char_index": 0, "end_char_index": 24}}}),
    );
    push(json!({"type": "content_block_stop", "index": 1}));
    push(
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 42}}),
    );
    push(json!({"type": "message_stop"}));
    events
}

/// Streams `body` whole and cut at `cuts` (some dozens of places), checking nothing leaks each time;
/// returns the released events of the whole run.
fn stream_cut_many_ways(body: &str) -> Vec<(Option<String>, String)> {
    let len = body.len();
    for n in 1..=24 {
        let cuts: Vec<usize> = (1..=n % 5 + 1)
            .map(|i| (i * 7919 * n) % (len + 1))
            .collect();
        let pieces = split_at(body.as_bytes(), &cuts);
        let (released, _) = stream(StreamType::Sse, Dir::Output, &refs(&pieces));
        assert_nothing_leaks(&released);
        events_of(&released);
    }
    let (released, summary) = stream(StreamType::Sse, Dir::Output, &[body.as_bytes()]);
    assert_nothing_leaks(&released);
    assert_eq!(summary.outcome, Outcome::Modify);
    events_of(&released)
}

/// The log-probability entries under `pointer` across all events, in order.
fn released_logprobs(events: &[(Option<String>, String)], pointer: &str) -> Vec<Value> {
    events
        .iter()
        .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v.pointer(pointer).and_then(Value::as_array).cloned())
        .flatten()
        .collect()
}

fn spelled(entries: &[Value]) -> String {
    entries
        .iter()
        .map(|e| e["token"].as_str().unwrap())
        .collect()
}

#[test]
fn chat_stream_fields_beyond_content_are_streamed_through_the_hold_back() {
    let events = stream_cut_many_ways(&sse_of(&chat_stream_beyond_content()));
    let redacted = |text: &str| run_dir(default_bundle(), text, Dir::Output).text;
    assert_eq!(
        joined(&events, "/choices/0/delta/reasoning"),
        redacted(&format!("The user wants mail sent to {EMAIL} now"))
    );
    assert_eq!(
        joined(&events, "/choices/0/delta/function_call/arguments"),
        "{\"key\": \"[SECRET]\"}"
    );
    assert_eq!(
        joined(&events, "/choices/0/delta/audio/transcript"),
        redacted(&format!("Call back on card {CARD}."))
    );
    // Metadata and whole values go out as they came, in every event.
    let first: Value = serde_json::from_str(&events[0].1).unwrap();
    assert_eq!(first["model"], "gpt-4o-audio");
    assert!(events
        .iter()
        .any(|(_, d)| d.contains("\"data\":\"UklGRiQAAABXQVZF\"")));
    assert!(events
        .iter()
        .any(|(_, d)| d.contains("\"name\":\"lookup\"")));

    // Token log-probabilities go out with their text, and only where the text went out unchanged.
    let entries = released_logprobs(&events, "/choices/0/logprobs/content");
    let tokens = spelled(&entries);
    assert_nothing_leaks(tokens.as_bytes());
    assert!(tokens.starts_with("Sure! Write to "), "{tokens:?}");
    // Each released token is text that went out, in order.
    let (redacted, mut at) = (chat_content_redacted(), 0);
    for e in &entries {
        let token = e["token"].as_str().unwrap();
        let found = redacted[at..].find(token);
        assert!(
            found.is_some(),
            "{token:?} is not in {redacted:?} after {at}"
        );
        at += found.unwrap_or(0) + token.len();
    }
    assert!(entries
        .iter()
        .all(|e| e["top_logprobs"][0]["token"] == "maybe"));
}

/// A clean answer whose every token's alternative is a secret.
fn clean_text_with_secret_alternatives(text: &str) -> String {
    let mut events = vec![];
    for t in tokens(text) {
        events.push((
            None,
            json!({"choices": [{"index": 0, "delta": {"content": t},
            "logprobs": {"content": [logprob(&t, AWS_KEY)]}, "finish_reason": null}]}),
        ));
    }
    events.push((
        None,
        json!({"choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]}),
    ));
    sse_of(&events)
}

#[test]
fn token_alternatives_that_carry_a_value_are_dropped() {
    let text =
        "The weather is mild today and tomorrow, with a light breeze from the west all week long.";
    let events = stream_cut_many_ways(&clean_text_with_secret_alternatives(text));
    assert_eq!(joined(&events, "/choices/0/delta/content"), text);
    // The text is clean, so its tokens go out; the alternatives spell a secret, so they do not.
    let entries = released_logprobs(&events, "/choices/0/logprobs/content");
    assert_eq!(spelled(&entries), text);
    assert!(entries.iter().all(|e| e["top_logprobs"] == json!([])));
}

#[test]
fn in_report_mode_token_alternatives_go_out_as_they_came() {
    let text = "A light breeze from the west all week long, and mild days to come for everyone.";
    let body = clean_text_with_secret_alternatives(text);
    let bundle = crate::util::edited_default_bundle(|m| {
        m.replacen("[bundle]\n", "[bundle]\nmode = \"report\"\n", 1)
    });
    let exchange = Request {
        direction: Dir::Output,
        ..Request::default()
    };
    let mut check = StreamCheck::new(Arc::new(bundle), exchange, StreamType::Sse, settings());
    let mut released = check.push(body.as_bytes(), &key()).unwrap();
    released.extend(check.finish(&key()).unwrap());
    assert_eq!(check.summary().outcome, Outcome::Allow);
    // Report mode changes nothing, the alternatives included.
    let events = events_of(&released);
    assert_eq!(joined(&events, "/choices/0/delta/content"), text);
    let entries = released_logprobs(&events, "/choices/0/logprobs/content");
    assert_eq!(spelled(&entries), text);
    assert!(entries
        .iter()
        .all(|e| e["top_logprobs"][0]["token"] == AWS_KEY));
}

#[test]
fn responses_stream_every_delta_kind_and_its_repeats_are_redacted() {
    let events = stream_cut_many_ways(&sse_of(&responses_stream_beyond_text()));
    let deltas = |kind: &str| -> String {
        let only: Vec<(Option<String>, String)> = events
            .iter()
            .filter(|(n, _)| n.as_deref() == Some(kind))
            .cloned()
            .collect();
        joined(&only, "/delta")
    };
    assert_eq!(
        deltas("response.custom_tool_call_input.delta"),
        "key=[SECRET]"
    );
    assert!(deltas("response.reasoning_text.delta").contains("[EMAIL_ADDRESS]"));
    assert!(deltas("response.hologram_caption.delta").contains("[EMAIL_ADDRESS]"));
    // The whole text repeated by `*.done` is what was released.
    let done: Vec<Value> = events
        .iter()
        .filter(|(n, _)| n.as_deref() == Some("response.custom_tool_call_input.done"))
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(done[0]["input"], "key=[SECRET]");
    // Log-probabilities: the tokens of the e-mail never go out, in the deltas or in the repeats.
    let done = events
        .iter()
        .find(|(n, _)| n.as_deref() == Some("response.output_text.done"))
        .map(|(_, d)| serde_json::from_str::<Value>(d).unwrap())
        .unwrap();
    let repeated: Vec<Value> = done["logprobs"].as_array().unwrap().clone();
    let streamed = released_logprobs(&events, "/logprobs");
    assert_eq!(
        spelled(&repeated),
        spelled(&streamed[..repeated.len().min(streamed.len())])
    );
    assert!(
        spelled(&repeated).starts_with("Your contact is "),
        "{repeated:?}"
    );
    assert_nothing_leaks(spelled(&streamed).as_bytes());
}

#[test]
fn anthropic_stream_unknown_delta_kinds_and_citations_are_read() {
    let events = stream_cut_many_ways(&sse_of(&anthropic_stream_beyond_text()));
    assert_eq!(
        joined(&events, "/delta/thinking"),
        "Their key is [SECRET], careful"
    );
    assert!(joined(&events, "/delta/sparkle").contains("[EMAIL_ADDRESS]"));
    // A signature is a whole value: it goes out in one piece, as it came.
    assert_eq!(
        joined(&events, "/delta/signature"),
        "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    );
}

#[test]
fn event_lines_other_than_data_are_read() {
    let body = format!(
        ": keep-alive {AWS_KEY}\n\nid: {EMAIL}\nevent: content_block_delta\ndata: {}\n\nevent: note {EMAIL}\ndata: {{}}\n\n",
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}})
    );
    let (released, summary) = stream(StreamType::Sse, Dir::Output, &[body.as_bytes()]);
    assert_nothing_leaks(&released);
    let released = String::from_utf8(released).unwrap();
    assert!(
        released.contains("event: content_block_delta\n"),
        "{released}"
    );
    assert!(released.contains(": keep-alive [SECRET]\n"), "{released}");
    assert_eq!(summary.outcome, Outcome::Modify);
}

#[test]
fn a_value_planted_in_any_string_of_any_event_is_never_released() {
    let streams = [
        chat_stream_beyond_content(),
        responses_stream_beyond_text(),
        anthropic_stream_beyond_text(),
        gemini_stream("The weather in Oslo is mild, with light wind from the west all day."),
    ];
    let mut planted = 0;
    for events in streams {
        for (i, (_, event)) in events.iter().enumerate() {
            let mut pointers = Vec::new();
            leaves(event, String::new(), &mut pointers);
            pointers.retain(|p| event.pointer(p).is_some_and(Value::is_string));
            for pointer in pointers {
                for value in [PLANTED_TOKEN, PLANTED_EMAIL] {
                    let mut copy = events.clone();
                    let leaf = copy[i].1.pointer_mut(&pointer).unwrap();
                    *leaf = json!(format!("{} {value} ", leaf.as_str().unwrap()));
                    let body = sse_of(&copy);
                    let cut = (planted * 7919) % body.len();
                    let pieces = split_at(body.as_bytes(), &[cut]);
                    let (released, _) = stream(StreamType::Sse, Dir::Output, &refs(&pieces));
                    let released = String::from_utf8_lossy(&released);
                    assert!(
                        !released.contains(value),
                        "{value} planted at event {i} {pointer} was released: {}\n{released}",
                        copy[i].1
                    );
                    planted += 1;
                }
            }
        }
    }
    assert!(planted > 500, "{planted}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Raw text with the entities anywhere, cut into chunks anywhere: none is ever released.
    #[test]
    fn no_chunking_releases_a_redacted_value(
        words in prop::collection::vec("[a-z]{1,8}", 0..40),
        at in prop::collection::vec(0usize..1000, 3),
        cuts in prop::collection::vec(0usize..10_000, 0..12),
    ) {
        let mut words = words;
        for (i, value) in [EMAIL, AWS_KEY, CARD].into_iter().enumerate() {
            let pos = at[i] % (words.len() + 1);
            words.insert(pos, value.to_string());
        }
        let text = words.join(" ");
        let pieces = split_at(text.as_bytes(), &cuts);
        let (released, summary) = stream(StreamType::Text, Dir::Output, &refs(&pieces));
        assert_nothing_leaks(&released);
        prop_assert_eq!(summary.outcome, Outcome::Modify);
    }

    /// The OpenAI stream cut into many chunks anywhere, events and characters split.
    #[test]
    fn no_chunking_of_an_sse_stream_releases_a_redacted_value(
        cuts in prop::collection::vec(0usize..100_000, 0..30),
    ) {
        let body = openai_chat_stream();
        let pieces = split_at(body.as_bytes(), &cuts);
        let (released, _) = stream(StreamType::Sse, Dir::Output, &refs(&pieces));
        assert_nothing_leaks(&released);
        let events = events_of(&released);
        prop_assert_eq!(
            joined(&events, "/choices/0/delta/content"),
            chat_content_redacted()
        );
    }
}

#[test]
fn a_key_that_carries_a_value_is_read_and_the_stream_denied() {
    let mut events = vec![];
    for t in tokens("A short and clean answer, nothing to see here at all.") {
        events.push((
            None,
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": t}}]}),
        ));
    }
    events.insert(
        3,
        (
            None,
            json!({"id": "chatcmpl-1", "choices": [], "usage": {AWS_KEY: 1}}),
        ),
    );
    let body = sse_of(&events);
    let (released, summary) = stream(StreamType::Sse, Dir::Input, &[body.as_bytes()]);
    assert_eq!(summary.outcome, Outcome::Deny, "{:?}", summary.reason);
    assert!(!String::from_utf8_lossy(&released).contains(AWS_KEY));
}

/// A Gemini `streamGenerateContent?alt=sse` answer: a thought summary, then `text` a few bytes per event.
pub(crate) fn gemini_stream(text: &str) -> Vec<(Option<String>, Value)> {
    let mut events = vec![(
        None,
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Thinking it over", "thought": true}]},
            "index": 0}], "modelVersion": "gemini-2.5-flash", "responseId": "r-1"}),
    )];
    for t in tokens(text) {
        events.push((
            None,
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": t}]}, "index": 0}],
                "modelVersion": "gemini-2.5-flash", "responseId": "r-1"}),
        ));
    }
    events.push((
        None,
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP",
            "index": 0}], "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 20},
            "modelVersion": "gemini-2.5-flash", "responseId": "r-1"}),
    ));
    events
}

#[test]
fn a_gemini_stream_is_read_as_one_text_across_its_events() {
    let text = "Sure: write to ana.silva@example.com or call +1 415 555 0132 after lunch.";
    let events = stream_cut_many_ways(&sse_of(&gemini_stream(text)));
    let answer: String = events
        .iter()
        .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
        .filter(|e| e.pointer("/candidates/0/content/parts/0/thought").is_none())
        .filter_map(|e| {
            Some(
                e.pointer("/candidates/0/content/parts/0/text")?
                    .as_str()?
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        answer,
        "Sure: write to [EMAIL_ADDRESS] or call [PHONE_NUMBER] after lunch."
    );
}

/// A Bedrock ConverseStream answer's events, named as their `:event-type` headers name them, with the
/// random padding `p` Bedrock adds.
pub(crate) fn bedrock_events(text: &str) -> Vec<(Option<String>, Value)> {
    let mut events = vec![("messageStart", json!({"role": "assistant", "p": "abcd"}))];
    for (i, t) in tokens(text).into_iter().enumerate() {
        events.push((
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": t}, "p": "x".repeat(i % 7)}),
        ));
    }
    events.push((
        "contentBlockStart",
        json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "mail"}}}),
    ));
    for piece in ["{\"to\": \"ana.si", "lva@example.com\"}"] {
        events.push((
            "contentBlockDelta",
            json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": piece}}, "p": "pp"}),
        ));
    }
    events.push((
        "contentBlockStop",
        json!({"contentBlockIndex": 1, "p": "q"}),
    ));
    events.push(("messageStop", json!({"stopReason": "tool_use", "p": "r"})));
    events.push((
        "metadata",
        json!({"usage": {"inputTokens": 9, "outputTokens": 30}}),
    ));
    (events.into_iter())
        .map(|(name, v)| (Some(name.to_string()), v))
        .collect()
}

/// Events as AWS event-stream messages, as AWS sends them.
pub(crate) fn event_stream_of(events: &[(Option<String>, Value)]) -> Vec<u8> {
    use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
    let mut out = Vec::new();
    for (name, payload) in events {
        let name = name.clone().unwrap_or_default();
        let message = Message::new_from_parts(
            vec![
                Header::new(":event-type", HeaderValue::String(name.into())),
                Header::new(
                    ":content-type",
                    HeaderValue::String("application/json".into()),
                ),
                Header::new(":message-type", HeaderValue::String("event".into())),
            ],
            payload.to_string().into_bytes(),
        );
        aws_smithy_eventstream::frame::write_message_to(&message, &mut out).unwrap();
    }
    out
}

fn bedrock_stream(text: &str) -> Vec<u8> {
    event_stream_of(&bedrock_events(text))
}

/// The released event-stream messages: each must be whole and its checksums right.
pub(crate) fn messages_of(mut released: &[u8]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    while !released.is_empty() {
        let message = aws_smithy_eventstream::frame::read_message_from(&mut released)
            .expect("a whole message with good checksums");
        let name = message.headers()[0].value().as_string().unwrap().as_str();
        let payload = serde_json::from_slice(message.payload()).expect("JSON payload");
        out.push((name.to_string(), payload));
    }
    out
}

#[test]
fn a_bedrock_event_stream_is_read_message_by_message_and_written_back_whole() {
    let text = "Sure: write to ana.silva@example.com or call +1 415 555 0132 after lunch.";
    let body = bedrock_stream(text);
    for pieces in splits_of(&body) {
        let (released, summary) = stream(StreamType::EventStream, Dir::Output, &refs(&pieces));
        assert_eq!(summary.outcome, Outcome::Modify);
        let messages = messages_of(&released);
        let delta = |block: u64, field: &str| -> String {
            (messages.iter())
                .filter(|(name, m)| name == "contentBlockDelta" && m["contentBlockIndex"] == block)
                .filter_map(|(_, m)| m.pointer(field).and_then(Value::as_str))
                .collect()
        };
        assert_eq!(
            delta(0, "/delta/text"),
            "Sure: write to [EMAIL_ADDRESS] or call [PHONE_NUMBER] after lunch."
        );
        assert_eq!(
            delta(1, "/delta/toolUse/input"),
            "{\"to\": \"[EMAIL_ADDRESS]\"}"
        );
        assert!(!String::from_utf8_lossy(&released).contains("silva@"));
        assert_eq!(messages.last().unwrap().0, "metadata");
    }
    let stop = summary_of(&body);
    assert!(stop
        .findings
        .iter()
        .any(|f| f.location == "/output/message/content/1/toolUse/input"));
}

fn summary_of(body: &[u8]) -> Summary {
    stream(StreamType::EventStream, Dir::Output, &[body]).1
}

#[test]
fn a_bedrock_event_stream_that_is_malformed_or_cut_short_is_refused() {
    let body = bedrock_stream("hello there");
    let exchange = Request {
        direction: Dir::Output,
        ..Request::default()
    };
    // A flipped byte breaks the message's checksum.
    let mut broken = body.clone();
    broken[20] ^= 1;
    let mut check = StreamCheck::new(
        stock(),
        exchange.clone(),
        StreamType::EventStream,
        settings(),
    );
    let e = check.push(&broken, &key()).unwrap_err();
    assert!(e.to_string().contains("malformed at offset 0"), "{e}");
    // A stream that ends inside a message.
    let mut check = StreamCheck::new(stock(), exchange, StreamType::EventStream, settings());
    check.push(&body[..body.len() - 3], &key()).unwrap();
    let e = check.finish(&key()).unwrap_err();
    assert!(e.to_string().contains("ended inside a message"), "{e}");
}

/// An Ollama `/api/chat` answer as it streams: a line of JSON per piece, the last with `done: true`.
pub(crate) fn ollama_events(text: &str) -> Vec<(Option<String>, Value)> {
    let line = |content: &str, done: bool| {
        json!({"model": "llama3.2", "created_at": "2026-12-03T10:00:00Z",
               "message": {"role": "assistant", "content": content}, "done": done})
    };
    let mut events = vec![(
        None,
        json!({"model": "llama3.2", "created_at": "2026-12-03T10:00:00Z",
               "message": {"role": "assistant", "content": "", "thinking": "Let me see"}, "done": false}),
    )];
    events.extend(tokens(text).iter().map(|t| (None, line(t, false))));
    let mut last = line("", true);
    last["done_reason"] = json!("stop");
    last["eval_count"] = json!(20);
    events.push((None, last));
    events
}

/// Events as newline-delimited JSON.
pub(crate) fn ndjson_of(events: &[(Option<String>, Value)]) -> Vec<u8> {
    events
        .iter()
        .map(|(_, v)| format!("{v}\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn an_ollama_answer_streamed_as_lines_of_json_is_read_as_one_text() {
    let text = "Sure: write to ana.silva@example.com or call +1 415 555 0132 after lunch.";
    let body = ndjson_of(&ollama_events(text));
    for pieces in splits_of(&body) {
        let (released, summary) = stream(StreamType::Ndjson, Dir::Output, &refs(&pieces));
        assert_eq!(summary.outcome, Outcome::Modify);
        let released = String::from_utf8(released).unwrap();
        assert!(released.ends_with('\n'), "{released}");
        let lines: Vec<Value> = (released.lines())
            .map(|l| serde_json::from_str(l).expect("each line JSON"))
            .collect();
        let answer: String = (lines.iter())
            .filter_map(|l| l.pointer("/message/content").and_then(Value::as_str))
            .collect();
        assert_eq!(
            answer,
            "Sure: write to [EMAIL_ADDRESS] or call [PHONE_NUMBER] after lunch."
        );
        assert_eq!(lines.last().unwrap()["done"], true);
    }
}

#[test]
fn a_stream_may_not_open_more_texts_than_any_answer_has() {
    let event = |index: usize| {
        format!(
            "data: {}\n\n",
            json!({"choices": [{"index": index, "delta": {"content": "hi"}}]})
        )
    };
    // 256 choices are served; the 257th is refused with what the limit is for.
    let exchange = Request {
        direction: Dir::Output,
        ..Request::default()
    };
    let mut check = StreamCheck::new(stock(), exchange, StreamType::Sse, settings());
    for index in 0..palisade::stream::MAX_CHANNELS {
        check.push(event(index).as_bytes(), &key()).unwrap();
    }
    let e = check
        .push(event(palisade::stream::MAX_CHANNELS).as_bytes(), &key())
        .unwrap_err();
    assert!(
        e.to_string().contains("more than 256 separate texts"),
        "{e}"
    );
}

#[test]
fn a_long_line_in_tiny_pieces_is_read_whole_once() {
    // 256 KiB of one SSE line, a few bytes at a time: found and redacted like a line sent whole.
    let text = format!(
        "{} {EMAIL} {}",
        "word ".repeat(26_000),
        "more ".repeat(26_000)
    );
    let body = format!(
        "data: {}\n\ndata: [DONE]\n\n",
        json!({"choices": [{"index": 0, "delta": {"content": text}}]})
    );
    let pieces: Vec<&[u8]> = body.as_bytes().chunks(7).collect();
    let (out, summary) = stream(StreamType::Sse, Dir::Output, &pieces);
    assert_eq!(summary.outcome, Outcome::Modify);
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains(EMAIL) && out.contains("[EMAIL_ADDRESS]"));
}
