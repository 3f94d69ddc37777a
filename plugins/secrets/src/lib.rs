//! Stock plugin `secrets`: finds credentials — cloud and SaaS API keys, tokens, private keys, connection
//! strings with passwords, JWTs, and tokens assigned to key-like names — and reports each as category
//! `SECRET` with gitleaks' rule id (`secret.aws-access-token`, `secret.github-pat`, …).
//!
//! Regexes propose; validators reject placeholders (`AKIAIOSFODNN7EXAMPLE`, `ghp_xxxx…`, `${API_KEY}`,
//! `changeme`), low-entropy values, JWTs whose header is not JSON with an `alg`, and AWS secret keys with no
//! AWS context. For a token tied to a key name (`api_key = "…"`, `we use … as the API key`), only the token
//! is reported.
//!
//! Config (all optional; see the README's "Stock plugins" section):
//! - `rules`: run only these rule ids (default: all built-in rules).
//! - `disable`: rule ids not to run, e.g. `["generic-api-key"]` where config files are full of ids.
//! - `custom`: a team's own rules, `[{"id", "pattern", "description"?, "confidence"?, "min_entropy"?}]`:
//!   `pattern` is a Rust regex (a `secret` capture group, if present, is what gets reported), reported as
//!   rule `secret.<id>`; `min_entropy` (bits per character, default 3.0) rejects low-variety values.
//! - `normalize`: read text normalised first (default `true`): zero-width characters inside a key,
//!   full-width letters, JSON/HTML/URL escapes (`palisade_sdk::normalize`). A key found that way passes the
//!   same checks; if it was disguised, its rule gains `.obfuscated` and the verdict the label `obfuscated`.

use palisade_sdk::{Context, Finding, Gate, Plugin, Verdict};
use serde::Deserialize;

mod detect;

pub use detect::{CustomRule, Detector, Hit};

/// The plugin: a configured [`Detector`].
pub struct Secrets {
    detector: Detector,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    rules: Option<Vec<String>>,
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    custom: Vec<CustomConfig>,
    #[serde(default = "yes")]
    normalize: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomConfig {
    id: String,
    pattern: String,
    description: Option<String>,
    #[serde(default = "default_confidence")]
    confidence: f32,
    #[serde(default = "default_min_entropy")]
    min_entropy: f64,
}

fn default_confidence() -> f32 {
    0.9
}

fn default_min_entropy() -> f64 {
    3.0
}

impl CustomConfig {
    fn compile(self, builtin: &[String]) -> Result<CustomRule, String> {
        let id = &self.id;
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "custom rule id {id:?} must be lowercase letters, digits and '-' (it becomes rule secret.{id})"
            ));
        }
        if builtin.contains(id) {
            return Err(format!(
                "custom rule id {id:?} is a built-in rule's; pick another, or `disable` the built-in one"
            ));
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(format!(
                "custom rule {id:?}: confidence {} is not between 0 and 1",
                self.confidence
            ));
        }
        let pattern = regex::Regex::new(&self.pattern)
            .map_err(|e| format!("custom rule {id:?}: the pattern is not a valid regex: {e}"))?;
        Ok(CustomRule {
            description: self
                .description
                .unwrap_or_else(|| format!("matches the configured rule `{id}`")),
            id: self.id,
            pattern,
            confidence: self.confidence,
            min_entropy: self.min_entropy,
        })
    }
}

impl Plugin for Secrets {
    fn configure(config: &str) -> Result<Self, String> {
        let config: Config =
            serde_json::from_str(config).map_err(|e| format!("invalid secrets config: {e}"))?;
        // Compiling the rules is most of configure's time: once, for their ids and the detector.
        let mut detector = Detector::new();
        let builtin = detector.ids();
        let named = config.rules.iter().flatten().chain(&config.disable);
        if let Some(unknown) = named.into_iter().find(|r| !builtin.contains(r)) {
            return Err(format!(
                "unknown rule {unknown:?}; the built-in rules are: {}",
                builtin.join(", ")
            ));
        }
        let custom = config
            .custom
            .into_iter()
            .map(|c| c.compile(&builtin))
            .collect::<Result<_, _>>()?;
        if let Some(only) = &config.rules {
            detector = detector.only(only);
        }
        Ok(Secrets {
            detector: detector
                .without(&config.disable)
                .with_custom(custom)
                .with_normalization(config.normalize),
        })
    }

    fn gate(&self) -> Option<Gate> {
        self.detector.gate()
    }

    fn inspect(&self, _ctx: &Context, text: &str) -> Verdict {
        let hits = self.detector.detect(text);
        let obfuscated = hits.iter().any(|h| !h.evasion.is_empty());
        let findings = hits
            .into_iter()
            .map(|h| {
                let message = format!("{} (value not shown)", h.description);
                Finding::new(
                    format!("secret.{}", h.rule),
                    "SECRET",
                    h.range,
                    h.confidence,
                    message,
                )
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
palisade_sdk::export_plugin!(Secrets);
