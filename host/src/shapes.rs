//! What Palisade knows of each provider's formats: for a whole JSON body and for each event of a stream,
//! where a text sits — a message's content, a system prompt, a tool call's arguments (with the tool's
//! name), a tool's result, reasoning — and which strings of a streamed event are pieces of a longer text.
//!
//! One module per provider shape: [`openai_chat`], [`openai_responses`], [`openai_completions`],
//! [`openai_embeddings`], [`anthropic`], [`gemini`], [`bedrock`] and [`ollama`]. A shape only *labels*: the payload
//! adapter ([`crate::payload`]) and the stream checker ([`crate::stream`]) inspect every string of a body
//! or event all the same, so a field or provider not known here changes locations and tool names, never
//! what is read.
//!
//! This module imports nothing from the rest of the crate.

use std::collections::HashMap;

use serde_json::{Map, Value};

pub mod anthropic;
pub mod bedrock;
pub mod gemini;
pub mod ollama;
pub mod openai_chat;
pub mod openai_completions;
pub mod openai_embeddings;
pub mod openai_responses;

/// Which shape a body was read as, for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Plain text.
    Text,
    /// OpenAI Chat Completions request (`messages`); Anthropic Messages requests share it.
    ChatRequest,
    /// OpenAI Chat Completions or Completions response, or a stream chunk (`choices`).
    ChatResponse,
    /// Anthropic Messages request (`messages` with a top-level `system` or Anthropic block types).
    AnthropicRequest,
    /// Anthropic Messages response (`"type": "message"` with `content`).
    AnthropicResponse,
    /// OpenAI Responses request (`input` items).
    ResponsesRequest,
    /// OpenAI Responses response (`"object": "response"` with `output`).
    ResponsesResponse,
    /// OpenAI legacy Completions request (`prompt`).
    CompletionsRequest,
    /// OpenAI Embeddings request (`input`: a string or a list of strings).
    EmbeddingsRequest,
    /// OpenAI Embeddings response (`"object": "list"` of embeddings): no text but ids.
    EmbeddingsResponse,
    /// Google Gemini `generateContent` request (`contents`).
    GeminiRequest,
    /// Google Gemini `generateContent` response or stream event (`candidates`).
    GeminiResponse,
    /// AWS Bedrock Converse request (`messages` of blocks keyed by kind: `{"text": …}`, `{"toolUse": …}`).
    BedrockRequest,
    /// AWS Bedrock Converse response (`output.message`).
    BedrockResponse,
    /// Ollama `/api/chat` or `/api/generate` answer (`done` with `message` or `response`).
    OllamaResponse,
    /// Any other JSON: every string value.
    Generic,
    /// Newline-delimited JSON: each line a document of its own shape.
    Lines,
    /// `multipart/form-data`: each part read as JSON or text.
    Multipart,
}

// ---------------------------------------------------------------------------------------------------------
// Whole bodies.

/// How a labelled text is written back into its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// A JSON string value.
    Str,
    /// A JSON string whose content is itself JSON (OpenAI tool-call arguments).
    JsonInString,
    /// A JSON object or array, inspected as its compact serialization (a tool call's `input`).
    Json,
    /// A `logprobs` value, inspected as the tokens it spells and the alternatives it weighed.
    Logprobs,
}

/// A text a shape names in a body.
#[derive(Clone, Debug)]
pub struct Label {
    /// JSON pointer of the value.
    pub location: String,
    /// The text (a JSON string decoded; an object serialized compactly).
    pub text: String,
    /// The tool, for a tool call's arguments or a tool's result.
    pub tool: Option<String>,
    /// How it sits in the body.
    pub form: Form,
}

/// Reads the texts `v`'s shape names, in body order.
pub fn read_body(v: &Value) -> (Shape, Vec<Label>) {
    let mut r = Reader {
        tool_names: HashMap::new(),
        labels: Vec::new(),
    };
    r.collect_tool_names(v);
    let shape = match v.as_object() {
        Some(obj) => r.body(obj),
        None => Shape::Generic,
    };
    (shape, r.labels)
}

/// Collects the labels of one body. Each provider module adds the methods for its own shapes.
struct Reader {
    /// Tool-call id → tool name, so a tool's result can name the tool its call named.
    tool_names: HashMap<String, String>,
    labels: Vec<Label>,
}

impl Reader {
    /// Which shape `obj` is, by the keys that set the shapes apart; the first that fits labels the body.
    fn body(&mut self, obj: &Map<String, Value>) -> Shape {
        let str_field = |k: &str| obj.get(k).and_then(Value::as_str);
        if let Some(messages) = obj.get("messages").and_then(Value::as_array) {
            if bedrock::is_converse_request(obj, messages) {
                self.bedrock_request(obj, messages)
            } else {
                self.chat_request(obj, messages)
            }
        } else if let Some(choices) = obj.get("choices").and_then(Value::as_array) {
            self.choices(choices)
        } else if let Some(candidates) = obj.get("candidates").and_then(Value::as_array) {
            self.gemini_response(candidates)
        } else if obj.contains_key("contents") {
            self.gemini_request(obj)
        } else if ollama::is_answer(obj) {
            self.ollama_answer(obj)
        } else if let Some(message) = obj.get("output").and_then(|o| o.get("message")) {
            self.bedrock_message(message, "/output/message");
            Shape::BedrockResponse
        } else if obj.contains_key("output") && str_field("object") == Some("response") {
            self.items(&obj["output"], "/output");
            Shape::ResponsesResponse
        } else if str_field("object") == Some("list") && obj.contains_key("data") {
            Shape::EmbeddingsResponse
        } else if let Some(input) = obj.get("input").filter(|_| obj.contains_key("model")) {
            if openai_embeddings::is_embeddings_input(obj, input) {
                self.embeddings_request(input)
            } else {
                self.responses_request(obj, input)
            }
        } else if str_field("type") == Some("message") && obj.contains_key("content") {
            self.content(&obj["content"], "/content", None);
            Shape::AnthropicResponse
        } else if let Some(prompt) = obj.get("prompt") {
            self.prompt(prompt)
        } else {
            Shape::Generic
        }
    }

    fn push(&mut self, location: String, text: &str, tool: Option<&str>, form: Form) {
        self.labels.push(Label {
            location,
            text: text.to_string(),
            tool: tool.map(str::to_string),
            form,
        });
    }

    fn tool_of(&self, id: Option<&Value>) -> Option<String> {
        (id.and_then(Value::as_str)).and_then(|id| self.tool_names.get(id).cloned())
    }

    /// Every tool call's id and name, wherever it sits: OpenAI `tool_calls[].{id, function.name}`,
    /// Anthropic `tool_use.{id, name}`, Responses `function_call.{call_id, name}`, Bedrock
    /// `toolUse.{toolUseId, name}`, Gemini `functionCall.{id, name}`.
    fn collect_tool_names(&mut self, v: &Value) {
        match v {
            Value::Object(o) => {
                let name = (o.get("function").and_then(|f| f.get("name")))
                    .or_else(|| o.get("name"))
                    .and_then(Value::as_str);
                let id = (o.get("call_id").or_else(|| o.get("toolUseId")))
                    .or_else(|| o.get("id"))
                    .and_then(Value::as_str);
                if let (Some(id), Some(name)) = (id, name) {
                    self.tool_names.insert(id.to_string(), name.to_string());
                }
                o.values().for_each(|v| self.collect_tool_names(v));
            }
            Value::Array(a) => a.iter().for_each(|v| self.collect_tool_names(v)),
            _ => {}
        }
    }

    /// A `content` value: a string, or a list of parts or blocks of any provider.
    fn content(&mut self, content: &Value, at: &str, tool: Option<&str>) {
        match content {
            Value::String(s) => self.push(at.to_string(), s, tool, Form::Str),
            Value::Array(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    self.part(part, &index(at, i), tool);
                }
            }
            _ => {}
        }
    }

    /// One content part or block: OpenAI parts and Anthropic blocks say their kind in `type`, Bedrock
    /// blocks in their one key.
    fn part(&mut self, part: &Value, at: &str, tool: Option<&str>) {
        let Some(p) = part.as_object() else {
            if let Value::String(s) = part {
                self.push(at.to_string(), s, tool, Form::Str);
            }
            return;
        };
        if self.anthropic_block(p, at) || self.bedrock_block(p, at, tool) {
            return;
        }
        // text, input_text, output_text, thinking, refusal, and deltas: whichever text field is present.
        for key in ["text", "thinking", "refusal"] {
            if let Some(Value::String(s)) = p.get(key) {
                self.push(child(at, key), s, tool, Form::Str);
            }
        }
        if let Some(logprobs) = p.get("logprobs") {
            self.logprobs(logprobs, &child(at, "logprobs"));
        }
    }

    /// A string, or a list whose strings are texts (a batch; token arrays and other items hold none).
    fn strings(&mut self, v: &Value, at: &str) {
        match v {
            Value::String(s) => self.push(at.to_string(), s, None, Form::Str),
            Value::Array(list) => {
                for (i, item) in list.iter().enumerate() {
                    if let Value::String(s) = item {
                        self.push(index(at, i), s, None, Form::Str);
                    }
                }
            }
            _ => {}
        }
    }

    /// `{name, arguments}` where `arguments` is a JSON string.
    fn function(&mut self, f: &Value, at: &str) {
        let name = f.get("name").and_then(Value::as_str);
        if let Some(Value::String(args)) = f.get("arguments") {
            self.push(child(at, "arguments"), args, name, Form::JsonInString);
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
        self.push(at.to_string(), text.trim_end(), None, Form::Logprobs);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Stream events.

/// A piece of a streamed text in an event: which channel, where in the event's data, and the text.
pub struct Delta {
    /// The channel: where the whole text would sit in the body the stream adds up to.
    pub location: String,
    /// JSON pointer of the piece in this event.
    pub pointer: String,
    /// The piece.
    pub text: String,
}

/// Token log-probabilities in an event that spell out a channel's text.
pub struct Tokens {
    /// The channel whose text they spell.
    pub location: String,
    /// JSON pointer of the list in this event.
    pub pointer: String,
    /// The entries.
    pub entries: Vec<Value>,
}

/// What one JSON event means for the channels. Every string of the event that is no delta is checked
/// whole with the event, so this only decides which strings are pieces of a longer text.
#[derive(Default)]
pub struct Reading {
    /// Pieces of texts.
    pub deltas: Vec<Delta>,
    /// Token log-probabilities that go with pieces.
    pub tokens: Vec<Tokens>,
    /// Channel locations (or prefixes) this event ends.
    pub ends: Vec<String>,
    /// (pointer in this event, channel location): whole texts this event repeats.
    pub repeats: Vec<(String, String)>,
    /// (pointer in this event, channel location): whole token log-probability lists this event repeats.
    pub repeated_tokens: Vec<(String, String)>,
    /// (channel location prefix, tool name) learnt from this event.
    pub tools: Vec<(String, String)>,
}

impl Reading {
    fn delta(&mut self, location: String, pointer: String, text: &str) {
        self.deltas.push(Delta {
            location,
            pointer,
            text: text.to_string(),
        });
    }

    /// The token log-probabilities of the channel at `location` in this event.
    pub fn tokens_for(&self, location: &str) -> Option<&Tokens> {
        self.tokens.iter().find(|t| t.location == location)
    }
}

/// Reads an event of OpenAI Chat Completions, OpenAI Responses, Anthropic Messages, Google Gemini, AWS
/// Bedrock ConverseStream or Ollama streaming; `name` is the event's name (SSE `event:`, or Bedrock's
/// `:event-type` header).
pub fn read_event(name: Option<&str>, v: &Value) -> Reading {
    let mut r = Reading::default();
    // Random padding some providers add to each event so that sizes do not give the text away (OpenAI's
    // `obfuscation`, Bedrock's `p`): a new value in every event, streamed through a channel of its own
    // rather than checked event by event.
    for pad in ["obfuscation", "p"] {
        if let Some(text) = v.get(pad).and_then(Value::as_str) {
            r.delta(format!("/{pad}"), format!("/{pad}"), text);
        }
    }
    let kind = (v.get("type").and_then(Value::as_str))
        .or(name)
        .unwrap_or("");
    if let Some(choices) = v.get("choices").and_then(Value::as_array) {
        openai_chat::chunk(choices, &mut r);
    } else if let Some(candidates) = v.get("candidates").and_then(Value::as_array) {
        gemini::chunk(candidates, &mut r);
    } else if kind.starts_with("response.") {
        openai_responses::event(kind, v, &mut r);
    } else if bedrock::EVENTS.contains(&kind) {
        bedrock::event(kind, v, "", &mut r);
    } else if let Some((kind, event)) = wrapped(v).filter(|(k, _)| bedrock::EVENTS.contains(k)) {
        bedrock::event(kind, event, &child("", kind), &mut r);
    } else if let Some(obj) = v.as_object().filter(|o| ollama::is_answer(o)) {
        ollama::chunk(obj, &mut r);
    } else {
        anthropic::event(kind, v, &mut r);
    }
    r
}

/// An object of one key, as SDKs pass Bedrock's events on: `{"contentBlockDelta": {…}}`.
fn wrapped(v: &Value) -> Option<(&str, &Value)> {
    let obj = v.as_object().filter(|o| o.len() == 1)?;
    obj.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// Fields of a delta that hold a whole value, not a piece of a text: ids, names, signatures, base64
/// data. They stay in their event and are checked whole with it; a client takes them as they come, so
/// they must not be held back and moved to a later event.
const WHOLE_FIELDS: &[&str] = &[
    "id",
    "call_id",
    "item_id",
    "name",
    "signature",
    "data",
    "encrypted_content",
    "redactedContent",
];

/// Whether `key: value` in a delta is a piece of a streamed text. A key that is not a plain name is no
/// field of a format, and a channel named by it would spell it out in findings: its value stays in the
/// event, checked whole with it.
fn is_fragment(key: &str, value: &str) -> bool {
    is_plain_key(key) && !WHOLE_FIELDS.contains(&key) && !is_structural_word(key, value)
}

// ---------------------------------------------------------------------------------------------------------
// Words every shape shares.

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

/// Whether `value` under `key` names a kind of thing and carries no data (see `STRUCTURAL_KEYS`).
pub fn is_structural_word(key: &str, value: &str) -> bool {
    STRUCTURAL_KEYS.contains(&key)
        && value.len() <= 64
        && value
            .split(['_', '.', '-'])
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()))
}

/// A key made of ASCII letters, `_` and `-` only (`max_tokens`, `tool-choice`, `eTag`) names a field and
/// carries no data; any other key — digits, `@`, spaces, other scripts — may, and is read.
pub fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-')
}

/// A JSON pointer to `key` under `pointer`, escaped (`~` → `~0`, `/` → `~1`).
pub fn child(pointer: &str, key: &str) -> String {
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

/// A JSON pointer to item `i` under `pointer`.
pub fn index(pointer: &str, i: usize) -> String {
    format!("{pointer}/{i}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each label as `location tool`.
    fn labels(body: &str) -> (Shape, Vec<String>) {
        let (shape, labels) = read_body(&serde_json::from_str(body).unwrap());
        let labels = labels
            .iter()
            .map(|l| format!("{} {}", l.location, l.tool.as_deref().unwrap_or("-")))
            .collect();
        (shape, labels)
    }

    #[test]
    fn gemini_parts_are_named_with_their_functions() {
        let (shape, got) = labels(
            r#"{"systemInstruction": {"parts": [{"text": "Be brief."}]},
                "contents": [{"role": "user", "parts": [{"text": "Weather?"}]},
                  {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {"city": "Oslo"}}}]},
                  {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"sky": "grey"}}}]}]}"#,
        );
        assert_eq!(shape, Shape::GeminiRequest);
        assert_eq!(
            got,
            [
                "/systemInstruction/parts/0/text -",
                "/contents/0/parts/0/text -",
                "/contents/1/parts/0/functionCall/args weather",
                "/contents/2/parts/0/functionResponse/response weather",
            ]
        );
        let (shape, got) = labels(
            r#"{"candidates": [{"content": {"role": "model", "parts": [{"text": "Grey.", "thought": true},
                {"executableCode": {"language": "PYTHON", "code": "print(1)"}}]}}]}"#,
        );
        assert_eq!(shape, Shape::GeminiResponse);
        assert_eq!(
            got,
            [
                "/candidates/0/content/parts/0/text -",
                "/candidates/0/content/parts/1/executableCode/code -"
            ]
        );
    }

    #[test]
    fn bedrock_blocks_are_named_by_their_key_and_results_by_their_call() {
        let (shape, got) = labels(
            r#"{"system": [{"text": "Be brief."}], "inferenceConfig": {"maxTokens": 100},
                "messages": [{"role": "user", "content": [{"text": "Weather?"}]},
                  {"role": "assistant", "content": [{"reasoningContent": {"reasoningText": {"text": "hm"}}},
                    {"toolUse": {"toolUseId": "t1", "name": "weather", "input": {"city": "Oslo"}}}]},
                  {"role": "user", "content": [{"toolResult": {"toolUseId": "t1",
                    "content": [{"text": "grey"}, {"json": {"sky": "grey"}}]}}]}]}"#,
        );
        assert_eq!(shape, Shape::BedrockRequest);
        assert_eq!(
            got,
            [
                "/system/0/text -",
                "/messages/0/content/0/text -",
                "/messages/1/content/0/reasoningContent/reasoningText/text -",
                "/messages/1/content/1/toolUse/input weather",
                "/messages/2/content/0/toolResult/content/0/text weather",
                "/messages/2/content/0/toolResult/content/1/json weather",
            ]
        );
        let (shape, got) = labels(
            r#"{"output": {"message": {"role": "assistant", "content": [{"text": "Grey."}]}},
                "stopReason": "end_turn"}"#,
        );
        assert_eq!(shape, Shape::BedrockResponse);
        assert_eq!(got, ["/output/message/content/0/text -"]);
    }

    #[test]
    fn openai_tools_of_every_kind_are_named() {
        let (shape, got) = labels(
            r#"{"model": "m", "input": [
                {"type": "custom_tool_call", "call_id": "c1", "name": "sql", "input": "select 1"},
                {"type": "custom_tool_call_output", "call_id": "c1", "output": "1"},
                {"type": "mcp_call", "name": "search", "arguments": "{}", "output": "found"}]}"#,
        );
        assert_eq!(shape, Shape::ResponsesRequest);
        assert_eq!(
            got,
            [
                "/input/0/input sql",
                "/input/1/output sql",
                "/input/2/arguments search",
                "/input/2/output search"
            ]
        );
        let (shape, got) = labels(
            r#"{"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom",
                "custom": {"name": "sql", "input": "select 1"}}]}]}"#,
        );
        assert_eq!(shape, Shape::ChatRequest);
        assert_eq!(got, ["/messages/0/tool_calls/0/custom/input sql"]);
    }

    #[test]
    fn embeddings_and_responses_inputs_are_told_apart() {
        let (shape, got) = labels(r#"{"model": "e", "input": ["a", "b"]}"#);
        assert_eq!((shape, got.len()), (Shape::EmbeddingsRequest, 2));
        let (shape, _) = labels(r#"{"model": "e", "input": "a", "dimensions": 8}"#);
        assert_eq!(shape, Shape::EmbeddingsRequest);
        let (shape, _) = labels(r#"{"model": "r", "input": "a"}"#);
        assert_eq!(shape, Shape::ResponsesRequest);
        let (shape, got) = labels(r#"{"object": "list", "data": [{"embedding": [0.1]}]}"#);
        assert_eq!((shape, got.len()), (Shape::EmbeddingsResponse, 0));
    }

    #[test]
    fn bedrock_stream_events_are_read_named_or_wrapped() {
        let named = read_event(
            Some("contentBlockDelta"),
            &serde_json::json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": "{\"ci"}}, "p": "ab"}),
        );
        let deltas: Vec<(&str, &str)> = (named.deltas.iter())
            .map(|d| (d.location.as_str(), d.pointer.as_str()))
            .collect();
        assert_eq!(
            deltas,
            [
                ("/p", "/p"),
                (
                    "/output/message/content/1/toolUse/input",
                    "/delta/toolUse/input"
                )
            ]
        );
        let wrapped = read_event(
            None,
            &serde_json::json!({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hi"}}}),
        );
        assert_eq!(wrapped.deltas[0].location, "/output/message/content/0/text");
        assert_eq!(wrapped.deltas[0].pointer, "/contentBlockDelta/delta/text");
        let stop = read_event(
            Some("messageStop"),
            &serde_json::json!({"stopReason": "end_turn"}),
        );
        assert_eq!(stop.ends, [""]);
    }
}
