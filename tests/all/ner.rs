//! The `ner` plugin: the same tokens, features and entities as spaCy's own `ner` component on the golden
//! set (tests/ner, generated with spaCy in CI), and `builtin:ner` from a bundle through scan and gRPC.

use std::io::BufRead;
use std::path::PathBuf;

use palisade::server::proto::guardrail_client::GuardrailClient;
use serde_json::Value;

use crate::cli::palisade;
use crate::serve::{text, Server};

fn golden_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/ner/golden.jsonl")
}

fn model() -> &'static ner::Model {
    static MODEL: std::sync::OnceLock<ner::Model> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| ner::Model::load(ner::MODEL).expect("the built-in model loads"))
}

fn spans(v: &Value) -> Vec<(usize, usize)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t[0].as_u64().unwrap() as usize,
                t[1].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

/// `palisade scan --bundle BUNDLE --jsonl` over `lines`: its answers, one per line (exit status 0 checked).
fn scan_jsonl(bundle: &str, lines: &str) -> Vec<Value> {
    let o = palisade(&["scan", "--bundle", bundle, "--jsonl"], lines);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8(o.stdout).unwrap();
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// spaCy's answers for the golden texts, or None (and a note) where tests/ner/setup.sh has not run.
fn golden() -> Option<Vec<Value>> {
    let path = golden_file();
    let Ok(file) = std::fs::File::open(&path) else {
        assert_ne!(
            std::env::var("PALISADE_NER_GOLDEN").as_deref(),
            Ok("required"),
            "{} is missing; `bash tests/ner/setup.sh` writes it",
            path.display()
        );
        eprintln!(
            "skipped: no {} (bash tests/ner/setup.sh writes it with spaCy)",
            path.display()
        );
        return None;
    };
    let lines = std::io::BufReader::new(file).lines();
    Some(
        lines
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect(),
    )
}

/// spaCy's entities in a golden line: (start, end, label), UTF-8 byte offsets.
fn spacy_entities(v: &Value) -> Vec<(usize, usize, String)> {
    let ents = v["ents"].as_array().unwrap();
    let at = |e: &Value, i: usize| e[i].as_u64().unwrap() as usize;
    ents.iter()
        .map(|e| (at(e, 0), at(e, 1), e[2].as_str().unwrap().to_owned()))
        .collect()
}

/// The heart of the plugin's correctness: a drift in tokenisation, a feature or a hash would lose accuracy
/// silently, so every token, every feature string and every entity must be spaCy's.
#[test]
fn tokens_features_and_entities_are_spacys() {
    let Some(golden) = golden() else { return };
    let model = model();
    let (mut texts, mut entities, mut wrong) = (0, 0, Vec::new());
    for v in &golden {
        let text = v["text"].as_str().unwrap();
        texts += 1;
        let tokens = model.tokenize(text);
        let got: Vec<(usize, usize)> = tokens.iter().map(|t| (t.start, t.end)).collect();
        let want = spans(&v["tokens"]);
        if got != want {
            let show = |s: &[(usize, usize)]| {
                s.iter()
                    .map(|&(a, b)| text[a..b].to_owned())
                    .collect::<Vec<_>>()
            };
            wrong.push(format!(
                "tokens of {text:?}:\n  ours   {:?}\n  spaCy's {:?}",
                show(&got),
                show(&want)
            ));
            continue;
        }
        for (token, w) in tokens.iter().zip(v["tokens"].as_array().unwrap()) {
            let ours = model.feature_strings(text, token);
            let theirs: Vec<&str> = (2..6).map(|i| w[i].as_str().unwrap()).collect();
            if ours.iter().map(String::as_str).ne(theirs.iter().copied()) {
                wrong.push(format!(
                    "features of {:?} in {text:?}: ours {ours:?}, spaCy's {theirs:?}",
                    &text[token.start..token.end]
                ));
            }
        }
        let ours: Vec<(usize, usize, String)> = model
            .entities_of(text, &tokens)
            .into_iter()
            .map(|e| (e.start, e.end, e.label))
            .collect();
        let theirs = spacy_entities(v);
        entities += theirs.len();
        if ours != theirs {
            wrong.push(format!(
                "entities of {text:?}:\n  ours    {ours:?}\n  spaCy's {theirs:?}"
            ));
        }
    }
    assert!(
        texts >= 1000 && entities >= 1000,
        "{texts} texts with {entities} entities: too few to judge"
    );
    assert!(
        wrong.is_empty(),
        "{} of {texts} texts differ from spaCy:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
}

/// The same through the component itself: `builtin:ner` in a bundle that reports every label as its own
/// category (the person cues and address rules off: they are what Palisade adds to spaCy), over
/// `palisade scan --jsonl`, finds spaCy's entities in every golden text — so nothing in the Wasm build
/// (SIMD, float order) drifts from the native one the test above checks token by token.
#[test]
fn the_component_finds_spacys_entities() {
    let Some(golden) = golden() else { return };
    let labels = model().labels();
    let categories: Vec<String> = labels.iter().map(|l| format!("{l} = [{l:?}]")).collect();
    let dir = crate::util::bundle_dir(&format!(
        "[bundle]\nname = \"ner-golden\"\nversion = \"1\"\n\n[policy]\ndefault = \"report\"\n\n\
         [[plugin]]\nname = \"ner\"\nwasm = \"builtin:ner\"\nbudget = \"10s\"\n\
         config = {{ max_bytes = 1000000, context = false, addresses = false, categories = {{ {} }} }}\n",
        categories.join(", ")
    ));
    let input: String = golden
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{}\n", serde_json::json!({"id": i, "text": v["text"]})))
        .collect();
    let answers = scan_jsonl(dir.path().to_str().unwrap(), &input);
    assert_eq!(answers.len(), golden.len());
    let mut wrong = Vec::new();
    for (v, answer) in golden.iter().zip(&answers) {
        let ours: Vec<(usize, usize, String)> = answer["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let at = |k: &str| f[k].as_u64().unwrap() as usize;
                (
                    at("start"),
                    at("end"),
                    f["category"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        if ours != spacy_entities(v) {
            wrong.push(format!(
                "{:?}: ours {ours:?}, spaCy's {:?}",
                v["text"],
                spacy_entities(v)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} texts differ:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
}

const SENTENCE: &str = "My name is Olumide Adeyemi, I live at 742 Evergreen Terrace, Springfield";

fn names_bundle() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/bundles/names")
}

/// What the model alone makes of the issue's sentence: it places Springfield, and calls the name a
/// facility and the street an organisation — what the context rules beside the model are for.
#[test]
fn the_model_alone_on_a_sentence_with_a_name_and_an_address() {
    let found: Vec<(&str, String)> = model()
        .entities(SENTENCE)
        .into_iter()
        .map(|e| (&SENTENCE[e.start..e.end], e.label))
        .collect();
    assert_eq!(
        found,
        [
            ("Olumide Adeyemi", "FAC".to_owned()),
            ("742", "CARDINAL".into()),
            ("Evergreen Terrace", "ORG".into()),
            ("Springfield", "GPE".into())
        ]
    );
}

#[test]
fn builtin_ner_loads_from_a_bundle_and_redacts_through_scan() {
    let inputs = [
        (
            SENTENCE,
            "My name is [PERSON], I live at [ADDRESS]",
            &["PERSON", "ADDRESS"][..],
        ),
        (
            "Anna Schmidt flew from Nairobi to Oslo for Palisade.",
            "[PERSON] flew from [LOCATION] to [LOCATION] for Palisade.",
            &["PERSON", "LOCATION", "LOCATION"],
        ),
    ];
    let lines: String = inputs
        .iter()
        .enumerate()
        .map(|(i, (text, _, _))| format!("{}\n", serde_json::json!({"id": i, "text": text})))
        .collect();
    let answers = scan_jsonl(names_bundle(), &lines);
    for ((_, redacted, categories), answer) in inputs.iter().zip(&answers) {
        assert_eq!(answer["text"], *redacted, "{answer}");
        let found: Vec<(&str, &str)> = answer["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["plugin"].as_str().unwrap(),
                    f["category"].as_str().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(&str, &str)> = categories.iter().map(|c| ("ner", *c)).collect();
        assert_eq!(found, expected, "{answer}");
    }
}

/// With the person cues and the address rules (on by default), the issue's sentence gives its name and
/// its address, the model's town inside it, over gRPC.
#[tokio::test(flavor = "multi_thread")]
async fn builtin_ner_answers_over_grpc() {
    let server = Server::start(&["--bundle", names_bundle()]).await;
    let mut client = GuardrailClient::new(server.channel().await);
    let r = client.check(text(SENTENCE)).await.unwrap().into_inner();
    let found: Vec<(&str, &str, &str)> = r
        .findings
        .iter()
        .filter(|f| f.plugin == "ner")
        .map(|f| {
            (
                &SENTENCE[f.start as usize..f.end as usize],
                f.category.as_str(),
                f.rule.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("Olumide Adeyemi", "PERSON", "ner.context.person"),
            (
                "742 Evergreen Terrace, Springfield",
                "ADDRESS",
                "ner.address"
            )
        ]
    );
}

#[test]
fn a_config_the_plugin_cannot_use_is_refused_with_the_reason() {
    for (config, says) in [
        (
            r#"{"categories": {"PLACE": ["TOWN"]}}"#,
            "there is no label \"TOWN\"",
        ),
        (
            r#"{"categories": {"A": ["GPE"], "B": ["GPE"]}}"#,
            "label \"GPE\" is in both categories A and B",
        ),
        (r#"{"min_confidence": 2}"#, "min_confidence is 2"),
        (r#"{"alow": []}"#, "unknown field `alow`"),
    ] {
        let e = ner::Ner::new(ner::Model::load(ner::MODEL).unwrap(), config)
            .err()
            .unwrap_or_default();
        assert!(e.contains(says), "{config}: {e}");
    }
}

#[test]
fn person_cues_overrule_the_model_and_can_be_turned_off() {
    let with = |config| {
        let ner = ner::Ner::new(ner::Model::load(ner::MODEL).unwrap(), config).unwrap();
        let found = ner.entities(SENTENCE);
        found
            .into_iter()
            .map(|e| (SENTENCE[e.start..e.end].to_owned(), e.label))
            .collect::<Vec<_>>()
    };
    let on = with("{}");
    assert!(
        on.contains(&("Olumide Adeyemi".into(), "PERSON".into())),
        "{on:?}"
    );
    let off = with(r#"{"context": false}"#);
    assert!(
        off.contains(&("Olumide Adeyemi".into(), "FAC".into())),
        "{off:?}"
    );
    // A sentence-initial word used as a word is not a person, whatever the model says of it.
    let text = "Bill the client for the audit.";
    let people = |config| {
        let ner = ner::Ner::new(ner::Model::load(ner::MODEL).unwrap(), config).unwrap();
        ner.entities(text)
            .into_iter()
            .filter(|e| e.label == "PERSON")
            .count()
    };
    assert_eq!((people(r#"{"context": false}"#), people("{}")), (1, 0));
}

#[test]
fn allowed_names_and_unmapped_labels_are_not_reported() {
    let load = |config| ner::Ner::new(ner::Model::load(ner::MODEL).unwrap(), config).unwrap();
    let text = "Anna Schmidt flew from Nairobi to Oslo.";
    let categories = |n: &ner::Ner| {
        n.find(text)
            .into_iter()
            .map(|f| f.category)
            .collect::<Vec<_>>()
    };
    assert_eq!(categories(&load("{}")), ["PERSON", "LOCATION", "LOCATION"]);
    assert_eq!(
        categories(&load(r#"{"allow": ["NAIROBI"]}"#)),
        ["PERSON", "LOCATION"]
    );
    assert_eq!(
        categories(&load(r#"{"categories": {"PERSON": ["PERSON"]}}"#)),
        ["PERSON"]
    );
}

/// Hostile texts stay inside the names bundle's 500 ms budget: the plugin reads the first 8 KiB (and says
/// so with a label), and no run of characters makes its tokenizer quadratic.
#[test]
fn hostile_texts_stay_inside_the_budget() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut random = String::new();
    while random.len() < 100_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Mostly ASCII (punctuation included, so the affix rules fire), some of the rest of Unicode.
        let c = if rng.is_multiple_of(4) {
            char::from_u32((rng >> 8) as u32 % 0x2_FFFF)
        } else {
            char::from_u32(32 + (rng >> 8) as u32 % 95)
        };
        random.extend(c);
    }
    let texts = [
        ("one 100 KB word", "x".repeat(100_000)),
        (
            "10,000 capitalised tokens",
            "Anna Berg Chen Diaz ".repeat(2_500),
        ),
        ("100 KB of brackets", "(".repeat(100_000)),
        ("100 KB of dots and hyphens", ".-".repeat(50_000)),
        ("100 KB of random characters", random),
    ];
    let input: String = texts
        .iter()
        .map(|(id, text)| format!("{}\n", serde_json::json!({"id": id, "text": text})))
        .collect();
    for answer in scan_jsonl(names_bundle(), &input) {
        assert!(
            answer.get("errors").is_none(),
            "{}: {:?}",
            answer["id"],
            answer["errors"]
        );
        let labels = answer["labels"].as_array().unwrap();
        assert!(
            labels.contains(&Value::from(ner::TRUNCATED_LABEL)),
            "{}: {labels:?}",
            answer["id"]
        );
        eprintln!("{}: {} us", answer["id"], answer["elapsed_us"]);
    }
}

#[test]
fn a_long_text_is_read_up_to_max_bytes_and_cut_at_a_space() {
    let ner = ner::Ner::new(
        ner::Model::load(ner::MODEL).unwrap(),
        r#"{"max_bytes": 20}"#,
    )
    .unwrap();
    assert_eq!(
        ner.readable("Anna Schmidt flew to Oslo"),
        "Anna Schmidt flew"
    );
    assert_eq!(ner.readable("short"), "short");
    assert_eq!(ner.readable(&"é".repeat(30)), "é".repeat(10));
    let text = format!("{} Anna Schmidt", "word ".repeat(10));
    assert!(ner.find(&text).is_empty(), "the name is past max_bytes");
    let e = ner::Ner::new(ner::Model::load(ner::MODEL).unwrap(), r#"{"max_bytes": 0}"#)
        .err()
        .unwrap_or_default();
    assert!(e.contains("max_bytes is 0"), "{e}");
}
