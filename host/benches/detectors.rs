//! The stock detectors alone, natively (no Wasm, no chain): what each costs per prompt, so a change to a
//! rule set shows up here before it shows up in `chain`.
//!
//! Run: `cargo bench -p palisade --bench detectors`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

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

criterion_group!(benches, detectors);
criterion_main!(benches);
