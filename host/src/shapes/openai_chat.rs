//! OpenAI Chat Completions: requests (`messages`), answers and stream chunks (`choices`).
//!
//! A message's `content` (a string or a list of parts), `refusal` and `reasoning_content`; each tool call's
//! `function.arguments` (a JSON string, with the function's name) and `custom.input`; a `role: tool`
//! message's content names the tool its `tool_call_id` called. Anthropic Messages requests share
//! `messages` (see [`super::anthropic`] for their blocks); legacy Completions answers share `choices`
//! (`choices[].text`).

use serde_json::{Map, Value};

use super::{child, index, is_fragment, Form, Reader, Reading, Shape, Tokens};

impl Reader {
    /// A `messages` request: OpenAI Chat, or Anthropic Messages when it has a top-level `system`.
    pub(super) fn chat_request(&mut self, obj: &Map<String, Value>, messages: &[Value]) -> Shape {
        let anthropic = obj.contains_key("system");
        if let Some(system) = obj.get("system") {
            self.content(system, "/system", None);
        }
        for (i, m) in messages.iter().enumerate() {
            self.message(m, &index("/messages", i));
        }
        if anthropic {
            Shape::AnthropicRequest
        } else {
            Shape::ChatRequest
        }
    }

    /// One chat message (or stream delta): OpenAI or Anthropic.
    pub(super) fn message(&mut self, m: &Value, at: &str) {
        // OpenAI `role: tool` messages carry the result of the call named by `tool_call_id`.
        let tool = self.tool_of(m.get("tool_call_id"));
        if let Some(content) = m.get("content") {
            self.content(content, &child(at, "content"), tool.as_deref());
        }
        for key in ["refusal", "reasoning_content"] {
            if let Some(Value::String(s)) = m.get(key) {
                self.push(child(at, key), s, None, Form::Str);
            }
        }
        if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
            for (i, call) in calls.iter().enumerate() {
                let call_at = index(&child(at, "tool_calls"), i);
                if let Some(f) = call.get("function") {
                    self.function(f, &child(&call_at, "function"));
                }
                if let Some(custom) = call.get("custom") {
                    let name = custom.get("name").and_then(Value::as_str);
                    if let Some(Value::String(input)) = custom.get("input") {
                        let at = child(&child(&call_at, "custom"), "input");
                        self.push(at, input, name, Form::Str);
                    }
                }
            }
        }
        // The legacy single `function_call`.
        if let Some(f) = m.get("function_call") {
            self.function(f, &child(at, "function_call"));
        }
    }

    /// An answer's `choices`: each a chat `message` (or a chunk's `delta`), or a legacy completion's
    /// `text`, with its `logprobs`.
    pub(super) fn choices(&mut self, choices: &[Value]) -> Shape {
        for (i, c) in choices.iter().enumerate() {
            let at = index("/choices", i);
            for key in ["message", "delta"] {
                if let Some(m) = c.get(key) {
                    self.message(m, &child(&at, key));
                }
            }
            if let Some(Value::String(s)) = c.get("text") {
                self.push(child(&at, "text"), s, None, Form::Str);
            }
            if let Some(logprobs) = c.get("logprobs") {
                self.logprobs(logprobs, &child(&at, "logprobs"));
            }
        }
        Shape::ChatResponse
    }
}

/// A stream chunk's `choices`: each choice's `delta` streams into channels under
/// `/choices/{index}/delta`, its `logprobs` go with their text, and a `finish_reason` ends the choice.
pub(super) fn chunk(choices: &[Value], r: &mut Reading) {
    for (pos, choice) in choices.iter().enumerate() {
        let index = choice
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(pos as u64);
        let at = format!("/choices/{index}/delta");
        let ptr = format!("/choices/{pos}/delta");
        if let Some(delta) = choice.get("delta").and_then(Value::as_object) {
            delta_fields(delta, &at, &ptr, r);
        }
        for field in ["content", "refusal"] {
            if let Some(Value::Array(entries)) = choice.pointer(&format!("/logprobs/{field}")) {
                r.tokens.push(Tokens {
                    location: format!("{at}/{field}"),
                    pointer: format!("/choices/{pos}/logprobs/{field}"),
                    entries: entries.clone(),
                });
            }
        }
        if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
            r.ends.push(format!("/choices/{index}"));
        }
    }
}

/// A delta: every string in it is a piece of a text (`content`, `refusal`, reasoning in any of its
/// spellings, fields not known yet), and so are the pieces nested in tool calls and audio.
fn delta_fields(delta: &Map<String, Value>, at: &str, ptr: &str, r: &mut Reading) {
    for (field, value) in delta {
        match (field.as_str(), value) {
            (_, Value::String(text)) if is_fragment(field, text) => {
                r.delta(child(at, field), child(ptr, field), text)
            }
            ("tool_calls", Value::Array(calls)) => {
                for (j, call) in calls.iter().enumerate() {
                    let ti = call
                        .get("index")
                        .and_then(Value::as_u64)
                        .unwrap_or(j as u64);
                    for (kind, field) in [("function", "arguments"), ("custom", "input")] {
                        let location = format!("{at}/tool_calls/{ti}/{kind}/{field}");
                        if let Some(name) = call
                            .pointer(&format!("/{kind}/name"))
                            .and_then(Value::as_str)
                        {
                            r.tools.push((location.clone(), name.to_string()));
                        }
                        if let Some(text) = call
                            .pointer(&format!("/{kind}/{field}"))
                            .and_then(Value::as_str)
                        {
                            r.delta(
                                location,
                                format!("{ptr}/tool_calls/{j}/{kind}/{field}"),
                                text,
                            );
                        }
                    }
                }
            }
            ("function_call", Value::Object(call)) => {
                let location = format!("{at}/function_call/arguments");
                if let Some(name) = call.get("name").and_then(Value::as_str) {
                    r.tools.push((location.clone(), name.to_string()));
                }
                if let Some(text) = call.get("arguments").and_then(Value::as_str) {
                    r.delta(location, format!("{ptr}/function_call/arguments"), text);
                }
            }
            ("audio", Value::Object(audio)) => {
                if let Some(text) = audio.get("transcript").and_then(Value::as_str) {
                    r.delta(
                        format!("{at}/audio/transcript"),
                        format!("{ptr}/audio/transcript"),
                        text,
                    );
                }
            }
            // Anything else nested stays in the event and is checked whole with it.
            _ => {}
        }
    }
}
