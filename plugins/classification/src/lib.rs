//! Stock plugin `classification`: how sensitive a text is, as a `sensitivity:<level>` label (public,
//! internal, confidential, restricted) for later plugins, the policy and the audit trail.
//!
//! Three sources, the highest level wins: document markings (`CONFIDENTIAL`, `INTERNAL ONLY`,
//! `SECRET//NOFORN`, "Attorney-Client Privileged"), a team's keyword dictionaries (project code names,
//! customer names), and what earlier plugins found (`found:SECRET` → restricted). Each reason is reported
//! as a `CLASSIFICATION` finding; the plugin never denies — a `destinations` rule or the policy does that.
//!
//! Config (all optional; see the README's "Stock plugins" section):
//! - `markings`: use the built-in markings (default `true`).
//! - `dictionaries`: `{"<name>": {"level": "confidential", "terms": ["Falcon", …]}}`, or `"file": "<key>"`
//!   to take one term per line from a file in the plugin's `files` table. Terms match as whole words, in
//!   any case.
//! - `escalate`: `[{"labels": ["found:SECRET"], "at_least": 1, "level": "restricted"}]` replaces the
//!   defaults (any secret → restricted; a card, SSN, IBAN, NHS or bank number → confidential; three kinds of
//!   personal data → restricted).

use std::collections::BTreeMap;

use palisade_sdk::{Context, Finding, Gate, Plugin, Verdict};
use serde::Deserialize;

mod detect;

pub use detect::{default_escalations, overall, Classifier, Dictionary, Escalation, Level, Mark};

/// The plugin: a configured [`Classifier`].
pub struct Classification {
    classifier: Classifier,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "yes")]
    markings: bool,
    #[serde(default)]
    dictionaries: BTreeMap<String, DictionaryConfig>,
    escalate: Option<Vec<EscalationConfig>>,
    #[serde(default)]
    files: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DictionaryConfig {
    level: String,
    #[serde(default)]
    terms: Vec<String>,
    file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationConfig {
    labels: Vec<String>,
    #[serde(default = "one")]
    at_least: usize,
    level: String,
}

fn one() -> usize {
    1
}

impl Plugin for Classification {
    fn configure(config: &str) -> Result<Self, String> {
        let config: Config = serde_json::from_str(config)
            .map_err(|e| format!("invalid classification config: {e}"))?;
        let mut dictionaries = Vec::new();
        for (name, d) in &config.dictionaries {
            let level: Level = d
                .level
                .parse()
                .map_err(|e| format!("dictionary {name:?}: {e}"))?;
            let mut terms = d.terms.clone();
            if let Some(key) = &d.file {
                let contents = config.files.get(key).ok_or_else(|| {
                    format!("dictionary {name:?} names file {key:?}, but the plugin's `files` table has no such key")
                })?;
                terms.extend(contents.lines().map(str::to_string));
            }
            dictionaries.push(Dictionary::new(name, level, &terms)?);
        }
        let escalations = match config.escalate {
            None => default_escalations(),
            Some(list) => list
                .into_iter()
                .enumerate()
                .map(|(i, e)| {
                    let level = e.level.parse().map_err(|m| format!("escalate[{i}]: {m}"))?;
                    if e.labels.is_empty() || e.at_least == 0 {
                        return Err(format!(
                            "escalate[{i}]: needs at least one label and at_least >= 1"
                        ));
                    }
                    Ok(Escalation {
                        labels: e.labels,
                        at_least: e.at_least,
                        level,
                    })
                })
                .collect::<Result<_, String>>()?,
        };
        Ok(Classification {
            classifier: Classifier::new(config.markings, dictionaries, escalations),
        })
    }

    fn gate(&self) -> Option<Gate> {
        self.classifier.gate()
    }

    fn inspect(&self, ctx: &Context, text: &str) -> Verdict {
        let marks = self.classifier.classify(text, &ctx.labels);
        let level = overall(&marks, &ctx.labels);
        let obfuscated = marks.iter().any(|m| !m.evasion.is_empty());
        let findings = marks
            .into_iter()
            .map(|m| match m.range {
                Some(range) => Finding::new(m.rule, "CLASSIFICATION", range, 0.9, m.message)
                    .obfuscated(m.evasion),
                None => Finding::about_text(m.rule, "CLASSIFICATION", 1.0, m.message),
            })
            .collect();
        let labels = level
            .map(Level::label)
            .into_iter()
            .chain(obfuscated.then(|| palisade_sdk::OBFUSCATED_LABEL.to_string()));
        Verdict::allow(findings).with_labels(labels)
    }
}

// Only the component exports the world; a native build (tests, benchmarks) links the classifier alone.
#[cfg(target_family = "wasm")]
palisade_sdk::export_plugin!(Classification);
