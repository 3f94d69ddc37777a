//! The words every layer shares, in a module that imports nothing from the crate, so that bundles, the
//! chain and the policy can all use them without depending on one another.

/// Direction of a request (the host's own type, so callers need not touch the Wasm bindings). Bundles
/// name it the same way: `directions = ["input", "output"]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// A prompt, a tool call: towards the model or tool.
    #[default]
    Input,
    /// A model's answer, a tool's result.
    Output,
}

impl Dir {
    /// `input` or `output`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Input => "input",
            Dir::Output => "output",
        }
    }
}

impl std::str::FromStr for Dir {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Dir, String> {
        match s {
            "input" => Ok(Dir::Input),
            "output" => Ok(Dir::Output),
            other => Err(format!("unknown direction {other:?}; use input or output")),
        }
    }
}
