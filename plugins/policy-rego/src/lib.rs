//! Stock plugin `policy-rego`: Rego (OPA's policy language) decides each exchange, run by regorus, a Rego
//! interpreter in Rust. The input document is
//! `{principal, direction, destination, tool, labels, metadata}` — strings (`""` when the gateway gave
//! none), `labels` an array and `metadata` an object of strings — and two rules are read:
//!
//! - `data.palisade.deny`: a set of reasons (strings); any reason denies the exchange, each is a `POLICY`
//!   finding, and the deny reason lists them all.
//! - `data.palisade.labels`: a set of labels to add for later plugins and the response.
//!
//! Either may be left undefined (nothing denied, no labels). Config: `files.policies` (required, one Rego
//! module), `files.data` (optional JSON, merged under `data`).

use std::cell::RefCell;
use std::collections::HashMap;

pub use palisade_sdk::Exchange;
use palisade_sdk::{Context, Finding, Plugin, Verdict};
use regorus::{Engine, Value};
use serde::Deserialize;

/// The finding category of a policy decision (as for policy-cedar).
pub const CATEGORY: &str = "POLICY";

const DENY: &str = "data.palisade.deny";
const LABELS: &str = "data.palisade.labels";

/// The plugin: a regorus engine with the policies and data loaded. Evaluating sets the input, so the
/// engine is behind a `RefCell` (an instance is single-threaded).
pub struct RegoPolicy {
    engine: RefCell<Engine>,
    /// Which of `deny` and `labels` the module declares: regorus refuses to evaluate a rule that is not
    /// there, and either may be left out.
    declares_deny: bool,
    declares_labels: bool,
}

/// The policies' answer to one exchange.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// `data.palisade.deny`, sorted; empty allows.
    pub deny: Vec<String>,
    /// `data.palisade.labels`, sorted.
    pub labels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    files: HashMap<String, String>,
    #[serde(default)]
    file_names: HashMap<String, String>,
}

impl RegoPolicy {
    /// Loads one Rego module (reported as `file` in errors, which carry regorus' line and column) and an
    /// optional JSON data document, and evaluates both rules once on an empty exchange so that a policy
    /// that cannot run is refused when the bundle loads, not on the first request.
    pub fn new(file: &str, policies: &str, data: Option<(&str, &str)>) -> Result<Self, String> {
        let mut engine = Engine::new();
        let package = engine
            .add_policy(file.to_string(), policies.to_string())
            .map_err(|e| located(file, &e.to_string()))?;
        if package != "data.palisade" {
            return Err(format!(
                "{file}: the policies are in {package}; write them in `package palisade` (the plugin reads {DENY} and {LABELS})"
            ));
        }
        let declares = |rule: &str| {
            engine
                .has_declared_rule_rooted_at(file, rule)
                .map_err(|e| format!("{file}: {e}"))
        };
        let (declares_deny, declares_labels) = (declares("deny")?, declares("labels")?);
        if !declares_deny && !declares_labels {
            return Err(format!(
                "{file}: the policies define neither `deny` nor `labels`, so they would decide nothing; \
                 write at least one (e.g. `deny contains reason if {{ ... }}`)"
            ));
        }
        if let Some((name, json)) = data {
            let value = Value::from_json_str(json).map_err(|e| format!("{name}: not JSON: {e}"))?;
            engine.add_data(value).map_err(|e| format!("{name}: {e}"))?;
        }
        let policy = RegoPolicy {
            engine: RefCell::new(engine),
            declares_deny,
            declares_labels,
        };
        policy
            .evaluate(&Exchange {
                direction: "input",
                ..Exchange::default()
            })
            .map_err(|e| {
                format!("{file}: evaluating the policies on an empty exchange failed: {e}")
            })?;
        Ok(policy)
    }

    /// Evaluates both rules for one exchange.
    pub fn evaluate(&self, exchange: &Exchange) -> Result<Outcome, String> {
        let mut engine = self.engine.borrow_mut();
        engine.set_input(input(exchange));
        let mut rule = |declared: bool, path: &str| match declared {
            true => strings(
                engine
                    .eval_rule(path.to_string())
                    .map_err(|e| e.to_string())?,
                path,
            ),
            false => Ok(Vec::new()),
        };
        Ok(Outcome {
            deny: rule(self.declares_deny, DENY)?,
            labels: rule(self.declares_labels, LABELS)?,
        })
    }

    /// The verdict for one exchange: denied with every reason, or allowed; labels either way.
    pub fn verdict(&self, exchange: &Exchange) -> Verdict {
        let outcome = match self.evaluate(exchange) {
            Ok(outcome) => outcome,
            // A policy that fails at request time (a builtin's error, a conflict between rule values)
            // decides nothing; a guardrail that cannot ask its policy does not let the exchange through.
            Err(e) => return Verdict::deny(format!("the Rego policy failed: {e}"), Vec::new()),
        };
        let findings = outcome
            .deny
            .iter()
            .map(|reason| {
                Finding::about_text(
                    "rego.deny",
                    CATEGORY,
                    1.0,
                    format!("denied by Rego: {reason}"),
                )
            })
            .collect();
        let verdict = if outcome.deny.is_empty() {
            Verdict::allow(findings)
        } else {
            Verdict::deny(
                format!("denied by Rego policy: {}", outcome.deny.join("; ")),
                findings,
            )
        };
        verdict.with_labels(outcome.labels)
    }
}

/// The input document for an exchange (absent strings are `""`).
pub fn input(exchange: &Exchange) -> Value {
    let mut metadata = serde_json::Map::new();
    for (key, value) in exchange.metadata {
        metadata.insert(key.clone(), serde_json::Value::String(value.clone()));
    }
    Value::from(serde_json::json!({
        "principal": exchange.principal.unwrap_or(""),
        "direction": exchange.direction,
        "destination": exchange.destination.unwrap_or(""),
        "tool": exchange.tool.unwrap_or(""),
        "labels": exchange.labels,
        "metadata": metadata,
    }))
}

/// A rule's value as sorted strings: undefined is none; a set or an array of strings is taken as it
/// is; anything else (a number, an object) is written as JSON so that nothing is silently dropped.
fn strings(value: Value, rule: &str) -> Result<Vec<String>, String> {
    let items: Vec<Value> = match &value {
        Value::Undefined => return Ok(Vec::new()),
        Value::Set(set) => set.iter().cloned().collect(),
        Value::Array(array) => array.iter().cloned().collect(),
        Value::String(_) => vec![value.clone()],
        other => {
            return Err(format!(
                "{rule} must be a set of strings, not {}",
                other.to_json_str().unwrap_or_default()
            ))
        }
    };
    let mut out: Vec<String> = items
        .into_iter()
        .map(|item| match item.as_string() {
            Ok(s) => s.to_string(),
            Err(_) => item.to_json_str().unwrap_or_default(),
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// regorus' error as one line, `file:line:column: message`: regorus writes the position after `-->`, the
/// offending line with a caret, and then `error: message`.
fn located(file: &str, message: &str) -> String {
    let position = message
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("--> "))
        .map_or_else(|| file.to_string(), |p| p.trim().to_string());
    let what = message
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(message.trim());
    format!("{position}: {what}")
}

impl Plugin for RegoPolicy {
    fn configure(config: &str) -> Result<Self, String> {
        let config: Config =
            serde_json::from_str(config).map_err(|e| format!("invalid policy-rego config: {e}"))?;
        if let Some(unknown) = config
            .files
            .keys()
            .find(|k| !matches!(k.as_str(), "policies" | "data"))
        {
            return Err(format!(
                "files.{unknown}: not a file this plugin reads; name `policies` (required) and `data`"
            ));
        }
        let name = |key: &str| {
            config
                .file_names
                .get(key)
                .cloned()
                .unwrap_or_else(|| key.to_string())
        };
        let policies = config.files.get("policies").ok_or(
            "no policies: add `files = { policies = \"policy.rego\" }` to this plugin and the file's sha256 to [digests]",
        )?;
        let data_name = name("data");
        let data = config
            .files
            .get("data")
            .map(|json| (data_name.as_str(), json.as_str()));
        RegoPolicy::new(&name("policies"), policies, data)
    }

    fn inspect(&self, ctx: &Context, _text: &str) -> Verdict {
        self.verdict(&Exchange::from(ctx))
    }
}

// Only the component exports the world; a native build (tests, benchmarks) links the policy alone.
#[cfg(target_family = "wasm")]
palisade_sdk::export_plugin!(RegoPolicy);
