//! LiteLLM's generic guardrail API (`POST /beta/litellm_basic_guardrail_api` on the HTTP listener), so
//! that a LiteLLM config alone puts Palisade in front of its models: `guardrail: generic_guardrail_api`
//! with `api_base` at `--http`.
//!
//! LiteLLM sends the texts it took from a request or an answer, beside the chat messages, tool calls and
//! tool definitions they came from. They are checked as one chat body the gate reads like any other — a
//! request's `messages` (LiteLLM's own when it sends them, else one user message per text), or an
//! answer's `choices` — so each text is seen with its role, a tool call's arguments with its tool, and
//! every other string too. The answer is LiteLLM's: `NONE`; `BLOCKED` with the reason; or
//! `GUARDRAIL_INTERVENED` with the rewritten `texts` (and `structured_messages`, `tools` when those
//! changed). LiteLLM cannot take back rewritten tool calls of an answer or images: when the policy would
//! change one, the call is `BLOCKED` instead, so nothing passes unredacted.
//!
//! The request's `litellm_call_id` becomes the request id, `model` the destination; its
//! `additional_provider_specific_params` may set `principal`, `destination`, `tool` and `labels`, and
//! LiteLLM's key metadata (`user_api_key_*`) goes into the metadata the plugins and the audit trail see.
//! Without mutual TLS the principal is taken as claimed, as on every transport.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::gate::Refused;
use super::proto;

/// The path LiteLLM appends to the `api_base` it is given.
pub const PATH: &str = "/beta/litellm_basic_guardrail_api";

/// The part of LiteLLM's `GenericGuardrailAPIRequest` Palisade reads; other fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct GuardrailRequest {
    input_type: String,
    texts: Option<Vec<String>>,
    structured_messages: Option<Vec<Value>>,
    tool_calls: Option<Vec<Value>>,
    tools: Option<Vec<Value>>,
    images: Option<Vec<String>>,
    model: Option<String>,
    litellm_call_id: Option<String>,
    litellm_trace_id: Option<String>,
    request_data: Option<Map<String, Value>>,
    additional_provider_specific_params: Option<Map<String, Value>>,
}

/// LiteLLM's `GenericGuardrailAPIResponse`.
#[derive(Debug, PartialEq, Serialize)]
pub(super) struct GuardrailResponse {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocked_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    texts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_messages: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<Value>>,
    /// For an answer: how many characters at the end of each text LiteLLM holds back while it streams,
    /// so a value still arriving is not released before the text that completes it is checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_holdback_chars: Option<Vec<usize>>,
}

impl GuardrailResponse {
    fn none() -> Self {
        Self::with("NONE", None)
    }

    fn blocked(reason: String) -> Self {
        Self::with("BLOCKED", Some(reason))
    }

    fn with(action: &'static str, blocked_reason: Option<String>) -> Self {
        GuardrailResponse {
            action,
            blocked_reason,
            texts: None,
            structured_messages: None,
            tools: None,
            stream_holdback_chars: None,
        }
    }
}

/// How the texts sit in the body that was checked, to read them back out of a rewritten one.
#[derive(Debug)]
pub(super) enum Layout {
    /// A request with LiteLLM's messages: they go back as `structured_messages`.
    Messages,
    /// A request without them: text `i` is message `i`'s content.
    TextMessages(usize),
    /// An answer: text `i` is choice `i`'s content; tool calls, if any, are the next choice's.
    Choices(usize),
}

/// The body a LiteLLM call was checked as, kept to tell what the policy changed in it.
#[derive(Debug)]
pub(super) struct Sent {
    body: Map<String, Value>,
    layout: Layout,
}

/// The CheckRequest for a LiteLLM guardrail call — its body a chat request or answer — and that body, to
/// read the answer's texts back out.
pub(super) fn check_request(req: GuardrailRequest) -> Result<(proto::CheckRequest, Sent), Refused> {
    let direction = match req.input_type.as_str() {
        "request" => proto::Direction::Input,
        "response" => proto::Direction::Output,
        other => {
            return Err(Refused::Invalid(format!(
                "input_type {other:?} is not LiteLLM's; it sends \"request\" or \"response\""
            )))
        }
    };
    let texts = req.texts.unwrap_or_default();
    let tool_calls = req.tool_calls.unwrap_or_default();
    let mut body = Map::new();
    let layout = if direction == proto::Direction::Output {
        let mut choices: Vec<Value> = (texts.into_iter())
            .map(|text| serde_json::json!({"message": {"role": "assistant", "content": text}}))
            .collect();
        let count = choices.len();
        if !tool_calls.is_empty() {
            choices.push(
                serde_json::json!({"message": {"role": "assistant", "tool_calls": tool_calls}}),
            );
        }
        body.insert("choices".into(), number(choices));
        Layout::Choices(count)
    } else if let Some(messages) = req.structured_messages.filter(|m| !m.is_empty()) {
        body.insert("messages".into(), Value::Array(messages));
        Layout::Messages
    } else {
        let count = texts.len();
        let mut messages: Vec<Value> = (texts.into_iter())
            .map(|text| serde_json::json!({"role": "user", "content": text}))
            .collect();
        if !tool_calls.is_empty() {
            messages.push(serde_json::json!({"role": "assistant", "tool_calls": tool_calls}));
        }
        body.insert("messages".into(), Value::Array(messages));
        Layout::TextMessages(count)
    };
    if let Some(tools) = req.tools.filter(|t| !t.is_empty()) {
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(images) = req.images.filter(|i| !i.is_empty()) {
        body.insert("images".into(), images.into());
    }

    let mut params = req.additional_provider_specific_params.unwrap_or_default();
    let mut param = |name: &str| match params.remove(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let (principal, destination, tool) = (param("principal"), param("destination"), param("tool"));
    let labels = match params.remove("labels") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(labels)) if labels.iter().all(Value::is_string) => (labels.into_iter())
            .filter_map(|l| l.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            return Err(Refused::Invalid(
                "additional_provider_specific_params.labels must be a list of strings".into(),
            ))
        }
    };
    let mut metadata: HashMap<String, String> = HashMap::new();
    for (key, value) in req.request_data.unwrap_or_default() {
        // The key's hash identifies a LiteLLM key as well as the key would to whoever holds the table.
        if key == "user_api_key_hash" {
            continue;
        }
        if let Value::String(value) = value {
            metadata.insert(format!("litellm.{key}"), value);
        }
    }
    if let Some(trace) = req.litellm_trace_id {
        metadata.insert("litellm.trace_id".into(), trace);
    }
    let request = proto::CheckRequest {
        direction: direction.into(),
        content: Some(proto::check_request::Content::Body(
            serde_json::to_vec(&body).map_err(|e| {
                Refused::Internal(format!(
                    "the body to check could not be written as JSON: {e}"
                ))
            })?,
        )),
        content_type: "application/json".into(),
        principal: principal.unwrap_or_default(),
        destination: destination.or(req.model).unwrap_or_default(),
        tool: tool.unwrap_or_default(),
        labels,
        metadata,
        request_id: req.litellm_call_id.unwrap_or_default(),
        vault: String::new(),
    };
    Ok((request, Sent { body, layout }))
}

/// Each choice with its `index`, as an answer's choices have one.
fn number(choices: Vec<Value>) -> Value {
    (choices.into_iter().enumerate())
        .map(|(i, mut choice)| {
            if let Some(choice) = choice.as_object_mut() {
                choice.insert("index".into(), i.into());
            }
            choice
        })
        .collect()
}

/// LiteLLM's answer for what the gate decided on the body it was `sent`. An answer's texts come with a
/// hold-back of `hold_back` bytes, as CheckStream's (`--stream-hold-back`).
pub(super) fn response(
    sent: &Sent,
    answer: proto::CheckResponse,
    hold_back: usize,
) -> GuardrailResponse {
    let mut response = match (answer.decision(), answer.content) {
        (proto::Decision::Deny, _) => return GuardrailResponse::blocked(answer.reason),
        (proto::Decision::Modify, Some(proto::check_response::Content::Body(body))) => {
            match rewrite(sent, &body) {
                Ok(response) => response,
                Err(why) => return GuardrailResponse::blocked(why),
            }
        }
        _ => GuardrailResponse::none(),
    };
    if let Layout::Choices(count) = sent.layout {
        let texts = match response.texts.take() {
            Some(texts) => texts,
            None => choice_texts(items(&sent.body, "choices"), count),
        };
        let tail = |text: &String| {
            let from = text.floor_char_boundary(text.len().saturating_sub(hold_back));
            text[from..].chars().count()
        };
        response.stream_holdback_chars = Some(texts.iter().map(tail).collect());
        if response.action != "NONE" {
            response.texts = Some(texts);
        }
    }
    response
}

/// The rewritten texts (messages, tools) of a modified body; `Err` says what changed that LiteLLM
/// cannot take back.
fn rewrite(sent: &Sent, rewritten: &[u8]) -> Result<GuardrailResponse, String> {
    let Ok(mut after) = serde_json::from_slice::<Map<String, Value>>(rewritten) else {
        return Err("the rewritten body could not be read back".into());
    };
    let before = &sent.body;
    if before.get("images") != after.get("images") {
        return Err(cannot("an image"));
    }
    let mut response = GuardrailResponse::with("GUARDRAIL_INTERVENED", None);
    let tools = after.remove("tools");
    if before.get("tools") != tools.as_ref() {
        response.tools = tools.and_then(|t| serde_json::from_value(t).ok());
    }
    match sent.layout {
        Layout::Messages => response.structured_messages = Some(array(&mut after, "messages")),
        Layout::TextMessages(count) => {
            let after = array(&mut after, "messages");
            if items(before, "messages").get(count..) != after.get(count..) {
                return Err(cannot("a tool call"));
            }
            response.texts = Some(texts_at(&after[..count.min(after.len())], "/content"));
        }
        Layout::Choices(count) => {
            let after = array(&mut after, "choices");
            if items(before, "choices").get(count..) != after.get(count..) {
                return Err(cannot("a tool call of the answer"));
            }
            response.texts = Some(choice_texts(&after, count));
        }
    }
    Ok(response)
}

/// The array at `key` of `body` (empty if there is none).
fn items<'a>(body: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    body.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The array at `key`, taken out of `body` (empty if there is none).
fn array(body: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match body.remove(key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// The texts of an answer's first `count` choices.
fn choice_texts(choices: &[Value], count: usize) -> Vec<String> {
    texts_at(&choices[..count.min(choices.len())], "/message/content")
}

/// The string at `pointer` in each item.
fn texts_at(items: &[Value], pointer: &str) -> Vec<String> {
    (items.iter())
        .map(|item| {
            item.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

fn cannot(what: &str) -> String {
    format!(
        "the policy would rewrite {what}, which LiteLLM's generic guardrail API cannot take back, so it \
         is blocked rather than passed on unredacted"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: Value) -> GuardrailRequest {
        serde_json::from_value(v).unwrap()
    }

    fn body_of(r: &proto::CheckRequest) -> Value {
        match &r.content {
            Some(proto::check_request::Content::Body(b)) => serde_json::from_slice(b).unwrap(),
            other => panic!("not a body: {other:?}"),
        }
    }

    fn modified(body: Value) -> proto::CheckResponse {
        proto::CheckResponse {
            decision: proto::Decision::Modify.into(),
            content: Some(proto::check_response::Content::Body(
                body.to_string().into_bytes(),
            )),
            ..Default::default()
        }
    }

    #[test]
    fn a_request_is_checked_as_litellms_messages_and_answered_with_them() {
        let messages = json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "mail a@b.example"}
        ]);
        let (req, sent) = check_request(request(json!({
            "input_type": "request", "texts": ["be brief", "mail a@b.example"],
            "structured_messages": messages, "model": "gpt-4o", "litellm_call_id": "call-1",
            "request_data": {"user_api_key_team_id": "team-a", "user_api_key_hash": "88f0", "user_api_key_alias": null},
            "additional_provider_specific_params": {"principal": "spiffe://x/agent", "labels": ["beta"]}
        })))
        .unwrap();
        assert_eq!(req.direction(), proto::Direction::Input);
        assert_eq!(body_of(&req), json!({"messages": messages}));
        assert_eq!(
            (req.destination.as_str(), req.principal.as_str()),
            ("gpt-4o", "spiffe://x/agent")
        );
        assert_eq!(
            (req.request_id.as_str(), req.labels.clone()),
            ("call-1", vec!["beta".to_string()])
        );
        let metadata: Vec<_> = req.metadata.iter().collect();
        assert_eq!(
            metadata,
            [(
                &"litellm.user_api_key_team_id".to_string(),
                &"team-a".to_string()
            )]
        );

        let mut after = body_of(&req);
        after["messages"][1]["content"] = json!("mail [EMAIL_ADDRESS]");
        let answer = response(&sent, modified(after.clone()), 512);
        assert_eq!(answer.action, "GUARDRAIL_INTERVENED");
        assert_eq!(
            answer.structured_messages,
            Some(after["messages"].as_array().unwrap().clone())
        );
        assert_eq!((answer.texts, answer.tools), (None, None));
    }

    #[test]
    fn texts_without_messages_are_user_messages_and_come_back_as_texts() {
        let (req, sent) = check_request(request(json!({
            "input_type": "request", "texts": ["one", "two a@b.example"]
        })))
        .unwrap();
        let mut after = body_of(&req);
        assert_eq!(
            after["messages"][1],
            json!({"role": "user", "content": "two a@b.example"})
        );
        after["messages"][1]["content"] = json!("two [EMAIL_ADDRESS]");
        let answer = response(&sent, modified(after), 512);
        assert_eq!(
            answer.texts,
            Some(vec!["one".to_string(), "two [EMAIL_ADDRESS]".to_string()])
        );
    }

    #[test]
    fn an_answer_is_checked_as_choices_and_a_changed_tool_call_blocks_it() {
        let call = json!({"id": "c1", "type": "function", "function": {"name": "send", "arguments": "{\"to\":\"a@b.example\"}"}});
        let (req, sent) = check_request(request(json!({
            "input_type": "response", "texts": ["hello"], "tool_calls": [call]
        })))
        .unwrap();
        assert_eq!(req.direction(), proto::Direction::Output);
        let before = body_of(&req);
        assert_eq!(before["choices"][0]["message"]["content"], "hello");
        assert_eq!(before["choices"][1]["message"]["tool_calls"][0], call);
        assert_eq!(before["choices"][1]["index"], 1);
        let mut text_only = before.clone();
        text_only["choices"][0]["message"]["content"] = json!("[redacted]");
        let answer = response(&sent, modified(text_only), 512);
        assert_eq!(answer.texts, Some(vec!["[redacted]".to_string()]));
        assert_eq!(answer.stream_holdback_chars, Some(vec![10]));

        let mut args = before.clone();
        args["choices"][1]["message"]["tool_calls"][0]["function"]["arguments"] =
            json!("{\"to\":\"[EMAIL_ADDRESS]\"}");
        let answer = response(&sent, modified(args), 512);
        assert_eq!(answer.action, "BLOCKED");
        assert!(answer
            .blocked_reason
            .unwrap()
            .contains("a tool call of the answer"));
    }

    #[test]
    fn an_answer_holds_back_the_characters_of_its_last_bytes_while_it_streams() {
        let long = format!("{}é-endxyz", "a".repeat(600));
        let (_, sent) = check_request(request(
            json!({"input_type": "response", "texts": ["short", long]}),
        ))
        .unwrap();
        let answer = response(&sent, proto::CheckResponse::default(), 8);
        // The last 8 bytes start inside "é" (two bytes), so the hold-back starts at it: 8 characters.
        assert_eq!(answer.action, "NONE");
        assert_eq!(answer.stream_holdback_chars, Some(vec![5, 8]));
        assert_eq!(answer.texts, None);
    }

    #[test]
    fn a_deny_blocks_with_its_reason_and_an_allow_is_none() {
        let (_, sent) =
            check_request(request(json!({"input_type": "request", "texts": ["x"]}))).unwrap();
        let deny = proto::CheckResponse {
            decision: proto::Decision::Deny.into(),
            reason: "secrets: aws-access-key".into(),
            ..Default::default()
        };
        let answer = response(&sent, deny, 512);
        assert_eq!(
            answer,
            GuardrailResponse::blocked("secrets: aws-access-key".into())
        );
        let allow = proto::CheckResponse::default();
        assert_eq!(response(&sent, allow, 512), GuardrailResponse::none());
    }

    #[test]
    fn what_litellm_would_not_send_is_refused_with_what_to_do() {
        let bad_type = check_request(request(json!({"input_type": "prompt"}))).unwrap_err();
        assert!(
            bad_type.message().contains("\"request\" or \"response\""),
            "{}",
            bad_type.message()
        );
        let bad_labels = check_request(request(json!({
            "input_type": "request", "additional_provider_specific_params": {"labels": "beta"}
        })))
        .unwrap_err();
        assert!(bad_labels.message().contains("list of strings"));
    }
}
