//! Stock plugin `destinations`: where data may go. Destinations (URLs, hosts, model names) get tags from
//! patterns; an ordered list of rules over destination, tags, principal (SPIFFE ID globs), tool, direction
//! and sensitivity labels decides, first match wins. For a tool call, each URL in its arguments is checked
//! the same way, so a prompt cannot smuggle data to an unapproved domain through a `fetch` tool.
//!
//! A rule that denies ends the exchange with a reason naming the rule; every destination a rule or tag
//! matched is reported as a `DESTINATION` finding, and its tags as `destination:<tag>` labels.
//!
//! Config (all optional; with none, nothing is denied — see the README's "Stock plugins" section):
//! - `tags`: `{"internal": ["*.corp.example.com", "https://llm.internal/"], "external": ["*.openai.com"]}`.
//! - `rules`: `[{"name", "effect": "allow"|"deny", "destinations"?, "tags"?, "unless_tags"?,
//!   "principals"?, "tools"?, "labels"?, "directions"?, "reason"?}]`, in order.
//! - `default`: `"allow"` (default) or `"deny"`, when no rule matches.
//! - `inspect_tool_arguments`: check URLs inside tool calls (default `true`).

use std::collections::BTreeMap;

use palisade_sdk::{Context, Direction, Finding, Plugin, Verdict};
use serde::Deserialize;

mod rules;

pub use rules::{destination_matches, glob, host_of, Decision, Effect, Policy, Rule, Subject};

/// The plugin: a configured [`Policy`].
pub struct Destinations {
    policy: Policy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    tags: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    rules: Vec<RuleConfig>,
    default: Option<String>,
    inspect_tool_arguments: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleConfig {
    name: String,
    effect: String,
    #[serde(default)]
    destinations: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    unless_tags: Vec<String>,
    #[serde(default)]
    principals: Vec<String>,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    directions: Vec<String>,
    reason: Option<String>,
}

fn effect(value: &str, at: &str) -> Result<Effect, String> {
    match value {
        "allow" => Ok(Effect::Allow),
        "deny" => Ok(Effect::Deny),
        other => Err(format!("{at}: unknown effect {other:?}; use allow or deny")),
    }
}

impl Plugin for Destinations {
    fn configure(config: &str) -> Result<Self, String> {
        let config: Config = serde_json::from_str(config)
            .map_err(|e| format!("invalid destinations config: {e}"))?;
        let mut rules = Vec::new();
        for (i, r) in config.rules.into_iter().enumerate() {
            let at = format!("rules[{i}] ({:?})", r.name);
            if r.name.is_empty() {
                return Err(format!(
                    "rules[{i}] needs a name; it is what a deny reports"
                ));
            }
            if let Some(unknown) = r
                .tags
                .iter()
                .chain(&r.unless_tags)
                .find(|t| !config.tags.contains_key(*t))
            {
                return Err(format!("{at}: tag {unknown:?} is not defined in `tags`"));
            }
            if let Some(d) = r
                .directions
                .iter()
                .find(|d| !matches!(d.as_str(), "input" | "output"))
            {
                return Err(format!(
                    "{at}: unknown direction {d:?}; use input or output"
                ));
            }
            rules.push(Rule {
                effect: effect(&r.effect, &at)?,
                name: r.name,
                destinations: r.destinations,
                tags: r.tags,
                unless_tags: r.unless_tags,
                principals: r.principals,
                tools: r.tools,
                labels: r.labels,
                directions: r.directions,
                reason: r.reason,
            });
        }
        let default = match config.default.as_deref() {
            None => Effect::Allow,
            Some(d) => effect(d, "default")?,
        };
        Ok(Destinations {
            policy: Policy {
                tags: config.tags,
                rules,
                default,
                inspect_tool_arguments: config.inspect_tool_arguments.unwrap_or(true),
            },
        })
    }

    fn inspect(&self, ctx: &Context, text: &str) -> Verdict {
        let direction = match ctx.direction {
            Direction::Input => "input",
            Direction::Output => "output",
        };
        let decisions = self.policy.check(
            ctx.destination.as_deref(),
            ctx.principal.as_deref(),
            ctx.tool.as_deref(),
            &ctx.labels,
            direction,
            text,
        );
        let mut findings = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        let mut denied: Option<String> = None;
        for d in &decisions {
            let where_ = if d.range.is_some() {
                "URL in the tool call"
            } else {
                "destination"
            };
            let verdict = match d.effect {
                Effect::Allow => "allowed",
                Effect::Deny => "denied",
            };
            let by = d
                .rule
                .as_deref()
                .map_or("by default".to_string(), |r| format!("by rule {r:?}"));
            if d.effect == Effect::Deny && denied.is_none() {
                let reason = d
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                denied = Some(format!(
                    "{where_} {:?} {verdict} {by}{reason}",
                    host_of(&d.destination)
                ));
            }
            if !d.evasion.is_empty() && !labels.iter().any(|l| l == palisade_sdk::OBFUSCATED_LABEL)
            {
                labels.push(palisade_sdk::OBFUSCATED_LABEL.to_string());
            }
            for tag in &d.tags {
                let label = format!("destination:{tag}");
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
            if d.rule.is_none() && d.tags.is_empty() && d.effect == Effect::Allow {
                continue; // nothing configured says anything about it
            }
            let rule = format!("destinations.{}", d.rule.as_deref().unwrap_or("default"));
            let tags = if d.tags.is_empty() {
                "no tags".to_string()
            } else {
                format!("tags {}", d.tags.join(", "))
            };
            let message = format!(
                "{where_} {:?} ({tags}) {verdict} {by}",
                host_of(&d.destination)
            );
            findings.push(match &d.range {
                Some(range) => Finding::new(rule, "DESTINATION", range.clone(), 1.0, message)
                    .obfuscated(d.evasion),
                None => Finding::about_text(rule, "DESTINATION", 1.0, message),
            });
        }
        let verdict = match denied {
            Some(reason) => Verdict::deny(reason, findings),
            None => Verdict::allow(findings),
        };
        verdict.with_labels(labels)
    }
}

// Only the component exports the world; a native build (tests, benchmarks) links the policy alone.
#[cfg(target_family = "wasm")]
palisade_sdk::export_plugin!(Destinations);
