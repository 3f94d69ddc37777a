//! Streamed model output, checked while it flows: raw text chunks, or server-sent events in OpenAI's (Chat
//! Completions, Responses) and Anthropic's streaming formats.
//!
//! Each stream of text — the raw stream, or in SSE one per choice, content block, output item or tool
//! call — is a [`Channel`]. After each chunk the chain runs over the channel's unreleased text plus some
//! already-released context before it (for cue words), and text is released only up to a cut that
//! - leaves the last `hold_back` bytes unreleased, so an entity of up to `hold_back` bytes still arriving
//!   cannot have begun before the cut, and
//! - never falls inside a finding the policy rewrites, so what is released is already redacted.
//!
//! When a channel ends, the rest is checked and released. A deny ends the stream; what it held back is
//! never released. Findings are reported once, when the text they cover is released.
//!
//! In SSE, delta events are passed on with their text replaced by what is released for their channel (which
//! may be empty while text is held back); text released when a channel ends goes out in a copy of its last
//! delta event, before the event that ended it. Events that repeat whole texts (OpenAI Responses' `*.done`
//! and `response.completed`) get the channel's released text, and every other JSON event is checked whole
//! as a JSON payload (every string), so no text in a stream escapes the chain.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bundle::Bundle;
use crate::chain::{
    self, Outcome, PluginFailure, PluginTimes, ReportedFinding, Request, WouldHave,
};
use crate::check;
use crate::payload::{self, ContentType};
use crate::policy::HashKey;

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
}

impl StreamType {
    /// Reads a stream's `content_type`.
    pub fn parse(value: &str) -> Result<StreamType, StreamError> {
        let media = value.split(';').next().unwrap_or("").trim();
        if media.is_empty() || media.eq_ignore_ascii_case("text/plain") {
            Ok(StreamType::Text)
        } else if media.eq_ignore_ascii_case("text/event-stream") {
            Ok(StreamType::Sse)
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
        "content_type {0:?} is not supported for streams; use text/plain or text/event-stream"
    )]
    UnsupportedType(String),
    /// The bytes are not UTF-8.
    #[error("the stream is not valid UTF-8: invalid byte at offset {0}")]
    InvalidUtf8(usize),
    /// The stream carried more than the limit.
    #[error("the stream is over the limit of {0} bytes (raise it with --max-payload / PALISADE_MAX_PAYLOAD)")]
    TooLarge(usize),
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
}

/// What a run of the chain over a channel released.
struct Released {
    text: String,
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
    findings: Vec<ReportedFinding>,
    seen: HashSet<(String, String, String, usize, usize)>,
    labels: Vec<String>,
    failures: Vec<PluginFailure>,
    modified: bool,
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
    /// Every finding, once each.
    pub findings: Vec<ReportedFinding>,
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
            findings: Vec::new(),
            seen: HashSet::new(),
            labels,
            failures: Vec::new(),
            modified: false,
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
        }
    }

    /// The stream has ended: checks and releases everything still held back.
    pub fn finish(&mut self, key: &HashKey) -> Result<Vec<u8>, StreamError> {
        if self.denied() {
            return Ok(Vec::new());
        }
        match self.kind {
            StreamType::Text => self.push_text(key, true),
            StreamType::Sse => {
                let mut out = self.push_sse(key)?;
                // An event the sender never ended with a blank line still counts.
                if !self.pending.is_empty() {
                    let line = self.line(0, self.pending.len())?;
                    self.pending.clear();
                    self.event_lines.push(line);
                }
                if !self.event_lines.is_empty() {
                    let lines = std::mem::take(&mut self.event_lines);
                    self.event(lines, key, &mut out)?;
                }
                if !self.denied() {
                    let all: Vec<usize> = (0..self.channels.len()).collect();
                    self.flush(&all, key, &mut out)?;
                }
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
            return Ok(Released {
                text: String::new(),
                denied: None,
            });
        }
        let request = Request {
            direction: self.exchange.direction,
            text: std::mem::take(&mut channel.text),
            principal: self.exchange.principal.clone(),
            destination: self.exchange.destination.clone(),
            tool: channel.tool.clone().or_else(|| self.exchange.tool.clone()),
            labels: self.exchange.labels.clone(),
            metadata: self.exchange.metadata.clone(),
            location: channel.location.clone(),
            deadline: self.exchange.deadline,
        };
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
                text: String::new(),
                denied: Some(reason),
            });
        }

        let channel = &self.channels[c];
        let base = channel.base;
        let end = base + channel.text.len();
        // The cut: hold back the tail, never inside a finding the policy rewrites.
        let mut cut = if last {
            end
        } else {
            floor_char_boundary(&channel.text, end - settings.hold_back - base) + base
        };
        loop {
            let inside = verdicts.findings.iter().find_map(|f| {
                let s = f.span.as_ref()?;
                let (start, stop) = (s.start + base, s.end + base);
                (f.action.modifies() && start < cut && cut < stop).then_some(start)
            });
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
        self.modified |= channel.text[channel.released - base..cut - base] != text;
        let released = channel.released;
        self.record(&verdicts.findings, c, released..cut);

        let channel = &mut self.channels[c];
        channel.released = cut;
        channel.output.push_str(&text);
        // Keep only the context the next run needs.
        let keep_from = cut.saturating_sub(settings.context).max(channel.base);
        let drop = floor_char_boundary(&channel.text, keep_from - channel.base);
        channel.text.drain(..drop);
        channel.base += drop;
        Ok(Released { text, denied: None })
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
            let (start, end) = span.as_ref().map_or((0, 0), |s| (s.start, s.end));
            let key = (
                f.plugin.clone(),
                f.rule.clone(),
                f.location.clone(),
                start,
                end,
            );
            if self.seen.insert(key) {
                let mut f = f.clone();
                f.span = span;
                self.findings.push(f);
            }
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // Server-sent events.

    fn push_sse(&mut self, key: &HashKey) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        // Lines are taken by offset and the buffer drained once: a big chunk of many lines stays linear.
        let mut start = 0;
        while let Some(newline) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + newline;
            let mut line = self.line(start, end)?;
            start = end + 1;
            if line.ends_with('\r') {
                line.pop();
            }
            if line.is_empty() {
                let lines = std::mem::take(&mut self.event_lines);
                if !lines.is_empty() {
                    self.event(lines, key, &mut out)?;
                    if self.denied() {
                        break;
                    }
                }
            } else {
                self.event_lines.push(line);
            }
        }
        self.pending.drain(..start);
        Ok(out)
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
        lines: Vec<String>,
        key: &HashKey,
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        let event = Event::parse(lines);
        let Some(data) = event.data.clone() else {
            // Comments and events without data carry no text.
            event.render(None, out);
            return Ok(());
        };
        if data.trim() == "[DONE]" {
            let all: Vec<usize> = (0..self.channels.len()).collect();
            self.flush(&all, key, out)?;
            if !self.denied() {
                event.render(None, out);
            }
            return Ok(());
        }
        let Ok(value) = crate::payload::parse_json(&data) else {
            // Not JSON (or JSON with a key twice, which could hide a copy): the event's data is itself the
            // text, one channel for all such events.
            let c = self.channel("");
            self.channels[c].template = Some(Template {
                event: event.clone(),
                pointer: None,
            });
            return self.delta(c, &data, &event, key, out);
        };
        let reading = read_event(event.name.as_deref(), &value);
        for (location, tool) in &reading.tools {
            let c = self.channel(location);
            self.channels[c].tool = Some(tool.clone());
        }
        let ending = self.matching(&reading.ends);
        let delta_channels: Vec<usize> = reading
            .deltas
            .iter()
            .map(|d| self.channel(&d.location))
            .collect();
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
        if reading.deltas.is_empty() {
            return self.whole_event(event, data, &reading, key, out);
        }
        // A delta event: each delta's text becomes what its channel releases now.
        let mut data = data;
        for (d, &c) in reading.deltas.iter().zip(&delta_channels) {
            let channel = &mut self.channels[c];
            channel.text.push_str(&d.text);
            channel.template = Some(Template {
                event: event.clone(),
                pointer: Some(d.pointer.clone()),
            });
            let released = self.advance(c, ending.contains(&c), key)?;
            if released.denied.is_some() {
                return Ok(());
            }
            data = replace_json_value(&data, &d.pointer, &payload::json_string(&released.text))
                .unwrap_or(data);
        }
        event.with_data(data).render(None, out);
        Ok(())
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
            event.render(Some(&released.text), out);
        }
        Ok(())
    }

    /// An event with no delta: whole texts it repeats take their channel's released text, and the rest of
    /// it is checked as JSON.
    fn whole_event(
        &mut self,
        event: Event,
        mut data: String,
        reading: &Reading,
        key: &HashKey,
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        for (pointer, location) in &reading.repeats {
            if let Some(c) = self.channels.iter().position(|ch| &ch.location == location) {
                let text = payload::json_string(&self.channels[c].output);
                data = replace_json_value(&data, pointer, &text).unwrap_or(data);
            }
        }
        let checked = check::run(&self.bundle, ContentType::Json, data, &self.exchange, key)?;
        self.failures.extend(checked.failures);
        self.chain_time += checked.elapsed;
        self.plugin_time.add_all(&checked.plugin_time);
        for label in checked.labels {
            chain::add_label(&mut self.labels, label);
        }
        for f in checked.findings {
            let span = f.span.clone().unwrap_or(0..0);
            if self.seen.insert((
                f.plugin.clone(),
                f.rule.clone(),
                f.location.clone(),
                span.start,
                span.end,
            )) {
                self.findings.push(f);
            }
        }
        if let Some(would) = checked.would {
            would.fold_into(&mut self.would);
        }
        match checked.outcome {
            Outcome::Deny => self.denied = checked.reason,
            Outcome::Modify => {
                self.modified = true;
                event.with_data(checked.content).render(None, out);
            }
            Outcome::Allow => event.with_data(checked.content).render(None, out),
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
            if released.text.is_empty() {
                continue;
            }
            match &self.channels[c].template {
                Some(Template {
                    event,
                    pointer: Some(pointer),
                }) => {
                    let data = event.data.clone().unwrap_or_default();
                    let data =
                        replace_json_value(&data, pointer, &payload::json_string(&released.text))
                            .unwrap_or(data);
                    event.with_data(data).render(None, out);
                }
                Some(Template {
                    event,
                    pointer: None,
                }) => event.render(Some(&released.text), out),
                None => {}
            }
        }
        Ok(())
    }

    /// The index of the channel at `location`, created if new.
    fn channel(&mut self, location: &str) -> usize {
        match self.channels.iter().position(|c| c.location == location) {
            Some(c) => c,
            None => {
                self.channels.push(Channel::new(location.to_string()));
                self.channels.len() - 1
            }
        }
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
        }
    }
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `data` with the value at `pointer` replaced by `with` (JSON text), every other byte kept.
fn replace_json_value(data: &str, pointer: &str, with: &str) -> Option<String> {
    let range = payload::locate(data, &[pointer]).pop()??;
    Some(format!(
        "{}{with}{}",
        &data[..range.start],
        &data[range.end..]
    ))
}

/// The last delta event of a channel, and where in its data the text goes (`None`: the data is the text).
#[derive(Clone, Debug)]
struct Template {
    event: Event,
    pointer: Option<String>,
}

/// One server-sent event: its lines as received, its name and its data.
#[derive(Clone, Debug)]
struct Event {
    /// Lines other than `data:`, kept as they came (`event:`, `id:`, `retry:`, comments).
    other: Vec<String>,
    name: Option<String>,
    data: Option<String>,
}

impl Event {
    fn parse(lines: Vec<String>) -> Event {
        let mut other = Vec::new();
        let mut name = None;
        let mut data: Option<String> = None;
        for line in lines {
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_str(), ""),
            };
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
        Event { other, name, data }
    }

    fn with_data(&self, data: String) -> Event {
        Event {
            data: Some(data),
            ..self.clone()
        }
    }

    /// Writes the event, its data replaced by `data` when given.
    fn render(&self, data: Option<&str>, out: &mut Vec<u8>) {
        for line in &self.other {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        if let Some(data) = data.or(self.data.as_deref()) {
            for line in data.split('\n') {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }
        out.push(b'\n');
    }
}

/// A text delta in an event: which channel, where in the event's data, and the text.
struct Delta {
    location: String,
    pointer: String,
    text: String,
}

/// What one JSON event means for the channels.
#[derive(Default)]
struct Reading {
    deltas: Vec<Delta>,
    /// Channel locations (or prefixes) this event ends.
    ends: Vec<String>,
    /// (pointer in this event, channel location): whole texts this event repeats.
    repeats: Vec<(String, String)>,
    /// (channel location prefix, tool name) learnt from this event.
    tools: Vec<(String, String)>,
}

/// Reads an event of OpenAI Chat Completions, OpenAI Responses or Anthropic Messages streaming.
fn read_event(name: Option<&str>, v: &Value) -> Reading {
    let mut r = Reading::default();
    let str_at = |p: &str| v.pointer(p).and_then(Value::as_str);
    let num = |p: &str| v.pointer(p).and_then(Value::as_u64);
    let kind = str_at("/type").or(name).unwrap_or("");

    // OpenAI Chat Completions chunks.
    if let Some(choices) = v.get("choices").and_then(Value::as_array) {
        for (pos, choice) in choices.iter().enumerate() {
            let index = choice
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(pos as u64);
            let at = format!("/choices/{index}/delta");
            let ptr = format!("/choices/{pos}/delta");
            for field in ["content", "refusal", "reasoning_content"] {
                if let Some(Value::String(text)) = choice.pointer(&format!("/delta/{field}")) {
                    r.deltas.push(Delta {
                        location: format!("{at}/{field}"),
                        pointer: format!("{ptr}/{field}"),
                        text: text.clone(),
                    });
                }
            }
            if let Some(calls) = choice
                .pointer("/delta/tool_calls")
                .and_then(Value::as_array)
            {
                for (j, call) in calls.iter().enumerate() {
                    let ti = call
                        .get("index")
                        .and_then(Value::as_u64)
                        .unwrap_or(j as u64);
                    let location = format!("{at}/tool_calls/{ti}/function/arguments");
                    if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                        r.tools.push((location.clone(), name.to_string()));
                    }
                    if let Some(Value::String(text)) = call.pointer("/function/arguments") {
                        r.deltas.push(Delta {
                            location,
                            pointer: format!("{ptr}/tool_calls/{j}/function/arguments"),
                            text: text.clone(),
                        });
                    }
                }
            }
            if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
                r.ends.push(format!("/choices/{index}"));
            }
        }
        return r;
    }

    match kind {
        // Anthropic Messages.
        "content_block_start" => {
            if let (Some(i), Some(name)) = (num("/index"), str_at("/content_block/name")) {
                r.tools
                    .push((format!("/content/{i}/input"), name.to_string()));
            }
        }
        "content_block_delta" => {
            let i = num("/index").unwrap_or(0);
            for (field, target) in [
                ("text", "text"),
                ("partial_json", "input"),
                ("thinking", "thinking"),
            ] {
                if let Some(text) = str_at(&format!("/delta/{field}")) {
                    r.deltas.push(Delta {
                        location: format!("/content/{i}/{target}"),
                        pointer: format!("/delta/{field}"),
                        text: text.to_string(),
                    });
                }
            }
        }
        "content_block_stop" => r
            .ends
            .push(format!("/content/{}", num("/index").unwrap_or(0))),
        "message_delta" | "message_stop" => r.ends.push(String::new()),

        // OpenAI Responses.
        "response.output_item.added" => {
            if let (Some(i), Some(name)) = (num("/output_index"), str_at("/item/name")) {
                r.tools
                    .push((format!("/output/{i}/arguments"), name.to_string()));
            }
        }
        _ if kind.starts_with("response.") => {
            let (oi, ci) = (
                num("/output_index").unwrap_or(0),
                num("/content_index").unwrap_or(0),
            );
            let si = num("/summary_index").unwrap_or(0);
            let location = match kind.trim_end_matches(".delta").trim_end_matches(".done") {
                "response.output_text" => format!("/output/{oi}/content/{ci}/text"),
                "response.refusal" => format!("/output/{oi}/content/{ci}/refusal"),
                "response.function_call_arguments" => format!("/output/{oi}/arguments"),
                "response.reasoning_summary_text" => format!("/output/{oi}/summary/{si}/text"),
                "response.content_part" => format!("/output/{oi}/content/{ci}"),
                "response.output_item" => format!("/output/{oi}"),
                _ => String::new(),
            };
            if kind.ends_with(".delta") && !location.is_empty() {
                if let Some(text) = str_at("/delta") {
                    r.deltas.push(Delta {
                        location,
                        pointer: "/delta".into(),
                        text: text.to_string(),
                    });
                }
            } else if kind.ends_with(".done") && !location.is_empty() {
                r.ends.push(location.clone());
                // The whole text again: `text`, `refusal` or `arguments`; or a part or item holding it.
                for field in ["text", "refusal", "arguments"] {
                    if str_at(&format!("/{field}")).is_some() {
                        r.repeats.push((format!("/{field}"), location.clone()));
                    }
                }
                if kind == "response.content_part.done" {
                    for field in ["text", "refusal"] {
                        r.repeats
                            .push((format!("/part/{field}"), format!("{location}/{field}")));
                    }
                }
                if kind == "response.output_item.done" {
                    r.repeats
                        .extend(item_repeats(v.get("item"), "/item", &location));
                }
            } else if matches!(
                kind,
                "response.completed" | "response.incomplete" | "response.failed"
            ) {
                r.ends.push(String::new());
                if let Some(output) = v.pointer("/response/output").and_then(Value::as_array) {
                    for (i, item) in output.iter().enumerate() {
                        r.repeats.extend(item_repeats(
                            Some(item),
                            &format!("/response/output/{i}"),
                            &format!("/output/{i}"),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    r
}

/// The whole texts an output item repeats: (pointer in the event, channel location).
fn item_repeats(item: Option<&Value>, pointer: &str, location: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(item) = item else { return out };
    if item.get("arguments").is_some() {
        out.push((
            format!("{pointer}/arguments"),
            format!("{location}/arguments"),
        ));
    }
    for (list, fields) in [
        ("content", &["text", "refusal"][..]),
        ("summary", &["text"][..]),
    ] {
        if let Some(parts) = item.get(list).and_then(Value::as_array) {
            for (i, _) in parts.iter().enumerate() {
                for field in fields {
                    out.push((
                        format!("{pointer}/{list}/{i}/{field}"),
                        format!("{location}/{list}/{i}/{field}"),
                    ));
                }
            }
        }
    }
    out
}
