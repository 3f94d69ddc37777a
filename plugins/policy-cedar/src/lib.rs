//! Stock plugin `policy-cedar`: Cedar policies decide each exchange. Every inspect is one Cedar
//! authorization request (the names the README gives, no namespace):
//!
//! - principal `Principal::"<caller's identity, e.g. a SPIFFE ID>"` (`"anonymous"` without one),
//! - action `Action::"call_tool"` when a tool is named, else `Action::"input"` or `Action::"output"`,
//! - resource `Destination::"<destination>"` (`"unknown"` without one),
//! - context `{ labels: Set<String>, tool: String, direction: String, metadata: Record,
//!   principal: String, destination: String }` — the last two are the same strings as the entity ids, so
//!   a policy can match a SPIFFE namespace with `like` (entity ids cannot be read from an expression).
//!
//! Cedar's answer is the plugin's: a `forbid` that applies (or no `permit` at all — Cedar denies by
//! default, so a bundle usually starts with `permit(principal, action, resource);`) denies the exchange,
//! naming each determining policy by its `@id` annotation (Cedar's `policyN` without one) and its `@reason`.
//! Each determining forbid is a `POLICY` finding, as is each policy that failed to evaluate. Cedar skips a
//! policy that fails; a guardrail should not let an exchange through because the rule meant to stop it hit
//! an error (a missing attribute, an overflow), so a `forbid` that fails denies, unless the config says
//! `on_forbid_error = "skip"` (Cedar's own behaviour). A `permit` that fails just does not permit.
//!
//! Config: `files.policies` (required, Cedar syntax), `files.schema` (optional, Cedar or JSON schema: the
//! policies are validated against it in strict mode and the entities checked against it),
//! `files.entities` (optional, Cedar's JSON entity format: groups for `in`, attributes), and
//! `report_permits` (default false: also report each determining `permit` as a finding — useful with
//! `mode = "report"` to see which rule let an exchange through) and `on_forbid_error` (`"deny"`, the
//! default, or `"skip"`).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    AuthorizationError, Authorizer, Context as CedarContext, Decision, Effect, Entities, EntityId,
    EntityTypeName, EntityUid, PolicyId, PolicySet, Request as CedarRequest, RestrictedExpression,
    Schema, ValidationMode, Validator,
};
use miette::Diagnostic;
pub use palisade_sdk::Exchange;
use palisade_sdk::{Context, Finding, Plugin, Verdict};
use serde::Deserialize;

/// The finding category of a policy decision (an addition to the original finding vocabulary).
pub const CATEGORY: &str = "POLICY";

/// The plugin: a parsed, validated policy set and the entities it is evaluated against.
pub struct CedarPolicy {
    policies: PolicySet,
    entities: Entities,
    names: HashMap<PolicyId, Named>,
    report_permits: bool,
    skip_failing_forbids: bool,
    authorizer: Authorizer,
}

/// How a policy is reported: its `@id` (or Cedar's id) and its `@reason`, if any.
struct Named {
    name: String,
    reason: Option<String>,
}

/// Cedar's answer to one exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub allowed: bool,
    /// The policies that determined it, in name order.
    pub determining: Vec<Determining>,
    /// Policies that failed to evaluate (and so, for Cedar, did not apply), in name order.
    pub errors: Vec<Failed>,
}

/// A policy that failed to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failed {
    /// As [`Determining::name`].
    pub name: String,
    pub forbid: bool,
    /// Cedar's error.
    pub error: String,
}

/// A policy that determined a decision.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Determining {
    /// Its `@id`, or Cedar's id (`policy0` for the first in the file), as the Cedar CLI names it.
    pub name: String,
    pub permit: bool,
    /// Its `@reason`.
    pub reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    files: HashMap<String, String>,
    #[serde(default)]
    file_names: HashMap<String, String>,
    #[serde(default)]
    report_permits: bool,
    #[serde(default)]
    on_forbid_error: OnForbidError,
}

/// What a `forbid` that fails to evaluate does.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum OnForbidError {
    #[default]
    Deny,
    Skip,
}

impl CedarPolicy {
    /// Parses and checks the policies (against `schema` when given) and the entities. Errors carry the file
    /// name, and the line and column Cedar points at, with Cedar's own message.
    pub fn new(
        policies: &str,
        schema: Option<&str>,
        entities: Option<&str>,
        report_permits: bool,
    ) -> Result<Self, String> {
        Self::from_files(
            &Source::new("policies", policies),
            schema.map(|s| Source::new("schema", s)).as_ref(),
            entities.map(|e| Source::new("entities", e)).as_ref(),
            report_permits,
        )
    }

    fn from_files(
        policies: &Source,
        schema: Option<&Source>,
        entities: Option<&Source>,
        report_permits: bool,
    ) -> Result<Self, String> {
        let policy_set =
            PolicySet::from_str(policies.text).map_err(|e| policies.error("cannot parse", &e))?;
        let schema = schema
            .map(|source| {
                if source.text.trim_start().starts_with('{') {
                    Schema::from_json_str(source.text).map_err(|e| source.error("invalid", &e))
                } else {
                    Schema::from_cedarschema_str(source.text)
                        .map(|(schema, _warnings)| schema)
                        .map_err(|e| source.error("invalid", &e))
                }
            })
            .transpose()?;
        if let Some(schema) = &schema {
            let result =
                Validator::new(schema.clone()).validate(&policy_set, ValidationMode::Strict);
            let mut errors = result.validation_errors();
            if let Some(first) = errors.next() {
                let more = errors.count();
                let also = if more > 0 {
                    format!(" (and {more} more)")
                } else {
                    String::new()
                };
                return Err(format!(
                    "{}{also}",
                    policies.error("does not validate against the schema", first)
                ));
            }
        }
        // With a schema, Cedar adds its action entities (for `action in Action::"group"`), as the
        // Cedar CLI does; so even no entities file is parsed as `[]`.
        let empty = Source::new("entities", "[]");
        let entities = entities.unwrap_or(&empty);
        let entities = Entities::from_json_str(entities.text, schema.as_ref())
            .map_err(|e| entities.error("invalid", &e))?;
        let mut names = HashMap::new();
        let mut seen = HashSet::new();
        for policy in policy_set.policies() {
            let name = policy
                .annotation("id")
                .map_or_else(|| policy.id().to_string(), str::to_string);
            if !seen.insert(name.clone()) {
                return Err(format!(
                    "{}: two policies are named {name:?} (by @id); give each its own",
                    policies.name
                ));
            }
            let reason = policy.annotation("reason").map(str::to_string);
            names.insert(policy.id().clone(), Named { name, reason });
        }
        Ok(CedarPolicy {
            policies: policy_set,
            entities,
            names,
            report_permits,
            skip_failing_forbids: false,
            authorizer: Authorizer::new(),
        })
    }

    /// Cedar's own behaviour: a `forbid` that fails to evaluate is skipped (still reported as a finding).
    /// Without this, it denies.
    pub fn skipping_failing_forbids(mut self) -> Self {
        self.skip_failing_forbids = true;
        self
    }

    /// Asks Cedar about one exchange.
    pub fn authorize(&self, exchange: &Exchange) -> Result<Outcome, String> {
        let request = request(exchange)?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &self.entities);
        let named = |id: &PolicyId| {
            self.names.get(id).map_or_else(
                || (id.to_string(), None),
                |n| (n.name.clone(), n.reason.clone()),
            )
        };
        let mut determining: Vec<Determining> = response
            .diagnostics()
            .reason()
            .map(|id| {
                let (name, reason) = named(id);
                Determining {
                    name,
                    permit: self
                        .policies
                        .policy(id)
                        .is_some_and(|p| p.effect() == Effect::Permit),
                    reason,
                }
            })
            .collect();
        determining.sort();
        let mut errors: Vec<Failed> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                AuthorizationError::PolicyEvaluationError(e) => Failed {
                    name: named(e.policy_id()).0,
                    forbid: self
                        .policies
                        .policy(e.policy_id())
                        .is_some_and(|p| p.effect() == Effect::Forbid),
                    error: e.inner().to_string(),
                },
            })
            .collect();
        errors.sort();
        Ok(Outcome {
            allowed: response.decision() == Decision::Allow,
            determining,
            errors,
        })
    }

    /// The verdict for one exchange: Cedar's decision, its determining forbids (and permits, if asked
    /// for) and its evaluation errors as findings.
    pub fn verdict(&self, exchange: &Exchange) -> Verdict {
        let outcome = match self.authorize(exchange) {
            Ok(outcome) => outcome,
            // Cedar takes any string as an entity id, so this is not expected; should it happen, an
            // exchange the policies could not be asked about is not let through.
            Err(message) => return Verdict::deny(message, Vec::new()),
        };
        let mut findings = Vec::new();
        for Determining {
            name,
            permit,
            reason,
        } in &outcome.determining
        {
            if *permit && !self.report_permits {
                continue;
            }
            let effect = if *permit { "permit" } else { "forbid" };
            let because = reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            findings.push(Finding::about_text(
                format!("cedar.{name}"),
                CATEGORY,
                1.0,
                format!("Cedar policy {name:?} ({effect}) applies{because}"),
            ));
        }
        let mut failed_forbids = Vec::new();
        for Failed {
            name,
            forbid,
            error,
        } in &outcome.errors
        {
            let denies = *forbid && !self.skip_failing_forbids;
            let then = if denies { "denies" } else { "was skipped" };
            findings.push(Finding::about_text(
                format!("cedar.{name}.error"),
                CATEGORY,
                1.0,
                format!("Cedar policy {name:?} failed to evaluate and {then}: {error}"),
            ));
            if denies {
                failed_forbids.push(format!("{name}: {error}"));
            }
        }
        if !failed_forbids.is_empty() {
            return Verdict::deny(
                format!(
                    "Cedar forbid policy {} failed to evaluate, and a forbid that cannot be \
                     evaluated denies (on_forbid_error = \"skip\" skips it, as Cedar does)",
                    failed_forbids.join("; ")
                ),
                findings,
            );
        }
        if outcome.allowed {
            return Verdict::allow(findings);
        }
        let forbids: Vec<String> = outcome
            .determining
            .iter()
            .filter(|d| !d.permit)
            .map(|d| match &d.reason {
                Some(reason) => format!("{}: {reason}", d.name),
                None => d.name.clone(),
            })
            .collect();
        let reason = if forbids.is_empty() {
            "no Cedar policy permits this exchange (Cedar denies by default)".to_string()
        } else {
            format!("forbidden by Cedar policy {}", forbids.join("; "))
        };
        Verdict::deny(reason, findings)
    }
}

/// The Cedar request for an exchange, with the README's names.
pub fn request(exchange: &Exchange) -> Result<CedarRequest, String> {
    let principal = exchange.principal.unwrap_or("anonymous");
    let destination = exchange.destination.unwrap_or("unknown");
    let action = if exchange.tool.is_some() {
        "call_tool"
    } else {
        exchange.direction
    };
    let uid = |kind: &str, id: &str| {
        Ok::<_, String>(EntityUid::from_type_name_and_id(
            EntityTypeName::from_str(kind).map_err(|e| format!("entity type {kind}: {e}"))?,
            EntityId::new(id),
        ))
    };
    let string = |s: &str| RestrictedExpression::new_string(s.to_string());
    let metadata = RestrictedExpression::new_record(
        exchange
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), string(v))),
    )
    .map_err(|e| format!("metadata: {e}"))?;
    let context = CedarContext::from_pairs([
        (
            "labels".to_string(),
            RestrictedExpression::new_set(exchange.labels.iter().map(|l| string(l))),
        ),
        ("tool".to_string(), string(exchange.tool.unwrap_or(""))),
        ("direction".to_string(), string(exchange.direction)),
        ("metadata".to_string(), metadata),
        ("principal".to_string(), string(principal)),
        ("destination".to_string(), string(destination)),
    ])
    .map_err(|e| format!("context: {e}"))?;
    CedarRequest::new(
        uid("Principal", principal)?,
        uid("Action", action)?,
        uid("Destination", destination)?,
        context,
        None,
    )
    .map_err(|e| format!("request: {e}"))
}

/// A bundle file's text and the name to report it by.
struct Source<'a> {
    name: String,
    text: &'a str,
}

impl<'a> Source<'a> {
    fn new(name: impl Into<String>, text: &'a str) -> Self {
        Source {
            name: name.into(),
            text,
        }
    }

    /// `file:line:column: what: Cedar's message (Cedar's help)`, at the first place Cedar points to.
    fn error(&self, what: &str, error: &(dyn Diagnostic + 'static)) -> String {
        let mut located = None;
        let mut message = error.to_string();
        // Cedar's top-level errors often only say "N errors"; the first related one says which.
        if let Some(first) = error.related().and_then(|mut r| r.next()) {
            message = first.to_string();
            located = first.labels().and_then(|mut l| l.next());
        }
        if located.is_none() {
            located = error.labels().and_then(|mut l| l.next());
        }
        let position = located
            .map(|label| {
                let (line, column) = line_column(self.text, label.offset());
                format!(":{line}:{column}")
            })
            .unwrap_or_default();
        // Some errors (entities') say only what failed at the top; the detail is in their sources.
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message = format!("{message}: {text}");
            }
            source = cause.source();
        }
        let help = error.help().map(|h| format!(" ({h})")).unwrap_or_default();
        format!("{}{position}: {what}: {message}{help}", self.name)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

impl Plugin for CedarPolicy {
    fn configure(config: &str) -> Result<Self, String> {
        let config: Config = serde_json::from_str(config)
            .map_err(|e| format!("invalid policy-cedar config: {e}"))?;
        if let Some(unknown) = config
            .files
            .keys()
            .find(|k| !matches!(k.as_str(), "policies" | "schema" | "entities"))
        {
            return Err(format!(
                "files.{unknown}: not a file this plugin reads; name `policies` (required), `schema` and `entities`"
            ));
        }
        let source = |key: &str| {
            config.files.get(key).map(|text| {
                let name = config
                    .file_names
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| key.to_string());
                Source::new(name, text)
            })
        };
        let policies = source("policies").ok_or(
            "no policies: add `files = { policies = \"policies.cedar\" }` to this plugin and the file's sha256 to [digests]",
        )?;
        let policy = Self::from_files(
            &policies,
            source("schema").as_ref(),
            source("entities").as_ref(),
            config.report_permits,
        )?;
        Ok(match config.on_forbid_error {
            OnForbidError::Deny => policy,
            OnForbidError::Skip => policy.skipping_failing_forbids(),
        })
    }

    fn inspect(&self, ctx: &Context, _text: &str) -> Verdict {
        self.verdict(&Exchange::from(ctx))
    }
}

// Only the component exports the world; a native build (tests, benchmarks) links the policy alone.
#[cfg(target_family = "wasm")]
palisade_sdk::export_plugin!(CedarPolicy);
