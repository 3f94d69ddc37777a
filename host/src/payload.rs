//! Content-type adapters: from a payload as a gateway holds it to the texts the chain inspects, and back.
//!
//! A plain-text payload is one text at location `""`. A JSON body is read by its shape — OpenAI Chat
//! Completions, OpenAI Responses, Anthropic Messages, requests and responses, streamed chunks included —
//! which names where each text sits: message contents and their parts, system prompts and instructions,
//! tool-call arguments and tool results (with the tool's name), refusals, thinking. The shape only labels:
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
    /// last, some the first), so inspecting one copy could pass the other to the model unread.
    #[error("body has the key {key:?} twice in one object, at line {line} column {column}; send each key once (the model's parser might read the copy Palisade did not)")]
    DuplicateKey {
        /// The key, decoded.
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

/// Which shape a JSON body was read as, for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Plain text.
    Text,
    /// OpenAI Chat Completions or Anthropic Messages request (`messages`).
    Messages,
    /// OpenAI Chat Completions response or stream chunk (`choices`).
    Choices,
    /// OpenAI Responses request (`input`).
    ResponsesInput,
    /// OpenAI Responses response (`output`).
    ResponsesOutput,
    /// Anthropic Messages response (`"type": "message"` with `content`).
    AnthropicMessage,
    /// Legacy completions request (`prompt`).
    Prompt,
    /// Any other JSON: every string value.
    Generic,
    /// Newline-delimited JSON: each line a document of its own shape.
    Lines,
    /// `multipart/form-data`: each part read as JSON or text.
    Multipart,
}

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

/// One text to inspect.
#[derive(Clone, Debug)]
pub struct Text {
    /// JSON pointer of the value; `""` for plain text.
    pub location: String,
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
            .map(|t| t.location.as_str())
            .collect();
        let dropped: Vec<usize> = (self.texts.iter().enumerate())
            .filter(|(_, t)| t.slot == Slot::Logprobs && !changed_at.contains(&t.location.as_str()))
            .filter(|(_, t)| {
                let owner = t.location.strip_suffix("logprobs").unwrap_or(&t.location);
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
            replacements.push((old.location.clone(), encoded));
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

/// Appends `key` to a JSON pointer, escaped per RFC 6901.
pub(crate) fn child(pointer: &str, key: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + key.len() + 1);
    out.push_str(pointer);
    out.push('/');
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

fn index(pointer: &str, i: usize) -> String {
    format!("{pointer}/{i}")
}

// ---------------------------------------------------------------------------------------------------------
// Reading: which values of a body are texts.

struct Reader {
    /// Tool-call id → tool name, so a tool's result can name the tool its call named.
    tool_names: HashMap<String, String>,
    texts: Vec<Text>,
}

fn texts_of(v: &Value) -> (Shape, Vec<Text>) {
    let mut r = Reader {
        tool_names: HashMap::new(),
        texts: Vec::new(),
    };
    collect_tool_names(v, &mut r.tool_names);
    let Some(obj) = v.as_object() else {
        r.unread_strings(v);
        return (Shape::Generic, r.texts);
    };
    let str_field = |k: &str| obj.get(k).and_then(Value::as_str);
    let shape = if let Some(messages) = obj.get("messages").and_then(Value::as_array) {
        if let Some(system) = obj.get("system") {
            r.content(system, "/system", None);
        }
        for (i, m) in messages.iter().enumerate() {
            r.message(m, &index("/messages", i));
        }
        Shape::Messages
    } else if let Some(choices) = obj.get("choices").and_then(Value::as_array) {
        for (i, c) in choices.iter().enumerate() {
            let at = index("/choices", i);
            for key in ["message", "delta"] {
                if let Some(m) = c.get(key) {
                    r.message(m, &child(&at, key));
                }
            }
            if let Some(Value::String(s)) = c.get("text") {
                r.push(child(&at, "text"), s, None, Slot::Str);
            }
            if let Some(logprobs) = c.get("logprobs") {
                r.logprobs(logprobs, &child(&at, "logprobs"));
            }
        }
        Shape::Choices
    } else if obj.contains_key("output") && str_field("object") == Some("response") {
        r.items(&obj["output"], "/output");
        Shape::ResponsesOutput
    } else if obj.contains_key("input") && obj.contains_key("model") {
        if let Some(Value::String(s)) = obj.get("instructions") {
            r.push("/instructions".into(), s, None, Slot::Str);
        }
        r.items(&obj["input"], "/input");
        Shape::ResponsesInput
    } else if str_field("type") == Some("message") && obj.contains_key("content") {
        r.content(&obj["content"], "/content", None);
        Shape::AnthropicMessage
    } else if let Some(prompt) = obj.get("prompt") {
        // A string, or a list of strings (a batch); token arrays hold no text.
        match prompt {
            Value::String(s) => r.push("/prompt".into(), s, None, Slot::Str),
            Value::Array(batch) => {
                for (i, item) in batch.iter().enumerate() {
                    if let Value::String(s) = item {
                        r.push(index("/prompt", i), s, None, Slot::Str);
                    }
                }
            }
            _ => {}
        }
        Shape::Prompt
    } else {
        Shape::Generic
    };
    r.unread_strings(v);
    (shape, r.texts)
}

/// Keys whose values name a kind of thing (`"type": "input_text"`, `"role": "user"`): when such a value is
/// a plain lower-case word (or words joined by `_`, `.` or `-`), it carries no data and is not inspected.
/// Anything else under these keys — digits, capitals, `@`, spaces — is.
const STRUCTURAL_KEYS: &[&str] = &[
    "type",
    "role",
    "object",
    "finish_reason",
    "stop_reason",
    "status",
    "tool_choice",
];

pub(crate) fn is_structural_word(key: &str, value: &str) -> bool {
    STRUCTURAL_KEYS.contains(&key)
        && value.len() <= 64
        && value
            .split(['_', '.', '-'])
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Every tool call's id and name, wherever it sits: OpenAI `tool_calls[].{id, function.name}`, Anthropic
/// `tool_use.{id, name}`, Responses `function_call.{call_id, name}`.
fn collect_tool_names(v: &Value, names: &mut HashMap<String, String>) {
    match v {
        Value::Object(o) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))
                .and_then(Value::as_str);
            let id = o
                .get("call_id")
                .or_else(|| o.get("id"))
                .and_then(Value::as_str);
            if let (Some(id), Some(name)) = (id, name) {
                names.insert(id.to_string(), name.to_string());
            }
            o.values().for_each(|v| collect_tool_names(v, names));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_tool_names(v, names)),
        _ => {}
    }
}

impl Reader {
    fn push(&mut self, location: String, text: &str, tool: Option<&str>, slot: Slot) {
        self.texts.push(Text {
            location,
            text: text.to_string(),
            tool: tool.map(str::to_string),
            named: true,
            slot,
        });
    }

    fn tool_of(&self, id: Option<&Value>) -> Option<String> {
        id.and_then(Value::as_str)
            .and_then(|id| self.tool_names.get(id).cloned())
    }

    /// One chat message (or stream delta): OpenAI or Anthropic.
    fn message(&mut self, m: &Value, at: &str) {
        // OpenAI `role: tool` messages carry the result of the call named by `tool_call_id`.
        let tool = self.tool_of(m.get("tool_call_id"));
        if let Some(content) = m.get("content") {
            self.content(content, &child(at, "content"), tool.as_deref());
        }
        for key in ["refusal", "reasoning_content"] {
            if let Some(Value::String(s)) = m.get(key) {
                self.push(child(at, key), s, None, Slot::Str);
            }
        }
        if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
            for (i, call) in calls.iter().enumerate() {
                let call_at = index(&child(at, "tool_calls"), i);
                if let Some(f) = call.get("function") {
                    self.function(f, &child(&call_at, "function"));
                }
            }
        }
        // The legacy single `function_call`.
        if let Some(f) = m.get("function_call") {
            self.function(f, &child(at, "function_call"));
        }
    }

    /// `{name, arguments}` where `arguments` is a JSON string.
    fn function(&mut self, f: &Value, at: &str) {
        let name = f.get("name").and_then(Value::as_str);
        if let Some(Value::String(args)) = f.get("arguments") {
            self.push(child(at, "arguments"), args, name, Slot::JsonInString);
        }
    }

    /// A `content` value: a string, or a list of parts / content blocks.
    fn content(&mut self, content: &Value, at: &str, tool: Option<&str>) {
        match content {
            Value::String(s) => self.push(at.to_string(), s, tool, Slot::Str),
            Value::Array(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    self.part(part, &index(at, i), tool);
                }
            }
            _ => {}
        }
    }

    /// One content part or block: text of any kind, tool use, tool result.
    fn part(&mut self, part: &Value, at: &str, tool: Option<&str>) {
        let Some(p) = part.as_object() else {
            if let Value::String(s) = part {
                self.push(at.to_string(), s, tool, Slot::Str);
            }
            return;
        };
        match p.get("type").and_then(Value::as_str) {
            Some("tool_use" | "server_tool_use") => {
                let name = p.get("name").and_then(Value::as_str);
                if let Some(input) = p.get("input") {
                    self.push(child(at, "input"), &input.to_string(), name, Slot::Json);
                }
            }
            Some("tool_result") => {
                let tool = self.tool_of(p.get("tool_use_id"));
                if let Some(c) = p.get("content") {
                    self.content(c, &child(at, "content"), tool.as_deref());
                }
            }
            _ => {
                // text, input_text, output_text, thinking, refusal, and deltas: whichever text field is present.
                for key in ["text", "thinking", "refusal"] {
                    if let Some(Value::String(s)) = p.get(key) {
                        self.push(child(at, key), s, tool, Slot::Str);
                    }
                }
                if let Some(logprobs) = p.get("logprobs") {
                    self.logprobs(logprobs, &child(at, "logprobs"));
                }
            }
        }
    }

    /// OpenAI Responses `input` or `output`: a string, or a list of items.
    fn items(&mut self, items: &Value, at: &str) {
        let Value::Array(list) = items else {
            if let Value::String(s) = items {
                self.push(at.to_string(), s, None, Slot::Str);
            }
            return;
        };
        for (i, item) in list.iter().enumerate() {
            let item_at = index(at, i);
            match item.get("type").and_then(Value::as_str) {
                Some("function_call" | "custom_tool_call") => self.function(item, &item_at),
                Some("function_call_output" | "custom_tool_call_output") => {
                    let tool = self.tool_of(item.get("call_id"));
                    if let Some(output) = item.get("output") {
                        self.content(output, &child(&item_at, "output"), tool.as_deref());
                    }
                }
                Some("reasoning") => {
                    if let Some(summary) = item.get("summary") {
                        self.content(summary, &child(&item_at, "summary"), None);
                    }
                }
                _ => {
                    if let Some(content) = item.get("content") {
                        self.content(content, &child(&item_at, "content"), None);
                    }
                }
            }
        }
    }

    /// A `logprobs` value as one text: the tokens in order (Chat `content[].token` and `refusal[].token`,
    /// Responses' list of `{token, …}`, legacy `tokens[]`), which spell out the answer again, then on a
    /// line of their own every other string in it — the alternatives in `top_logprobs`, keys included,
    /// since legacy completions key them by token.
    fn logprobs(&mut self, v: &Value, at: &str) {
        const FIELDS: &[&str] = &[
            "token",
            "logprob",
            "bytes",
            "top_logprobs",
            "token_logprobs",
            "text_offset",
        ];
        fn tokens(list: &[Value], spelled: &mut String, others: &mut Vec<String>) {
            for entry in list {
                match entry {
                    Value::String(token) => spelled.push_str(token),
                    Value::Object(o) => {
                        for (k, v) in o {
                            match (k.as_str(), v) {
                                ("token", Value::String(token)) => spelled.push_str(token),
                                _ => strings_and_keys(v, others),
                            }
                        }
                    }
                    other => strings_and_keys(other, others),
                }
            }
            spelled.push('\n');
        }
        fn strings_and_keys(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) => out.push(s.clone()),
                Value::Array(a) => a.iter().for_each(|v| strings_and_keys(v, out)),
                Value::Object(o) => {
                    for (k, v) in o {
                        // Field names are not data; any other key is a token (legacy `top_logprobs`).
                        if !FIELDS.contains(&k.as_str()) {
                            out.push(k.clone());
                        }
                        strings_and_keys(v, out);
                    }
                }
                _ => {}
            }
        }
        let (mut spelled, mut others) = (String::new(), Vec::new());
        match v {
            Value::Array(list) => tokens(list, &mut spelled, &mut others),
            Value::Object(o) => {
                for (k, v) in o {
                    match (k.as_str(), v) {
                        ("content" | "refusal" | "tokens", Value::Array(list)) => {
                            tokens(list, &mut spelled, &mut others)
                        }
                        // Legacy `top_logprobs` is a list of {token: logprob} maps.
                        _ => strings_and_keys(v, &mut others),
                    }
                }
            }
            _ => return,
        }
        let text = format!("{spelled}{}", others.join(" "));
        self.push(at.to_string(), text.trim_end(), None, Slot::Logprobs);
    }

    /// Every string under `v` that no text read so far covers, in body order: the shape names what it
    /// knows, and this makes sure what it does not know is inspected all the same.
    fn unread_strings(&mut self, v: &Value) {
        let read: HashSet<String> = self.texts.iter().map(|t| t.location.clone()).collect();
        let mut unread = Vec::new();
        walk_unread(v, &mut String::new(), None, &read, &mut unread);
        self.texts
            .extend(unread.into_iter().map(|(location, text, slot)| Text {
                location,
                text: text.to_string(),
                tool: None,
                named: false,
                slot,
            }));
    }
}

/// The strings under `v` whose location is not in `read` and lies under none of them (a `tool_use.input`
/// or a `logprobs` is read whole), leaving out structural words (see [`is_structural_word`]); and the keys
/// that are not plain names (see [`is_plain_key`]), each located by its object and its place in it
/// (`/metadata#keys/0`), so that a finding's location never repeats the key itself.
fn walk_unread<'v>(
    v: &'v Value,
    at: &mut String,
    key: Option<&str>,
    read: &HashSet<String>,
    unread: &mut Vec<(String, &'v str, Slot)>,
) {
    if read.contains(at.as_str()) {
        return;
    }
    let len = at.len();
    match v {
        Value::String(s) if key.is_some_and(|k| is_structural_word(k, s)) => {}
        Value::String(s) => unread.push((at.clone(), s, Slot::Str)),
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                *at = index(at, i);
                walk_unread(item, at, None, read, unread);
                at.truncate(len);
            }
        }
        Value::Object(o) => {
            for (i, (k, item)) in o.iter().enumerate() {
                if !is_plain_key(k) {
                    unread.push((format!("{at}#keys/{i}"), k, Slot::Key));
                }
                *at = child(at, k);
                walk_unread(item, at, Some(k), read, unread);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// A key made of ASCII letters, `_` and `-` only (`max_tokens`, `tool-choice`, `eTag`) names a field and
/// carries no data; any other key — digits, `@`, spaces, other scripts — may, and is read.
pub(crate) fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-')
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
        // Embeddings: read as a Responses body, whose reader finds no items in `input`; read all the same.
        let p = read(r#"{"model": "text-embedding-3-small", "input": ["first", "second"]}"#);
        assert_eq!(locations(&p), ["/model", "/input/0", "/input/1"]);
        // Anthropic document blocks and a tool list's descriptions.
        let p = read(
            r#"{"messages": [{"role": "user", "content": [{"type": "document", "title": "T",
                "source": {"type": "text", "media_type": "text/plain", "data": "D"}, "context": "C"}]}],
                "tools": [{"name": "n", "description": "d"}]}"#,
        );
        assert_eq!(
            locations(&p),
            [
                "/messages/0/content/0/title",
                "/messages/0/content/0/source/media_type",
                "/messages/0/content/0/source/data",
                "/messages/0/content/0/context",
                "/tools/0/name",
                "/tools/0/description",
            ]
        );
    }

    #[test]
    fn a_decoy_key_changes_the_shape_not_what_is_read() {
        let p = read(r#"{"model": "m", "messages": [], "input": "mail a@b.co"}"#);
        assert_eq!(p.shape, Shape::Messages);
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
