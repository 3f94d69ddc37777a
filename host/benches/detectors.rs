//! The stock detectors alone, natively (no Wasm, no chain): what each costs per prompt, so a change to a
//! rule set shows up here before it shows up in `chain`; and the same detectors as the Wasm plugins the
//! default bundle runs, each alone in a bundle, side by side with their native builds; and one policy
//! decision (Cedar, Rego) per call, natively and as a component.
//!
//! Run: `cargo bench -p palisade --bench detectors`.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use palisade::bundle::{self, Bundle};
use palisade::chain::{self, Request};
use palisade::engine::Engine;
use palisade::policy::HashKey;

// This bench uses `bundle_of` and `empty`, not `input_context`.
#[allow(dead_code)]
#[path = "support/mod.rs"]
mod support;

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

/// About `size` bytes of prose with few numbers in it (a count, a year, one contact line), the way most
/// prompts are written.
fn prose(size: usize) -> String {
    let paragraph = "The quarterly review went well overall; the team shipped the new onboarding flow and the \
                     churn numbers improved. Next we plan to revisit pricing for small teams, and to write the \
                     migration guide before the 3 releases planned for 2027. ";
    let mut text = paragraph.repeat(size.div_ceil(paragraph.len()));
    let contact = "Questions to maria.lopez@example.com or +44 20 7946 0958. ";
    text.insert_str(text.len() / 2 - text.len() / 2 % paragraph.len(), contact);
    text[..size].to_string()
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
    // Prose with few numbers: pii searching its letter-first, digit-bearing patterns only near the digits
    // (the default), and every pattern over the whole text, side by side.
    let text = prose(4 << 10);
    let whole = pii::Detector::new(pii::Entity::ALL).with_windows(false);
    assert_eq!(
        pii.detect(&text).len(),
        2,
        "the e-mail address and the phone number"
    );
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("pii-prose", "near-digits"),
        &text,
        |b, t| b.iter(|| pii.detect(t).len()),
    );
    group.bench_with_input(
        BenchmarkId::new("pii-prose", "whole-text"),
        &text,
        |b, t| b.iter(|| whole.detect(t).len()),
    );
    group.finish();
}

/// What normalising costs (`palisade_sdk::normalize`): each detector with it on and off, side by side,
/// over plain ASCII (where it should cost one pass over the bytes), over ordinary non-ASCII prose with
/// nothing to fold, and over a prompt whose values are disguised (where it does all its work).
fn normalization(c: &mut Criterion) {
    let size = 4 << 10;
    let non_ascii =
        "Grüße aus Köln — お客様から返金の依頼がありました。Клиент просит вернуть деньги. ";
    let texts = [
        ("ascii", prompt(size)),
        (
            "non-ascii",
            format!("{non_ascii}{}", prompt(size))
                .replace("Please summarise", non_ascii)
                .chars()
                .take(size)
                .collect(),
        ),
        (
            "disguised",
            prompt(size)
                .replace("4111 1111 1111 1111", "４１１１ １１１１ １１１１ １１１１")
                .replace("maria.lopez@", "maria.lopez\\u0040")
                .replace("Zq8vK2mP9x", "Zq8v\u{200B}K2mP9x"),
        ),
    ];
    let mut group = c.benchmark_group("normalize");
    for (name, text) in &texts {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("fold-only", name), text, |b, t| {
            b.iter(|| palisade_sdk::normalize::Normalized::new(t).text().len())
        });
    }
    for (on, label) in [(true, "on"), (false, "off")] {
        let pii = pii::Detector::new(pii::Entity::ALL).with_normalization(on);
        let secrets = secrets::Detector::new().with_normalization(on);
        for (name, text) in &texts {
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("pii-{label}"), name),
                text,
                |b, t| b.iter(|| pii.detect(t).len()),
            );
            group.bench_with_input(
                BenchmarkId::new(format!("secrets-{label}"), name),
                text,
                |b, t| b.iter(|| secrets.detect(t).len()),
            );
        }
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
    let stock = tempfile::tempdir().unwrap();
    bundle::embedded::export(stock.path()).unwrap();
    let file = format!("{name}.wasm");
    let wasm = std::fs::read(stock.path().join(&file)).unwrap();
    support::bundle_of(
        engine,
        &format!("{name}-alone"),
        &[(&file, wasm)],
        &format!(
            "[policy]\ndefault = \"report\"\n\n[[plugin]]\nname = \"{name}\"\nwasm = \"{file}\"\n\
             sha256 = \"{{sha256:{file}}}\"\nbudget = \"1s\"\n"
        ),
    )
}

fn wasm_vs_native(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let key = HashKey::new(*b"bench");
    let pii_native = pii::Detector::new(pii::Entity::ALL);
    let secrets_native = secrets::Detector::new();
    let (_pii_dir, pii_wasm) = alone(&engine, "pii");
    let (_secrets_dir, secrets_wasm) = alone(&engine, "secrets");
    let classification_native =
        classification::Classifier::new(true, Vec::new(), classification::default_escalations());
    let (_classification_dir, classification_wasm) = alone(&engine, "classification");
    // The prompts have no markings for `classification`; this text has, so its comparison means something.
    let marked = format!(
        "SECRET//NOFORN\n{}\n(S//REL TO USA) and a TOP SECRET annex.",
        prompt(1 << 10)
    );
    assert!(!classification_native.classify(&marked, &[]).is_empty());
    let wasm = [&pii_wasm, &secrets_wasm, &classification_wasm];
    assert_same_findings(
        &marked,
        &pii_native,
        &secrets_native,
        &classification_native,
        &key,
        wasm,
    );
    let mut group = c.benchmark_group("wasm-vs-native");
    for size in [1usize << 10, 4 << 10, 64 << 10] {
        for (kind, text) in [("findings", prompt(size)), ("clean", clean(size))] {
            // Like for like: each plugin finds what its native build finds, rule for rule and span for span.
            assert_same_findings(
                &text,
                &pii_native,
                &secrets_native,
                &classification_native,
                &key,
                [&pii_wasm, &secrets_wasm, &classification_wasm],
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
            // No markings in either text: the cost of looking. (`destinations` reads the destination,
            // not the text; its cost is the call itself, in the chain bench's host overhead.)
            group.bench_with_input(id("classification-native"), &text, |b, t| {
                b.iter(|| classification_native.classify(t, &[]).len())
            });
            group.bench_with_input(id("classification-wasm"), &text, |b, t| {
                b.iter(|| wasm_findings(&classification_wasm, t, &key))
            });
        }
    }
    group.finish();
}

/// What a detector found: each finding's rule id and span, sorted.
type Found = Vec<(String, Option<std::ops::Range<usize>>)>;

/// Panics unless the three stock plugins as Wasm (`pii`, `secrets`, `classification`, each alone in a
/// bundle) find in `text` exactly what the native detectors find: the same rules at the same spans.
fn assert_same_findings(
    text: &str,
    pii: &pii::Detector,
    secrets: &secrets::Detector,
    classification: &classification::Classifier,
    key: &HashKey,
    wasm: [&Bundle; 3],
) {
    let sorted = |mut found: Found| {
        found.sort_by_key(|(rule, span)| (span.as_ref().map(|s| (s.start, s.end)), rule.clone()));
        found
    };
    let native: [Found; 3] = [
        pii.detect(text)
            .into_iter()
            .map(|h| (h.rule.to_string(), Some(h.range)))
            .collect(),
        secrets
            .detect(text)
            .into_iter()
            .map(|h| (format!("secret.{}", h.rule), Some(h.range)))
            .collect(),
        classification
            .classify(text, &[])
            .into_iter()
            .map(|m| (m.rule.to_string(), m.range))
            .collect(),
    ];
    for (native, bundle) in native.into_iter().zip(wasm) {
        let request = Request {
            text: text.to_string(),
            ..Request::default()
        };
        let verdicts = chain::run(bundle, &request, key).unwrap();
        assert!(verdicts.failures.is_empty(), "{:?}", verdicts.failures);
        let found: Found = (verdicts.findings.into_iter())
            .map(|f| (f.rule, f.span))
            .collect();
        assert_eq!(sorted(found), sorted(native), "{} in {text:?}", bundle.id());
    }
}

/// One chain run of a one-plugin bundle: the text copied in, the plugin, findings back, policy.
fn wasm_findings(bundle: &Bundle, text: &str, key: &HashKey) -> usize {
    let request = Request {
        text: text.to_string(),
        ..Request::default()
    };
    chain::run(bundle, &request, key).unwrap().findings.len()
}

/// The labelled corpus's texts (`../shared/corpus/dev.jsonl`), if it is there.
fn corpus() -> Option<Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/dev.jsonl");
    let lines = std::fs::read_to_string(path).ok()?;
    lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let doc: serde_json::Value = serde_json::from_str(l).ok()?;
            Some(doc["text"].as_str()?.to_string())
        })
        .collect()
}

/// Every document of the corpus once per iteration: varied texts, as a service sees them. A benchmark that
/// repeats one text keeps a lazy DFA's cache warm with exactly that text's states; this one does not.
fn varied_texts(c: &mut Criterion) {
    let Some(texts) = corpus() else {
        eprintln!("no corpus at ../shared/corpus/dev.jsonl; skipping the corpus benchmarks");
        return;
    };
    let bytes: usize = texts.iter().map(String::len).sum();
    let pii = pii::Detector::new(pii::Entity::ALL);
    let secrets = secrets::Detector::new();
    let engine = Engine::new().unwrap();
    let bundle = bundle::load_embedded(&engine).unwrap();
    let key = HashKey::new(*b"bench");
    let classification =
        classification::Classifier::new(true, Vec::new(), classification::default_escalations());
    let alone: Vec<(&str, (tempfile::TempDir, Bundle))> =
        (["pii", "secrets", "classification", "destinations"].into_iter())
            .map(|name| (name, alone(&engine, name)))
            .collect();
    // Like for like on every text: each plugin as Wasm finds what its native build finds.
    for text in &texts {
        let wasm = [&alone[0].1 .1, &alone[1].1 .1, &alone[2].1 .1];
        assert_same_findings(text, &pii, &secrets, &classification, &key, wasm);
    }
    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("pii-native", |b| {
        b.iter(|| texts.iter().map(|t| pii.detect(t).len()).sum::<usize>())
    });
    group.bench_function("secrets-native", |b| {
        b.iter(|| texts.iter().map(|t| secrets.detect(t).len()).sum::<usize>())
    });
    // What normalising costs over varied texts (805 of the 2,000 have non-ASCII characters).
    let pii_plain = pii::Detector::new(pii::Entity::ALL).with_normalization(false);
    let secrets_plain = secrets::Detector::new().with_normalization(false);
    group.bench_function("pii-native-normalize-off", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| pii_plain.detect(t).len())
                .sum::<usize>()
        })
    });
    group.bench_function("secrets-native-normalize-off", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| secrets_plain.detect(t).len())
                .sum::<usize>()
        })
    });
    // What the keyword prefilter saves: every rule searching every text.
    group.bench_function("secrets-native-every-rule", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| secrets.detect_without_prefilter(t).len())
                .sum::<usize>()
        })
    });
    // Where the chain's time goes: each plugin alone as Wasm, and the chain with no plugin at all.
    for (name, (_dir, alone)) in &alone {
        group.bench_function(format!("{name}-wasm"), |b| {
            b.iter(|| {
                texts
                    .iter()
                    .map(|t| wasm_findings(alone, t, &key))
                    .sum::<usize>()
            })
        });
    }
    let (_empty_dir, empty) = support::empty(&engine);
    group.bench_function("empty-chain", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| wasm_findings(&empty, t, &key))
                .sum::<usize>()
        })
    });
    group.bench_function("default-chain-wasm", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| wasm_findings(&bundle, t, &key))
                .sum::<usize>()
        })
    });
    group.finish();
}

/// An example bundle (`examples/bundles/NAME`) with its detectors taken out: the policy plugin alone.
fn policy_only(engine: &Engine, name: &str) -> (tempfile::TempDir, Bundle) {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/bundles")
        .join(name);
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&example).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let manifest = std::fs::read_to_string(example.join("bundle.toml")).unwrap();
    let start = manifest.find("[[plugin]]\nname = \"pii\"").unwrap();
    let end = manifest.find("[[plugin]]\nname = \"policy\"").unwrap();
    let manifest = format!("{}{}", &manifest[..start], &manifest[end..]);
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    let bundle = bundle::load_dir(engine, dir.path()).unwrap();
    (dir, bundle)
}

/// One policy decision per call: the agents rules in Cedar and in Rego, natively and as components in a
/// chain of that plugin alone (beside an empty chain, the host's own share), on an exchange each rule
/// lets through and one a rule denies.
fn policy(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let key = HashKey::new(*b"bench");
    let example = |name: &str, file: &str| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../examples/bundles")
                .join(name)
                .join(file),
        )
        .unwrap()
    };
    let cedar = policy_cedar::CedarPolicy::new(
        &example("agents", "agents.cedar"),
        Some(&example("agents", "agents.cedarschema")),
        Some(&example("agents", "entities.json")),
        false,
    )
    .unwrap();
    let data = example("agents-rego", "data.json");
    let rego = policy_rego::RegoPolicy::new(
        "agents.rego",
        &example("agents-rego", "agents.rego"),
        Some(("data.json", &data)),
    )
    .unwrap();
    let (_cedar_dir, cedar_wasm) = policy_only(&engine, "agents");
    let (_rego_dir, rego_wasm) = policy_only(&engine, "agents-rego");
    let (_empty_dir, empty) = support::empty(&engine);
    let labels = vec![
        "found:EMAIL_ADDRESS".to_string(),
        "sensitivity:confidential".to_string(),
    ];
    let mut group = c.benchmark_group("policy");
    for (kind, destination) in [
        ("allow", "llm.internal.example.com"),
        ("deny", "api.openai.com"),
    ] {
        let principal = "spiffe://agents.example.com/ns/support/sa/helper";
        let exchange = palisade_sdk::Exchange {
            principal: Some(principal),
            direction: "input",
            destination: Some(destination),
            tool: None,
            labels: &labels,
            metadata: &[],
        };
        let request = Request {
            text: "the weekly summary".into(),
            principal: Some(principal.into()),
            destination: Some(destination.into()),
            labels: labels.clone(),
            ..Request::default()
        };
        let denied = kind == "deny";
        assert_eq!(cedar.authorize(&exchange).unwrap().allowed, !denied);
        assert_eq!(rego.evaluate(&exchange).unwrap().deny.is_empty(), !denied);
        group.bench_function(format!("cedar-native/{kind}"), |b| {
            b.iter(|| cedar.authorize(&exchange).unwrap().allowed)
        });
        group.bench_function(format!("rego-native/{kind}"), |b| {
            b.iter(|| rego.evaluate(&exchange).unwrap().deny.len())
        });
        for (name, bundle) in [
            ("cedar-wasm", &cedar_wasm),
            ("rego-wasm", &rego_wasm),
            ("empty-chain", &empty),
        ] {
            group.bench_function(format!("{name}/{kind}"), |b| {
                b.iter(|| chain::run(bundle, &request, &key).unwrap().outcome)
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    detectors,
    normalization,
    wasm_vs_native,
    varied_texts,
    policy
);
// Cedar checks the stack it has left before it evaluates a policy. On musl (the static build CI benches)
// the main thread reports only the part of its stack mapped so far, so every policy failed with
// "recursion limit reached"; a spawned thread's stack is known whole. (The server never runs Cedar
// natively: the plugin runs as Wasm.)
fn main() {
    let run = || {
        benches();
        Criterion::default().configure_from_args().final_summary();
    };
    let thread = std::thread::Builder::new().stack_size(8 << 20).spawn(run);
    if let Err(panic) = thread.expect("spawn the bench thread").join() {
        std::panic::resume_unwind(panic);
    }
}
