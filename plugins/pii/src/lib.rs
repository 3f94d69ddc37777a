//! Stock plugin `pii`: finds personal data in text and reports it with Presidio's entity names.
//!
//! Each recogniser is a regex that proposes candidates and a validator that keeps only real ones: Luhn and
//! issuer ranges for cards, the SSA's assignment rules for SSNs, the mod-11 check digit for NHS numbers,
//! ISO 13616 lengths and mod-97 for IBANs, base58check, bech32 and EIP-55 for crypto addresses, octet and
//! RFC 4291 parsing for IP addresses, a host for URLs, and boundary checks so a digit run inside a longer
//! number, a version string or an OID is not mistaken for one. Types with no checksum (bank account
//! numbers) need a context word nearby. It only reports; the bundle's policy decides whether a finding is
//! redacted, masked, hashed or denied.
//!
//! Config (all optional; see the README's "Stock plugins" section):
//! - `entities`: the categories to look for, e.g. `["EMAIL_ADDRESS", "PHONE_NUMBER"]` (default: all).
//! - `allow`: values never reported, compared case-insensitively (the company's support address).
//! - `allow_domains`: email and URL domains never reported, with their subdomains (`"example.com"`).
//! - `patterns`: a team's own recognisers, `[{"name", "category", "pattern", "confidence"?, "context"?}]`:
//!   `pattern` is a Rust regex, reported as rule `pii.<name>`; with `context`, a match counts only when one
//!   of those words is in the 48 bytes before it.
//! - `bare_hosts`: report a host name alone (`example.com`: no scheme, `www.` or path) as a `URL`
//!   (default `false`: it is rarely personal data, and redacting every host name makes prompts useless).
//! - `leave_credential_urls`: leave what makes a URL a credential to a secrets plugin later in the chain
//!   (default `false`): a webhook URL is not reported, and a URL with `user:password@` or a credential
//!   query parameter (`?api_key=…`) is reported without them, so secrets still sees the credential.
//! - `normalize`: read text normalised first (default `true`): full-width and other-script digits,
//!   zero-width characters, typographic spaces and dashes, JSON/HTML/URL escapes (`palisade_sdk::normalize`).
//!   A value found that way passes the same validators; if it was disguised, its rule gains `.obfuscated`
//!   and the verdict the label `obfuscated`.
//!
//! Not covered here: names, postal addresses and other entities that need a language model, not a pattern.

use palisade_sdk::{Context, Finding, Plugin, Verdict};
use serde::Deserialize;

mod crypto;
mod detect;

pub use detect::{Allowed, CustomPattern, Detector, Entity, Hit};

/// The plugin: a configured [`Detector`].
pub struct Pii {
    detector: Detector,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    entities: Option<Vec<String>>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    allow_domains: Vec<String>,
    #[serde(default)]
    patterns: Vec<PatternConfig>,
    #[serde(default = "yes")]
    normalize: bool,
    #[serde(default)]
    bare_hosts: bool,
    #[serde(default)]
    leave_credential_urls: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternConfig {
    name: String,
    category: String,
    pattern: String,
    #[serde(default = "default_confidence")]
    confidence: f32,
    #[serde(default)]
    context: Vec<String>,
}

fn default_confidence() -> f32 {
    0.8
}

impl PatternConfig {
    fn compile(self) -> Result<CustomPattern, String> {
        let name = &self.name;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "pattern name {name:?} must be lowercase letters, digits and '-' (it becomes rule pii.{name})"
            ));
        }
        if self.category.is_empty() {
            return Err(format!(
                "pattern {name:?} needs a category, e.g. \"EMPLOYEE_ID\""
            ));
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(format!(
                "pattern {name:?}: confidence {} is not between 0 and 1",
                self.confidence
            ));
        }
        CustomPattern::new(
            self.name.clone(),
            self.category,
            &self.pattern,
            self.confidence,
            self.context,
        )
        .map_err(|e| format!("pattern {name:?} is not a valid regex: {e}"))
    }
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
        let patterns = config
            .patterns
            .into_iter()
            .map(PatternConfig::compile)
            .collect::<Result<_, _>>()?;
        let allowed = Allowed {
            values: config.allow,
            domains: config
                .allow_domains
                .into_iter()
                .map(|d| d.trim_start_matches("*.").to_string())
                .collect(),
        };
        Ok(Pii {
            detector: Detector::new(&entities)
                .with_patterns(patterns)
                .with_allowed(allowed)
                .with_normalization(config.normalize)
                .with_bare_hosts(config.bare_hosts)
                .with_credentials_left(config.leave_credential_urls),
        })
    }

    fn inspect(&self, _ctx: &Context, text: &str) -> Verdict {
        let hits = self.detector.detect(text);
        let obfuscated = hits.iter().any(|h| !h.evasion.is_empty());
        let findings = hits
            .into_iter()
            .map(|h| {
                Finding::new(h.rule, h.category, h.range, h.confidence, h.message)
                    .obfuscated(h.evasion)
            })
            .collect();
        let verdict = Verdict::allow(findings);
        if obfuscated {
            verdict.with_labels([palisade_sdk::OBFUSCATED_LABEL])
        } else {
            verdict
        }
    }
}

// Only the component exports the world; a native build (tests, benchmarks) links the detector alone.
#[cfg(target_family = "wasm")]
palisade_sdk::export_plugin!(Pii);
