//! Flags internal project codewords (from the bundle's `config = { words = [...] }`) as CLASSIFICATION,
//! case-insensitively, and labels the text `confidential` for later plugins.
use palisade_sdk::{export_plugin, Context, Finding, Plugin, Verdict};

struct Codewords {
    words: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Config {
    words: Vec<String>,
}

impl Plugin for Codewords {
    fn configure(config: &str) -> Result<Self, String> {
        let config: Config = serde_json::from_str(config).map_err(|e| format!("config: {e}"))?;
        let words = config
            .words
            .iter()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        Ok(Codewords { words })
    }

    fn inspect(&self, _ctx: &Context, text: &str) -> Verdict {
        // ASCII lowercasing keeps byte offsets identical to `text`'s.
        let lower = text.to_ascii_lowercase();
        let findings: Vec<Finding> = (self.words.iter())
            .flat_map(|w| lower.match_indices(w.as_str()))
            .map(|(at, w)| {
                Finding::new(
                    "codewords.match",
                    "CLASSIFICATION",
                    at..at + w.len(),
                    0.9,
                    "codeword",
                )
            })
            .collect();
        let labels = if findings.is_empty() {
            vec![]
        } else {
            vec!["confidential"]
        };
        Verdict::allow(findings).with_labels(labels)
    }
}

export_plugin!(Codewords);
