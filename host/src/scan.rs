//! `palisade scan`: runs the chain locally over files, standard input or JSON lines, with no server.
//!
//! Plain mode treats each input (a file, or standard input) as one text: the text after policy goes to
//! standard output and a summary of findings to standard error, so `palisade scan < in.txt > out.txt`
//! redacts a file. `--jsonl` mode reads one JSON object per line and writes one per line (the README's
//! `palisade scan` section has both shapes); unknown input fields are ignored, so a labelled corpus can be
//! fed as it is.

use std::io::{BufRead, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bundle::Bundle;
use crate::chain::{Dir, Outcome, Request};
use crate::check::{self, Checked};
use crate::payload::ContentType;
use crate::policy::HashKey;
use crate::pseudonym::Pseudonyms;

/// Exit status: every input allowed or modified.
pub const EXIT_OK: i32 = 0;
/// Exit status: at least one input denied.
pub const EXIT_DENIED: i32 = 1;
/// Exit status: a usage, load or input error.
pub const EXIT_ERROR: i32 = 2;

/// How to read inputs that do not say.
#[derive(Clone, Debug)]
pub struct Defaults {
    /// The direction of plain inputs, and of JSON lines without one.
    pub direction: Dir,
    /// How to read plain inputs, and JSON lines without a `content_type`.
    pub content_type: ContentType,
    /// The stand-ins of `--vault`, restored on the output path.
    pub vault: Option<Arc<Pseudonyms>>,
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
    /// Stand-ins of the vault restored to their values; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    restored: Option<usize>,
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

/// The worst outcome seen so far decides the exit status; the values pseudonymized go into the vault.
#[derive(Default)]
pub struct Tally {
    denied: bool,
    errors: bool,
    /// Every stand-in `pseudonymize` wrote, and its value.
    pub pseudonyms: Pseudonyms,
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

    /// Counts an answer, and keeps the values it pseudonymized; `Err` when one would share a stand-in
    /// with another.
    fn saw(&mut self, outcome: Outcome, pseudonyms: Pseudonyms) -> Result<(), String> {
        self.denied |= outcome == Outcome::Deny;
        self.pseudonyms.merge(pseudonyms).map_err(|e| {
            self.errors = true;
            e.to_string()
        })
    }
}

/// Lines read before a batch is scanned (times the jobs), and the bytes that stop a batch early: enough to
/// keep every worker busy between writes, little enough that a file of huge lines is not held whole.
const BATCH_LINES_PER_JOB: usize = 512;
const BATCH_BYTES: usize = 32 << 20;

/// What one input line came to: an answer line to write (with the values it pseudonymized), or an error
/// to report (with the line number).
enum Scanned {
    Answer(Vec<u8>, Outcome, Pseudonyms),
    Error(String),
}

/// Scans JSON lines from `input` (named `source` in messages) and writes one answer line per input line, in
/// input order, with `jobs` lines scanned at once. A line that is not valid input is reported on standard
/// error with its line number and counted as an error; the other lines are still scanned.
#[allow(clippy::too_many_arguments)]
pub fn jsonl(
    bundle: &Bundle,
    key: &HashKey,
    defaults: &Defaults,
    source: &str,
    input: impl BufRead,
    jobs: usize,
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<()> {
    let jobs = jobs.max(1);
    let mut lines = input.lines().enumerate();
    loop {
        // A batch of (line number, line), skipping blank lines.
        let mut batch: Vec<(usize, String)> = Vec::new();
        let mut bytes = 0;
        for (n, line) in lines.by_ref() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            bytes += line.len();
            batch.push((n + 1, line));
            if batch.len() == BATCH_LINES_PER_JOB * jobs || bytes >= BATCH_BYTES {
                break;
            }
        }
        if batch.is_empty() {
            break;
        }
        for ((n, _), scanned) in batch
            .iter()
            .zip(scan_all(bundle, key, defaults, &batch, jobs))
        {
            match scanned {
                Scanned::Answer(line, outcome, pseudonyms) => {
                    match tally.saw(outcome, pseudonyms) {
                        Ok(()) => out.write_all(&line)?,
                        Err(message) => eprintln!("{source}:{n}: {message}"),
                    }
                }
                Scanned::Error(message) => {
                    eprintln!("{source}:{n}: {message}");
                    tally.errors = true;
                }
            }
        }
    }
    out.flush()
}

/// Scans every line of `batch` on `jobs` threads (each takes the next line not taken), answers in order.
fn scan_all(
    bundle: &Bundle,
    key: &HashKey,
    defaults: &Defaults,
    batch: &[(usize, String)],
    jobs: usize,
) -> Vec<Scanned> {
    if jobs == 1 || batch.len() == 1 {
        return (batch.iter())
            .map(|(_, line)| scan_line(bundle, key, defaults, line))
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut answers: Vec<(usize, Scanned)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.min(batch.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((_, line)) = batch.get(i) else {
                            return mine;
                        };
                        mine.push((i, scan_line(bundle, key, defaults, line)));
                    }
                })
            })
            .collect();
        // A worker that panicked is a bug in the chain; let it surface as one.
        (workers.into_iter())
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    answers.sort_by_key(|(i, _)| *i);
    answers.into_iter().map(|(_, scanned)| scanned).collect()
}

/// One `--jsonl` input line, checked: its answer line (newline included), or what was wrong with it.
fn scan_line(bundle: &Bundle, key: &HashKey, defaults: &Defaults, line: &str) -> Scanned {
    let parsed: Line = match serde_json::from_str(line) {
        Ok(l) => l,
        Err(e) => {
            return Scanned::Error(format!(
                "not a scan input line ({e}); expected {{\"id\", \"text\", …}}"
            ))
        }
    };
    let content_type = match parsed.content_type.as_deref().map(ContentType::parse) {
        None => defaults.content_type,
        Some(Ok(ct)) => ct,
        Some(Err(e)) => return Scanned::Error(e.to_string()),
    };
    let direction = match parsed.direction.as_deref().map(str::parse).transpose() {
        Ok(d) => d.unwrap_or(defaults.direction),
        Err(e) => return Scanned::Error(e),
    };
    let request = Request {
        direction,
        principal: parsed.principal,
        destination: parsed.destination,
        tool: parsed.tool,
        labels: parsed.labels,
        vault: defaults.vault.clone(),
        ..Request::default()
    };
    match check::run(bundle, content_type, parsed.text, &request, key) {
        Ok(v) => match serde_json::to_vec(&answer(&parsed.id, &v)) {
            Ok(mut line) => {
                line.push(b'\n');
                Scanned::Answer(line, v.outcome, v.pseudonyms)
            }
            Err(e) => Scanned::Error(format!("cannot write the answer: {e}")),
        },
        Err(e) => Scanned::Error(e.to_string()),
    }
}

/// Scans one whole text: the result text to `out`, a summary to standard error.
pub fn plain(
    bundle: &Bundle,
    key: &HashKey,
    defaults: &Defaults,
    source: &str,
    text: String,
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<()> {
    let request = Request {
        direction: defaults.direction,
        vault: defaults.vault.clone(),
        ..Request::default()
    };
    match check::run(bundle, defaults.content_type, text, &request, key) {
        Ok(mut v) => {
            if let Err(message) = tally.saw(v.outcome, std::mem::take(&mut v.pseudonyms)) {
                eprintln!("{source}: {message}");
                return out.flush();
            }
            let mut summary = format!("{source}: {}", v.outcome.as_str());
            if v.restored > 0 {
                let s = if v.restored == 1 { "" } else { "s" };
                summary.push_str(&format!(" ({} stand-in{s} restored)", v.restored));
            }
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
        restored: Some(v.restored).filter(|&n| n > 0),
        elapsed_us: u64::try_from(v.elapsed.as_micros()).unwrap_or(u64::MAX),
    }
}
