//! OpenAI Responses: requests (`instructions` and `input` items), answers (`"object": "response"` with
//! `output` items) and stream events (`response.*`).
//!
//! Items: messages (`content` parts), `function_call` and `custom_tool_call` (arguments or input, with
//! the tool's name), their `*_output` (with the tool their `call_id` named), `reasoning` summaries.

use serde_json::{Map, Value};

use super::{child, index, Form, Reader, Reading, Shape, Tokens};

impl Reader {
    /// A request: `instructions` and the `input` items.
    pub(super) fn responses_request(&mut self, obj: &Map<String, Value>, input: &Value) -> Shape {
        if let Some(Value::String(s)) = obj.get("instructions") {
            self.push("/instructions".into(), s, None, Form::Str);
        }
        self.items(input, "/input");
        Shape::ResponsesRequest
    }

    /// `input` or `output`: a string, or a list of items.
    pub(super) fn items(&mut self, items: &Value, at: &str) {
        let Value::Array(list) = items else {
            if let Value::String(s) = items {
                self.push(at.to_string(), s, None, Form::Str);
            }
            return;
        };
        for (i, item) in list.iter().enumerate() {
            let item_at = index(at, i);
            match item.get("type").and_then(Value::as_str) {
                Some("function_call" | "mcp_call") => {
                    self.function(item, &item_at);
                    if let Some(Value::String(output)) = item.get("output") {
                        let tool = item.get("name").and_then(Value::as_str);
                        self.push(child(&item_at, "output"), output, tool, Form::Str);
                    }
                }
                Some("custom_tool_call") => {
                    let name = item.get("name").and_then(Value::as_str);
                    if let Some(Value::String(input)) = item.get("input") {
                        self.push(child(&item_at, "input"), input, name, Form::Str);
                    }
                }
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
}

/// A `response.*` event: `response.output_item.added` names an item's tool, `*.delta` events carry a
/// piece of a text in `delta`, `*.done` events end it and repeat it whole, and the closing events repeat
/// every item.
pub(super) fn event(kind: &str, v: &Value, r: &mut Reading) {
    if kind == "response.output_item.added" {
        let oi = v.pointer("/output_index").and_then(Value::as_u64);
        if let (Some(i), Some(name)) = (oi, v.pointer("/item/name").and_then(Value::as_str)) {
            for field in ["arguments", "input"] {
                r.tools
                    .push((format!("/output/{i}/{field}"), name.to_string()));
            }
        }
        return;
    }
    let num = |p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let (oi, ci, si) = (
        num("/output_index"),
        num("/content_index"),
        num("/summary_index"),
    );
    let stem = kind.trim_start_matches("response.");
    let (stem, delta) = match stem.strip_suffix(".delta") {
        Some(stem) => (stem, true),
        None => (stem.strip_suffix(".done").unwrap_or(stem), false),
    };
    let done = kind.ends_with(".done");
    let location = match stem {
        "output_text" | "reasoning_text" => format!("/output/{oi}/content/{ci}/text"),
        "refusal" => format!("/output/{oi}/content/{ci}/refusal"),
        "audio.transcript" | "output_audio_transcript" => {
            format!("/output/{oi}/content/{ci}/transcript")
        }
        "function_call_arguments" | "mcp_call_arguments" => format!("/output/{oi}/arguments"),
        "custom_tool_call_input" => format!("/output/{oi}/input"),
        "code_interpreter_call_code" => format!("/output/{oi}/code"),
        "reasoning_summary_text" => format!("/output/{oi}/summary/{si}/text"),
        "reasoning_summary_part" => format!("/output/{oi}/summary/{si}"),
        "content_part" => format!("/output/{oi}/content/{ci}"),
        "output_item" => format!("/output/{oi}"),
        // A kind not known yet still streams into a channel of its own.
        other => child(&format!("/output/{oi}"), other),
    };
    if delta {
        // Audio deltas are base64 chunks a client decodes one by one: checked whole, never moved.
        let audio = matches!(stem, "audio" | "output_audio");
        if let Some(text) = v.get("delta").and_then(Value::as_str).filter(|_| !audio) {
            r.delta(location.clone(), "/delta".into(), text);
        }
        if let Some(Value::Array(entries)) = v.get("logprobs") {
            r.tokens.push(Tokens {
                location,
                pointer: "/logprobs".into(),
                entries: entries.clone(),
            });
        }
    } else if done {
        r.ends.push(location.clone());
        for field in TEXT_FIELDS {
            if v.get(field).is_some_and(Value::is_string) {
                r.repeats.push((format!("/{field}"), location.clone()));
            }
        }
        if v.get("logprobs").is_some() {
            r.repeated_tokens
                .push(("/logprobs".into(), location.clone()));
        }
        if let Some(part) = v.get("part") {
            r.repeats.extend(part_repeats(part, "/part", &location));
        }
        if let Some(item) = v.get("item") {
            r.repeats.extend(item_repeats(item, "/item", &location));
            r.repeated_tokens
                .extend(item_token_repeats(item, "/item", &location));
        }
    } else if matches!(stem, "completed" | "incomplete" | "failed") {
        r.ends.push(String::new());
        for (i, item) in v
            .pointer("/response/output")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (pointer, location) = (format!("/response/output/{i}"), format!("/output/{i}"));
            r.repeats.extend(item_repeats(item, &pointer, &location));
            r.repeated_tokens
                .extend(item_token_repeats(item, &pointer, &location));
        }
    }
}

/// The fields of a Responses item or part that hold a whole streamed text.
const TEXT_FIELDS: [&str; 6] = [
    "text",
    "refusal",
    "transcript",
    "arguments",
    "input",
    "code",
];

/// The whole texts a content or summary part repeats: (pointer in the event, channel location).
fn part_repeats(part: &Value, pointer: &str, location: &str) -> Vec<(String, String)> {
    TEXT_FIELDS
        .iter()
        .filter(|field| part.get(**field).is_some_and(Value::is_string))
        .map(|field| (format!("{pointer}/{field}"), format!("{location}/{field}")))
        .collect()
}

/// The whole texts an output item repeats: its own and its parts'.
fn item_repeats(item: &Value, pointer: &str, location: &str) -> Vec<(String, String)> {
    let mut out = part_repeats(item, pointer, location);
    for list in ["content", "summary"] {
        for (i, part) in item
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            out.extend(part_repeats(
                part,
                &format!("{pointer}/{list}/{i}"),
                &format!("{location}/{list}/{i}"),
            ));
        }
    }
    out
}

/// The token log-probability lists an output item repeats, with the channel of the text they spell.
fn item_token_repeats(item: &Value, pointer: &str, location: &str) -> Vec<(String, String)> {
    let parts = item
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    parts
        .enumerate()
        .filter(|(_, part)| part.get("logprobs").is_some())
        .map(|(i, _)| {
            (
                format!("{pointer}/content/{i}/logprobs"),
                format!("{location}/content/{i}/text"),
            )
        })
        .collect()
}
