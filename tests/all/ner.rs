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

/// The heart of the plugin's correctness: a drift in tokenisation, a feature or a hash would lose accuracy
/// silently, so every token, every feature string and every entity must be spaCy's.
#[test]
fn tokens_features_and_entities_are_spacys() {
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
        return;
    };
    let model = model();
    let (mut texts, mut entities, mut wrong) = (0, 0, Vec::new());
    for line in std::io::BufReader::new(file).lines() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
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
        let theirs: Vec<(usize, usize, String)> = v["ents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e[0].as_u64().unwrap() as usize,
                    e[1].as_u64().unwrap() as usize,
                    e[2].as_str().unwrap().into(),
                )
            })
            .collect();
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
    let input = "Anna Schmidt flew from Nairobi to Oslo for Palisade.";
    let o = palisade(
        &["scan", "--bundle", names_bundle(), "--jsonl"],
        &format!("{}\n", serde_json::json!({"id": 1, "text": input})),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let answer: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        answer["text"], "[PERSON] flew from [LOCATION] to [LOCATION] for Palisade.",
        "{answer}"
    );
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
    assert_eq!(
        found,
        [("ner", "PERSON"), ("ner", "LOCATION"), ("ner", "LOCATION")],
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn builtin_ner_answers_over_grpc() {
    let server = Server::start(&["--bundle", names_bundle()]).await;
    let mut client = GuardrailClient::new(server.channel().await);
    let r = client.check(text(SENTENCE)).await.unwrap().into_inner();
    let found: Vec<(String, String)> = r
        .findings
        .iter()
        .filter(|f| f.plugin == "ner")
        .map(|f| {
            (
                SENTENCE[f.start as usize..f.end as usize].to_owned(),
                f.category.clone(),
            )
        })
        .collect();
    assert!(
        found.contains(&("Springfield".into(), "LOCATION".into())),
        "{found:?}"
    );
}

#[test]
fn a_config_the_plugin_cannot_use_is_refused_with_the_reason() {
    for (config, says) in [
        (
            r#"{"categories": {"PLACE": ["TOWN"]}}"#,
            "the model has no label \"TOWN\"",
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
