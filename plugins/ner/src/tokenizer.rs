//! spaCy's rule-based tokenizer (`spacy/tokenizer.pyx`), step for step: split on whitespace, peel
//! prefixes and suffixes, apply special cases, split infixes, then re-apply the special cases that affix
//! splitting would have broken apart. Offsets are UTF-8 byte offsets into the text.

use std::collections::HashMap;

use fancy_regex::Regex;

use crate::alternation::Alternation;
use crate::data::{Special, TokenizerRules};
use crate::lexeme::PyChars;
use crate::model::LoadError;

/// One token: where it is in the text and the NORM a special case gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub norm: Option<String>,
}

pub(crate) struct Tokenizer {
    prefix: Alternation,
    suffix: Alternation,
    infix: Alternation,
    url: Regex,
    token_match: Option<Regex>,
    specials: HashMap<String, Special>,
    /// Special cases affix splitting would break apart, by the token texts it breaks them into.
    rejoin: HashMap<String, Vec<Vec<String>>>,
    max_rejoin: usize,
}

fn compile(what: &str, pattern: &str) -> Result<Regex, LoadError> {
    // Python's `$` also matches before a final newline; tokens never contain one except whitespace
    // tokens, which no affix pattern matches, so `$` keeps its Rust meaning.
    fancy_regex::RegexBuilder::new(pattern)
        .backtrack_limit(1_000_000)
        .build()
        .map_err(|e| LoadError::Pattern(format!("{what}: {e}")))
}

/// Longer runs of non-space are one token. spaCy peels affixes off one at a time, searching the rest each
/// time, which is quadratic: 100 KB of `((((` would take minutes. No word is this long; a long URL keeps a
/// trailing bracket or full stop, the only way this differs from spaCy.
const MAX_AFFIX_SPAN: usize = 256;

fn alternation(what: &str, pattern: &str) -> Result<Alternation, LoadError> {
    Alternation::new(pattern).map_err(|e| LoadError::Pattern(format!("{what}: {e}")))
}

impl Tokenizer {
    pub fn new(rules: TokenizerRules, chars: &PyChars) -> Result<Tokenizer, LoadError> {
        let mut tokenizer = Tokenizer {
            prefix: alternation("prefix", &rules.prefix)?,
            suffix: alternation("suffix", &rules.suffix)?,
            infix: alternation("infix", &rules.infix)?,
            url: compile("url", &rules.url)?,
            token_match: rules
                .token_match
                .as_deref()
                .map(|p| compile("token_match", p))
                .transpose()?,
            specials: rules.special_cases.iter().cloned().collect(),
            rejoin: HashMap::new(),
            max_rejoin: 0,
        };
        // As `add_special_case` does: a rule whose text the affix rules would split is also matched
        // after splitting, as a sequence of tokens.
        for (chunk, _) in &rules.special_cases {
            let affected = tokenizer.find_prefix(chunk) > 0
                || tokenizer.find_suffix(chunk) > 0
                || !tokenizer.find_infix(chunk).is_empty()
                || chunk.contains(' ');
            if !affected {
                continue;
            }
            let pieces: Vec<String> = tokenizer
                .tokenize_affixes(chunk, false, chars)
                .iter()
                .map(|t| chunk[t.start..t.end].to_owned())
                .collect();
            tokenizer.max_rejoin = tokenizer.max_rejoin.max(pieces.len());
            tokenizer
                .rejoin
                .entry(pieces[0].clone())
                .or_default()
                .push(pieces);
        }
        Ok(tokenizer)
    }

    fn is_match(re: &Regex, s: &str) -> bool {
        matches!(re.find(s), Ok(Some(m)) if m.start() == 0)
    }

    fn find_prefix(&self, s: &str) -> usize {
        self.prefix
            .search_at(s, 0)
            .map_or(0, |(start, end)| end - start)
    }

    fn find_suffix(&self, s: &str) -> usize {
        self.suffix
            .search_at(s, 0)
            .map_or(0, |(start, end)| end - start)
    }

    fn find_infix(&self, s: &str) -> Vec<(usize, usize)> {
        self.infix.find_iter(s)
    }

    fn token_match(&self, s: &str) -> bool {
        self.token_match
            .as_ref()
            .is_some_and(|re| Tokenizer::is_match(re, s))
    }

    pub fn tokenize(&self, text: &str, chars: &PyChars) -> Vec<Token> {
        let tokens = self.tokenize_affixes(text, true, chars);
        self.apply_special_cases(text, tokens)
    }

    /// `_tokenize_affixes`: runs of whitespace and of the rest, a single space after a token dropped.
    fn tokenize_affixes(&self, text: &str, with_specials: bool, chars: &PyChars) -> Vec<Token> {
        let mut tokens = Vec::new();
        let Some(first) = text.chars().next() else {
            return tokens;
        };
        let mut in_ws = chars.space.contains(first);
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if chars.space.contains(c) != in_ws {
                if start < i {
                    self.tokenize_span(text, start, i, with_specials, &mut tokens);
                }
                start = if c == ' ' { i + 1 } else { i };
                in_ws = !in_ws;
            }
        }
        if start < text.len() {
            self.tokenize_span(text, start, text.len(), with_specials, &mut tokens);
        }
        tokens
    }

    fn push_special(special: &Special, at: usize, tokens: &mut Vec<Token>) {
        let mut pos = at;
        for (orth, norm) in special {
            tokens.push(Token {
                start: pos,
                end: pos + orth.len(),
                norm: norm.clone(),
            });
            pos += orth.len();
        }
    }

    /// `_tokenize` for text[lo..hi]: a special case as a whole, or affixes split off and the rest.
    fn tokenize_span(
        &self,
        text: &str,
        lo: usize,
        hi: usize,
        with_specials: bool,
        tokens: &mut Vec<Token>,
    ) {
        if with_specials {
            if let Some(special) = self.specials.get(&text[lo..hi]) {
                Tokenizer::push_special(special, lo, tokens);
                return;
            }
        }
        if hi - lo > MAX_AFFIX_SPAN {
            tokens.push(Token {
                start: lo,
                end: hi,
                norm: None,
            });
            return;
        }
        let (mut lo, mut hi) = (lo, hi);
        let mut prefixes = Vec::new();
        let mut suffixes = Vec::new();
        let is_special = |s: &str| with_specials && self.specials.contains_key(s);
        // `_split_affixes`
        let mut last_size = 0;
        while lo < hi && hi - lo != last_size {
            let s = &text[lo..hi];
            if self.token_match(s) || is_special(s) {
                break;
            }
            last_size = hi - lo;
            let pre_len = self.find_prefix(s);
            if pre_len != 0 {
                let minus_pre = &s[pre_len..];
                if !minus_pre.is_empty() && is_special(minus_pre) {
                    prefixes.push((lo, lo + pre_len));
                    lo += pre_len;
                    break;
                }
            }
            let suf_len = self.find_suffix(&s[pre_len..]);
            if suf_len != 0 {
                let minus_suf = &s[..s.len() - suf_len];
                if !minus_suf.is_empty() && is_special(minus_suf) {
                    suffixes.push((hi - suf_len, hi));
                    hi -= suf_len;
                    break;
                }
            }
            if pre_len != 0 && suf_len != 0 && pre_len + suf_len <= s.len() {
                prefixes.push((lo, lo + pre_len));
                suffixes.push((hi - suf_len, hi));
                lo += pre_len;
                hi -= suf_len;
            } else if pre_len != 0 {
                prefixes.push((lo, lo + pre_len));
                lo += pre_len;
            } else if suf_len != 0 {
                suffixes.push((hi - suf_len, hi));
                hi -= suf_len;
            }
        }
        // `_attach_tokens`
        let plain = |start, end| Token {
            start,
            end,
            norm: None,
        };
        tokens.extend(prefixes.iter().map(|&(s, e)| plain(s, e)));
        if lo < hi {
            let s = &text[lo..hi];
            if let Some(special) = self.specials.get(s).filter(|_| with_specials) {
                Tokenizer::push_special(special, lo, tokens);
            } else if self.token_match(s) || Tokenizer::is_match(&self.url, s) {
                tokens.push(plain(lo, hi));
            } else {
                let mut start = 0;
                for (infix_start, infix_end) in self.find_infix(s) {
                    if infix_start == 0 {
                        continue;
                    }
                    if infix_start != start {
                        tokens.push(plain(lo + start, lo + infix_start));
                    }
                    if infix_start != infix_end {
                        tokens.push(plain(lo + infix_start, lo + infix_end));
                    }
                    start = infix_end;
                }
                if start < s.len() {
                    tokens.push(plain(lo + start, hi));
                }
            }
        }
        tokens.extend(suffixes.iter().rev().map(|&(s, e)| plain(s, e)));
    }

    /// `_apply_special_cases`: every run of tokens that spells a special case's split form, longest
    /// first, then leftmost, none sharing a first or last token with one kept before it; each whose text
    /// is the special case becomes the special case's tokens.
    fn apply_special_cases(&self, text: &str, tokens: Vec<Token>) -> Vec<Token> {
        if self.rejoin.is_empty() {
            return tokens;
        }
        let mut matches = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let Some(patterns) = self.rejoin.get(&text[token.start..token.end]) else {
                continue;
            };
            for pattern in patterns {
                let end = i + pattern.len();
                if end <= tokens.len()
                    && tokens[i..end]
                        .iter()
                        .zip(pattern)
                        .all(|(t, p)| &text[t.start..t.end] == p)
                {
                    matches.push((i, end));
                }
            }
        }
        if matches.is_empty() {
            return tokens;
        }
        matches.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
        matches.dedup();
        let mut seen = vec![false; tokens.len()];
        let mut kept = Vec::new();
        for &(start, end) in &matches {
            if !seen[start] && !seen[end - 1] {
                kept.push((start, end));
            }
            seen[start..end].iter_mut().for_each(|s| *s = true);
        }
        kept.sort();
        let mut out = Vec::with_capacity(tokens.len());
        let mut next = 0;
        for (start, end) in kept {
            out.extend_from_slice(&tokens[next..start]);
            let (lo, hi) = (tokens[start].start, tokens[end - 1].end);
            match self.specials.get(&text[lo..hi]) {
                Some(special) => Tokenizer::push_special(special, lo, &mut out),
                None => out.extend_from_slice(&tokens[start..end]),
            }
            next = end;
        }
        out.extend_from_slice(&tokens[next..]);
        out
    }
}
