//! OpenAI legacy Completions: requests (`prompt`, a string or a batch of strings; token arrays hold no
//! text, and `suffix` is read with every other string). Their answers share Chat's `choices`
//! (`choices[].text`, see [`super::openai_chat`]).

use serde_json::Value;

use super::{index, Form, Reader, Shape};

impl Reader {
    /// A request's `prompt`.
    pub(super) fn prompt(&mut self, prompt: &Value) -> Shape {
        match prompt {
            Value::String(s) => self.push("/prompt".into(), s, None, Form::Str),
            Value::Array(batch) => {
                for (i, item) in batch.iter().enumerate() {
                    if let Value::String(s) = item {
                        self.push(index("/prompt", i), s, None, Form::Str);
                    }
                }
            }
            _ => {}
        }
        Shape::CompletionsRequest
    }
}
