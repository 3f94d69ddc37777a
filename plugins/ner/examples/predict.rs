//! Findings for a JSON-lines file of `{"id", "text"}`, natively, in `palisade scan --jsonl`'s shape:
//! `cargo run --release -p ner --example predict -- '{CONFIG}' < in.jsonl > out.jsonl`. For trying
//! detection changes on the names sets without rebuilding `palisade`.
use std::io::BufRead;

fn main() {
    let config = std::env::args().nth(1).unwrap_or_else(|| "{}".into());
    let ner = ner::Ner::new(
        ner::Model::load(ner::MODEL).expect("the built-in model loads"),
        &config,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for line in std::io::stdin().lock().lines() {
        let doc: serde_json::Value = serde_json::from_str(&line.expect("a line")).expect("JSON");
        let text = doc["text"].as_str().unwrap_or_default();
        let findings: Vec<serde_json::Value> = ner
            .find(text)
            .into_iter()
            .map(|f| {
                let span = f.span.expect("a span");
                serde_json::json!({"category": f.category, "rule": f.rule, "start": span.start, "end": span.end})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"id": doc["id"], "decision": "allow", "text": text, "findings": findings})
        );
    }
}
