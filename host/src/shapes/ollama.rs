//! Ollama's native API: `/api/chat` and `/api/generate` answers, whole or streamed as newline-delimited
//! JSON (`{"message": {"content": …}, "done": false}`, `{"response": …, "done": false}`). Requests share
//! Chat's `messages` (see [`super::openai_chat`]) or Completions' `prompt`.

use serde_json::{Map, Value};

use super::{Form, Reader, Reading, Shape};

/// The fields of an answer that hold its text (and the model's thinking), as JSON pointers.
const TEXTS: [&str; 4] = [
    "/message/content",
    "/message/thinking",
    "/response",
    "/thinking",
];

/// Whether `obj` is an Ollama answer: `done` beside a `message` or a `response`.
pub(super) fn is_answer(obj: &Map<String, Value>) -> bool {
    obj.get("done").is_some_and(Value::is_boolean)
        && (obj.contains_key("message") || obj.contains_key("response"))
}

/// The text at `pointer` (one of [`TEXTS`]) in `obj`.
fn text_at<'v>(obj: &'v Map<String, Value>, pointer: &str) -> Option<&'v str> {
    let mut keys = pointer[1..].split('/');
    let first = obj.get(keys.next()?)?;
    keys.try_fold(first, |v, key| v.get(key))?.as_str()
}

impl Reader {
    /// A whole answer (or one line of a streamed one).
    pub(super) fn ollama_answer(&mut self, obj: &Map<String, Value>) -> Shape {
        for pointer in TEXTS {
            if let Some(text) = text_at(obj, pointer) {
                self.push(pointer.to_string(), text, None, Form::Str);
            }
        }
        Shape::OllamaResponse
    }
}

/// One line of a streamed answer: each text field is the next piece of its text; `done: true` ends them.
pub(super) fn chunk(obj: &Map<String, Value>, r: &mut Reading) {
    for pointer in TEXTS {
        if let Some(text) = text_at(obj, pointer) {
            r.delta(pointer.to_string(), pointer.to_string(), text);
        }
    }
    if obj.get("done") == Some(&Value::Bool(true)) {
        r.ends.push(String::new());
    }
}
