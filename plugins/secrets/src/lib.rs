//! Stock plugin `secrets`: finds credentials — cloud and SaaS API keys, tokens, private keys, connection
//! strings with passwords, JWTs, and tokens assigned to key-like names — and reports each as category
//! `SECRET` with gitleaks' rule id (`secret.aws-access-token`, `secret.github-pat`, …).
//!
//! Regexes propose; validators reject placeholders (`AKIAIOSFODNN7EXAMPLE`, `ghp_xxxx…`, `${API_KEY}`,
//! `changeme`), low-entropy values, JWTs whose header is not JSON with an `alg`, and AWS secret keys with no
//! AWS context. For a token assigned to a key name (`api_key = "…"`), only the token is reported.
//!
//! Config (optional): `{"rules": ["aws-access-token", …]}` limits the rules that run.

use palisade_sdk::{export_plugin, Context, Finding, Plugin, Verdict};
use serde::Deserialize;

mod detect;

pub use detect::{Detector, Hit, RULES};

/// The plugin: a configured [`Detector`].
pub struct Secrets {
    detector: Detector,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    rules: Option<Vec<String>>,
}

impl Plugin for Secrets {
    fn configure(config: &str) -> Result<Self, String> {
        let config: Config =
            serde_json::from_str(config).map_err(|e| format!("invalid secrets config: {e}"))?;
        if let Some(unknown) = config
            .rules
            .iter()
            .flatten()
            .find(|r| !RULES.contains(&r.as_str()))
        {
            return Err(format!(
                "unknown rule {unknown:?} in `rules`; known: {}",
                RULES.join(", ")
            ));
        }
        Ok(Secrets {
            detector: Detector::new(config.rules.as_deref()),
        })
    }

    fn inspect(&self, _ctx: &Context, text: &str) -> Verdict {
        let findings = self
            .detector
            .detect(text)
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
            })
            .collect();
        Verdict::allow(findings)
    }
}

export_plugin!(Secrets);
