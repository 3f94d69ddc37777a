//! Chain latency: the stock bundle over prompts of several sizes, with configured instances reused
//! (what the service does) against a fresh instance per call, what a plugin stuck in a loop under a
//! 2 ms budget costs a request, and what `pseudonymize` and restoring cost beside `redact`.
//!
//! Run: `cargo bench -p palisade --bench chain`. Results and their ratios go in BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use palisade::bundle::{self, Bundle};
use palisade::chain::{self, Dir, Outcome, Request};
use palisade::engine::Engine;
use palisade::policy::HashKey;
use palisade::pseudonym::{self, VaultKey};

#[path = "support/mod.rs"]
mod support;

/// A prompt of about `size` bytes: ordinary prose with an email, a card and a phone number every ~400 bytes.
fn prompt(size: usize) -> String {
    let chunk = "Please summarise the thread below and draft a reply to the customer, keeping the tone friendly. \
                 She wrote from maria.lopez@example.com about order ORD-2024-118834 and asked us to charge \
                 4111 1111 1111 1111 again, or call her back at (415) 555-0132 after 5pm. The firmware on \
                 her router is 3.1.0.12 and the request id was 6f1c2a9e-3b7d-4c55-9a0e-1d2f3a4b5c6d. ";
    chunk.repeat(size.div_ceil(chunk.len()))[..size].to_string()
}

fn run(bundle: &Bundle, text: &str, key: &HashKey) {
    let request = Request {
        text: text.to_string(),
        ..Request::default()
    };
    let v = chain::run(bundle, &request, key).expect("no deadline");
    assert!(v.failures.is_empty(), "{:?}", v.failures);
}

fn reuse_vs_fresh(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let bundle = bundle::load_embedded(&engine).unwrap();
    let key = HashKey::new(*b"bench");
    let mut group = c.benchmark_group("chain");
    for size in [256usize, 4 << 10, 64 << 10] {
        let text = prompt(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("reused-instance", size),
            &text,
            |b, text| b.iter(|| run(&bundle, text, &key)),
        );
        // The loopback bench's prompt: prose with nothing in it for any plugin.
        let prose = palisade::loadgen::prompt(size, false);
        group.bench_with_input(
            BenchmarkId::new("reused-instance-clean-prose", size),
            &prose,
            |b, text| b.iter(|| run(&bundle, text, &key)),
        );
        group.bench_with_input(
            BenchmarkId::new("fresh-instance", size),
            &text,
            |b, text| {
                b.iter(|| {
                    for p in &bundle.plugins {
                        p.runtime.clear_idle();
                    }
                    run(&bundle, text, &key)
                })
            },
        );
    }
    group.finish();
}

/// A bundle of the test plugin alone, in `mode`, with `budget`.
fn testbed(engine: &Engine, mode: &str, budget: &str) -> (tempfile::TempDir, Bundle) {
    let wasm = std::fs::read(palisade_test_plugins::TESTBED_WASM).unwrap();
    support::bundle_of(
        engine,
        "bench",
        &[("testbed.wasm", wasm)],
        &format!(
            "[[plugin]]\nname = \"{mode}\"\nwasm = \"testbed.wasm\"\nsha256 = \"{{sha256:testbed.wasm}}\"\n\
             budget = \"{budget}\"\non_error = \"skip\"\nconfig = {{ mode = \"{mode}\" }}\n"
        ),
    )
}

/// What a fresh instance costs when one is needed (the first call, or after a trap): a plugin that does
/// nothing, so instantiation is all there is to measure; and each stock plugin, whose `configure` runs
/// on every fresh instance.
fn fresh_instance(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let key = HashKey::new(*b"bench");
    let (_dir, quiet) = testbed(&engine, "quiet", "1s");
    let stock = bundle::load_embedded(&engine).unwrap();
    let mut group = c.benchmark_group("instance");
    group.bench_function("do-nothing-plugin/reused", |b| {
        b.iter(|| run(&quiet, "x", &key))
    });
    group.bench_function("do-nothing-plugin/fresh", |b| {
        b.iter(|| {
            quiet.plugins[0].runtime.clear_idle();
            run(&quiet, "x", &key)
        })
    });
    for plugin in &stock.plugins {
        let ctx = support::input_context();
        let call = || {
            plugin
                .runtime
                .inspect(&ctx, "x", Duration::from_secs(1))
                .unwrap()
        };
        group.bench_function(format!("{}/reused", plugin.runtime.name()), |b| {
            b.iter(call)
        });
        group.bench_function(format!("{}/fresh", plugin.runtime.name()), |b| {
            b.iter(|| {
                plugin.runtime.clear_idle();
                call()
            })
        });
    }
    group.finish();
}

/// The host's own share of a call: the chain with no plugin (bookkeeping, policy, the answer), and a
/// plugin that does nothing (the text copied into the instance, the call, the verdict copied out).
fn host_overhead(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let key = HashKey::new(*b"bench");
    let (_quiet_dir, quiet) = testbed(&engine, "quiet", "1s");
    let (_empty_dir, empty) = support::empty(&engine);
    let mut group = c.benchmark_group("host-overhead");
    for size in [256usize, 4 << 10, 64 << 10] {
        let text = prompt(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("no-plugin", size), &text, |b, t| {
            b.iter(|| run(&empty, t, &key))
        });
        group.bench_with_input(
            BenchmarkId::new("do-nothing-plugin", size),
            &text,
            |b, t| b.iter(|| run(&quiet, t, &key)),
        );
    }
    group.finish();
}

fn runaway_plugin(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let (_dir, bundle) = testbed(&engine, "loop", "2ms");
    let key = HashKey::new(*b"bench");
    let mut group = c.benchmark_group("runaway");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("infinite-loop-2ms-budget", |b| {
        b.iter(|| {
            let request = Request {
                text: "x".into(),
                ..Request::default()
            };
            let v = chain::run(&bundle, &request, &key).unwrap();
            assert_eq!(v.failures.len(), 1);
        })
    });
    group.finish();
}

/// One 4 KiB prompt (ten each of e-mail, card and phone) through the default bundle, which redacts, and
/// through the same bundle set to pseudonymize; then the model's answer — the pseudonymized text — back
/// through the output check with the vault (beside the default bundle on the original text as an answer,
/// and on the stand-ins without a vault), and the parts alone: finding and replacing the stand-ins,
/// sealing and opening the vault.
fn pseudonyms(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let redacting = bundle::load_embedded(&engine).unwrap();
    let dir = tempfile::tempdir().unwrap();
    bundle::embedded::export(dir.path()).unwrap();
    let manifest = std::fs::read_to_string(dir.path().join("bundle.toml")).unwrap();
    let manifest = manifest
        .replace("\"redact\"\n", "\"pseudonymize\"\n")
        .replace("\"mask\"\n", "\"pseudonymize\"\n");
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    let pseudonymizing = bundle::load_dir(&engine, dir.path()).unwrap();
    let key = HashKey::new(*b"bench");
    let text = prompt(4 << 10);
    let check = |bundle: &Bundle, direction, text: &str, vault| {
        let request = Request {
            direction,
            text: text.to_string(),
            vault,
            ..Request::default()
        };
        chain::run(bundle, &request, &key).expect("no deadline")
    };

    // Like for like: both rewrite the same values, and the answer comes back whole.
    let redacted = check(&redacting, Dir::Input, &text, None);
    let input = check(&pseudonymizing, Dir::Input, &text, None);
    let spans =
        |v: &chain::Verdicts| -> Vec<_> { v.findings.iter().map(|f| f.span.clone()).collect() };
    assert_eq!(spans(&redacted), spans(&input));
    assert!(input.pseudonyms.len() >= 3, "{}", input.text);
    let table = Arc::new(input.pseudonyms.clone());
    let output = check(
        &pseudonymizing,
        Dir::Output,
        &input.text,
        Some(table.clone()),
    );
    assert_eq!(
        (output.outcome, output.text.as_str()),
        (Outcome::Modify, text.as_str())
    );

    let vault_key = VaultKey::derive(&key);
    let expires = SystemTime::now() + Duration::from_secs(3600);
    let sealed = pseudonym::seal(&table, Some("spiffe://bench"), expires, &vault_key).unwrap();

    let mut group = c.benchmark_group("pseudonyms-4KiB");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("input/redact", |b| {
        b.iter(|| check(&redacting, Dir::Input, &text, None))
    });
    group.bench_function("input/pseudonymize", |b| {
        b.iter(|| check(&pseudonymizing, Dir::Input, &text, None))
    });
    group.bench_function("output/redact", |b| {
        b.iter(|| check(&redacting, Dir::Output, &text, None))
    });
    group.bench_function("output/no-vault", |b| {
        b.iter(|| check(&pseudonymizing, Dir::Output, &input.text, None))
    });
    group.bench_function("output/restore", |b| {
        b.iter(|| {
            check(
                &pseudonymizing,
                Dir::Output,
                &input.text,
                Some(table.clone()),
            )
        })
    });
    group.bench_function("restore-alone", |b| {
        b.iter(|| pseudonym::restore(&table, &input.text))
    });
    group.bench_function("seal-vault", |b| {
        b.iter(|| pseudonym::seal(&table, Some("spiffe://bench"), expires, &vault_key).unwrap())
    });
    group.bench_function("open-vault", |b| {
        b.iter(|| {
            pseudonym::open(
                &sealed,
                Some("spiffe://bench"),
                SystemTime::now(),
                &vault_key,
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    reuse_vs_fresh,
    fresh_instance,
    host_overhead,
    runaway_plugin,
    pseudonyms
);
criterion_main!(benches);
