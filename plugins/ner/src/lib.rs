//! Stock plugin `ner`: the people, places, organisations and street addresses in a text. Names and places
//! come from spaCy's English named-entity model (`en_core_web_sm` 3.8.0, built in; model/README.md says
//! where it comes from) running inside the sandbox, reimplemented here in plain Rust — tokenizer, features,
//! network, decoder — whose output matches spaCy's `ner` component entity for entity (tests/ner). Person
//! cues (context.rs) and address rules (address.rs) work beside it.
//!
//! Config (all optional):
//! - `categories`: which labels each finding category covers. Default `{"PERSON": ["PERSON"], "LOCATION":
//!   ["GPE", "LOC"], "ORGANIZATION": ["ORG"], "ADDRESS": ["ADDRESS"]}`; the model also knows FAC, NORP,
//!   PRODUCT, EVENT, WORK_OF_ART, LAW, LANGUAGE, DATE, TIME, PERCENT, MONEY, QUANTITY, ORDINAL and CARDINAL.
//! - `allow`: names never reported, compared without regard to case (the company's own name, products).
//! - `min_confidence`: report only entities the model is at least this sure of (0 to 1, default 0).
//! - `context`: person cues beside the model (default `true`): a capitalised name after "my name is",
//!   "Dear", "Dr.", a sign-off, a `customer:` field or under a `name` column is a PERSON, whatever the
//!   model called it; a sentence-initial "Will you…" is not.
//! - `addresses`: street addresses by rules (default `true`): a street line in the forms of the US, Canada,
//!   the UK, Germany, the Netherlands, France, Spain, Italy, Portugal and others, with its unit, town,
//!   region and postcode, as one `ADDRESS` (category `ADDRESS` by default).
//! - `max_bytes`: read at most this much of a text (default 8192, cut at a space), so a long text stays
//!   inside the plugin's budget; a text cut short gets the label `ner:truncated`.

mod address;
mod alternation;
mod context;
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
    max_bytes: usize,
    /// Person cues beside the model (context.rs); None with `"context": false`.
    cues: Option<context::Cues>,
    /// Street addresses by rules (address.rs); None with `"addresses": false`.
    addresses: Option<address::Addresses>,
}

/// The label (and default category) of a street address the rules found.
pub const ADDRESS: &str = "ADDRESS";

/// An entity in a text: the model's, or one the rules beside it found (`rule` says which).
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    /// The model's label (PERSON, GPE, ORG, …) or ADDRESS.
    pub label: String,
    pub confidence: f32,
    pub rule: String,
}

/// The model's labels a person cue may overrule: a name after "My name is" is a person, whatever the
/// model made of it, but not a date or an amount.
const OVERRULED: &[&str] = &[
    "PERSON",
    "ORG",
    "FAC",
    "GPE",
    "LOC",
    "PRODUCT",
    "WORK_OF_ART",
    "NORP",
    "EVENT",
    "LAW",
    "LANGUAGE",
];

/// The label on a verdict when only the first `max_bytes` of the text were read.
pub const TRUNCATED_LABEL: &str = "ner:truncated";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    categories: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    min_confidence: f32,
    #[serde(default = "default_max_bytes")]
    max_bytes: usize,
    #[serde(default = "yes")]
    context: bool,
    #[serde(default = "yes")]
    addresses: bool,
}

fn yes() -> bool {
    true
}

fn default_max_bytes() -> usize {
    8192
}

fn default_categories() -> BTreeMap<String, Vec<String>> {
    [
        ("PERSON", &["PERSON"][..]),
        ("LOCATION", &["GPE", "LOC"]),
        ("ADDRESS", &["ADDRESS"]),
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
        // The model's labels, and ADDRESS from the rules beside it.
        let mut known = model.labels();
        known.push(ADDRESS.to_owned());
        let mut categories = BTreeMap::new();
        for (category, labels) in config.categories.unwrap_or_else(default_categories) {
            for label in labels {
                if !known.contains(&label) {
                    return Err(format!(
                        "categories.{category}: there is no label {label:?}; there are {}",
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
        if config.max_bytes == 0 {
            return Err(
                "max_bytes is 0, so nothing would be read; leave it out for the default (8192)"
                    .into(),
            );
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
            max_bytes: config.max_bytes,
            cues: config.context.then(context::Cues::new),
            addresses: config.addresses.then(address::Addresses::new),
        })
    }

    /// The part of `text` the plugin reads: all of it, or its first `max_bytes` cut after the last
    /// whitespace in them (a character boundary if there is none), so no word is cut in two.
    pub fn readable<'t>(&self, text: &'t str) -> &'t str {
        if text.len() <= self.max_bytes {
            return text;
        }
        let mut end = self.max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let head = &text[..end];
        match head.rfind(char::is_whitespace) {
            Some(space) if space > 0 => &text[..space],
            _ => head,
        }
    }

    /// The entities in a text (its first `max_bytes`): the model's, with the person cues' corrections and
    /// the street addresses, which take in the model's places and numbers inside them.
    pub fn entities(&self, text: &str) -> Vec<Found> {
        let text = self.readable(text);
        let mut found: Vec<Found> = self
            .model
            .entities(text)
            .into_iter()
            .map(|e| Found {
                rule: format!("ner.{}", e.label.to_lowercase()),
                start: e.start,
                end: e.end,
                label: e.label,
                confidence: e.confidence,
            })
            .collect();
        if let Some(cues) = &self.cues {
            let words = cues.words_not_names(text);
            found.retain(|e| !(e.label == "PERSON" && words.contains(&(e.start, e.end))));
            for cued in cues.people(text) {
                let overlaps = |e: &Found| e.start < cued.end && cued.start < e.end;
                if found
                    .iter()
                    .any(|e| overlaps(e) && !OVERRULED.contains(&e.label.as_str()))
                {
                    continue;
                }
                found.retain(|e| !overlaps(e));
                found.push(Found {
                    start: cued.start,
                    end: cued.end,
                    label: "PERSON".into(),
                    confidence: CUED_CONFIDENCE,
                    rule: "ner.context.person".into(),
                });
            }
        }
        if let Some(addresses) = &self.addresses {
            for a in addresses.find(text) {
                // A person before the street line ("Anna Berg, 12 Main St") keeps its own span.
                let inside = |e: &Found| {
                    e.start < a.end
                        && a.start < e.end
                        && !(e.label == "PERSON" && e.start < a.start)
                };
                found.retain(|e| !inside(e));
                found.push(Found {
                    start: a.start,
                    end: a.end,
                    label: ADDRESS.into(),
                    confidence: ADDRESS_CONFIDENCE,
                    rule: "ner.address".into(),
                });
            }
        }
        found.sort_by_key(|e| (e.start, e.end));
        found
    }

    /// The findings for a text (for its first `max_bytes`).
    pub fn find(&self, text: &str) -> Vec<Finding> {
        self.entities(text)
            .into_iter()
            .filter(|e| e.confidence >= self.min_confidence)
            .filter(|e| !self.allow.contains(&text[e.start..e.end].to_lowercase()))
            .filter_map(|e| {
                let category = self.categories.get(&e.label)?;
                let message = match e.rule.as_str() {
                    "ner.context.person" => "a person, by the words before the name".to_owned(),
                    "ner.address" => "a street address".to_owned(),
                    _ => format!(
                        "{} (the model's {} label)",
                        category.to_lowercase().replace('_', " "),
                        e.label
                    ),
                };
                Some(Finding::new(
                    e.rule,
                    category,
                    e.start..e.end,
                    e.confidence,
                    message,
                ))
            })
            .collect()
    }
}

/// How sure an address rule is: a street line with its number and street type.
const ADDRESS_CONFIDENCE: f32 = 0.9;

/// How sure a person cue is: below the model's sure answers, above its guesses.
const CUED_CONFIDENCE: f32 = 0.85;

impl Plugin for Ner {
    fn configure(config: &str) -> Result<Self, String> {
        let model =
            Model::load(MODEL).map_err(|e| format!("the built-in model does not load: {e}"))?;
        Ner::new(model, config)
    }

    fn inspect(&self, _ctx: &Context, text: &str) -> Verdict {
        let verdict = Verdict::allow(self.find(text));
        if self.readable(text).len() < text.len() {
            verdict.with_labels([TRUNCATED_LABEL])
        } else {
            verdict
        }
    }
}

// Only the component exports the world; a native build (tests, benchmarks) links the model alone.
#[cfg(target_family = "wasm")]
palisade_sdk::export_plugin!(Ner);
