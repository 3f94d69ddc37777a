//! Anthropic Messages: requests (`system` and `messages`, which Chat's reader walks, see
//! [`super::openai_chat`]), answers (`"type": "message"` with `content`) and stream events
//! (`content_block_*`, `message_*`).
//!
//! Blocks: `text` and `thinking`; `tool_use`, `server_tool_use` and `mcp_tool_use` (their `input` read
//! whole as JSON, with the tool's name); `tool_result` and `mcp_tool_result` (with the tool their
//! `tool_use_id` named); `document` (a text source's `data`, its `title` and `context`); `search_result`.

use serde_json::{Map, Value};

use super::{child, is_fragment, Form, Reader, Reading};

impl Reader {
    /// An Anthropic block other than text: labels it and says so, or leaves it to the caller.
    pub(super) fn anthropic_block(&mut self, p: &Map<String, Value>, at: &str) -> bool {
        let str_of = |k: &str| p.get(k).and_then(Value::as_str);
        match str_of("type") {
            Some("tool_use" | "server_tool_use" | "mcp_tool_use") => {
                if let Some(input) = p.get("input") {
                    let name = str_of("name");
                    self.push(child(at, "input"), &input.to_string(), name, Form::Json);
                }
            }
            Some("tool_result" | "mcp_tool_result") => {
                let tool = self.tool_of(p.get("tool_use_id"));
                if let Some(c) = p.get("content") {
                    self.content(c, &child(at, "content"), tool.as_deref());
                }
            }
            Some("document" | "search_result") => {
                for key in ["title", "context", "source"] {
                    if let Some(Value::String(s)) = p.get(key) {
                        self.push(child(at, key), s, None, Form::Str);
                    }
                }
                let source = p.get("source");
                if let Some(Value::String(data)) = source.and_then(|s| s.get("data")) {
                    if source.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("text") {
                        self.push(child(&child(at, "source"), "data"), data, None, Form::Str);
                    }
                }
                if let Some(c) = p.get("content") {
                    self.content(c, &child(at, "content"), None);
                }
            }
            _ => return false,
        }
        true
    }
}

/// A stream event: `content_block_start` names a block's tool, `content_block_delta` carries a piece of
/// block `index`'s text in any of its `delta` fields (`partial_json` streams the tool's `input`), and
/// `content_block_stop`, `message_delta` and `message_stop` end blocks.
pub(super) fn event(kind: &str, v: &Value, r: &mut Reading) {
    let index = v.get("index").and_then(Value::as_u64);
    match kind {
        "content_block_start" => {
            let name = v.pointer("/content_block/name").and_then(Value::as_str);
            if let (Some(i), Some(name)) = (index, name) {
                r.tools
                    .push((format!("/content/{i}/input"), name.to_string()));
            }
        }
        "content_block_delta" => {
            let block = format!("/content/{}", index.unwrap_or(0));
            let fields = v.get("delta").and_then(Value::as_object);
            for (field, value) in fields.into_iter().flatten() {
                if let Some(text) = value.as_str().filter(|t| is_fragment(field, t)) {
                    let target = if field == "partial_json" {
                        "input"
                    } else {
                        field
                    };
                    r.delta(child(&block, target), child("/delta", field), text);
                }
            }
        }
        "content_block_stop" => r.ends.push(format!("/content/{}", index.unwrap_or(0))),
        "message_delta" | "message_stop" => r.ends.push(String::new()),
        _ => {}
    }
}
