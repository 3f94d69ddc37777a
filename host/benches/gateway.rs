//! What the gateway surface costs on top of the chain, side by side in one run: a JSON chat body against
//! the same texts as one plain text, and a streamed answer (through the hold-back, in token-sized
//! chunks, raw and as server-sent events) against one Check of the whole answer.
//!
//! Run: `cargo bench -p palisade --bench gateway`. Results and their ratios go in BENCHMARKS.md.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use palisade::bundle::{self, Bundle};
use palisade::chain::{Dir, Outcome, Request};
use palisade::check;
use palisade::engine::Engine;
use palisade::payload::ContentType;
use palisade::policy::HashKey;
use palisade::stream::{StreamCheck, StreamSettings, StreamType};

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

const TURN: &str = "Please summarise the thread and draft a reply to the customer. She wrote from \
                    maria.lopez@example.com about order ORD-2024-118834 and asked to be called back at \
                    (415) 555-0132 after 5pm; keep the tone friendly and mention the refund policy. ";

fn output() -> Request {
    Request {
        direction: Dir::Output,
        ..Request::default()
    }
}

fn json_vs_text(c: &mut Criterion, bundle: &Bundle, key: &HashKey) {
    // Eight turns of ~250 bytes: as one chat body, and as the same text plain.
    let turns: Vec<String> = (0..8).map(|i| format!("{i}: {TURN}")).collect();
    let messages: Vec<serde_json::Value> = turns
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            serde_json::json!({"role": role, "content": t})
        })
        .collect();
    let body = serde_json::json!({"model": "gpt-4o", "messages": messages}).to_string();
    let plain = turns.join("\n");
    // Like for like: both are read and redacted (each turn has the same phone number).
    for (kind, content) in [(ContentType::Text, &plain), (ContentType::Json, &body)] {
        let checked = check::run(bundle, kind, content.clone(), &output(), key).unwrap();
        assert_eq!(checked.outcome, Outcome::Modify, "{kind:?}");
    }
    let mut group = c.benchmark_group("payload");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("plain-text", |b| {
        b.iter(|| check::run(bundle, ContentType::Text, plain.clone(), &output(), key).unwrap())
    });
    group.bench_function("json-chat-body", |b| {
        b.iter(|| check::run(bundle, ContentType::Json, body.clone(), &output(), key).unwrap())
    });
    // What the host costs alone, with no plugin to call: reading the body, a chain per text, rebuilding.
    let (_dir, empty) = support::empty(&Engine::new().unwrap());
    group.bench_function("plain-text/no-plugins", |b| {
        b.iter(|| check::run(&empty, ContentType::Text, plain.clone(), &output(), key).unwrap())
    });
    group.bench_function("json-chat-body/no-plugins", |b| {
        b.iter(|| check::run(&empty, ContentType::Json, body.clone(), &output(), key).unwrap())
    });
    group.finish();
}

fn stream_vs_whole(c: &mut Criterion, bundle: &Arc<Bundle>, key: &HashKey) {
    let answer = TURN.repeat(16); // ~4 KiB
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(answer.len() as u64));
    group.bench_function("one-check", |b| {
        b.iter(|| check::run(bundle, ContentType::Text, answer.clone(), &output(), key).unwrap())
    });
    for chunk in [16usize, 256] {
        group.bench_function(format!("checkstream-{chunk}B-chunks"), |b| {
            b.iter(|| {
                let mut s = StreamCheck::new(
                    bundle.clone(),
                    output(),
                    StreamType::Text,
                    StreamSettings::default(),
                );
                let mut released = 0;
                for piece in answer.as_bytes().chunks(chunk) {
                    released += s.push(piece, key).unwrap().len();
                }
                released += s.finish(key).unwrap().len();
                assert!(released > 0);
            })
        });
    }
    // The same answer as OpenAI Chat Completions chunks, 16 bytes of content each, pushed event by event.
    let events: Vec<String> = answer
        .as_bytes()
        .chunks(16)
        .map(|piece| {
            let chunk = serde_json::json!({"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion.chunk",
                "created": 1741570283, "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_eb9dce56a8",
                "choices": [{"index": 0, "delta": {"content": String::from_utf8_lossy(piece)}, "logprobs": null, "finish_reason": null}]});
            format!("data: {chunk}\n\n")
        })
        .collect();
    group.bench_function("checkstream-sse-16B-deltas", |b| {
        b.iter(|| {
            let mut s = StreamCheck::new(
                bundle.clone(),
                output(),
                StreamType::Sse,
                StreamSettings::default(),
            );
            let mut released = 0;
            for event in &events {
                released += s.push(event.as_bytes(), key).unwrap().len();
            }
            released += s.push(b"data: [DONE]\n\n", key).unwrap().len();
            released += s.finish(key).unwrap().len();
            assert!(released > 0);
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let bundle = Arc::new(bundle::load_embedded(&engine).unwrap());
    let key = HashKey::new(*b"bench");
    json_vs_text(c, &bundle, &key);
    stream_vs_whole(c, &bundle, &key);
}

criterion_group!(gateway, benches);
criterion_main!(gateway);
