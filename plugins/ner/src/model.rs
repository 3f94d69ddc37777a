//! The model: tokenizer, features, network and decoder put together over one data file.

use std::fmt;

pub use crate::data::ModelInfo;
pub use crate::tokenizer::Token;

use crate::data::DataFile;
use crate::decode::{Moves, State};
use crate::lexeme::Lexicon;
use crate::net::Net;
use crate::tokenizer::Tokenizer;

/// Why a data file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    NotAModel,
    Truncated,
    Header(String),
    Tensor(String),
    Pattern(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotAModel => write!(
                f,
                "not a model data file (it should start with PNER1; make it with convert.py)"
            ),
            LoadError::Truncated => write!(f, "the model data file is cut short"),
            LoadError::Header(e) => write!(f, "the model data file's header is not valid: {e}"),
            LoadError::Tensor(e) => write!(
                f,
                "the model data file's weights do not fit the network: {e}"
            ),
            LoadError::Pattern(e) => write!(
                f,
                "a tokenizer pattern in the model data file does not compile: {e}"
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// An entity found in a text: UTF-8 byte offsets, the OntoNotes label (PERSON, GPE, ORG, …), the token
/// range, and how sure the model was (the least softmax probability of the moves that made it).
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    pub label: String,
    pub tokens: (usize, usize),
    pub confidence: f32,
}

pub struct Model {
    info: ModelInfo,
    tokenizer: Tokenizer,
    lexicon: Lexicon,
    net: Net,
    moves: Moves,
}

impl Model {
    pub fn load(bytes: &[u8]) -> Result<Model, LoadError> {
        let data = DataFile::parse(bytes)?;
        let net = Net::load(&data)?;
        let header = data.into_header();
        let moves = Moves::parse(&header.moves)?;
        let lexicon = Lexicon::new(
            header.symbols,
            header.lexeme_norm,
            header.base_norms,
            header.unicode,
        );
        let tokenizer = Tokenizer::new(header.tokenizer, &lexicon.chars)?;
        Ok(Model {
            info: header.model,
            tokenizer,
            lexicon,
            net,
            moves,
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn tokenize(&self, text: &str) -> Vec<Token> {
        self.tokenizer.tokenize(text, &self.lexicon.chars)
    }

    /// The strings of a token's features (NORM, PREFIX, SUFFIX, SHAPE), for tests against spaCy.
    pub fn feature_strings(&self, text: &str, token: &Token) -> [String; 4] {
        self.lexicon
            .feature_strings(&text[token.start..token.end], token.norm.as_deref())
    }

    pub fn entities(&self, text: &str) -> Vec<Entity> {
        let tokens = self.tokenize(text);
        self.entities_of(text, &tokens)
    }

    pub fn entities_of(&self, text: &str, tokens: &[Token]) -> Vec<Entity> {
        if tokens.is_empty() {
            return Vec::new();
        }
        let features: Vec<_> = tokens
            .iter()
            .map(|t| {
                self.lexicon
                    .features(&text[t.start..t.end], t.norm.as_deref())
            })
            .collect();
        let is_space: Vec<bool> = tokens
            .iter()
            .map(|t| self.lexicon.chars.is_space(&text[t.start..t.end]))
            .collect();
        let cached = self.net.precompute(&features);
        let mut state = State::new(tokens.len());
        let mut scores = vec![0f32; self.net.classes];
        while !state.is_final() {
            self.net.scores(&cached, state.features(), &mut scores);
            state.step(&self.moves, &scores, &is_space);
        }
        state
            .ents
            .iter()
            .map(|span| Entity {
                start: tokens[span.start].start,
                end: tokens[span.end - 1].end,
                label: self.moves.labels[span.label].clone(),
                tokens: (span.start, span.end),
                confidence: span.confidence,
            })
            .collect()
    }
}

impl Model {
    /// The entity labels the model knows (PERSON, GPE, ORG, …).
    pub fn labels(&self) -> Vec<String> {
        self.moves.labels.clone()
    }
}
