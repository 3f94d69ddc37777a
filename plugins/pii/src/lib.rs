//! Stock plugin `pii`: finds personal data in text and reports it with Presidio's entity names.
//!
//! Each recogniser is a regex that proposes candidates and a validator that keeps only real ones: Luhn and
//! issuer prefixes for cards, the SSA's assignment rules for SSNs, the mod-11 check digit for NHS numbers, ISO 13616 lengths and mod-97 for IBANs,
//! octet and RFC 4291 parsing for IP addresses, and boundary checks so a digit run inside a longer number,
//! a version string or an OID is not mistaken for one. It only reports; the bundle's policy decides whether
//! a finding is redacted, masked, hashed or denied.
//!
//! Config (all optional): `{"entities": ["EMAIL_ADDRESS", "PHONE_NUMBER", …]}` limits the recognisers that run.
//!
//! Not covered here: names, postal addresses and other entities that need a language model, not a pattern.

use palisade_sdk::{export_plugin, Context, Finding, Plugin, Verdict};
use serde::Deserialize;

mod detect;

pub use detect::{Detector, Entity, Hit};

/// The plugin: a configured [`Detector`].
pub struct Pii {
    detector: Detector,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    entities: Option<Vec<String>>,
}

impl Plugin for Pii {
    fn configure(config: &str) -> Result<Self, String> {
        let config: Config =
            serde_json::from_str(config).map_err(|e| format!("invalid pii config: {e}"))?;
        let entities = match config.entities {
            None => Entity::ALL.to_vec(),
            Some(names) => names
                .iter()
                .map(|n| {
                    Entity::from_name(n).ok_or_else(|| {
                        let known: Vec<&str> = Entity::ALL.iter().map(|e| e.name()).collect();
                        format!(
                            "unknown entity {n:?} in `entities`; known: {}",
                            known.join(", ")
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Pii {
            detector: Detector::new(&entities),
        })
    }

    fn inspect(&self, _ctx: &Context, text: &str) -> Verdict {
        let findings = self
            .detector
            .detect(text)
            .into_iter()
            .map(|h| {
                Finding::new(
                    h.entity.rule(),
                    h.entity.name(),
                    h.range,
                    h.confidence,
                    h.entity.message(),
                )
            })
            .collect();
        Verdict::allow(findings)
    }
}

export_plugin!(Pii);
