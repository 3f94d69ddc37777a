//! Stock plugin `ner`: the names of people, places and organisations in a text, found by spaCy's English
//! named-entity model (`en_core_web_sm` 3.8.0, built in; model/README.md says where it comes from)
//! running inside the sandbox. The model is reimplemented here in plain Rust — tokenizer, features,
//! network, decoder — and its output matches spaCy's `ner` component entity for entity (tests/ner).
//!
//! Config (all optional):
//! - `categories`: which of the model's labels each finding category covers. Default
//!   `{"PERSON": ["PERSON"], "LOCATION": ["GPE", "LOC"], "ORGANIZATION": ["ORG"]}`; the model also knows
//!   FAC, NORP, PRODUCT, EVENT, WORK_OF_ART, LAW, LANGUAGE, DATE, TIME, PERCENT, MONEY, QUANTITY, ORDINAL
//!   and CARDINAL.
//! - `allow`: names never reported, compared without regard to case (the company's own name, products).
//! - `min_confidence`: report only entities the model is at least this sure of (0 to 1, default 0).

mod alternation;
mod data;
mod decode;
mod hash;
mod lexeme;
mod model;
mod net;
mod tokenizer;

use std::collections::{BTreeMap, HashSet};

use palisade_sdk::{Context, Finding, Plugin, Verdict};
use serde::Deserialize;

pub use model::{Entity, LoadError, Model, ModelInfo};
pub use tokenizer::Token;

/// The built-in model's data file (model/convert.py writes it; model/README.md pins its digest).
pub static MODEL: &[u8] = include_bytes!("../model/en_core_web_sm-3.8.0.pner");

/// The plugin: the model and what to report of its entities.
pub struct Ner {
    model: Model,
    /// Model label → finding category.
    categories: BTreeMap<String, String>,
    allow: HashSet<String>,
    min_confidence: f32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    categories: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    min_confidence: f32,
}

fn default_categories() -> BTreeMap<String, Vec<String>> {
    [
        ("PERSON", &["PERSON"][..]),
        ("LOCATION", &["GPE", "LOC"]),
        ("ORGANIZATION", &["ORG"]),
    ]
    .into_iter()
    .map(|(category, labels)| {
        (
            category.to_owned(),
            labels.iter().map(|l| (*l).to_owned()).collect(),
        )
    })
    .collect()
}

impl Ner {
    /// The plugin over `model` with a JSON config (as `configure` gets it).
    pub fn new(model: Model, config: &str) -> Result<Ner, String> {
        let config: Config =
            serde_json::from_str(config).map_err(|e| format!("invalid ner config: {e}"))?;
        let known = model.labels();
        let mut categories = BTreeMap::new();
        for (category, labels) in config.categories.unwrap_or_else(default_categories) {
            for label in labels {
                if !known.contains(&label) {
                    return Err(format!(
                        "categories.{category}: the model has no label {label:?}; it has {}",
                        known.join(", ")
                    ));
                }
                if let Some(other) = categories.insert(label.clone(), category.clone()) {
                    return Err(format!(
                        "label {label:?} is in both categories {other} and {category}"
                    ));
                }
            }
        }
        if !(0.0..=1.0).contains(&config.min_confidence) {
            return Err(format!(
                "min_confidence is {}; it must be between 0 and 1",
                config.min_confidence
            ));
        }
        Ok(Ner {
            model,
            categories,
            allow: config
                .allow
                .iter()
                .map(|name| name.to_lowercase())
                .collect(),
            min_confidence: config.min_confidence,
        })
    }

    /// The findings for a text.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        self.model
            .entities(text)
            .into_iter()
            .filter(|e| e.confidence >= self.min_confidence)
            .filter(|e| !self.allow.contains(&text[e.start..e.end].to_lowercase()))
            .filter_map(|e| {
                let category = self.categories.get(&e.label)?;
                let message = format!(
                    "{} (the model's {} label)",
                    category.to_lowercase().replace('_', " "),
                    e.label
                );
                Some(Finding::new(
                    format!("ner.{}", e.label.to_lowercase()),
                    category,
                    e.start..e.end,
                    e.confidence,
                    message,
                ))
            })
            .collect()
    }
}

impl Plugin for Ner {
    fn configure(config: &str) -> Result<Self, String> {
        let model =
            Model::load(MODEL).map_err(|e| format!("the built-in model does not load: {e}"))?;
        Ner::new(model, config)
    }

    fn inspect(&self, _ctx: &Context, text: &str) -> Verdict {
        Verdict::allow(self.find(text))
    }
}

// Only the component exports the world; a native build (tests, benchmarks) links the model alone.
#[cfg(target_family = "wasm")]
palisade_sdk::export_plugin!(Ner);
