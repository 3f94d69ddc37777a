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

/// Lines in flight (read, not yet written) per job, and the bytes that hold the reading back: enough to
/// keep every worker busy past a slow line (a 1 MiB log), little enough that a file of huge lines is not
/// held whole.
const IN_FLIGHT_LINES_PER_JOB: usize = 16 << 10;
const IN_FLIGHT_BYTES: usize = 32 << 20;
/// Lines handed to a worker at once, up to this many or this many bytes: a hand-over wakes a thread, which
/// cost as much as scanning a short line.
const CHUNK_LINES: usize = 64;
const CHUNK_BYTES: usize = 64 << 10;

/// What one input line came to: an answer line to write (with the values it pseudonymized), or an error
/// to report (with the line number).
enum Scanned {
    Answer(Vec<u8>, Outcome, Pseudonyms),
    Error(String),
}

/// Scans JSON lines from `input` (named `source` in messages) and writes one answer line per input line, in
/// input order, with `jobs` lines scanned at once. A line that is not valid input is reported on standard
/// error with its line number and counted as an error; the other lines are still scanned.
///
/// With several jobs, this thread reads and writes and the workers scan, each taking the next chunk of
/// lines read. Answers that finish early wait for the ones before them, so no worker idles while a slow
/// line finishes (scanning in batches, each waited for whole, did).
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
    let mut write = |n: usize, scanned: Scanned| {
        match scanned {
            Scanned::Answer(line, outcome, pseudonyms) => match tally.saw(outcome, pseudonyms) {
                Ok(()) => out.write_all(&line)?,
                Err(message) => eprintln!("{source}:{n}: {message}"),
            },
            Scanned::Error(message) => {
                eprintln!("{source}:{n}: {message}");
                tally.errors = true;
            }
        }
        std::io::Result::Ok(())
    };
    let lines = input
        .lines()
        .enumerate()
        .map(|(n, line)| line.map(|line| (n + 1, line)))
        .filter(|line| !line.as_ref().is_ok_and(|(_, line)| line.trim().is_empty()));
    if jobs <= 1 {
        for line in lines {
            let (n, line) = line?;
            write(n, scan_line(bundle, key, defaults, &line))?;
        }
    } else {
        in_parallel(bundle, key, defaults, lines, jobs, &mut write)?;
    }
    out.flush()
}

/// A chunk of lines, each with its line number.
type Chunk = Vec<(usize, String)>;

/// [`jsonl`]'s lines scanned by `jobs` workers, handed to `write` in reading order.
fn in_parallel(
    bundle: &Bundle,
    key: &HashKey,
    defaults: &Defaults,
    lines: impl Iterator<Item = std::io::Result<(usize, String)>>,
    jobs: usize,
    write: &mut impl FnMut(usize, Scanned) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::sync::mpsc;
    let (work, queue) = mpsc::sync_channel::<(usize, Chunk)>(jobs * 2);
    let queue = std::sync::Mutex::new(queue);
    type Answers = std::thread::Result<Vec<(usize, Scanned)>>;
    let (answered, answers) = mpsc::channel::<(usize, Answers)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (queue, answered) = (&queue, answered.clone());
            scope.spawn(move || loop {
                let Ok(Ok((i, chunk))) = queue.lock().map(|q| q.recv()) else {
                    return;
                };
                // A panic is a bug in the chain: it goes to the reading thread, which would otherwise wait
                // for the answers forever, and surfaces there.
                let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    (chunk.iter())
                        .map(|(n, line)| (*n, scan_line(bundle, key, defaults, line)))
                        .collect()
                }));
                if answered.send((i, scanned)).is_err() {
                    return;
                }
            });
        }
        drop(answered);
        let mut order = InOrder::default();
        let mut arrived = |(i, scanned): (usize, Answers), order: &mut InOrder| {
            let scanned = scanned.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            order.arrived(i, scanned, &mut *write)
        };
        let gone = "the workers run while lines are in flight";
        let mut chunk: Chunk = Vec::new();
        let mut chunk_bytes = 0;
        let mut lines = lines.fuse();
        loop {
            let line = lines.next().transpose()?;
            let end = line.is_none();
            if let Some((n, line)) = line {
                chunk_bytes += line.len();
                chunk.push((n, line));
            }
            if chunk.len() < CHUNK_LINES && chunk_bytes < CHUNK_BYTES && !end {
                continue;
            }
            if !chunk.is_empty() {
                // Reading waits while too much is in flight, writing what comes back meanwhile.
                while order.lines >= IN_FLIGHT_LINES_PER_JOB * jobs
                    || order.bytes >= IN_FLIGHT_BYTES
                {
                    arrived(answers.recv().expect(gone), &mut order)?;
                }
                let i = order.sent(chunk.len(), chunk_bytes);
                work.send((i, std::mem::take(&mut chunk))).expect(gone);
                chunk_bytes = 0;
            }
            while let Ok(answer) = answers.try_recv() {
                arrived(answer, &mut order)?;
            }
            if end {
                break;
            }
        }
        drop(work);
        while !order.flying.is_empty() {
            arrived(answers.recv().expect(gone), &mut order)?;
        }
        Ok(())
    })
}

/// The chunks in flight, by index in reading order: the lines and bytes of each, and the answers that came
/// back before an earlier chunk's.
#[derive(Default)]
struct InOrder {
    flying: std::collections::VecDeque<(usize, usize)>,
    lines: usize,
    bytes: usize,
    early: std::collections::BTreeMap<usize, Vec<(usize, Scanned)>>,
    written: usize,
}

impl InOrder {
    /// A chunk of `lines` lines and `bytes` bytes goes out: its index.
    fn sent(&mut self, lines: usize, bytes: usize) -> usize {
        self.flying.push_back((lines, bytes));
        self.lines += lines;
        self.bytes += bytes;
        self.written + self.flying.len() - 1
    }

    /// The answers for chunk `i` came back: hands them, and those of every chunk after it that is
    /// waiting, in order to `write` with their line numbers.
    fn arrived(
        &mut self,
        i: usize,
        answers: Vec<(usize, Scanned)>,
        write: &mut impl FnMut(usize, Scanned) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.early.insert(i, answers);
        while let Some(answers) = self.early.remove(&self.written) {
            let (lines, bytes) = self
                .flying
                .pop_front()
                .expect("answers come for a chunk sent");
            self.lines -= lines;
            self.bytes -= bytes;
            self.written += 1;
            for (n, scanned) in answers {
                write(n, scanned)?;
            }
        }
        Ok(())
    }
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
