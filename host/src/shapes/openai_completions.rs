//! OpenAI legacy Completions: requests (`prompt`, a string or a batch of strings; token arrays hold no
//! text, and `suffix` is read with every other string). Their answers share Chat's `choices`
//! (`choices[].text`, see [`super::openai_chat`]).

use serde_json::Value;

use super::{Reader, Shape};

impl Reader {
    /// A request's `prompt`.
    pub(super) fn prompt(&mut self, prompt: &Value) -> Shape {
        self.strings(prompt, "/prompt");
        Shape::CompletionsRequest
    }
}
