//! The lexical features the embedding reads — NORM, PREFIX, SUFFIX, SHAPE — and the ids spaCy gives
//! their strings, computed as spaCy's English vocabulary computes them.

use std::collections::HashMap;

use crate::data::UnicodeClasses;
use crate::hash::murmur64a;

/// A set of code points, as sorted inclusive ranges.
pub(crate) struct CharClass(Vec<(u32, u32)>);

impl CharClass {
    pub fn contains(&self, c: char) -> bool {
        let c = c as u32;
        let i = self.0.partition_point(|&(_, end)| end < c);
        self.0.get(i).is_some_and(|&(start, _)| start <= c)
    }
}

/// Python's view of characters, read from the data file.
pub(crate) struct PyChars {
    alpha: CharClass,
    digit: CharClass,
    upper: CharClass,
    pub space: CharClass,
}

impl PyChars {
    pub fn new(classes: UnicodeClasses) -> PyChars {
        PyChars {
            alpha: CharClass(classes.alpha),
            digit: CharClass(classes.digit),
            upper: CharClass(classes.upper),
            space: CharClass(classes.space),
        }
    }

    /// `str.isspace()` of a whole string.
    pub fn is_space(&self, s: &str) -> bool {
        !s.is_empty() && s.chars().all(|c| self.space.contains(c))
    }

    /// spaCy's `word_shape`: letters as x/X, digits as d, anything else as itself, runs cut at four.
    pub fn shape(&self, text: &str) -> String {
        if text.chars().count() >= 100 {
            return "LONG".to_owned();
        }
        let mut shape = String::new();
        let mut last = None;
        let mut seq = 0;
        for c in text.chars() {
            let shape_char = if self.alpha.contains(c) {
                if self.upper.contains(c) {
                    'X'
                } else {
                    'x'
                }
            } else if self.digit.contains(c) {
                'd'
            } else {
                c
            };
            if Some(shape_char) == last {
                seq += 1;
            } else {
                seq = 0;
                last = Some(shape_char);
            }
            if seq < 4 {
                shape.push(shape_char);
            }
        }
        shape
    }
}

/// What the vocabulary knows: the string ids and the norm exceptions.
pub(crate) struct Lexicon {
    symbols: HashMap<String, u64>,
    lexeme_norm: HashMap<u64, String>,
    base_norms: HashMap<String, String>,
    pub chars: PyChars,
}

/// One token's four features as spaCy's string ids, in the order the embedding tables are.
pub type Features = [u64; 4];

impl Lexicon {
    pub fn new(
        symbols: Vec<(String, u64)>,
        lexeme_norm: Vec<(u64, String)>,
        base_norms: Vec<(String, String)>,
        unicode: UnicodeClasses,
    ) -> Lexicon {
        Lexicon {
            symbols: symbols.into_iter().collect(),
            lexeme_norm: lexeme_norm.into_iter().collect(),
            base_norms: base_norms.into_iter().collect(),
            chars: PyChars::new(unicode),
        }
    }

    /// spaCy's id for a string: a symbol's fixed number, or the string's 64-bit MurmurHash.
    pub fn id(&self, s: &str) -> u64 {
        self.symbols
            .get(s)
            .copied()
            .unwrap_or_else(|| murmur64a(s.as_bytes(), 1))
    }

    /// A lexeme's NORM: the model's norm table, then spaCy's base norms, then lower case.
    pub fn norm(&self, orth: &str) -> String {
        if let Some(norm) = self.lexeme_norm.get(&self.id(orth)) {
            return norm.clone();
        }
        if let Some(norm) = self.base_norms.get(orth) {
            return norm.clone();
        }
        orth.to_lowercase()
    }

    /// The four strings the embedding reads for a token: NORM (a special case's own, if it sets one),
    /// PREFIX (first character), SUFFIX (last three) and SHAPE.
    pub fn feature_strings(&self, orth: &str, norm: Option<&str>) -> [String; 4] {
        let norm = norm.map_or_else(|| self.norm(orth), str::to_owned);
        let prefix: String = orth.chars().take(1).collect();
        let n = orth.chars().count();
        let suffix: String = orth.chars().skip(n.saturating_sub(3)).collect();
        [norm, prefix, suffix, self.chars.shape(orth)]
    }

    pub fn features(&self, orth: &str, norm: Option<&str>) -> Features {
        self.feature_strings(orth, norm).map(|s| self.id(&s))
    }
}
