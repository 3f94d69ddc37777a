//! The data file `convert.py` writes: `PNER1\n`, a u32 header length, a JSON header, float32 tensors.

use std::collections::HashMap;

use serde::Deserialize;

use crate::model::LoadError;

const MAGIC: &[u8] = b"PNER1\n";

#[derive(Deserialize)]
pub(crate) struct Header {
    pub model: ModelInfo,
    pub tokenizer: TokenizerRules,
    pub lexeme_norm: Vec<(u64, String)>,
    pub base_norms: Vec<(String, String)>,
    pub symbols: Vec<(String, u64)>,
    pub unicode: UnicodeClasses,
    pub features: Vec<String>,
    pub seeds: Vec<u32>,
    pub window_pad: usize,
    pub moves: Vec<String>,
    pub tensors: HashMap<String, TensorInfo>,
}

#[derive(Deserialize, Clone, Debug)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    pub spacy: String,
}

#[derive(Deserialize)]
pub(crate) struct TokenizerRules {
    pub prefix: String,
    pub suffix: String,
    pub infix: String,
    pub url: String,
    pub token_match: Option<String>,
    /// A chunk of text and the tokens it always becomes.
    pub special_cases: Vec<(String, Special)>,
}

/// A special case's tokens: (ORTH, NORM if the rule sets one) each.
pub(crate) type Special = Vec<(String, Option<String>)>;

/// Python's `str.isalpha` and friends, as inclusive code point ranges, so features match the Python that
/// trained the model rather than Rust's slightly different Unicode properties.
#[derive(Deserialize)]
pub(crate) struct UnicodeClasses {
    pub alpha: Vec<(u32, u32)>,
    pub digit: Vec<(u32, u32)>,
    pub upper: Vec<(u32, u32)>,
    pub space: Vec<(u32, u32)>,
}

#[derive(Deserialize)]
pub(crate) struct TensorInfo {
    pub shape: Vec<usize>,
    pub offset: usize,
}

pub(crate) struct DataFile {
    pub header: Header,
    body: Vec<f32>,
}

impl DataFile {
    pub fn parse(bytes: &[u8]) -> Result<DataFile, LoadError> {
        let rest = bytes.strip_prefix(MAGIC).ok_or(LoadError::NotAModel)?;
        let len = rest.get(..4).ok_or(LoadError::NotAModel)?;
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let head = rest.get(4..4 + len).ok_or(LoadError::Truncated)?;
        let header: Header =
            serde_json::from_slice(head).map_err(|e| LoadError::Header(e.to_string()))?;
        let raw = &rest[4 + len..];
        if raw.len() % 4 != 0 {
            return Err(LoadError::Truncated);
        }
        let body = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(DataFile { header, body })
    }

    /// The header, once the weights are read.
    pub fn into_header(self) -> Header {
        self.header
    }

    /// The tensor `name`, checked to have `shape`.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, LoadError> {
        let info = self
            .header
            .tensors
            .get(name)
            .ok_or_else(|| LoadError::Tensor(format!("{name} is missing")))?;
        if info.shape != shape {
            return Err(LoadError::Tensor(format!(
                "{name} has shape {:?}, expected {shape:?}",
                info.shape
            )));
        }
        let len: usize = shape.iter().product();
        if info.offset % 4 != 0 {
            return Err(LoadError::Tensor(format!("{name} is not aligned")));
        }
        let start = info.offset / 4;
        self.body
            .get(start..start + len)
            .map(<[f32]>::to_vec)
            .ok_or_else(|| LoadError::Tensor(format!("{name} runs past the end of the file")))
    }

    /// The shape recorded for `name`.
    pub fn shape(&self, name: &str) -> Result<&[usize], LoadError> {
        self.header
            .tensors
            .get(name)
            .map(|t| t.shape.as_slice())
            .ok_or_else(|| LoadError::Tensor(format!("{name} is missing")))
    }
}
