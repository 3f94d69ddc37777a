//! OpenAI Embeddings: requests (`model` and `input`: a string, a list of strings, or token arrays) and
//! answers (`"object": "list"` of vectors, which hold no text).

use serde_json::{Map, Value};

use super::{Reader, Shape};

/// Whether `input` is an embeddings request's rather than a Responses request's: a list of strings or of
/// token arrays (Responses lists items, which are objects), or one string beside embeddings-only options.
pub(super) fn is_embeddings_input(obj: &Map<String, Value>, input: &Value) -> bool {
    match input {
        Value::Array(list) => {
            !list.is_empty() && list.iter().all(|v| v.is_string() || v.is_array())
        }
        Value::String(_) => obj.contains_key("encoding_format") || obj.contains_key("dimensions"),
        _ => false,
    }
}

impl Reader {
    /// A request's `input`.
    pub(super) fn embeddings_request(&mut self, input: &Value) -> Shape {
        self.strings(input, "/input");
        Shape::EmbeddingsRequest
    }
}
