//! AWS Bedrock Converse: requests (`system` and `messages`, whose blocks say their kind by their one key:
//! `{"text": …}`, `{"toolUse": …}`), answers (`output.message`) and ConverseStream events
//! (`contentBlockDelta` and its kin, named by the event stream's `:event-type` header, or wrapped as
//! `{"contentBlockDelta": {…}}` when an SDK passes them on as JSON).
//!
//! Blocks: `text`; `toolUse` (its `input` read whole as JSON, with the tool's name); `toolResult` (its
//! `content` of `text` and `json` blocks, with the tool its `toolUseId` named); `reasoningContent`
//! (`reasoningText.text`); `guardContent` (`text.text`).

use serde_json::{Map, Value};

use super::{child, index, is_fragment, Form, Reader, Reading, Shape};

/// The ConverseStream event types.
pub(super) const EVENTS: &[&str] = &[
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
];

/// Whether a `messages` body is a Converse request: Converse's own options, or a block with no `type`
/// (OpenAI parts and Anthropic blocks always say theirs).
pub(super) fn is_converse_request(obj: &Map<String, Value>, messages: &[Value]) -> bool {
    let untyped = |block: &Value| block.is_object() && block.get("type").is_none();
    [
        "inferenceConfig",
        "toolConfig",
        "additionalModelRequestFields",
    ]
    .iter()
    .any(|k| obj.contains_key(*k))
        || messages.iter().any(|m| {
            (m.get("content").and_then(Value::as_array)).is_some_and(|c| c.iter().any(untyped))
        })
}

impl Reader {
    /// A request: the system blocks and each message.
    pub(super) fn bedrock_request(
        &mut self,
        obj: &Map<String, Value>,
        messages: &[Value],
    ) -> Shape {
        if let Some(system) = obj.get("system") {
            self.content(system, "/system", None);
        }
        for (i, m) in messages.iter().enumerate() {
            self.bedrock_message(m, &index("/messages", i));
        }
        Shape::BedrockRequest
    }

    /// One message: its content blocks.
    pub(super) fn bedrock_message(&mut self, m: &Value, at: &str) {
        if let Some(content) = m.get("content") {
            self.content(content, &child(at, "content"), None);
        }
    }

    /// A Converse block other than text: labels it and says so, or leaves it to the caller.
    pub(super) fn bedrock_block(
        &mut self,
        p: &Map<String, Value>,
        at: &str,
        tool: Option<&str>,
    ) -> bool {
        if p.contains_key("type") {
            return false;
        }
        if let Some(call) = p.get("toolUse") {
            let name = call.get("name").and_then(Value::as_str);
            if let Some(input) = call.get("input") {
                let at = child(&child(at, "toolUse"), "input");
                self.push(at, &input.to_string(), name, Form::Json);
            }
        } else if let Some(result) = p.get("toolResult") {
            let tool = self.tool_of(result.get("toolUseId"));
            if let Some(c) = result.get("content") {
                self.content(
                    c,
                    &child(&child(at, "toolResult"), "content"),
                    tool.as_deref(),
                );
            }
        } else if let Some(json) = p.get("json") {
            self.push(child(at, "json"), &json.to_string(), tool, Form::Json);
        } else if let Some((path, text)) = nested_text(p) {
            self.push(format!("{at}{path}"), text, None, Form::Str);
        } else {
            return false;
        }
        true
    }
}

/// The text of a reasoning or guarded-content block, and its path in the block.
fn nested_text(block: &Map<String, Value>) -> Option<(&'static str, &str)> {
    let at = |path: &'static str, outer: &str, inner: &str| {
        let text = block.get(outer)?.get(inner)?.get("text")?.as_str()?;
        Some((path, text))
    };
    at(
        "/reasoningContent/reasoningText/text",
        "reasoningContent",
        "reasoningText",
    )
    .or_else(|| at("/guardContent/text/text", "guardContent", "text"))
}

/// A ConverseStream event of type `kind`: `contentBlockStart` names a block's tool, `contentBlockDelta`
/// carries a piece of block `contentBlockIndex`'s text in its `delta` (`text`, `toolUse.input`,
/// `reasoningContent.text`, any field not known yet), and `contentBlockStop` and `messageStop` end blocks.
/// `at` is the event's pointer in the JSON (`""`, or `/contentBlockDelta` when wrapped).
pub(super) fn event(kind: &str, v: &Value, at: &str, r: &mut Reading) {
    let block = format!(
        "/output/message/content/{}",
        v.get("contentBlockIndex")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    );
    match kind {
        "contentBlockStart" => {
            if let Some(name) = v.pointer("/start/toolUse/name").and_then(Value::as_str) {
                r.tools
                    .push((format!("{block}/toolUse/input"), name.to_string()));
            }
        }
        "contentBlockDelta" => {
            let fields = v.get("delta").and_then(Value::as_object);
            for (field, value) in fields.into_iter().flatten() {
                let (location, pointer) =
                    (child(&block, field), child(&format!("{at}/delta"), field));
                match value {
                    Value::String(text) if is_fragment(field, text) => {
                        r.delta(location, pointer, text)
                    }
                    Value::Object(inner) => {
                        for (key, value) in inner {
                            if let Some(text) = value.as_str().filter(|t| is_fragment(key, t)) {
                                r.delta(child(&location, key), child(&pointer, key), text);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        "contentBlockStop" => r.ends.push(block),
        "messageStop" => r.ends.push(String::new()),
        _ => {}
    }
}
