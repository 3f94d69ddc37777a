//! The stock detectors alone, natively (no Wasm, no chain): what each costs per prompt, so a change to a
//! rule set shows up here before it shows up in `chain`; and the same detectors as the Wasm plugins the
//! default bundle runs, each alone in a bundle, side by side with their native builds.
//!
//! Run: `cargo bench -p palisade --bench detectors`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use palisade::bundle::{self, Bundle};
use palisade::chain::{self, Request};
use palisade::engine::Engine;
use palisade::policy::HashKey;

/// About `size` bytes of a support conversation with a few PII values and one credential per ~600 bytes.
fn prompt(size: usize) -> String {
    let chunk = "Please summarise the thread below and draft a reply, keeping the tone friendly. She wrote from \
                 maria.lopez@example.com about order ORD-2024-118834 and asked us to charge 4111 1111 1111 1111 \
                 again, or call her back at (415) 555-0132 after 5pm. Docs: https://docs.example.com/refunds. \
                 The firmware on her router is 3.1.0.12 and the request id was 6f1c2a9e-3b7d-4c55-9a0e-1d2f3a4b5c6d. \
                 The deploy log shows api_key = \"Zq8vK2mP9xR4tL7nW3bY6cJ1hF5gD0sA\" in the config, commit \
                 9fceb02d0ae598e95dc970b74767f19372d61af8. ";
    chunk.repeat(size.div_ceil(chunk.len()))[..size].to_string()
}

fn detectors(c: &mut Criterion) {
    let pii = pii::Detector::new(pii::Entity::ALL);
    let secrets = secrets::Detector::new();
    let mut group = c.benchmark_group("detectors");
    for size in [256usize, 4 << 10, 64 << 10] {
        let text = prompt(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("pii", size), &text, |b, t| {
            b.iter(|| pii.detect(t).len())
        });
        group.bench_with_input(BenchmarkId::new("secrets", size), &text, |b, t| {
            b.iter(|| secrets.detect(t).len())
        });
    }
    group.finish();
}

/// Ordinary prose with nothing to find, `size` bytes.
fn clean(size: usize) -> String {
    let chunk =
        "Summarise the quarterly report for the board, keeping the tone neutral and the figures \
                 exact. Mention the regional results, the hiring plan and the risks we discussed. ";
    chunk.repeat(size.div_ceil(chunk.len()))[..size].to_string()
}

/// A bundle of the one stock plugin `name`, reporting everything (so no redaction work is measured).
fn alone(engine: &Engine, name: &str) -> (tempfile::TempDir, Bundle) {
    let dir = tempfile::tempdir().unwrap();
    bundle::embedded::export(dir.path()).unwrap();
    let wasm = std::fs::read(dir.path().join(format!("{name}.wasm"))).unwrap();
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&wasm))
    };
    std::fs::write(
        dir.path().join("bundle.toml"),
        format!(
            "[bundle]\nname = \"{name}-alone\"\nversion = \"1\"\n\n[policy]\ndefault = \"report\"\n\n\
             [[plugin]]\nname = \"{name}\"\nwasm = \"{name}.wasm\"\nsha256 = \"{digest}\"\nbudget = \"1s\"\n"
        ),
    )
    .unwrap();
    let bundle = bundle::load_dir(engine, dir.path()).unwrap();
    (dir, bundle)
}

fn wasm_vs_native(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let key = HashKey::new(*b"bench");
    let pii_native = pii::Detector::new(pii::Entity::ALL);
    let secrets_native = secrets::Detector::new();
    let (_pii_dir, pii_wasm) = alone(&engine, "pii");
    let (_secrets_dir, secrets_wasm) = alone(&engine, "secrets");
    let mut group = c.benchmark_group("wasm-vs-native");
    for size in [1usize << 10, 4 << 10, 64 << 10] {
        for (kind, text) in [("findings", prompt(size)), ("clean", clean(size))] {
            // Like for like: the plugin finds what its native build finds.
            assert_eq!(
                pii_native.detect(&text).len(),
                wasm_findings(&pii_wasm, &text, &key)
            );
            assert_eq!(
                secrets_native.detect(&text).len(),
                wasm_findings(&secrets_wasm, &text, &key)
            );
            group.throughput(Throughput::Bytes(size as u64));
            let id = |what: &str| BenchmarkId::new(format!("{what}/{kind}"), size);
            group.bench_with_input(id("pii-native"), &text, |b, t| {
                b.iter(|| pii_native.detect(t).len())
            });
            group.bench_with_input(id("pii-wasm"), &text, |b, t| {
                b.iter(|| wasm_findings(&pii_wasm, t, &key))
            });
            group.bench_with_input(id("secrets-native"), &text, |b, t| {
                b.iter(|| secrets_native.detect(t).len())
            });
            group.bench_with_input(id("secrets-wasm"), &text, |b, t| {
                b.iter(|| wasm_findings(&secrets_wasm, t, &key))
            });
        }
    }
    group.finish();
}

/// One chain run of a one-plugin bundle: the text copied in, the plugin, findings back, policy.
fn wasm_findings(bundle: &Bundle, text: &str, key: &HashKey) -> usize {
    let request = Request {
        text: text.to_string(),
        ..Request::default()
    };
    chain::run(bundle, &request, key).unwrap().findings.len()
}

criterion_group!(benches, detectors, wasm_vs_native);
criterion_main!(benches);
