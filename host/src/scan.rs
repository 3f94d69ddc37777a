//! `palisade scan`: runs the chain locally over files, standard input or JSON lines, with no server.
//!
//! Plain mode treats each input (a file, or standard input) as one text: the text after policy goes to
//! standard output and a summary of findings to standard error, so `palisade scan < in.txt > out.txt`
//! redacts a file. `--jsonl` mode reads one JSON object per line and writes one per line, as DESIGN.md
//! specifies; unknown input fields are ignored, so a labelled corpus can be fed as it is.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::bundle::Bundle;
use crate::chain::{Dir, Outcome, Request};
use crate::check::{self, Checked};
use crate::payload::ContentType;
use crate::policy::HashKey;

/// Exit status: every input allowed or modified.
pub const EXIT_OK: i32 = 0;
/// Exit status: at least one input denied.
pub const EXIT_DENIED: i32 = 1;
/// Exit status: a usage, load or input error.
pub const EXIT_ERROR: i32 = 2;

/// How to read inputs that do not say.
#[derive(Clone, Copy, Debug)]
pub struct Defaults {
    /// The direction of plain inputs, and of JSON lines without one.
    pub direction: Dir,
    /// How to read plain inputs, and JSON lines without a `content_type`.
    pub content_type: ContentType,
}

/// One line of `--jsonl` input.
#[derive(Deserialize)]
struct Line {
    id: serde_json::Value,
    text: String,
    direction: Option<String>,
    destination: Option<String>,
    principal: Option<String>,
    tool: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    content_type: Option<String>,
}

/// One line of `--jsonl` output.
#[derive(Serialize)]
struct Answer<'a> {
    id: &'a serde_json::Value,
    decision: &'static str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    labels: &'a [String],
    findings: Vec<FindingOut<'a>>,
    /// Findings past the most an answer lists; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    findings_dropped: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FailureOut>,
    /// What plugins in report mode would have done; absent when nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    would: Option<WouldOut<'a>>,
    elapsed_us: u64,
}

#[derive(Serialize)]
struct WouldOut<'a> {
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    plugin: &'a str,
    rule: &'a str,
    category: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<usize>,
    #[serde(skip_serializing_if = "str::is_empty")]
    location: &'a str,
    confidence: f32,
    message: &'a str,
    action: &'static str,
    /// Present (and true) when the plugin is in report mode: `action` was not applied.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    report_only: bool,
}

#[derive(Serialize)]
struct FailureOut {
    plugin: String,
    error: String,
    on_error: &'static str,
}

/// The worst outcome seen so far decides the exit status.
#[derive(Default)]
pub struct Tally {
    denied: bool,
    errors: bool,
}

impl Tally {
    /// The exit status for what was seen.
    pub fn exit_code(&self) -> i32 {
        if self.errors {
            EXIT_ERROR
        } else if self.denied {
            EXIT_DENIED
        } else {
            EXIT_OK
        }
    }

    fn saw(&mut self, outcome: Outcome) {
        self.denied |= outcome == Outcome::Deny;
    }
}

/// Scans JSON lines from `input` (named `source` in messages) and writes one answer line per input line.
/// A line that is not valid input is reported on standard error with its line number and counted as an
/// error; the other lines are still scanned.
pub fn jsonl(
    bundle: &Bundle,
    key: &HashKey,
    defaults: Defaults,
    source: &str,
    input: impl BufRead,
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<()> {
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let fail = |tally: &mut Tally, message: String| {
            eprintln!("{source}:{}: {message}", n + 1);
            tally.errors = true;
        };
        let parsed: Line = match serde_json::from_str(&line) {
            Ok(l) => l,
            Err(e) => {
                fail(
                    tally,
                    format!("not a scan input line ({e}); expected {{\"id\", \"text\", …}}"),
                );
                continue;
            }
        };
        let content_type = match parsed.content_type.as_deref().map(ContentType::parse) {
            None => defaults.content_type,
            Some(Ok(ct)) => ct,
            Some(Err(e)) => {
                fail(tally, e.to_string());
                continue;
            }
        };
        let direction = match parsed.direction.as_deref().map(str::parse).transpose() {
            Ok(d) => d.unwrap_or(defaults.direction),
            Err(e) => {
                fail(tally, e);
                continue;
            }
        };
        let request = Request {
            direction,
            principal: parsed.principal,
            destination: parsed.destination,
            tool: parsed.tool,
            labels: parsed.labels,
            ..Request::default()
        };
        match check::run(bundle, content_type, parsed.text, &request, key) {
            Ok(v) => {
                tally.saw(v.outcome);
                serde_json::to_writer(&mut *out, &answer(&parsed.id, &v))?;
                out.write_all(b"\n")?;
            }
            Err(e) => fail(tally, e.to_string()),
        }
    }
    out.flush()
}

/// Scans one whole text: the result text to `out`, a summary to standard error.
pub fn plain(
    bundle: &Bundle,
    key: &HashKey,
    defaults: Defaults,
    source: &str,
    text: String,
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<()> {
    let request = Request {
        direction: defaults.direction,
        ..Request::default()
    };
    match check::run(bundle, defaults.content_type, text, &request, key) {
        Ok(v) => {
            tally.saw(v.outcome);
            let mut summary = format!("{source}: {}", v.outcome.as_str());
            if let Some(reason) = &v.reason {
                summary.push_str(&format!(": {reason}"));
            }
            if let Some(would) = &v.would {
                summary.push_str(&format!(
                    " (report mode: would {})",
                    would.reason.as_deref().map_or_else(
                        || would.outcome.as_str().to_string(),
                        |r| format!("deny: {r}")
                    )
                ));
            }
            for f in &v.findings {
                let mut at = f
                    .span
                    .as_ref()
                    .map(|s| format!(" at {}..{}", s.start, s.end))
                    .unwrap_or_default();
                if !f.location.is_empty() {
                    at = format!("{at} of {}", f.location);
                }
                let action = if f.enforced {
                    f.action.as_str().to_string()
                } else {
                    format!("would {}", f.action.as_str())
                };
                summary.push_str(&format!(
                    "\n  {} {}{at} ({}, {action})",
                    f.category, f.rule, f.plugin
                ));
            }
            if v.findings.dropped() > 0 {
                summary.push_str(&format!(
                    "\n  … and {} more findings, not listed",
                    v.findings.dropped()
                ));
            }
            for failure in &v.failures {
                summary.push_str(&format!(
                    "\n  plugin {:?} failed: {} (on_error = {})",
                    failure.plugin,
                    failure.error,
                    failure.on_error.as_str()
                ));
            }
            eprintln!("{summary}");
            if v.outcome != Outcome::Deny {
                out.write_all(v.content.as_bytes())?;
            }
        }
        Err(e) => {
            eprintln!("{source}: {e}");
            tally.errors = true;
        }
    }
    out.flush()
}

fn answer<'a>(id: &'a serde_json::Value, v: &'a Checked) -> Answer<'a> {
    Answer {
        id,
        decision: v.outcome.as_str(),
        text: &v.content,
        reason: v.reason.as_deref(),
        labels: &v.labels,
        findings: v
            .findings
            .iter()
            .map(|f| FindingOut {
                plugin: &f.plugin,
                rule: &f.rule,
                category: &f.category,
                start: f.span.as_ref().map(|s| s.start),
                end: f.span.as_ref().map(|s| s.end),
                location: &f.location,
                confidence: f.confidence,
                message: &f.message,
                action: f.action.as_str(),
                report_only: !f.enforced,
            })
            .collect(),
        findings_dropped: Some(v.findings.dropped()).filter(|&n| n > 0),
        errors: v
            .failures
            .iter()
            .map(|f| FailureOut {
                plugin: f.plugin.clone(),
                error: f.error.to_string(),
                on_error: f.on_error.as_str(),
            })
            .collect(),
        would: v.would.as_ref().map(|w| WouldOut {
            decision: w.outcome.as_str(),
            reason: w.reason.as_deref(),
        }),
        elapsed_us: u64::try_from(v.elapsed.as_micros()).unwrap_or(u64::MAX),
    }
}
