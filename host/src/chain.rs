//! Runs a bundle's plugins over one text, in manifest order, and applies the policy to what they find.
//!
//! After each plugin: its spans are validated, its findings mapped to the original input, the policy's
//! redactions applied (so later plugins see the redacted text), and `found:<CATEGORY>` labels added for
//! later plugins. A deny — from a plugin, from the policy, or from a failing plugin whose `on_error` is
//! `deny` — ends the chain.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bundle::{Bundle, LoadedPlugin, Mode, OnError};
use crate::engine::{self, Context, Decision, Direction, Verdict};
use crate::error::PluginError;
use crate::gates::Opened;
use crate::policy::{self, Action, HashKey};
use crate::pseudonym::Pseudonyms;
use crate::spans::EditMap;
use crate::{Error, Result};

pub use crate::direction::Dir;

/// One text to inspect, with what the gateway told us about the exchange.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Which leg of the exchange.
    pub direction: Dir,
    /// The text.
    pub text: String,
    /// Verified identity of the caller.
    pub principal: Option<String>,
    /// Where the payload goes or came from.
    pub destination: Option<String>,
    /// The tool, for a tool call or result.
    pub tool: Option<String>,
    /// Labels from the gateway.
    pub labels: Vec<String>,
    /// Other pairs from the gateway.
    pub metadata: Vec<(String, String)>,
    /// JSON pointer of this text in a structured body; "" for plain text.
    pub location: String,
    /// When the caller stops waiting; bounds the whole chain.
    pub deadline: Option<Instant>,
    /// The stand-ins of the vault the caller passed: on the output path each one in the text is turned
    /// back into its value before the plugins run, and the plugins and the policy see the value.
    pub vault: Option<Arc<Pseudonyms>>,
}

/// The overall answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Pass unchanged.
    Allow,
    /// Pass with the text modified (redacted, masked, hashed or rewritten).
    Modify,
    /// Stop the exchange.
    Deny,
}

impl Outcome {
    /// `allow`, `modify` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Modify => "modify",
            Outcome::Deny => "deny",
        }
    }
}

/// A finding as the response reports it: spans are byte offsets into the original input text.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportedFinding {
    /// The plugin that found it.
    pub plugin: String,
    /// Its rule id.
    pub rule: String,
    /// Its category.
    pub category: String,
    /// UTF-8 byte range into the original text; `None` for a finding about the text as a whole.
    pub span: Option<Range<usize>>,
    /// JSON pointer of the text in a structured body; "" for plain text.
    pub location: String,
    /// 0.0 to 1.0.
    pub confidence: f32,
    /// For people; never the value.
    pub message: String,
    /// What the policy did with it — or, when `enforced` is false, would have done.
    pub action: Action,
    /// False when the plugin runs in report mode: the action was not applied.
    pub enforced: bool,
}

/// The finding a gateway names as the cause of `outcome`, the same on every transport: on a deny, the
/// first enforced finding the policy denies; on a modify (which ext_authz, unable to rewrite, turns into a
/// deny), the first enforced finding it rewrites.
pub fn blamed(findings: &[ReportedFinding], outcome: Outcome) -> Option<&ReportedFinding> {
    findings
        .iter()
        .filter(|f| f.enforced)
        .find(|f| match outcome {
            Outcome::Deny => f.action == Action::Deny,
            Outcome::Modify => f.action.modifies(),
            Outcome::Allow => false,
        })
}

/// The most findings one exchange (a body, or a stream) reports. A payload of many small values — or a
/// plugin that reports every byte — would otherwise grow the answer, the audit line and the memory held
/// for it without bound; past this many the rest are counted, not kept.
pub const MAX_FINDINGS_REPORTED: usize = 1_000;

/// The findings an exchange reports: the first [`MAX_FINDINGS_REPORTED`], in order, and a count of the
/// rest. The finding [`blamed`] for a deny or a modify is always kept, even past the cap, so every
/// transport names the same cause whatever the count.
#[derive(Clone, Debug, PartialEq)]
pub struct Findings {
    kept: Vec<ReportedFinding>,
    dropped: usize,
    kept_deny: bool,
    kept_modify: bool,
}

impl Findings {
    /// None yet.
    pub const fn new() -> Findings {
        Findings {
            kept: Vec::new(),
            dropped: 0,
            kept_deny: false,
            kept_modify: false,
        }
    }

    /// Keeps `f` if there is room, or if it is the first enforced finding that denies (or modifies);
    /// otherwise counts it.
    pub fn push(&mut self, f: ReportedFinding) {
        let first_deny = f.enforced && f.action == Action::Deny && !self.kept_deny;
        let first_modify = f.enforced && f.action.modifies() && !self.kept_modify;
        if self.kept.len() < MAX_FINDINGS_REPORTED || first_deny || first_modify {
            self.kept_deny |= first_deny;
            self.kept_modify |= first_modify;
            self.kept.push(f);
        } else {
            self.dropped += 1;
        }
    }

    /// Findings counted but not kept.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Counts `n` findings dropped elsewhere (a part of the exchange checked on its own).
    pub fn add_dropped(&mut self, n: usize) {
        self.dropped += n;
    }

    /// Takes in another part's findings, its dropped count included.
    pub fn absorb(&mut self, other: Findings) {
        self.dropped += other.dropped;
        self.extend(other.kept);
    }
}

impl Default for Findings {
    fn default() -> Findings {
        Findings::new()
    }
}

impl std::ops::Deref for Findings {
    type Target = [ReportedFinding];

    fn deref(&self) -> &[ReportedFinding] {
        &self.kept
    }
}

impl Extend<ReportedFinding> for Findings {
    fn extend<I: IntoIterator<Item = ReportedFinding>>(&mut self, findings: I) {
        for f in findings {
            self.push(f);
        }
    }
}

impl<'a> IntoIterator for &'a Findings {
    type Item = &'a ReportedFinding;
    type IntoIter = std::slice::Iter<'a, ReportedFinding>;

    fn into_iter(self) -> Self::IntoIter {
        self.kept.iter()
    }
}

impl IntoIterator for Findings {
    type Item = ReportedFinding;
    type IntoIter = std::vec::IntoIter<ReportedFinding>;

    fn into_iter(self) -> Self::IntoIter {
        self.kept.into_iter()
    }
}

/// What plugins in report mode would have done to the exchange, had they been enforcing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WouldHave {
    /// `Deny` or `Modify`.
    pub outcome: Outcome,
    /// On deny: which plugin, which rule, why.
    pub reason: Option<String>,
}

impl WouldHave {
    /// Folds one more text's (or chunk's) would-have into `summary`: the first deny stands; otherwise
    /// the latest says what would have happened.
    pub fn fold_into(self, summary: &mut Option<WouldHave>) {
        if summary.as_ref().is_none_or(|w| w.outcome != Outcome::Deny) {
            *summary = Some(self);
        }
    }
}

/// A plugin that failed and what its `on_error` made of it.
#[derive(Clone, Debug)]
pub struct PluginFailure {
    /// The plugin.
    pub plugin: String,
    /// What went wrong.
    pub error: PluginError,
    /// `deny` or `skip`.
    pub on_error: OnError,
}

/// The chain's answer for one text.
#[derive(Clone, Debug)]
pub struct Verdicts {
    /// Allow, modify or deny.
    pub outcome: Outcome,
    /// The text after policy (the input, unchanged, on allow).
    pub text: String,
    /// On deny: which plugin, which rule, why.
    pub reason: Option<String>,
    /// Every finding of every plugin that ran.
    pub findings: Vec<ReportedFinding>,
    /// Labels from the request, the plugins, and `found:<CATEGORY>`.
    pub labels: Vec<String>,
    /// Plugins that failed.
    pub failures: Vec<PluginFailure>,
    /// What plugins in report mode would have done (`None`: nothing, or no plugin is in report mode).
    pub would: Option<WouldHave>,
    /// Time spent in the chain.
    pub elapsed: Duration,
    /// Time each plugin that ran spent inspecting.
    pub plugin_time: PluginTimes,
    /// The stand-ins the policy's `pseudonymize` put in the text, and their values.
    pub pseudonyms: Pseudonyms,
    /// The spans of the input where stand-ins of the request's vault were restored to their values.
    pub restored: Vec<Range<usize>>,
    edits: EditMap,
}

/// Time plugins spent inspecting, by their position in the bundle, summed over the texts of an exchange
/// (only plugins that ran are listed); each call, for the exchange's trace; and the texts each plugin was
/// not called for because its gate stayed shut.
#[derive(Clone, Debug, Default)]
pub struct PluginTimes {
    totals: Vec<(usize, Duration)>,
    calls: Vec<PluginCall>,
    shut: Vec<(usize, u64)>,
}

/// One call of a plugin on one text, as its trace span shows it.
#[derive(Clone, Debug)]
pub struct PluginCall {
    /// The plugin's position in the bundle.
    pub index: usize,
    /// When the call began.
    pub began: Instant,
    /// How long it took.
    pub took: Duration,
    /// The budget it had.
    pub budget: Duration,
    /// `ok`, or the kind of its failure (`timeout`, `trap`, …).
    pub outcome: &'static str,
    /// Findings it reported.
    pub findings: usize,
}

/// The most plugin calls an exchange keeps for its trace: a long stream calls the chain at every chunk,
/// and its trace should not grow with it.
pub const MAX_CALLS_TRACED: usize = 256;

impl PluginTimes {
    /// No calls yet.
    pub const fn new() -> PluginTimes {
        PluginTimes {
            totals: Vec::new(),
            calls: Vec::new(),
            shut: Vec::new(),
        }
    }

    /// Records `count` texts the plugin at `index` was not called for: its gate stayed shut.
    pub fn gate_shut(&mut self, index: usize, count: u64) {
        match self.shut.iter_mut().find(|(i, _)| *i == index) {
            Some((_, n)) => *n += count,
            None => self.shut.push((index, count)),
        }
    }

    /// (position in the bundle, texts) for each plugin whose gate stayed shut.
    pub fn shut(&self) -> &[(usize, u64)] {
        &self.shut
    }

    /// Records a call, adding its time to the plugin's total.
    pub fn add(&mut self, call: PluginCall) {
        self.add_time(call.index, call.took);
        if self.calls.len() < MAX_CALLS_TRACED {
            self.calls.push(call);
        }
    }

    fn add_time(&mut self, index: usize, took: Duration) {
        match self.totals.iter_mut().find(|(i, _)| *i == index) {
            Some((_, total)) => *total += took,
            None => self.totals.push((index, took)),
        }
    }

    /// Adds every time and call in `other`.
    pub fn add_all(&mut self, other: &PluginTimes) {
        for &(index, took) in &other.totals {
            self.add_time(index, took);
        }
        let room = MAX_CALLS_TRACED.saturating_sub(self.calls.len());
        self.calls.extend(other.calls.iter().take(room).cloned());
        for &(index, count) in &other.shut {
            self.gate_shut(index, count);
        }
    }

    /// (position in the bundle, time) for each plugin that ran.
    pub fn as_slice(&self) -> &[(usize, Duration)] {
        &self.totals
    }

    /// The calls, in order (the first [`MAX_CALLS_TRACED`]).
    pub fn calls(&self) -> &[PluginCall] {
        &self.calls
    }
}

impl Verdicts {
    /// Where byte `at` of the input is in [`Verdicts::text`]; `Err(end)` when it falls strictly inside a
    /// replaced range, `end` being where that replacement ends.
    pub fn output_offset(&self, at: usize) -> std::result::Result<usize, usize> {
        self.edits.to_current(at)
    }
}

/// Runs `bundle` over `request`.
///
/// Errors only when the caller's deadline passes; everything a plugin does wrong is that plugin's
/// failure, decided by its `on_error` and reported in [`Verdicts::failures`].
pub fn run(bundle: &Bundle, request: &Request, hash_key: &HashKey) -> Result<Verdicts> {
    let started = Instant::now();
    let direction = match request.direction {
        Dir::Input => Direction::Input,
        Dir::Output => Direction::Output,
    };
    let mut state = State {
        direction: request.direction,
        location: &request.location,
        text: request.text.clone(),
        edits: EditMap::default(),
        restored: Vec::new(),
        pseudonyms: Pseudonyms::default(),
        labels: Vec::new(),
        findings: Vec::new(),
        failures: Vec::new(),
        denied: None,
        would_deny: None,
        would_modify: false,
        revision: 0,
    };
    if let (Dir::Output, Some(vault)) = (request.direction, &request.vault) {
        state.restore(vault);
    }
    for label in &request.labels {
        state.add_label(label.clone());
    }

    let mut plugin_time = PluginTimes::default();
    // What the gates found in the text, searched when a gated plugin first asks and again only after a
    // plugin changed the text (a redaction may remove or write a gate's word).
    let mut opened: Option<(u64, Opened)> = None;
    for (index, plugin) in bundle
        .plugins
        .iter()
        .enumerate()
        .filter(|(_, p)| p.handles(request.direction))
    {
        if bundle.gates.is_gated(index) {
            let found = match opened.take() {
                Some((revision, found)) if revision == state.revision => found,
                _ => bundle.gates.search(&state.text),
            };
            let open = bundle.gates.opens(index, &found, &state.labels);
            opened = Some((state.revision, found));
            if !open {
                plugin_time.gate_shut(index, 1);
                continue;
            }
        }
        let budget = match request.deadline {
            None => plugin.budget,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::DeadlineExceeded {
                        elapsed: started.elapsed(),
                        plugin: plugin.name().to_string(),
                    });
                }
                left.min(plugin.budget)
            }
        };
        let ctx = Context {
            direction,
            principal: request.principal.clone(),
            destination: request.destination.clone(),
            tool: request.tool.clone(),
            labels: state.labels.clone(),
            metadata: request.metadata.clone(),
            location: request.location.clone(),
        };
        let began = Instant::now();
        let verdict = plugin.runtime.inspect(&ctx, &state.text, budget);
        let took = began.elapsed();
        let verdict = verdict.and_then(|v| validate(&v, &state.text).map(|()| v));
        plugin_time.add(PluginCall {
            index,
            began,
            took,
            budget,
            outcome: verdict.as_ref().map_or_else(|e| e.kind(), |_| "ok"),
            findings: verdict.as_ref().map_or(0, |v| v.findings.len()),
        });
        match verdict {
            Ok(verdict) => state.apply(plugin, verdict, hash_key),
            Err(error) => state.fail(plugin, error),
        }
        if state.denied.is_some() {
            break;
        }
    }

    let outcome = if state.denied.is_some() {
        Outcome::Deny
    } else if state.text != request.text {
        Outcome::Modify
    } else {
        Outcome::Allow
    };
    Ok(Verdicts {
        outcome,
        text: state.text,
        reason: state.denied,
        findings: state.findings,
        labels: state.labels,
        failures: state.failures,
        would: match (state.would_deny, state.would_modify) {
            (Some(reason), _) => Some(WouldHave {
                outcome: Outcome::Deny,
                reason: Some(reason),
            }),
            (None, true) => Some(WouldHave {
                outcome: Outcome::Modify,
                reason: None,
            }),
            (None, false) => None,
        },
        elapsed: started.elapsed(),
        plugin_time,
        restored: state.restored,
        pseudonyms: state.pseudonyms,
        edits: state.edits,
    })
}

/// The longest rewrite of a `len`-byte text a plugin may return: room for any redaction or marking, not
/// for a plugin to blow up the answer (or the memory of every later plugin) by orders of magnitude.
pub fn max_rewrite(len: usize) -> usize {
    len.saturating_mul(4).saturating_add(64 << 10)
}

/// A verdict the host can use: bounded, and every span inside `text` on character boundaries.
fn validate(verdict: &Verdict, text: &str) -> std::result::Result<(), PluginError> {
    let bad = |m: String| Err(PluginError::BadVerdict(m));
    if let Decision::Rewrite(new_text) = &verdict.decision {
        let limit = max_rewrite(text.len());
        if new_text.len() > limit {
            return bad(format!(
                "a rewrite of {} bytes, more than the limit of {limit} (4 times the {}-byte text, plus 64 KiB)",
                new_text.len(),
                text.len()
            ));
        }
    }
    if verdict.findings.len() > engine::MAX_FINDINGS_PER_VERDICT {
        return bad(format!(
            "{} findings, more than the limit of {}",
            verdict.findings.len(),
            engine::MAX_FINDINGS_PER_VERDICT
        ));
    }
    for f in &verdict.findings {
        if f.rule.is_empty() || f.category.is_empty() {
            return bad("a finding with an empty rule or category".into());
        }
        if !(0.0..=1.0).contains(&f.confidence) {
            return bad(format!(
                "rule {:?}: confidence {} is outside 0.0..=1.0",
                f.rule, f.confidence
            ));
        }
        if let Some(span) = &f.span {
            let (start, end) = (span.start as usize, span.end as usize);
            if start > end || end > text.len() {
                return bad(format!(
                    "rule {:?}: span {start}..{end} is outside the text (0..{})",
                    f.rule,
                    text.len()
                ));
            }
            if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
                return bad(format!(
                    "rule {:?}: span {start}..{end} splits a UTF-8 character",
                    f.rule
                ));
            }
        }
    }
    Ok(())
}

struct State<'r> {
    direction: Dir,
    location: &'r str,
    text: String,
    edits: EditMap,
    /// The spans of the input where stand-ins were restored to their values.
    restored: Vec<Range<usize>>,
    /// The stand-ins `pseudonymize` wrote, and their values.
    pseudonyms: Pseudonyms,
    labels: Vec<String>,
    findings: Vec<ReportedFinding>,
    failures: Vec<PluginFailure>,
    denied: Option<String>,
    /// The first deny of a plugin in report mode, and whether one would have changed the text.
    would_deny: Option<String>,
    would_modify: bool,
    /// Counts the changes to `text`.
    revision: u64,
}

/// Adds `label` to `labels` unless it is there already: labels keep their first order, once each.
pub(crate) fn add_label(labels: &mut Vec<String>, label: String) {
    if !labels.contains(&label) {
        labels.push(label);
    }
}

impl State<'_> {
    fn add_label(&mut self, label: String) {
        add_label(&mut self.labels, label);
    }

    /// Turns the stand-ins of `vault` in the text back into their values, before any plugin runs.
    fn restore(&mut self, vault: &Pseudonyms) {
        let found = vault.find(&self.text);
        if found.is_empty() {
            return;
        }
        let replacements: Vec<(Range<usize>, String)> = (found.iter())
            .map(|(span, value)| (span.clone(), value.to_string()))
            .collect();
        self.text = self.edits.apply(&self.text, &replacements);
        self.revision += 1;
        self.restored = found.into_iter().map(|(span, _)| span).collect();
    }

    /// Whether `span` of the current text lies within a value restored from the vault.
    fn is_restored(&self, span: &Range<usize>) -> bool {
        let original = self.edits.to_original(span.clone());
        (self.restored.iter()).any(|r| r.start <= original.start && original.end <= r.end)
    }

    /// Where a deny by `plugin` goes: it ends the exchange, or, in report mode, is what would have.
    fn deny(&mut self, plugin: &LoadedPlugin, reason: String) {
        match plugin.mode {
            Mode::Enforce => self.denied = Some(reason),
            Mode::Report => {
                tracing::info!(plugin = plugin.name(), %reason, "report mode: would have denied");
                self.would_deny.get_or_insert(reason);
            }
        }
    }

    fn fail(&mut self, plugin: &LoadedPlugin, error: PluginError) {
        tracing::warn!(plugin = plugin.name(), wasm = %plugin.wasm, %error, on_error = plugin.on_error.as_str(), "plugin failed");
        if plugin.on_error == OnError::Deny {
            let reason = format!(
                "plugin {:?} failed ({error}) and its on_error is deny",
                plugin.name()
            );
            self.deny(plugin, reason);
        }
        self.failures.push(PluginFailure {
            plugin: plugin.name().to_string(),
            error,
            on_error: plugin.on_error,
        });
    }

    fn apply(&mut self, plugin: &LoadedPlugin, verdict: Verdict, hash_key: &HashKey) {
        // (span in the current text, action, category) for the findings the policy rewrites.
        let mut rewrites: Vec<(Range<usize>, Action, String)> = Vec::new();
        let mut policy_deny: Option<String> = None;
        for f in &verdict.findings {
            let mut action = plugin.policy.action(&f.category, self.direction);
            let span = f.span.as_ref().map(|s| s.start as usize..s.end as usize);
            // A value the vault gave back is what the caller wrote; the output policy still judges it
            // (a deny, a redaction, a destination rule), but does not pseudonymize it again.
            if action == Action::Pseudonymize && span.as_ref().is_some_and(|s| self.is_restored(s))
            {
                action = Action::Report;
            }
            match &span {
                Some(span) if action.modifies() && span.start < span.end => {
                    rewrites.push((span.clone(), action, f.category.clone()));
                }
                // Nothing to cut out: the rewrite the policy asks for cannot happen, and passing the text
                // on while the answer says `redact` would be a lie. The finding is denied instead.
                _ if action.modifies() => {
                    if policy_deny.is_none() {
                        policy_deny = Some(format!(
                            "plugin {:?} found {} (rule {}) with no span, so the policy's {action} \
                             cannot be applied and the text is denied instead",
                            plugin.name(),
                            f.category,
                            f.rule
                        ));
                    }
                    action = Action::Deny;
                }
                _ => {}
            }
            if action == Action::Deny && policy_deny.is_none() {
                policy_deny = Some(format!(
                    "plugin {:?} found {} (rule {}), which the policy denies",
                    plugin.name(),
                    f.category,
                    f.rule
                ));
            }
            self.findings.push(ReportedFinding {
                plugin: plugin.name().to_string(),
                rule: f.rule.clone(),
                category: f.category.clone(),
                span: span.map(|s| self.edits.to_original(s)),
                location: self.location.to_string(),
                confidence: f.confidence,
                message: f.message.clone(),
                action,
                enforced: plugin.mode == Mode::Enforce,
            });
        }
        let mut found: Vec<&str> = verdict
            .findings
            .iter()
            .map(|f| f.category.as_str())
            .collect();
        found.sort_unstable();
        found.dedup();
        for category in found {
            self.add_label(format!("found:{category}"));
        }
        for label in verdict.labels {
            self.add_label(label);
        }

        // A deny — the plugin's or the policy's — wins over any rewrite.
        let rewritten = match verdict.decision {
            Decision::Deny(reason) => {
                let reason = format!("plugin {:?} denied: {reason}", plugin.name());
                self.deny(plugin, reason);
                return;
            }
            Decision::Rewrite(new_text) => Some(new_text),
            Decision::Allow => None,
        };
        if let Some(reason) = policy_deny {
            self.deny(plugin, reason);
            return;
        }
        if let Some(new_text) = rewritten {
            match plugin.mode {
                Mode::Report => self.would_modify = true,
                Mode::Enforce => {
                    self.edits.replace_all(self.text.len(), new_text.len());
                    self.text = new_text;
                    self.revision += 1;
                }
            }
            return;
        }
        if plugin.mode == Mode::Report {
            self.would_modify |= !rewrites.is_empty();
            return;
        }
        if !rewrites.is_empty() {
            let replacements = merge_rewrites(rewrites, &self.text, hash_key);
            for (range, action, category, with) in &replacements {
                if *action == Action::Pseudonymize {
                    if let Err(collision) =
                        (self.pseudonyms).insert(with, category, &self.text[range.clone()])
                    {
                        self.deny(plugin, collision.to_string());
                        return;
                    }
                }
            }
            let replacements: Vec<(Range<usize>, String)> = (replacements.into_iter())
                .map(|(range, _, _, with)| (range, with))
                .collect();
            self.text = self.edits.apply(&self.text, &replacements);
            self.revision += 1;
        }
    }
}

/// Overlapping findings become one replacement: the union of their spans, the strongest action among them
/// (redact over hash over pseudonymize over mask), named after the widest finding's category. Each comes
/// with its action and category, and the text that replaces it.
fn merge_rewrites(
    mut rewrites: Vec<(Range<usize>, Action, String)>,
    text: &str,
    key: &HashKey,
) -> Vec<(Range<usize>, Action, String, String)> {
    rewrites.sort_by_key(|(r, ..)| (r.start, std::cmp::Reverse(r.end)));
    let mut merged: Vec<(Range<usize>, Action, String, usize)> = Vec::new();
    for (range, action, category) in rewrites {
        let width = range.end - range.start;
        match merged.last_mut() {
            Some(last) if range.start < last.0.end => {
                last.0.end = last.0.end.max(range.end);
                last.1 = last.1.max(action);
                if width > last.3 {
                    last.2 = category;
                    last.3 = width;
                }
            }
            _ => merged.push((range, action, category, width)),
        }
    }
    merged
        .into_iter()
        .map(|(range, action, category, _)| {
            let with = policy::replacement(action, &category, &text[range.clone()], key);
            (range, action, category, with)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(action: Action, enforced: bool) -> ReportedFinding {
        ReportedFinding {
            plugin: "p".into(),
            rule: format!("{action}"),
            category: "C".into(),
            span: Some(0..1),
            location: String::new(),
            confidence: 1.0,
            message: String::new(),
            action,
            enforced,
        }
    }

    #[test]
    fn past_the_cap_findings_are_counted_but_the_blamed_ones_kept() {
        let mut all = vec![finding(Action::Report, true); MAX_FINDINGS_REPORTED + 10];
        all.push(finding(Action::Deny, false));
        all.push(finding(Action::Redact, true));
        all.push(finding(Action::Deny, true));
        all.push(finding(Action::Deny, true));
        all.push(finding(Action::Mask, true));
        let mut findings = Findings::new();
        findings.extend(all.iter().cloned());
        assert_eq!(findings.len(), MAX_FINDINGS_REPORTED + 2);
        assert_eq!(findings.len() + findings.dropped(), all.len());
        for outcome in [Outcome::Deny, Outcome::Modify] {
            assert_eq!(blamed(&findings, outcome), blamed(&all, outcome));
            assert!(blamed(&findings, outcome).is_some());
        }

        // Parts of one exchange fold into the same count.
        let mut whole = Findings::new();
        whole.absorb(findings.clone());
        whole.absorb(findings);
        assert_eq!(whole.len(), MAX_FINDINGS_REPORTED + 2);
        assert_eq!(whole.dropped(), 2 * all.len() - whole.len());
    }
}
