//! Google Gemini `generateContent`: requests (`systemInstruction` and `contents`, each a list of
//! `parts`), answers and `streamGenerateContent` events (`candidates`, each with its `content.parts`).
//!
//! Parts: `text` (a `thought: true` part is the model's thought summary); `functionCall` (its `args`
//! read whole as JSON, with the function's name); `functionResponse` (its `response`, with its name);
//! `executableCode.code` and `codeExecutionResult.output`.

use serde_json::{Map, Value};

use super::{child, index, Form, Reader, Reading, Shape};

impl Reader {
    /// A request: the system instruction and each turn's parts.
    pub(super) fn gemini_request(&mut self, obj: &Map<String, Value>) -> Shape {
        for key in ["systemInstruction", "system_instruction"] {
            if let Some(parts) = obj.get(key).and_then(|s| s.get("parts")) {
                self.gemini_parts(parts, &child(&child("", key), "parts"));
            }
        }
        if let Some(Value::Array(contents)) = obj.get("contents") {
            for (i, turn) in contents.iter().enumerate() {
                if let Some(parts) = turn.get("parts") {
                    self.gemini_parts(parts, &format!("/contents/{i}/parts"));
                }
            }
        }
        Shape::GeminiRequest
    }

    /// An answer: each candidate's parts.
    pub(super) fn gemini_response(&mut self, candidates: &[Value]) -> Shape {
        for (i, candidate) in candidates.iter().enumerate() {
            if let Some(parts) = candidate.pointer("/content/parts") {
                self.gemini_parts(parts, &format!("/candidates/{i}/content/parts"));
            }
        }
        Shape::GeminiResponse
    }

    fn gemini_parts(&mut self, parts: &Value, at: &str) {
        let Value::Array(parts) = parts else { return };
        for (i, part) in parts.iter().enumerate() {
            let at = index(at, i);
            if let Some(Value::String(text)) = part.get("text") {
                self.push(child(&at, "text"), text, None, Form::Str);
            }
            for (kind, field) in [("functionCall", "args"), ("functionResponse", "response")] {
                let Some(call) = part.get(kind) else { continue };
                let name = call.get("name").and_then(Value::as_str);
                if let Some(value) = call.get(field).filter(|v| v.is_object()) {
                    let at = child(&child(&at, kind), field);
                    self.push(at, &value.to_string(), name, Form::Json);
                }
            }
            for (kind, field) in [
                ("executableCode", "code"),
                ("codeExecutionResult", "output"),
            ] {
                if let Some(Value::String(text)) = part.get(kind).and_then(|p| p.get(field)) {
                    self.push(child(&child(&at, kind), field), text, None, Form::Str);
                }
            }
        }
    }
}

/// A `streamGenerateContent?alt=sse` event: each a response whose parts carry the next piece of each
/// candidate's text (its thought summary apart from its answer); a `finishReason` ends the candidate.
pub(super) fn chunk(candidates: &[Value], r: &mut Reading) {
    for (pos, candidate) in candidates.iter().enumerate() {
        let index = (candidate.get("index").and_then(Value::as_u64)).unwrap_or(pos as u64);
        let parts = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array);
        for (j, part) in parts.into_iter().flatten().enumerate() {
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                let thought = part.get("thought").and_then(Value::as_bool) == Some(true);
                let channel = if thought { "thought" } else { "text" };
                r.delta(
                    format!("/candidates/{index}/content/{channel}"),
                    format!("/candidates/{pos}/content/parts/{j}/text"),
                    text,
                );
            }
        }
        if candidate.get("finishReason").is_some_and(|f| !f.is_null()) {
            r.ends.push(format!("/candidates/{index}"));
        }
    }
}
