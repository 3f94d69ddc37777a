//! Streamed model output, checked while it flows: raw text chunks, or events — server-sent events (OpenAI,
//! Anthropic, Gemini), lines of JSON (Ollama) or AWS event-stream messages (Bedrock) — read by the
//! provider formats in [`crate::shapes`].
//!
//! Each stream of text — the raw stream, or in SSE one per choice, content block, output item or tool
//! call — is a channel. After each chunk the chain runs over the channel's unreleased text plus some
//! already-released context before it (for cue words), and text is released only up to a cut that
//! - leaves the last `hold_back` bytes unreleased, so an entity of up to `hold_back` bytes still arriving
//!   cannot have begun before the cut, and
//! - never falls inside a finding the policy rewrites, so what is released is already redacted.
//!
//! When a channel ends, the rest is checked and released. A deny ends the stream; what it held back is
//! never released. Findings are reported once, when the text they cover is released.
//!
//! In events, every string a delta carries (a choice's content or reasoning, a tool call's arguments, any
//! Responses `*.delta`, any Anthropic delta field) is a piece of a channel's text; the event is passed on
//! with each piece replaced by what its channel releases now (possibly nothing while text is held back), and
//! text released when a channel ends goes out in a copy of its last delta event, before the event that
//! ended it. Every other string of an event, and its lines beside the data, is checked before the event
//! goes out (once per distinct value); events that repeat whole texts (`*.done`, `response.completed`) get
//! the channel's released text. Token log-probabilities go out with their text, only where it went out
//! unchanged. So no text in a stream escapes the chain.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use serde_json::Value;

use crate::bundle::Bundle;
use crate::chain::{
    self, Findings, Outcome, PluginFailure, PluginTimes, ReportedFinding, Request, WouldHave,
};
use crate::check;
use crate::payload::{self, ContentType};
use crate::policy::{Action, HashKey};
use crate::shapes::{self, read_event, Reading};

/// The most separate texts (channels) one stream may have: far more choices, content blocks and tool
/// calls than any answer has, few enough that holding each back costs little.
pub const MAX_CHANNELS: usize = 256;

/// The most distinct findings a stream remembers to count each once: 16 times as many as it reports,
/// a few hundred KiB at most.
const MAX_SEEN: usize = 16 * chain::MAX_FINDINGS_REPORTED;

/// How much a stream holds back, and how much it may carry.
#[derive(Clone, Copy, Debug)]
pub struct StreamSettings {
    /// Unreleased bytes kept at the end of each channel: entities up to this long are caught whole.
    pub hold_back: usize,
    /// Released bytes the chain sees again before the unreleased text, for cue words.
    pub context: usize,
    /// New bytes gathered beyond the hold-back before the chain runs again: each run covers context,
    /// hold-back and step, so a stream of tiny chunks costs one run per step, not one per chunk.
    pub step: usize,
    /// The most bytes one stream may carry.
    pub max_total: usize,
}

impl StreamSettings {
    /// Settings for a hold-back of `hold_back` bytes (a step of a quarter of it) and streams of up to
    /// `max_total` bytes.
    pub fn new(hold_back: usize, max_total: usize) -> StreamSettings {
        StreamSettings {
            hold_back,
            context: 256,
            step: hold_back / 4,
            max_total,
        }
    }
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings::new(512, 4 << 20)
    }
}

/// The stream formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamType {
    /// `text/plain`: raw text chunks.
    Text,
    /// `text/event-stream`: server-sent events.
    Sse,
    /// `application/x-ndjson` (and its other names): one JSON event per line, as Ollama streams its
    /// answers.
    Ndjson,
    /// `application/vnd.amazon.eventstream`: AWS's binary event stream (Bedrock's ConverseStream), each
    /// message's payload one JSON event named by its `:event-type` header.
    EventStream,
}

impl StreamType {
    /// Reads a stream's `content_type`.
    pub fn parse(value: &str) -> Result<StreamType, StreamError> {
        let media = payload::media_type(value);
        if media.is_empty() || media == "text/plain" {
            Ok(StreamType::Text)
        } else if media == "text/event-stream" {
            Ok(StreamType::Sse)
        } else if media == "application/vnd.amazon.eventstream" {
            Ok(StreamType::EventStream)
        } else if ContentType::parse(value) == Ok(ContentType::Ndjson) {
            Ok(StreamType::Ndjson)
        } else {
            Err(StreamError::UnsupportedType(value.to_string()))
        }
    }
}

/// Why a stream cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The content type is not a stream format Palisade reads.
    #[error(
        "content_type {0:?} is not supported for streams; use text/plain, text/event-stream, \
         application/x-ndjson or application/vnd.amazon.eventstream"
    )]
    UnsupportedType(String),
    /// The bytes are not UTF-8.
    #[error("the stream is not valid UTF-8: invalid byte at offset {0}")]
    InvalidUtf8(usize),
    /// An event-stream message is malformed (a bad length or checksum), or the stream ended inside one.
    #[error("the event stream is malformed at offset {at}: {reason}")]
    InvalidFrame {
        /// Offset of the message in the stream.
        at: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The stream carried more than the limit.
    #[error("the stream is over the limit of {0} bytes (raise it with --max-payload / PALISADE_MAX_PAYLOAD)")]
    TooLarge(usize),
    /// The stream's events opened more separate texts than a stream may have.
    #[error(
        "the stream has more than {0} separate texts (choices, content blocks, tool calls), each held \
         back and checked on its own; no answer needs that many"
    )]
    TooManyTexts(usize),
    /// The chain could not run (the caller's deadline passed).
    #[error(transparent)]
    Chain(#[from] crate::Error),
}

/// One stream of text and what has been released of it.
#[derive(Debug)]
struct Channel {
    /// Where its text goes in the stream's JSON: the finding location.
    location: String,
    tool: Option<String>,
    /// The original text from absolute offset `base` on; what came before is released and out of context.
    text: String,
    base: usize,
    /// Absolute offset up to which the original has been released.
    released: usize,
    /// Everything released so far, as released (for events that repeat a whole text).
    output: String,
    /// The channel's last delta event, the template for text released when the channel ends.
    template: Option<Template>,
    /// Token log-probabilities that spell out unreleased text, each with the absolute offset its token
    /// ends at: they go out with their text, and only if that text goes out unchanged.
    tokens: VecDeque<(usize, Value)>,
    /// Where the next queued token begins (the end of the last one taken).
    tokens_from: usize,
    /// Released text before this offset was changed by the policy: a token that began before it spells
    /// what was removed, and is never released.
    changed_until: usize,
    /// Every token released so far, for events that repeat a whole text's log-probabilities.
    released_tokens: Vec<Value>,
}

/// What a run of the chain over a channel released.
#[derive(Default)]
struct Released {
    text: String,
    /// The token log-probabilities of the released text, when it went out unchanged.
    tokens: Vec<Value>,
    denied: Option<String>,
}

/// A stream being checked: feed it chunks, pass on what it releases, read the summary at the end.
pub struct StreamCheck {
    bundle: Arc<Bundle>,
    exchange: Request,
    settings: StreamSettings,
    kind: StreamType,
    /// Bytes received but not yet processed: an incomplete UTF-8 character, or an incomplete SSE event.
    pending: Vec<u8>,
    total: usize,
    /// SSE: the lines of the event being read.
    event_lines: Vec<String>,
    channels: Vec<Channel>,
    /// Each channel's index, by location.
    channel_at: HashMap<String, usize>,
    /// `pending[..scanned]` holds no line end: a long line arriving in small pieces is scanned once.
    scanned: usize,
    findings: Findings,
    /// Hashes of the findings kept or counted, so a finding found again in a later window counts once;
    /// at most [`MAX_SEEN`], past which a finding found twice may count twice.
    seen: HashSet<u64>,
    /// Keyed per stream, so no text can be written to collide with another finding's hash.
    seen_hasher: RandomState,
    /// Strings of events checked whole and found clean (see [`StreamCheck::remember`]).
    clean: HashSet<String>,
    labels: Vec<String>,
    failures: Vec<PluginFailure>,
    modified: bool,
    /// Stand-ins of the exchange's vault restored to their values, in released text.
    restored: usize,
    denied: Option<String>,
    would: Option<WouldHave>,
    started: Instant,
    chain_time: Duration,
    plugin_time: PluginTimes,
}

/// The end of a stream.
#[derive(Debug)]
pub struct Summary {
    /// Allow, modify (something was redacted) or deny.
    pub outcome: Outcome,
    /// On deny, why.
    pub reason: Option<String>,
    /// The findings, once each (the first [`MAX_FINDINGS_REPORTED`](chain::MAX_FINDINGS_REPORTED), and a
    /// count of the rest).
    pub findings: Findings,
    /// Labels over the whole stream.
    pub labels: Vec<String>,
    /// Plugins that failed.
    pub failures: Vec<PluginFailure>,
    /// What plugins in report mode would have done, over the stream (the first deny, else a modify).
    pub would: Option<WouldHave>,
    /// Time spent in the chain, over every run of it.
    pub chain_time: Duration,
    /// Time each plugin spent, over the stream.
    pub plugin_time: PluginTimes,
    /// Stand-ins of the exchange's vault restored to their values.
    pub restored: usize,
}

impl StreamCheck {
    /// A check of one stream through `bundle`. `exchange` carries the gateway's fields (its `text` and
    /// `location` are ignored).
    pub fn new(
        bundle: Arc<Bundle>,
        exchange: Request,
        kind: StreamType,
        settings: StreamSettings,
    ) -> StreamCheck {
        let labels = exchange.labels.clone();
        StreamCheck {
            bundle,
            exchange,
            settings,
            kind,
            pending: Vec::new(),
            total: 0,
            event_lines: Vec::new(),
            channels: Vec::new(),
            channel_at: HashMap::new(),
            scanned: 0,
            findings: Findings::default(),
            seen: HashSet::new(),
            seen_hasher: RandomState::new(),
            clean: HashSet::new(),
            labels,
            failures: Vec::new(),
            modified: false,
            restored: 0,
            denied: None,
            would: None,
            started: Instant::now(),
            chain_time: Duration::ZERO,
            plugin_time: PluginTimes::default(),
        }
    }

    /// Whether the stream has been denied; nothing more is released after a deny.
    pub fn denied(&self) -> bool {
        self.denied.is_some()
    }

    /// Takes the next chunk; returns the bytes that may now be passed on (possibly none).
    pub fn push(&mut self, chunk: &[u8], key: &HashKey) -> Result<Vec<u8>, StreamError> {
        if self.denied() {
            return Ok(Vec::new());
        }
        self.total += chunk.len();
        if self.total > self.settings.max_total {
            return Err(StreamError::TooLarge(self.settings.max_total));
        }
        self.pending.extend_from_slice(chunk);
        match self.kind {
            StreamType::Text => self.push_text(key, false),
            StreamType::Sse => self.push_sse(key),
            StreamType::Ndjson => self.push_lines(key),
            StreamType::EventStream => self.push_frames(key),
        }
    }

    /// The stream has ended: checks and releases everything still held back.
    pub fn finish(&mut self, key: &HashKey) -> Result<Vec<u8>, StreamError> {
        if self.denied() {
            return Ok(Vec::new());
        }
        match self.kind {
            StreamType::Text => self.push_text(key, true),
            StreamType::Ndjson => {
                let mut out = self.push_lines(key)?;
                // A last line the sender never ended still counts.
                if !self.denied() {
                    if let Some(line) = self.unended_line()? {
                        self.json_line(line, String::new(), key, &mut out)?;
                    }
                }
                self.flush_all(key, &mut out)?;
                Ok(out)
            }
            StreamType::EventStream => {
                let mut out = self.push_frames(key)?;
                if !self.pending.is_empty() {
                    return Err(StreamError::InvalidFrame {
                        at: self.total - self.pending.len(),
                        reason: "the stream ended inside a message".into(),
                    });
                }
                self.flush_all(key, &mut out)?;
                Ok(out)
            }
            StreamType::Sse => {
                let mut out = self.push_sse(key)?;
                // An event the sender never ended with a blank line still counts.
                if let Some(line) = self.unended_line()? {
                    self.event_lines.push(line);
                }
                if !self.event_lines.is_empty() {
                    let lines = std::mem::take(&mut self.event_lines);
                    self.event(Event::parse(lines), key, &mut out)?;
                }
                self.flush_all(key, &mut out)?;
                Ok(out)
            }
        }
    }

    /// The decision, findings and labels; call after [`StreamCheck::finish`] or a deny.
    pub fn summary(self) -> Summary {
        let outcome = if self.denied.is_some() {
            Outcome::Deny
        } else if self.modified {
            Outcome::Modify
        } else {
            Outcome::Allow
        };
        Summary {
            outcome,
            reason: self.denied,
            findings: self.findings,
            labels: self.labels,
            failures: self.failures,
            would: self.would,
            chain_time: self.chain_time,
            plugin_time: self.plugin_time,
            restored: self.restored,
        }
    }

    /// Time since the stream began.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    // -----------------------------------------------------------------------------------------------------
    // Raw text.

    fn push_text(&mut self, key: &HashKey, last: bool) -> Result<Vec<u8>, StreamError> {
        let text = self.take_utf8(last)?;
        if self.channels.is_empty() {
            self.channels.push(Channel::new(String::new()));
        }
        self.channels[0].text.push_str(&text);
        let released = self.advance(0, last, key)?;
        Ok(released.text.into_bytes())
    }

    /// The pending bytes that form whole UTF-8 characters; at the end, all of them must.
    fn take_utf8(&mut self, last: bool) -> Result<String, StreamError> {
        let at = self.total - self.pending.len();
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_none() && !last => e.valid_up_to(),
            Err(e) => return Err(StreamError::InvalidUtf8(at + e.valid_up_to())),
        };
        let rest = self.pending.split_off(valid);
        let bytes = std::mem::replace(&mut self.pending, rest);
        String::from_utf8(bytes)
            .map_err(|e| StreamError::InvalidUtf8(at + e.utf8_error().valid_up_to()))
    }

    // -----------------------------------------------------------------------------------------------------
    // The hold-back.

    /// Runs the chain over channel `c`'s unreleased text (and its context) and releases what is safe; at
    /// the channel's end (`last`), everything.
    fn advance(&mut self, c: usize, last: bool, key: &HashKey) -> Result<Released, StreamError> {
        let settings = self.settings;
        let channel = &mut self.channels[c];
        let unreleased = channel.base + channel.text.len() - channel.released;
        if unreleased == 0 || (!last && unreleased <= settings.hold_back + settings.step) {
            return Ok(Released::default());
        }
        let request = check::text_request(
            &self.exchange,
            std::mem::take(&mut channel.text),
            channel.tool.clone(),
            channel.location.clone(),
        );
        let verdicts = chain::run(&self.bundle, &request, key);
        channel.text = request.text;
        let verdicts = verdicts?;
        self.failures.extend(verdicts.failures.iter().cloned());
        if let Some(would) = verdicts.would.clone() {
            would.fold_into(&mut self.would);
        }
        self.chain_time += verdicts.elapsed;
        self.plugin_time.add_all(&verdicts.plugin_time);
        for label in &verdicts.labels {
            chain::add_label(&mut self.labels, label.clone());
        }
        if verdicts.outcome == Outcome::Deny {
            let reason = verdicts.reason.clone().unwrap_or_default();
            let released = self.channels[c].released;
            self.record(&verdicts.findings, c, released..usize::MAX);
            self.denied = Some(reason.clone());
            return Ok(Released {
                denied: Some(reason),
                ..Released::default()
            });
        }

        let channel = &self.channels[c];
        let base = channel.base;
        let end = base + channel.text.len();
        // The cut: hold back the tail, never inside a finding the policy rewrites or a restored stand-in.
        let mut cut = if last {
            end
        } else {
            floor_char_boundary(&channel.text, end - settings.hold_back - base) + base
        };
        let rewritten: Vec<Range<usize>> = (verdicts.findings.iter())
            .filter(|f| f.action.modifies())
            .filter_map(|f| f.span.as_ref())
            .chain(&verdicts.restored)
            .map(|s| s.start + base..s.end + base)
            .collect();
        loop {
            let inside =
                (rewritten.iter()).find_map(|s| (s.start < cut && cut < s.end).then_some(s.start));
            match inside {
                Some(start) => cut = start,
                None => break,
            }
        }
        let cut = cut.max(channel.released);
        let from = verdicts
            .output_offset(channel.released - base)
            .unwrap_or_else(|end| end);
        let text = match verdicts.output_offset(cut - base) {
            Ok(to) if to >= from => verdicts.text[from..to].to_string(),
            // Inside a whole-text rewrite: nothing can be released before the channel ends.
            _ => String::new(),
        };
        let original = &channel.text[channel.released - base..cut - base];
        let changed = original != text;
        let (same_start, same_end) = unchanged_ends(original, &text);
        self.modified |= changed;
        let released = channel.released;
        self.record(&verdicts.findings, c, released..cut);
        self.restored += (verdicts.restored.iter())
            .filter(|s| (released..cut).contains(&(s.start + base)))
            .count();

        let channel = &mut self.channels[c];
        channel.released = cut;
        channel.output.push_str(&text);
        let tokens = channel.take_tokens(released + same_start..cut - same_end, cut, changed);
        let tokens = self.vet_alternatives(c, tokens, key)?;
        let channel = &mut self.channels[c];
        channel.released_tokens.extend(tokens.iter().cloned());
        // Keep only the context the next run needs.
        let keep_from = cut.saturating_sub(settings.context).max(channel.base);
        let drop = floor_char_boundary(&channel.text, keep_from - channel.base);
        channel.text.drain(..drop);
        channel.base += drop;
        Ok(Released {
            text,
            tokens,
            denied: None,
        })
    }

    /// Keeps the findings in `releasing` (absolute offsets), once each. Those beyond it are found again
    /// when their text is released; those before it are in released text seen again only as context
    /// (the context may begin inside a value, which then looks like a different, shorter finding).
    fn record(&mut self, findings: &[ReportedFinding], c: usize, releasing: Range<usize>) {
        let base = self.channels[c].base;
        for f in findings {
            let span = f.span.as_ref().map(|s| s.start + base..s.end + base);
            if span
                .as_ref()
                .is_some_and(|s| s.start >= releasing.end || s.end <= releasing.start)
            {
                continue;
            }
            let mut f = f.clone();
            f.span = span;
            self.keep(f);
        }
    }

    /// Keeps a finding (its span in stream offsets) unless the same plugin, rule, location and span was
    /// kept before.
    fn keep(&mut self, f: ReportedFinding) {
        let span = f.span.clone().unwrap_or(0..0);
        let key =
            (self.seen_hasher).hash_one((&f.plugin, &f.rule, &f.location, span.start, span.end));
        let new = if self.seen.len() < MAX_SEEN {
            self.seen.insert(key)
        } else {
            !self.seen.contains(&key)
        };
        if new {
            self.findings.push(f);
        }
    }

    /// Token log-probabilities name the alternatives the model weighed (`top_logprobs`), which are not in
    /// the text: they are checked together, and dropped from every released token if anything is found.
    fn vet_alternatives(
        &mut self,
        c: usize,
        mut tokens: Vec<Value>,
        key: &HashKey,
    ) -> Result<Vec<Value>, StreamError> {
        let alternatives: Vec<&str> = tokens
            .iter()
            .filter_map(|t| t.get("top_logprobs")?.as_array())
            .flatten()
            .filter_map(|a| a.get("token")?.as_str())
            .collect();
        if alternatives.is_empty() {
            return Ok(tokens);
        }
        let request = check::text_request(
            &self.exchange,
            alternatives.join(" "),
            None,
            format!("{}/top_logprobs", self.channels[c].location),
        );
        let verdicts = chain::run(&self.bundle, &request, key)?;
        self.chain_time += verdicts.elapsed;
        self.plugin_time.add_all(&verdicts.plugin_time);
        // Only what the policy acts on empties them: a finding in report mode, or one the policy only
        // reports, changes nothing.
        let acted_on = |f: &ReportedFinding| f.enforced && f.action != Action::Report;
        let clean = verdicts.outcome == Outcome::Allow
            && (verdicts.findings.iter()).all(|f| f.span.is_none() || !acted_on(f));
        if !clean {
            self.modified = true;
            for t in &mut tokens {
                if let Some(alternatives) = t.get_mut("top_logprobs") {
                    *alternatives = Value::Array(Vec::new());
                }
            }
        }
        Ok(tokens)
    }

    // -----------------------------------------------------------------------------------------------------
    // Server-sent events.

    fn push_sse(&mut self, key: &HashKey) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        let mut start = 0;
        while let Some((line, _)) = self.next_line(&mut start)? {
            if line.is_empty() {
                let lines = std::mem::take(&mut self.event_lines);
                if !lines.is_empty() {
                    self.event(Event::parse(lines), key, &mut out)?;
                    if self.denied() {
                        break;
                    }
                }
            } else {
                self.event_lines.push(line);
            }
        }
        self.consume(start);
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------------------
    // Newline-delimited JSON.

    /// Reads every whole line pending: each is an event, its line ending kept; blank lines pass as they
    /// came.
    fn push_lines(&mut self, key: &HashKey) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        let mut start = 0;
        while let Some((line, ending)) = self.next_line(&mut start)? {
            self.json_line(line, ending.to_string(), key, &mut out)?;
            if self.denied() {
                break;
            }
        }
        self.consume(start);
        Ok(out)
    }

    fn json_line(
        &mut self,
        line: String,
        ending: String,
        key: &HashKey,
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        if line.trim().is_empty() {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(ending.as_bytes());
            return Ok(());
        }
        let event = Event {
            framing: Framing::Line(ending),
            name: None,
            data: Some(line),
        };
        self.event(event, key, out)
    }

    // -----------------------------------------------------------------------------------------------------
    // AWS event-stream messages.

    /// Reads every whole message pending: each becomes an event, its headers kept, its payload the data.
    fn push_frames(&mut self, key: &HashKey) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(prelude) = self.pending.get(start..start + 4) {
            let at = self.total - self.pending.len() + start;
            let invalid = |reason: String| StreamError::InvalidFrame { at, reason };
            let length =
                u32::from_be_bytes([prelude[0], prelude[1], prelude[2], prelude[3]]) as usize;
            if length > self.settings.max_total {
                return Err(StreamError::TooLarge(self.settings.max_total));
            }
            let Some(frame) = self.pending.get(start..start + length) else {
                break;
            };
            let message = aws_smithy_eventstream::frame::read_message_from(frame)
                .map_err(|e| invalid(e.to_string()))?;
            start += length;
            let event = Event::from_message(message).map_err(|e| {
                invalid(format!(
                    "its payload is not UTF-8 (invalid byte at {})",
                    e.valid_up_to()
                ))
            })?;
            self.event(event, key, &mut out)?;
            if self.denied() {
                break;
            }
        }
        self.consume(start);
        Ok(out)
    }

    /// The next whole line of the pending bytes from `start` on (which moves past it), without its
    /// ending, and that ending (`\n` or `\r\n`). Lines are taken by offset and the buffer drained once
    /// by the caller: a big chunk of many lines stays linear.
    fn next_line(
        &mut self,
        start: &mut usize,
    ) -> Result<Option<(String, &'static str)>, StreamError> {
        let from = (*start).max(self.scanned);
        let Some(newline) = self.pending[from..].iter().position(|&b| b == b'\n') else {
            self.scanned = self.pending.len();
            return Ok(None);
        };
        let end = from + newline;
        let mut line = self.line(*start, end)?;
        *start = end + 1;
        let ending = if line.ends_with('\r') {
            line.pop();
            "\r\n"
        } else {
            "\n"
        };
        Ok(Some((line, ending)))
    }

    /// Drops the first `n` pending bytes, which have been read.
    fn consume(&mut self, n: usize) {
        self.pending.drain(..n);
        self.scanned = self.scanned.saturating_sub(n);
    }

    /// At the end of a stream, what is left pending: a last line its sender never ended.
    fn unended_line(&mut self) -> Result<Option<String>, StreamError> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        let line = self.line(0, self.pending.len())?;
        self.consume(self.pending.len());
        Ok(Some(line))
    }

    /// The pending bytes `start..end` as text.
    fn line(&self, start: usize, end: usize) -> Result<String, StreamError> {
        let at = self.total - self.pending.len() + start;
        std::str::from_utf8(&self.pending[start..end])
            .map(str::to_string)
            .map_err(|e| StreamError::InvalidUtf8(at + e.valid_up_to()))
    }

    /// One whole event.
    fn event(
        &mut self,
        mut event: Event,
        key: &HashKey,
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        self.check_lines(&mut event, key)?;
        if self.denied() {
            return Ok(());
        }
        let Some(data) = event.data.clone() else {
            // Comments and events without data carry no other text.
            event.render(None, out)?;
            return Ok(());
        };
        if data.trim() == "[DONE]" {
            self.flush_all(key, out)?;
            if !self.denied() {
                event.render(None, out)?;
            }
            return Ok(());
        }
        let Ok(value) = crate::payload::parse_json(&data) else {
            // Not JSON (or JSON with a key twice, which could hide a copy): the event's data is itself the
            // text, one channel for all such events.
            let c = self.channel("")?;
            self.channels[c].template = Some(Template {
                event: Arc::new(EventTemplate {
                    event: event.clone(),
                    held: Vec::new(),
                }),
                pointer: None,
                tokens: None,
            });
            return self.delta(c, &data, &event, key, out);
        };
        let reading = read_event(event.name.as_deref(), &value);
        for (location, tool) in &reading.tools {
            let c = self.channel(location)?;
            self.channels[c].tool = Some(tool.clone());
        }
        let ending = self.matching(&reading.ends);
        let delta_channels: Vec<usize> = reading
            .deltas
            .iter()
            .map(|d| self.channel(&d.location))
            .collect::<Result<_, _>>()?;
        // Channels this event ends, other than its own deltas: their rest goes out before it.
        let others: Vec<usize> = ending
            .iter()
            .copied()
            .filter(|c| !delta_channels.contains(c))
            .collect();
        self.flush(&others, key, out)?;
        if self.denied() {
            return Ok(());
        }

        // The event without its fragments is checked first, so nothing in it goes out unchecked; whole
        // texts it repeats take their channel's released text. Its strings seen before need no check.
        let repeats = self.repeats(&reading);
        let mut rest = replace_json_values(&data, &repeats);
        let held: Vec<(String, &'static str)> = (reading.deltas.iter())
            .map(|d| (d.pointer.clone(), "\"\""))
            .chain(reading.tokens.iter().map(|t| (t.pointer.clone(), "[]")))
            .collect();
        let strings = strings_outside(&value, held.iter().map(|(p, _)| p.as_str()));
        if !repeats.is_empty() || strings.iter().any(|s| !self.clean.contains(*s)) {
            let blanked = replace_json_values(&rest, &held);
            let checked = check::run(
                &self.bundle,
                ContentType::Json,
                blanked,
                &self.exchange,
                key,
            )?;
            let Some((content, changed)) = self.absorb(checked) else {
                return Ok(());
            };
            if !changed {
                self.remember(&strings);
            }
            rest = content;
        }

        // Each fragment becomes what its channel releases now, and each channel's token log-probabilities
        // the tokens of that text.
        let template = Arc::new(EventTemplate {
            event: event.with_data(rest),
            held,
        });
        let mut released: Vec<(String, String)> = Vec::new();
        let mut released_tokens: Vec<(usize, Vec<Value>)> = Vec::new();
        for (d, &c) in reading.deltas.iter().zip(&delta_channels) {
            self.channels[c].text.push_str(&d.text);
            let token_pointer = reading.tokens_for(&d.location).map(|t| {
                self.channels[c].queue_tokens(&d.text, &t.entries);
                t.pointer.clone()
            });
            self.channels[c].template = Some(Template {
                event: template.clone(),
                pointer: Some(d.pointer.clone()),
                tokens: token_pointer,
            });
            let now = self.advance(c, ending.contains(&c), key)?;
            if now.denied.is_some() {
                return Ok(());
            }
            released.push((d.pointer.clone(), payload::json_string(&now.text)));
            released_tokens.push((c, now.tokens));
        }
        for t in &reading.tokens {
            let c = self.channel(&t.location)?;
            if !reading.deltas.iter().any(|d| d.location == t.location) {
                // Tokens with no text in this event: they wait in their channel all the same.
                self.channels[c].queue_tokens("", &t.entries);
            }
            let tokens = released_tokens
                .iter()
                .find(|(rc, _)| *rc == c)
                .map_or(Value::Array(Vec::new()), |(_, t)| Value::Array(t.clone()));
            released.push((t.pointer.clone(), tokens.to_string()));
        }
        let data = template.event.data.as_deref().unwrap_or_default();
        template
            .event
            .render(Some(&replace_json_values(data, &released)), out)
    }

    /// Lines of an event other than its data (`id:`, comments, fields it does not know) are text too:
    /// each one not seen before is checked, and changed or refused like any other.
    fn check_lines(&mut self, event: &mut Event, key: &HashKey) -> Result<(), StreamError> {
        match &mut event.framing {
            Framing::Sse(other) => {
                for line in other.iter_mut() {
                    let (field, value) = field_of(line);
                    let inert = match field {
                        "event" => shapes::is_structural_word("type", value),
                        "retry" => value.bytes().all(|b| b.is_ascii_digit()),
                        _ => line.is_empty(),
                    };
                    if inert {
                        continue;
                    }
                    match self.check_whole(line.clone(), key)? {
                        Whole::Denied => return Ok(()),
                        // A line stays one line.
                        Whole::Changed(content) => *line = content.replace('\n', " "),
                        Whole::Clean => {}
                    }
                }
            }
            // An event-stream message's headers (`:event-type`, `:content-type`, any other) likewise.
            Framing::Message(headers) => {
                for header in headers.iter_mut() {
                    let (text, bytes) = match header.value() {
                        HeaderValue::String(s) => (s.as_str().to_string(), false),
                        HeaderValue::ByteArray(b) => match std::str::from_utf8(b) {
                            Ok(text) => (text.to_string(), true),
                            Err(_) => {
                                return Err(StreamError::InvalidFrame {
                                    at: self.total - self.pending.len(),
                                    reason: format!(
                                        "header {:?} holds bytes that are not text, which Palisade \
                                         cannot read",
                                        header.name().as_str()
                                    ),
                                })
                            }
                        },
                        _ => continue,
                    };
                    match self.check_whole(text, key)? {
                        Whole::Denied => return Ok(()),
                        Whole::Changed(content) => {
                            let value = if bytes {
                                HeaderValue::ByteArray(content.into_bytes().into())
                            } else {
                                HeaderValue::String(content.into())
                            };
                            *header = Header::new(header.name().clone(), value);
                        }
                        Whole::Clean => {}
                    }
                }
            }
            Framing::Line(_) => {}
        }
        Ok(())
    }

    /// Checks a text beside an event's data (a line, a header) unless it was found clean before.
    fn check_whole(&mut self, text: String, key: &HashKey) -> Result<Whole, StreamError> {
        if self.clean.contains(text.as_str()) {
            return Ok(Whole::Clean);
        }
        let checked = check::run(
            &self.bundle,
            ContentType::Text,
            text.clone(),
            &self.exchange,
            key,
        )?;
        Ok(match self.absorb(checked) {
            None => Whole::Denied,
            Some((content, true)) => Whole::Changed(content),
            Some((_, false)) => {
                self.remember(&[text.as_str()]);
                Whole::Clean
            }
        })
    }

    /// Takes in a check of something whole (an event's other strings, a line): its findings, labels and
    /// times. Returns the content to pass on and whether the policy changed it, or `None` on a deny (the
    /// stream has ended).
    fn absorb(&mut self, checked: check::Checked) -> Option<(String, bool)> {
        self.restored += checked.restored;
        self.failures.extend(checked.failures);
        self.chain_time += checked.elapsed;
        self.plugin_time.add_all(&checked.plugin_time);
        for label in checked.labels {
            chain::add_label(&mut self.labels, label);
        }
        self.findings.add_dropped(checked.findings.dropped());
        for f in checked.findings {
            self.keep(f);
        }
        if let Some(would) = checked.would {
            would.fold_into(&mut self.would);
        }
        match checked.outcome {
            Outcome::Deny => {
                self.denied = checked.reason;
                None
            }
            Outcome::Modify => {
                self.modified = true;
                Some((checked.content, true))
            }
            Outcome::Allow => Some((checked.content, false)),
        }
    }

    /// Strings checked and found clean: ids, model names and the like repeat in every event and are
    /// checked once. Short ones only, and not without end.
    fn remember(&mut self, strings: &[&str]) {
        for s in strings {
            if s.len() <= 256 && self.clean.len() < 4096 {
                self.clean.insert(s.to_string());
            }
        }
    }

    /// The whole texts (and whole log-probability lists) `reading` repeats of channels this stream has:
    /// (pointer, what was released there, as JSON).
    fn repeats(&self, reading: &Reading) -> Vec<(String, String)> {
        let find = |location: &str| self.channels.iter().find(|ch| ch.location == location);
        let texts = reading.repeats.iter().filter_map(|(pointer, location)| {
            find(location).map(|ch| (pointer.clone(), payload::json_string(&ch.output)))
        });
        let tokens = reading
            .repeated_tokens
            .iter()
            .filter_map(|(pointer, location)| {
                let list = |ch: &Channel| Value::Array(ch.released_tokens.clone()).to_string();
                find(location).map(|ch| (pointer.clone(), list(ch)))
            });
        texts.chain(tokens).collect()
    }

    /// A text delta that is the whole data of a non-JSON event.
    fn delta(
        &mut self,
        c: usize,
        text: &str,
        event: &Event,
        key: &HashKey,
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        self.channels[c].text.push_str(text);
        let released = self.advance(c, false, key)?;
        if released.denied.is_none() {
            event.render(Some(&released.text), out)?;
        }
        Ok(())
    }

    /// Releases the rest of `channels`, each in a copy of its last delta event.
    fn flush(
        &mut self,
        channels: &[usize],
        key: &HashKey,
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        for &c in channels {
            let released = self.advance(c, true, key)?;
            if released.denied.is_some() {
                return Ok(());
            }
            if released.text.is_empty() && released.tokens.is_empty() {
                continue;
            }
            match &self.channels[c].template {
                Some(Template {
                    event: template,
                    pointer: Some(pointer),
                    tokens,
                }) => {
                    // Its own text and tokens go in; the other fragments of that event went out with it.
                    let mut with: Vec<(String, String)> = (template.held.iter())
                        .map(|(at, empty)| (at.clone(), empty.to_string()))
                        .collect();
                    for (at, value) in with.iter_mut() {
                        if at == pointer {
                            *value = payload::json_string(&released.text);
                        } else if Some(&*at) == tokens.as_ref() {
                            *value = Value::Array(released.tokens.clone()).to_string();
                        }
                    }
                    let data = template.event.data.as_deref().unwrap_or_default();
                    template
                        .event
                        .render(Some(&replace_json_values(data, &with)), out)?;
                }
                Some(Template {
                    event: template,
                    pointer: None,
                    ..
                }) => template.event.render(Some(&released.text), out)?,
                None => {}
            }
        }
        Ok(())
    }

    /// Releases the rest of every channel, unless the stream was denied.
    fn flush_all(&mut self, key: &HashKey, out: &mut Vec<u8>) -> Result<(), StreamError> {
        if self.denied() {
            return Ok(());
        }
        let all: Vec<usize> = (0..self.channels.len()).collect();
        self.flush(&all, key, out)
    }

    /// The index of the channel at `location`, created if new: at most [`MAX_CHANNELS`] of them, since each
    /// is held back and checked apart (an answer of `n` choices has `n`).
    fn channel(&mut self, location: &str) -> Result<usize, StreamError> {
        if let Some(&c) = self.channel_at.get(location) {
            return Ok(c);
        }
        if self.channels.len() >= MAX_CHANNELS {
            return Err(StreamError::TooManyTexts(MAX_CHANNELS));
        }
        self.channels.push(Channel::new(location.to_string()));
        self.channel_at
            .insert(location.to_string(), self.channels.len() - 1);
        Ok(self.channels.len() - 1)
    }

    /// Channels whose location is, or is under, one of `prefixes` ("" is every channel).
    fn matching(&self, prefixes: &[String]) -> Vec<usize> {
        (0..self.channels.len())
            .filter(|&c| {
                let at = &self.channels[c].location;
                prefixes.iter().any(|p| {
                    p.is_empty()
                        || at == p
                        || (at.starts_with(p.as_str()) && at[p.len()..].starts_with('/'))
                })
            })
            .collect()
    }
}

impl Channel {
    fn new(location: String) -> Channel {
        Channel {
            location,
            tool: None,
            text: String::new(),
            base: 0,
            released: 0,
            output: String::new(),
            template: None,
            tokens: VecDeque::new(),
            tokens_from: 0,
            changed_until: 0,
            released_tokens: Vec::new(),
        }
    }

    /// Queues the log-probabilities of `text`, just appended to the channel, each token ending where its
    /// spelling ends. Tokens that do not spell the text exactly (their `bytes` included) cannot be tied to
    /// what the policy checked, and are dropped.
    fn queue_tokens(&mut self, text: &str, entries: &[Value]) {
        let spelled: Option<Vec<&str>> = entries
            .iter()
            .map(|e| {
                let token = e.get("token")?.as_str()?;
                let bytes_match = match e.get("bytes") {
                    None | Some(Value::Null) => true,
                    Some(bytes) => *bytes == serde_json::json!(token.as_bytes()),
                };
                bytes_match.then_some(token)
            })
            .collect();
        let Some(spelled) = spelled.filter(|s| s.concat() == text) else {
            return;
        };
        let mut at = self.base + self.text.len() - text.len();
        for (entry, token) in entries.iter().zip(spelled) {
            at += token.len();
            self.tokens.push_back((at, entry.clone()));
        }
    }

    /// The queued tokens that end by `cut`, now released: those whose text went out unchanged, in order;
    /// the rest are dropped. `changed` is the part of the release the policy changed (empty if none).
    fn take_tokens(&mut self, changed: Range<usize>, cut: usize, any: bool) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some((end, entry)) = self.tokens.pop_front() {
            if end > cut {
                self.tokens.push_front((end, entry));
                break;
            }
            let start = self.tokens_from;
            let untouched = !any || end <= changed.start || start >= changed.end;
            if untouched && start >= self.changed_until {
                out.push(entry);
            }
            self.tokens_from = end;
        }
        if any {
            // A token still queued that began before the change's end spells some of it.
            self.changed_until = changed.end;
        }
        out
    }
}

/// How many bytes at the start and at the end of `a` and `b` are the same (not overlapping, on character
/// boundaries): a redaction changes what lies between.
fn unchanged_ends(a: &str, b: &str) -> (usize, usize) {
    let start: usize = a
        .chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum();
    let room = a.len().min(b.len()) - start;
    let end: usize = a[start..]
        .chars()
        .rev()
        .zip(b[start..].chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .scan(0, |total, n| {
            *total += n;
            Some(*total)
        })
        .take_while(|total| *total <= room)
        .last()
        .unwrap_or(0);
    (start, end)
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `data` with the value at each pointer replaced by its JSON text, every other byte kept; pointers not in
/// `data` are passed over. One scan, however many values.
fn replace_json_values<P: AsRef<str>, W: AsRef<str>>(data: &str, with: &[(P, W)]) -> String {
    if with.is_empty() {
        return data.to_string();
    }
    let pointers: Vec<&str> = with.iter().map(|(p, _)| p.as_ref()).collect();
    let mut spans: Vec<(Range<usize>, &str)> = payload::locate(data, &pointers)
        .into_iter()
        .zip(with)
        .filter_map(|(range, (_, w))| Some((range?, w.as_ref())))
        .collect();
    spans.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(data.len());
    let mut at = 0;
    for (range, w) in spans {
        // Nested pointers (one inside another's value) cannot both be replaced; the outer one wins.
        if range.start < at {
            continue;
        }
        out.push_str(&data[at..range.start]);
        out.push_str(w);
        at = range.end;
    }
    out.push_str(&data[at..]);
    out
}

/// The last delta event of a channel, where in its data the channel's text goes (`None`: the data is the
/// text) and where its token log-probabilities go: text released when the channel ends goes out in a copy.
#[derive(Clone, Debug)]
struct Template {
    event: Arc<EventTemplate>,
    pointer: Option<String>,
    tokens: Option<String>,
}

/// A delta event as checked, and the pointers of the fragments and tokens it held, with what each is when
/// empty: a copy of it carries one channel's text and nothing of the others'.
#[derive(Debug)]
struct EventTemplate {
    event: Event,
    held: Vec<(String, &'static str)>,
}

/// What a check of one text beside an event's data found.
enum Whole {
    Clean,
    Changed(String),
    /// The stream has ended.
    Denied,
}

/// One event — a server-sent event, an event-stream message or a line of JSON — with its name and data.
#[derive(Clone, Debug)]
struct Event {
    framing: Framing,
    name: Option<String>,
    data: Option<String>,
}

/// What an event carries besides its data, kept as it came.
#[derive(Clone, Debug)]
enum Framing {
    /// SSE lines other than `data:` (`event:`, `id:`, `retry:`, comments).
    Sse(Vec<String>),
    /// An event-stream message's headers.
    Message(Vec<Header>),
    /// A line of newline-delimited JSON: its line ending.
    Line(String),
}

/// An event line's field and value (`data: x` → `("data", "x")`; a comment's field is empty).
fn field_of(line: &str) -> (&str, &str) {
    match line.split_once(':') {
        Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
        None => (line, ""),
    }
}

impl Event {
    fn parse(lines: Vec<String>) -> Event {
        let mut other = Vec::new();
        let mut name = None;
        let mut data: Option<String> = None;
        for line in lines {
            let (field, value) = field_of(&line);
            match field {
                "data" => match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => data = Some(value.to_string()),
                },
                "event" => {
                    name = Some(value.to_string());
                    other.push(line);
                }
                _ => other.push(line),
            }
        }
        Event {
            framing: Framing::Sse(other),
            name,
            data,
        }
    }

    /// An event-stream message as an event: named by its `:event-type` header, its payload the data.
    fn from_message(message: Message) -> Result<Event, std::str::Utf8Error> {
        let data = std::str::from_utf8(message.payload())?.to_string();
        let name = (message.headers().iter())
            .find(|h| h.name().as_str() == ":event-type")
            .and_then(|h| h.value().as_string().ok())
            .map(|v| v.as_str().to_string());
        Ok(Event {
            framing: Framing::Message(message.headers().to_vec()),
            name,
            data: Some(data),
        })
    }

    fn with_data(&self, data: String) -> Event {
        Event {
            data: Some(data),
            ..self.clone()
        }
    }

    /// Writes the event, its data replaced by `data` when given. Only an event-stream message can fail to
    /// be written: a header value or payload its redaction made longer than the format allows.
    fn render(&self, data: Option<&str>, out: &mut Vec<u8>) -> Result<(), StreamError> {
        let data = data.or(self.data.as_deref());
        let other = match &self.framing {
            Framing::Sse(other) => other,
            Framing::Line(ending) => {
                out.extend_from_slice(data.unwrap_or_default().as_bytes());
                out.extend_from_slice(ending.as_bytes());
                return Ok(());
            }
            Framing::Message(headers) => {
                let payload = data.unwrap_or_default().as_bytes().to_vec();
                let message = Message::new_from_parts(headers.clone(), payload);
                let at = out.len();
                return aws_smithy_eventstream::frame::write_message_to(&message, out).map_err(
                    |e| StreamError::InvalidFrame {
                        at,
                        reason: format!("a checked message could not be written back: {e}"),
                    },
                );
            }
        };
        for line in other {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        if let Some(data) = data {
            for line in data.split('\n') {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }
        out.push(b'\n');
        Ok(())
    }
}

/// The strings of `v`, and its keys that are not plain names, outside the subtrees at `skip` (JSON
/// pointers).
fn strings_outside<'v, 'p>(v: &'v Value, skip: impl Iterator<Item = &'p str>) -> Vec<&'v str> {
    fn walk<'v>(v: &'v Value, skip: &[&Value], out: &mut Vec<&'v str>) {
        if skip.iter().any(|s| std::ptr::eq(*s, v)) {
            return;
        }
        match v {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.iter().for_each(|item| walk(item, skip, out)),
            // Keys that are not plain names are read as the payload adapter reads them.
            Value::Object(fields) => fields.iter().for_each(|(key, item)| {
                if !shapes::is_plain_key(key) {
                    out.push(key);
                }
                walk(item, skip, out)
            }),
            _ => {}
        }
    }
    let skip: Vec<&Value> = skip.filter_map(|p| v.pointer(p)).collect();
    let mut out = Vec::new();
    walk(v, &skip, &mut out);
    out
}
