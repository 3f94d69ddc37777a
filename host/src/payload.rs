//! Content-type adapters: from a payload as a gateway holds it to the texts the chain inspects, and back.
//!
//! A plain-text payload is one text at location `""`. A JSON body is read by its shape (see
//! [`crate::shapes`]: OpenAI, Anthropic, Gemini and Bedrock, requests and responses, streamed chunks
//! included), which names where each text sits: message contents and their parts, system prompts and
//! instructions, tool-call arguments and tool results (with the tool's name), refusals, thinking. The shape only labels:
//! every other string in the body is inspected too, so an unknown field, a new block type or a decoy key
//! (`"messages": []` added to a Responses body) changes locations and tool names, never what is read. The
//! only strings passed over are the values of structural keys (`type`, `role`, `object`, …) that are plain
//! lower-case words, which carry no data. Keys are read too, unless they are plain names (letters, `_`,
//! `-`): a key is never rewritten, so a body whose key the policy would change is denied. `logprobs` are read as the tokens they repeat, and dropped
//! (`null`) when anything in their choice or part is redacted, since they would spell out the value again.
//!
//! Redactions go back in place: the body is rebuilt by splicing each changed value over its own bytes, so
//! everything else — key order, whitespace, numbers of any precision — stays byte for byte as it came.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use serde_json::Value;

pub use crate::shapes::Shape;
use crate::shapes::{self, child, index, is_plain_key, Form};

/// The media type of a `Content-Type` value: `type/subtype`, lower-cased, its parameters dropped.
pub fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A payload's media type, from the request's `content_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    /// `text/plain`, or no content type: the payload is one text.
    Text,
    /// `application/json` (or any `+json` type): a chat body, or JSON of another shape.
    Json,
    /// `application/x-ndjson` (or `application/jsonl`): one JSON document per line, as Ollama streams
    /// its answers and batch APIs take their requests. Each line is read as [`ContentType::Json`].
    Ndjson,
}

impl ContentType {
    /// Reads a `Content-Type` value; parameters such as `charset=utf-8` are allowed and ignored.
    pub fn parse(value: &str) -> Result<ContentType, PayloadError> {
        let media = media_type(value);
        if media.is_empty() || media == "text/plain" {
            Ok(ContentType::Text)
        } else if media == "application/json" || media.ends_with("+json") {
            Ok(ContentType::Json)
        } else if NDJSON_TYPES.contains(&media.as_str()) {
            Ok(ContentType::Ndjson)
        } else {
            Err(PayloadError::UnsupportedType(value.to_string()))
        }
    }
}

/// The media types of newline-delimited JSON.
const NDJSON_TYPES: &[&str] = &[
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "application/jsonlines",
];

/// Why a payload could not be read or rebuilt.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PayloadError {
    /// The content type is not one Palisade reads.
    #[error("content_type {0:?} is not supported; use text/plain, application/json or application/x-ndjson (for text/event-stream, call CheckStream)")]
    UnsupportedType(String),
    /// The body is not JSON.
    #[error("body is not valid JSON: {message} at line {line} column {column}")]
    InvalidJson {
        /// What the parser expected.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An object in the body has the same key twice. Parsers disagree on which copy counts (most keep the
    /// last, some the first), so inspecting one copy could pass the other to the model unread. The message
    /// gives where, not the key: a key is caller data (it may be the very value a policy hides), and the
    /// message reaches the log and the audit trail.
    #[error("body has a key twice in one object, the second copy at line {line} column {column}; send each key once (the model's parser might read the copy Palisade did not)")]
    DuplicateKey {
        /// The key, decoded; for the caller's code, never in the message.
        key: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The body holds more texts than one call may inspect.
    #[error("body holds {count} texts to inspect, over the limit of {limit}; send fewer or larger values")]
    TooManyTexts {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A redaction inside JSON-in-a-string (tool-call arguments) would leave that JSON invalid.
    #[error("redacting {location} would leave its JSON invalid")]
    WouldBreakJson {
        /// Pointer of the value.
        location: String,
    },
    /// A `multipart/form-data` body that does not follow its boundary.
    #[error("the multipart body is malformed: {0}")]
    InvalidMultipart(String),
    /// A key holds what the policy would change; keys are not rewritten.
    #[error("a key of the object at {location:?} holds what the policy would change, and keys are not rewritten")]
    KeyNotRewritten {
        /// Pointer of the object, then `#keys/N`, the key's place in it.
        location: String,
    },
}

/// At most this many texts are inspected per payload: each one costs a chain run, so a body of a million
/// tiny strings must not hold a worker for seconds.
pub const MAX_TEXTS: usize = 10_000;

/// How a text sits in the body, which decides how a changed text is written back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// The whole payload (plain text).
    Whole,
    /// A JSON string value.
    Str,
    /// A JSON string whose content is itself JSON (OpenAI tool-call arguments).
    JsonInString,
    /// A JSON object or array, inspected as its compact serialization (Anthropic `tool_use.input`).
    Json,
    /// A `logprobs` value, inspected as the tokens it holds and written back as `null` when it, or any text
    /// beside it in the same choice or content part, changes.
    Logprobs,
    /// An object's key that is not a plain name: inspected, never rewritten (a body whose key the policy
    /// would change is denied instead).
    Key,
}

impl From<Form> for Slot {
    fn from(form: Form) -> Slot {
        match form {
            Form::Str => Slot::Str,
            Form::JsonInString => Slot::JsonInString,
            Form::Json => Slot::Json,
            Form::Logprobs => Slot::Logprobs,
        }
    }
}

/// One text to inspect.
#[derive(Clone, Debug)]
pub struct Text {
    /// Where the value sits, for findings and logs: its JSON pointer (`""` for plain text), except that a
    /// key that is not a plain name is never spelled out — under such a key the pointer has `#` and the
    /// key's place in its object instead (`/metadata/#0/note`), and the key itself is
    /// `/metadata#keys/0` — so a secret used as a key never reaches a finding, a log or the audit trail.
    pub location: String,
    /// The JSON pointer of the value, which the rebuild finds it by.
    pointer: String,
    /// The text itself (a JSON string decoded; an object serialized compactly).
    pub text: String,
    /// The tool, for a tool call's arguments or a tool's result.
    pub tool: Option<String>,
    /// Whether the body's shape names this text (a message's content, a tool call's arguments), rather
    /// than it being one of the other strings every body is also read for.
    pub named: bool,
    slot: Slot,
}

/// A payload read into texts, ready to be rebuilt with some of them changed.
#[derive(Debug)]
pub struct Payload {
    body: String,
    /// The texts: those the shape names, in body order, then every other string, in body order.
    pub texts: Vec<Text>,
    /// How the body was read.
    pub shape: Shape,
}

impl Payload {
    /// Reads `body` as `content_type`.
    pub fn read(content_type: ContentType, body: String) -> Result<Payload, PayloadError> {
        match content_type {
            ContentType::Text => Ok(Payload {
                texts: vec![Text {
                    location: String::new(),
                    pointer: String::new(),
                    text: body,
                    tool: None,
                    named: true,
                    slot: Slot::Whole,
                }],
                body: String::new(),
                shape: Shape::Text,
            }),
            // A body of newline-delimited JSON is read line by line (`check::run`); one line is JSON.
            ContentType::Json | ContentType::Ndjson => {
                let value = parse_json(&body)?;
                let (shape, texts) = texts_of(&value);
                let texts: Vec<Text> = texts.into_iter().filter(|t| !t.text.is_empty()).collect();
                if texts.len() > MAX_TEXTS {
                    return Err(PayloadError::TooManyTexts {
                        count: texts.len(),
                        limit: MAX_TEXTS,
                    });
                }
                Ok(Payload { body, texts, shape })
            }
        }
    }

    /// The payload as it came.
    pub fn into_original(mut self) -> String {
        match self.shape {
            Shape::Text => self.texts.pop().map(|t| t.text).unwrap_or_default(),
            _ => self.body,
        }
    }

    /// The payload with `changed` texts (index into [`Payload::texts`], new text) written back. Values
    /// not changed keep their exact bytes.
    pub fn rebuild(self, mut changed: Vec<(usize, String)>) -> Result<String, PayloadError> {
        if self.shape == Shape::Text {
            return Ok(changed.pop().map(|(_, t)| t).unwrap_or_default());
        }
        // Logprobs repeat their choice's (or part's) text token by token: once that text changes they
        // would spell out what was redacted, so they go too.
        let changed_at: Vec<&str> = (changed.iter())
            .filter_map(|(c, _)| self.texts.get(*c))
            .map(|t| t.pointer.as_str())
            .collect();
        let dropped: Vec<usize> = (self.texts.iter().enumerate())
            .filter(|(_, t)| t.slot == Slot::Logprobs && !changed_at.contains(&t.pointer.as_str()))
            .filter(|(_, t)| {
                let owner = t.pointer.strip_suffix("logprobs").unwrap_or(&t.pointer);
                changed_at.iter().any(|at| at.starts_with(owner))
            })
            .map(|(i, _)| i)
            .collect();
        changed.extend(dropped.into_iter().map(|i| (i, String::new())));
        let mut replacements: Vec<(String, String)> = Vec::with_capacity(changed.len());
        for (index, new_text) in changed {
            let Some(old) = self.texts.get(index) else {
                continue;
            };
            let encoded = match old.slot {
                Slot::Whole | Slot::Str => json_string(&new_text),
                Slot::JsonInString => {
                    let was_json = serde_json::from_str::<Value>(&old.text).is_ok();
                    if was_json && serde_json::from_str::<Value>(&new_text).is_err() {
                        return Err(PayloadError::WouldBreakJson {
                            location: old.location.clone(),
                        });
                    }
                    json_string(&new_text)
                }
                Slot::Logprobs => "null".to_string(),
                Slot::Key => {
                    return Err(PayloadError::KeyNotRewritten {
                        location: old.location.clone(),
                    })
                }
                Slot::Json => {
                    if serde_json::from_str::<Value>(&new_text).is_err() {
                        return Err(PayloadError::WouldBreakJson {
                            location: old.location.clone(),
                        });
                    }
                    new_text
                }
            };
            replacements.push((old.pointer.clone(), encoded));
        }
        let pointers: Vec<&str> = replacements.iter().map(|(p, _)| p.as_str()).collect();
        let ranges = locate(&self.body, &pointers);
        let mut splices: Vec<(Range<usize>, String)> = Vec::with_capacity(replacements.len());
        for ((_, encoded), range) in replacements.into_iter().zip(ranges) {
            // Every pointer came from this very body, so each is found; a miss would be a bug, and
            // leaving that value unredacted would leak, so it is an error rather than a skip.
            let range = range.ok_or_else(|| PayloadError::WouldBreakJson {
                location: "a value the adapter could not find again".into(),
            })?;
            splices.push((range, encoded));
        }
        splices.sort_by_key(|(r, _)| r.start);
        let mut out = String::with_capacity(self.body.len());
        let mut copied = 0;
        for (range, with) in splices {
            out.push_str(&self.body[copied..range.start]);
            out.push_str(&with);
            copied = range.end;
        }
        out.push_str(&self.body[copied..]);
        Ok(out)
    }
}

/// Parses a body as JSON, refusing an object with a duplicate key (see [`PayloadError::DuplicateKey`]).
/// Nesting deeper than serde_json's limit (128) is an error, not a stack overflow.
pub fn parse_json(body: &str) -> Result<Value, PayloadError> {
    match serde_json::from_str::<Unambiguous>(body) {
        Ok(Unambiguous(value)) => Ok(value),
        // Only the visitor below raises a data error: a duplicate key, its message the key itself.
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            Err(PayloadError::DuplicateKey {
                key: json_error_message(&e),
                line: e.line(),
                column: e.column(),
            })
        }
        Err(e) => Err(PayloadError::InvalidJson {
            message: json_error_message(&e),
            line: e.line(),
            column: e.column(),
        }),
    }
}

/// A JSON value whose objects have no key twice.
struct Unambiguous(Value);

impl<'de> serde::Deserialize<'de> for Unambiguous {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnambiguousVisitor).map(Unambiguous)
    }
}

struct UnambiguousVisitor;

impl<'de> serde::de::Visitor<'de> for UnambiguousVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Unambiguous(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(key));
            }
            let Unambiguous(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// serde_json's message without its own "at line … column …" suffix, which the error repeats as fields.
fn json_error_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// `s` as a JSON string literal, quotes and escapes included.
pub(crate) fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

// ---------------------------------------------------------------------------------------------------------
// Reading: the texts a body's shape names, then every other string.

/// The texts of `v`: those its shape names (see [`crate::shapes`]), in body order, then every string and
/// key no named text covers, in body order.
fn texts_of(v: &Value) -> (Shape, Vec<Text>) {
    let (shape, labels) = shapes::read_body(v);
    let mut texts: Vec<Text> = (labels.into_iter())
        .map(|l| Text {
            pointer: l.location.clone(),
            location: l.location,
            text: l.text,
            tool: l.tool,
            named: true,
            slot: Slot::from(l.form),
        })
        .collect();
    let read: HashSet<String> = texts.iter().map(|t| t.pointer.clone()).collect();
    let mut unread = Vec::new();
    let mut at = Place::default();
    walk_unread(v, &mut at, None, &read, &mut unread);
    texts.extend(
        unread
            .into_iter()
            .map(|(Place { pointer, shown }, text, slot)| Text {
                location: shown,
                pointer,
                text: text.to_string(),
                tool: None,
                named: false,
                slot,
            }),
    );
    (shape, texts)
}

/// Where a value sits: its JSON pointer, and the location shown for it (see [`Text::location`]).
#[derive(Clone, Default)]
struct Place {
    pointer: String,
    shown: String,
}

/// The strings under `v` whose pointer is not in `read` and lies under none of them (a `tool_use.input`
/// or a `logprobs` is read whole), leaving out structural words (see [`shapes::is_structural_word`]); and
/// the keys that are not plain names (see [`is_plain_key`]), each located by its object and its place in
/// it (`/metadata#keys/0`), so that a finding's location never repeats the key itself.
fn walk_unread<'v>(
    v: &'v Value,
    at: &mut Place,
    key: Option<&str>,
    read: &HashSet<String>,
    unread: &mut Vec<(Place, &'v str, Slot)>,
) {
    if read.contains(at.pointer.as_str()) {
        return;
    }
    let (len, shown_len) = (at.pointer.len(), at.shown.len());
    match v {
        Value::String(s) if key.is_some_and(|k| shapes::is_structural_word(k, s)) => {}
        Value::String(s) => unread.push((at.clone(), s, Slot::Str)),
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                at.pointer = index(&at.pointer, i);
                at.shown = index(&at.shown, i);
                walk_unread(item, at, None, read, unread);
                at.pointer.truncate(len);
                at.shown.truncate(shown_len);
            }
        }
        Value::Object(o) => {
            for (i, (k, item)) in o.iter().enumerate() {
                at.pointer = child(&at.pointer, k);
                if is_plain_key(k) {
                    at.shown = child(&at.shown, k);
                } else {
                    let key_at = format!("{}#keys/{i}", at.shown);
                    let place = Place {
                        pointer: key_at.clone(),
                        shown: key_at,
                    };
                    unread.push((place, k, Slot::Key));
                    at.shown = format!("{}/#{i}", at.shown);
                }
                walk_unread(item, at, Some(k), read, unread);
                at.pointer.truncate(len);
                at.shown.truncate(shown_len);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------------------
// Writing back: where each value sits in the body's bytes.

/// The byte range of the value at each of `pointers` in `body` (which must be valid JSON), in one pass.
pub(crate) fn locate(body: &str, pointers: &[&str]) -> Vec<Option<Range<usize>>> {
    let wanted: HashMap<&str, usize> = pointers.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    let mut found = vec![None; pointers.len()];
    let mut scanner = Scanner {
        bytes: body.as_bytes(),
        at: 0,
    };
    let mut path = String::new();
    // The body parsed as JSON already, so the scanner only follows structure; `None` means it did not.
    let _ = scanner.value(&mut path, &wanted, &mut found);
    found
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(
        &mut self,
        path: &mut String,
        wanted: &HashMap<&str, usize>,
        found: &mut [Option<Range<usize>>],
    ) -> Option<()> {
        self.skip_ws();
        let start = self.at;
        match self.peek()? {
            b'{' => {
                self.at += 1;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b'}' => {
                            self.at += 1;
                            break;
                        }
                        b',' => self.at += 1,
                        b'"' => {
                            let key_range = self.string()?;
                            let raw = std::str::from_utf8(&self.bytes[key_range]).ok()?;
                            let key: String = serde_json::from_str(raw).ok()?;
                            self.skip_ws();
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.at += 1;
                            let len = path.len();
                            *path = child(path, &key);
                            self.value(path, wanted, found)?;
                            path.truncate(len);
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut i = 0;
                loop {
                    self.skip_ws();
                    match self.peek()? {
                        b']' => {
                            self.at += 1;
                            break;
                        }
                        b',' => self.at += 1,
                        _ => {
                            let len = path.len();
                            *path = index(path, i);
                            self.value(path, wanted, found)?;
                            path.truncate(len);
                            i += 1;
                        }
                    }
                }
            }
            b'"' => {
                self.string()?;
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.at += 1;
                }
            }
        }
        if let Some(&i) = wanted.get(path.as_str()) {
            found[i] = Some(start..self.at);
        }
        Some(())
    }

    /// Skips a string token starting at `"`; returns its range, quotes included.
    fn string(&mut self) -> Option<Range<usize>> {
        let start = self.at;
        self.at += 1;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(start..self.at);
                }
                _ => self.at += 1,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// multipart/form-data.

/// The `boundary` parameter of a `multipart/form-data` content type; `None` for any other type.
pub fn multipart_boundary(content_type: &str) -> Option<String> {
    if media_type(content_type) != "multipart/form-data" {
        return None;
    }
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (name.trim().eq_ignore_ascii_case("boundary") && !value.is_empty())
            .then(|| value.to_string())
    })
}

/// One part of a multipart body: where its header block and its content sit in the body.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The header lines, without the blank line that ends them.
    pub headers: Range<usize>,
    /// The content, without the line break before the next delimiter.
    pub content: Range<usize>,
}

impl Part {
    /// The part's own `Content-Type`, if it names one.
    pub fn content_type<'b>(&self, body: &'b str) -> Option<&'b str> {
        body[self.headers.clone()].lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-type")
                .then(|| value.trim())
        })
    }
}

/// A multipart body taken apart: every byte belongs to a part, the preamble, the epilogue or a delimiter,
/// so nothing between them goes unread.
#[derive(Clone, Debug, PartialEq)]
pub struct Multipart {
    /// The parts, in order.
    pub parts: Vec<Part>,
    /// Text before the first delimiter (without the line break that ends it).
    pub preamble: Range<usize>,
    /// Text after the closing delimiter.
    pub epilogue: Range<usize>,
}

/// The parts of a multipart body delimited by `boundary` (RFC 2046).
pub fn multipart_parts(body: &str, boundary: &str) -> Result<Multipart, PayloadError> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n{delimiter}");
    let malformed = |what: &str| PayloadError::InvalidMultipart(what.to_string());
    let first = if body.starts_with(&delimiter) {
        0
    } else {
        body.find(&next_delimiter)
            .map(|i| i + 2)
            .ok_or_else(|| malformed("its boundary never appears"))?
    };
    let preamble = 0..first.saturating_sub(2);
    let mut at = first + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if let Some(after) = rest.strip_prefix("--") {
            let epilogue = body.len() - after.len()..body.len();
            return Ok(Multipart {
                parts,
                preamble,
                epilogue,
            });
        }
        // Transport padding may follow a delimiter before its line break.
        let line_end = rest
            .find("\r\n")
            .ok_or_else(|| malformed("a delimiter line does not end"))?;
        if !rest[..line_end].trim().is_empty() {
            return Err(malformed(
                "a delimiter is followed by more than white space",
            ));
        }
        let start = at + line_end + 2;
        let rest = &body[start..];
        let (headers, content_start) = if rest.starts_with("\r\n") {
            (start..start, start + 2)
        } else {
            let end = rest
                .find("\r\n\r\n")
                .ok_or_else(|| malformed("a part's headers do not end"))?;
            (start..start + end, start + end + 4)
        };
        let length = body[content_start..]
            .find(&next_delimiter)
            .ok_or_else(|| malformed("the last part is not closed by its boundary"))?;
        parts.push(Part {
            headers,
            content: content_start..content_start + length,
        });
        at = content_start + length + next_delimiter.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Payload {
        Payload::read(ContentType::Json, body.to_string()).unwrap()
    }

    #[test]
    fn locate_finds_values_through_escapes_and_nesting() {
        let body = r#" { "a/b" : [1, {"x~y": "s\"q"}], "c": 2.50e3 , "d":{"e":[true,null]} } "#;
        let at = locate(body, &["/a~1b/1/x~0y", "/c", "/d/e/1", "/a~1b", "/nope"]);
        let text = |r: &Option<Range<usize>>| r.clone().map(|r| &body[r]);
        assert_eq!(text(&at[0]), Some(r#""s\"q""#));
        assert_eq!(text(&at[1]), Some("2.50e3"));
        assert_eq!(text(&at[2]), Some("null"));
        assert_eq!(text(&at[3]), Some(r#"[1, {"x~y": "s\"q"}]"#));
        assert_eq!(at[4], None);
    }

    #[test]
    fn rebuild_changes_only_the_values_that_changed() {
        let p = read("{\"messages\":[{\"role\":\"user\",\n  \"content\":\"mail a@b.co\"}],\"n\":1.000000000000000000001}");
        assert_eq!(p.texts.len(), 1);
        assert_eq!(p.texts[0].location, "/messages/0/content");
        let out = p.rebuild(vec![(0, "mail [EMAIL]".into())]).unwrap();
        assert_eq!(
            out,
            "{\"messages\":[{\"role\":\"user\",\n  \"content\":\"mail [EMAIL]\"}],\"n\":1.000000000000000000001}"
        );
    }

    fn locations(p: &Payload) -> Vec<&str> {
        p.texts.iter().map(|t| t.location.as_str()).collect()
    }

    #[test]
    fn strings_the_shape_does_not_name_are_read_after_those_it_does() {
        // A new top-level field beside the texts the shape names.
        let p = read(r#"{"model": "m", "input": ["first", "second"], "note": "third"}"#);
        assert_eq!(p.shape, Shape::EmbeddingsRequest);
        assert_eq!(locations(&p), ["/input/0", "/input/1", "/model", "/note"]);
        // A block type not known yet, and a tool list's descriptions.
        let p = read(
            r#"{"messages": [{"role": "user", "content": [{"type": "hologram", "caption": "T",
                "source": {"type": "text", "data": "D"}}]}],
                "tools": [{"name": "n", "description": "d"}]}"#,
        );
        assert_eq!(
            locations(&p),
            [
                "/messages/0/content/0/caption",
                "/messages/0/content/0/source/data",
                "/tools/0/name",
                "/tools/0/description",
            ]
        );
    }

    #[test]
    fn a_decoy_key_changes_the_shape_not_what_is_read() {
        let p = read(r#"{"model": "m", "messages": [], "input": "mail a@b.co"}"#);
        assert_eq!(p.shape, Shape::ChatRequest);
        assert_eq!(locations(&p), ["/model", "/input"]);
    }

    #[test]
    fn structural_words_are_passed_over_and_nothing_else_is() {
        let p = read(
            r#"{"messages": [{"role": "user", "content": [{"type": "input_text", "text": "t"}]},
                {"role": "Mail a@b.co", "content": "c", "type": "x.y-z_w", "status": "a b"}]}"#,
        );
        assert_eq!(
            locations(&p),
            [
                "/messages/0/content/0/text",
                "/messages/1/content",
                "/messages/1/role",
                "/messages/1/status"
            ]
        );
    }

    #[test]
    fn logprobs_are_read_as_the_tokens_they_spell_and_dropped_with_their_choice() {
        let body = r#"{"object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "mail a@b.co"},
             "logprobs": {"content": [{"token": "mail", "logprob": -0.1, "bytes": [1],
                 "top_logprobs": [{"token": "send", "logprob": -2.0}]}, {"token": " a@b.co", "logprob": 0}],
                 "refusal": null}},
            {"index": 1, "message": {"role": "assistant", "content": "fine"},
             "logprobs": {"content": [{"token": "fine", "logprob": 0}]}}]}"#;
        let p = read(body);
        let logprobs: Vec<&str> = (p.texts.iter())
            .filter(|t| t.slot == Slot::Logprobs)
            .map(|t| t.text.as_str())
            .collect();
        assert_eq!(logprobs, ["mail a@b.co\nsend", "fine"]);
        let out: Value =
            serde_json::from_str(&p.rebuild(vec![(0, "mail [EMAIL]".into())]).unwrap()).unwrap();
        assert_eq!(out["choices"][0]["message"]["content"], "mail [EMAIL]");
        assert_eq!(out["choices"][0]["logprobs"], Value::Null);
        // The other choice changed nothing and keeps its logprobs.
        assert_eq!(out["choices"][1]["logprobs"]["content"][0]["token"], "fine");
    }

    #[test]
    fn legacy_completion_logprobs_spell_their_tokens() {
        let p = read(
            r#"{"object": "text_completion", "choices": [{"text": "a@b.co", "index": 0,
                "logprobs": {"tokens": ["a", "@b", ".co"], "token_logprobs": [-1, -1, -1],
                    "top_logprobs": [{"x": -1}], "text_offset": [0, 1, 3]}}]}"#,
        );
        let logprobs = p.texts.iter().find(|t| t.slot == Slot::Logprobs).unwrap();
        assert_eq!(logprobs.text, "a@b.co\nx");
    }

    #[test]
    fn content_types_parse_with_parameters() {
        assert_eq!(ContentType::parse("").unwrap(), ContentType::Text);
        assert_eq!(
            ContentType::parse("Application/JSON; charset=utf-8").unwrap(),
            ContentType::Json
        );
        assert_eq!(
            ContentType::parse("application/vnd.api+json").unwrap(),
            ContentType::Json
        );
        assert!(ContentType::parse("image/png").is_err());
    }

    #[test]
    fn a_duplicate_key_anywhere_is_refused_with_where() {
        let e = Payload::read(
            ContentType::Json,
            "{\"messages\": [{\"content\": \"a\",\n \"role\": \"user\", \"con\\u0074ent\": \"b\"}]}".into(),
        )
        .unwrap_err();
        assert!(
            matches!(&e, PayloadError::DuplicateKey { key, line: 2, .. } if key == "content"),
            "{e:?}"
        );
        // The same key in different objects is fine.
        read(r#"{"a": {"k": 1}, "b": {"k": 2}, "k": 3}"#);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = Payload::read(ContentType::Json, body).unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
    }

    #[test]
    fn invalid_json_says_where() {
        let e = Payload::read(ContentType::Json, "{\n  \"a\": [1,,2]\n}".into()).unwrap_err();
        assert!(
            matches!(e, PayloadError::InvalidJson { line: 2, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("line 2 column"), "{e}");
    }
}
