//! __NAME__: a Palisade plugin. It flags every occurrence of the words in its config
//! (`{"words": ["..."]}`, default `["example"]`) as CLASSIFICATION; change `inspect` to do your own check.
wit_bindgen::generate!({ path: "wit", world: "guardrail" });

use std::sync::Mutex;

use palisade::guardrail::host::{log, Level};
use palisade::guardrail::types::{Decision, Finding, Span};

/// Set by `configure`, once per instance; an instance serves one call at a time.
static WORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Plugin;

impl Guest for Plugin {
    fn configure(config: String) -> Result<(), String> {
        let config: serde_json::Value =
            serde_json::from_str(&config).map_err(|e| format!("config is not JSON: {e}"))?;
        let words = match config.get("words") {
            None => vec!["example".to_string()],
            Some(words) => serde_json::from_value(words.clone())
                .map_err(|_| "`words` must be a list of strings".to_string())?,
        };
        if words.iter().any(String::is_empty) {
            return Err("`words` has an empty word".into());
        }
        log(Level::Debug, &format!("watching {} words", words.len()));
        *WORDS.lock().map_err(|_| "poisoned")? = words;
        Ok(())
    }

    fn inspect(_ctx: Context, text: String) -> Verdict {
        let words = WORDS.lock().map(|w| w.clone()).unwrap_or_default();
        // Rust's str offsets are UTF-8 byte offsets: exactly the spans the host expects.
        let findings = (words.iter())
            .flat_map(|w| text.match_indices(w.as_str()))
            .map(|(at, w)| Finding {
                rule: "__NAME__.word".into(),
                category: "CLASSIFICATION".into(),
                span: Some(Span { start: at as u32, end: (at + w.len()) as u32 }),
                confidence: 0.9,
                message: "a listed word".into(),
            })
            .collect();
        Verdict { decision: Decision::Allow, findings, labels: vec![] }
    }
}

export!(Plugin);
