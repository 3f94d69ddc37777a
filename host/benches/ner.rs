//! The `ner` plugin: spaCy's English NER reimplemented in Rust, natively and as the Wasm component
//! `builtin:ner`, side by side on the same texts (same entities asserted first); and what an instance
//! costs to make (the model loaded in `configure`).
//!
//! Run: `cargo bench -p palisade --bench ner`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use palisade::chain::{self, Request};
use palisade::engine::Engine;
use palisade::policy::HashKey;

// This bench uses `bundle_of` and `input_context`, not `empty`.
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

/// About `size` bytes of e-mail and chat with names, places and organisations in it.
fn prose(size: usize) -> String {
    let chunk = "Hi Priya, thanks for the update. Olumide Adeyemi from the Lagos office will join the call \
                 with Acme Corp. on Tuesday; Wei Zhang is still in São Paulo until March. Can you send the \
                 contract to Dr. Müller in Zürich before the board meets? The Nairobi team (Kofi Mensah and \
                 Aisha Khan) reviewed the budget and found nothing unusual. Best, Sam. ";
    let mut text = chunk.repeat(size.div_ceil(chunk.len()));
    let mut end = size.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

fn native_vs_wasm(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let key = HashKey::new(*b"bench");
    let model = ner::Model::load(ner::MODEL).unwrap();
    // Every label reported, so the component's findings are the model's entities one for one (the person
    // cues and address rules off: this measures the model).
    let everything = format!(
        "{{ context = false, categories = {{ ALL = {:?} }} }}",
        model.labels()
    );
    let (_dir, wasm) = support::bundle_of(
        &engine,
        "ner-alone",
        &[],
        &format!(
            "[policy]\ndefault = \"report\"\n\n[[plugin]]\nname = \"ner\"\nwasm = \"builtin:ner\"\n\
             budget = \"10s\"\nconfig = {everything}\n"
        ),
    );
    let wasm_entities = |text: &str| {
        let request = Request {
            text: text.to_string(),
            ..Request::default()
        };
        let verdicts = chain::run(&wasm, &request, &key).unwrap();
        assert!(verdicts.failures.is_empty(), "{:?}", verdicts.failures);
        verdicts.findings.len()
    };
    let mut group = c.benchmark_group("ner");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for size in [256usize, 1 << 10, 4 << 10] {
        let text = prose(size);
        let native: Vec<(usize, usize)> = model
            .entities(&text)
            .iter()
            .map(|e| (e.start, e.end))
            .collect();
        assert!(!native.is_empty());
        assert_eq!(
            wasm_entities(&text),
            native.len(),
            "the component finds what the native model finds"
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("native", size), &text, |b, t| {
            b.iter(|| model.entities(t).len())
        });
        group.bench_with_input(BenchmarkId::new("wasm", size), &text, |b, t| {
            b.iter(|| wasm_entities(t))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("ner-load");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("native", |b| {
        b.iter(|| ner::Model::load(ner::MODEL).unwrap().labels().len())
    });
    let ctx = support::input_context();
    let plugin = &wasm.plugins[0];
    group.bench_function("wasm-fresh-instance", |b| {
        b.iter(|| {
            plugin.runtime.clear_idle();
            plugin
                .runtime
                .inspect(&ctx, "x", Duration::from_secs(10))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, native_vs_wasm);
criterion_main!(benches);
