//! Python's `re` search over an alternation of affix patterns, fast and exact. spaCy's prefix, suffix
//! and infix patterns are alternations of 8 to 119 alternatives, a few with a one-character lookbehind
//! or lookahead that the `regex` crate does not support. Handing the whole alternation to a
//! backtracking engine cost a third of the model's time; instead one `RegexSet` pass says which
//! alternatives can match at all (a lookaround alternative is filtered by its pattern with the
//! lookarounds removed), and only those run, each on its own.
//!
//! Python's answer is the match that starts leftmost, and of those starting there the first
//! alternative's: so each candidate's leftmost match is found, and the least (start, alternative) wins.

use regex::{Regex, RegexSet};

enum Alternative {
    Plain(Regex),
    /// A pattern with lookarounds, run by fancy-regex when its filter matched.
    Fancy(fancy_regex::Regex),
}

pub(crate) struct Alternation {
    alternatives: Vec<Alternative>,
    /// Each alternative, or for one with lookarounds its pattern without them: a superset of its matches.
    filter: RegexSet,
}

/// The top-level alternatives of a pattern.
fn split_alternatives(pattern: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    let mut chars = pattern.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => skip_class(&mut chars),
            '(' => depth += 1,
            ')' => depth -= 1,
            '|' if depth == 0 => {
                out.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&pattern[start..]);
    out
}

/// Past the end of a character class whose `[` was just read (a `]` right after `[` or `[^` is literal).
fn skip_class(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    if chars.peek().is_some_and(|&(_, c)| c == '^') {
        chars.next();
    }
    if chars.peek().is_some_and(|&(_, c)| c == ']') {
        chars.next();
    }
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            ']' => return,
            _ => {}
        }
    }
}

const LOOKAROUNDS: [&str; 4] = ["(?<=", "(?<!", "(?=", "(?!"];

/// The pattern with every lookaround group removed, if it has any.
fn without_lookarounds(pattern: &str) -> Option<String> {
    let mut out = String::new();
    let mut found = false;
    let mut chars = pattern.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some((_, e)) = chars.next() {
                    out.push(e);
                }
            }
            '[' => {
                let from = i;
                skip_class(&mut chars);
                let to = chars.peek().map_or(pattern.len(), |&(j, _)| j);
                out.push_str(&pattern[from..to]);
            }
            '(' if LOOKAROUNDS.iter().any(|l| pattern[i..].starts_with(l)) => {
                found = true;
                let mut depth = 1;
                while depth > 0 {
                    match chars.next() {
                        Some((_, '\\')) => {
                            chars.next();
                        }
                        Some((_, '[')) => skip_class(&mut chars),
                        Some((_, '(')) => depth += 1,
                        Some((_, ')')) => depth -= 1,
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            _ => out.push(c),
        }
    }
    found.then_some(out)
}

impl Alternation {
    pub fn new(pattern: &str) -> Result<Alternation, String> {
        let mut alternatives = Vec::new();
        let mut filters = Vec::new();
        for alt in split_alternatives(pattern) {
            match without_lookarounds(alt) {
                None => {
                    alternatives.push(Alternative::Plain(
                        Regex::new(alt).map_err(|e| format!("{alt}: {e}"))?,
                    ));
                    filters.push(alt.to_owned());
                }
                Some(core) => {
                    alternatives.push(Alternative::Fancy(
                        fancy_regex::Regex::new(alt).map_err(|e| format!("{alt}: {e}"))?,
                    ));
                    filters.push(core);
                }
            }
        }
        let filter = RegexSet::new(&filters).map_err(|e| e.to_string())?;
        Ok(Alternation {
            alternatives,
            filter,
        })
    }

    /// The match `re.compile(pattern).search(s, pos)` finds: (start, end) in bytes.
    pub fn search_at(&self, s: &str, pos: usize) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        for i in self.filter.matches_at(s, pos).iter() {
            // Candidates come in alternative order, so a later one wins only by starting further left.
            if let Some(m) = self.find_one(i, s, pos) {
                if best.is_none_or(|b| m.0 < b.0) {
                    best = Some(m);
                }
            }
        }
        best
    }

    /// `re.finditer(s)`: the non-overlapping matches, left to right. Each alternative's next match is
    /// kept until the scan passes it, so a string with many matches is read about once per alternative
    /// rather than once per match.
    pub fn find_iter(&self, s: &str) -> Vec<(usize, usize)> {
        let candidates: Vec<usize> = self.filter.matches(s).iter().collect();
        // Each candidate's next match at or after `pos`, or None when it has no more.
        let mut next: Vec<Option<(usize, usize)>> =
            candidates.iter().map(|&i| self.find_one(i, s, 0)).collect();
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            for (slot, &i) in next.iter_mut().zip(&candidates) {
                if slot.is_some_and(|(start, _)| start < pos) {
                    *slot = if pos <= s.len() {
                        self.find_one(i, s, pos)
                    } else {
                        None
                    };
                }
            }
            // Leftmost start; of equal starts, the first alternative (candidates are in order).
            let Some((start, end)) = next
                .iter()
                .flatten()
                .copied()
                .min_by_key(|&(start, _)| start)
            else {
                break;
            };
            out.push((start, end));
            pos = if end > start {
                end
            } else {
                // An empty match: the next search starts a character further on, as Python's does.
                end + s[end..].chars().next().map_or(1, char::len_utf8)
            };
        }
        out
    }

    fn find_one(&self, i: usize, s: &str, pos: usize) -> Option<(usize, usize)> {
        match &self.alternatives[i] {
            Alternative::Plain(re) => re.find_at(s, pos).map(|m| (m.start(), m.end())),
            // Beyond the backtracking limit: as if it did not match (Python would not stop).
            Alternative::Fancy(re) => re
                .find_from_pos(s, pos)
                .ok()
                .flatten()
                .map(|m| (m.start(), m.end())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_top_level_only() {
        assert_eq!(
            split_alternatives(r"a|(b|c)|[|]|\||d"),
            ["a", "(b|c)", "[|]", r"\|", "d"]
        );
        assert_eq!(split_alternatives(r"[]|]x|y"), ["[]|]x", "y"]);
    }

    #[test]
    fn removes_lookarounds_for_the_filter() {
        assert_eq!(
            without_lookarounds(r"(?<=[0-9])\+$").as_deref(),
            Some(r"\+$")
        );
        assert_eq!(
            without_lookarounds(r"(?<=[a-z(])[-](?=[a-z])").as_deref(),
            Some("[-]")
        );
        assert_eq!(without_lookarounds(r"\(?=x"), None);
        assert_eq!(without_lookarounds(r"[(?=]x"), None);
    }

    #[test]
    fn leftmost_start_then_first_alternative() {
        let a = Alternation::new(r"b$|ab$|(?<=x)c$").unwrap();
        assert_eq!(a.search_at("zab", 0), Some((1, 3)));
        assert_eq!(a.search_at("zb", 0), Some((1, 2)));
        assert_eq!(a.search_at("xc", 0), Some((1, 2)));
        assert_eq!(a.search_at("yc", 0), None);
        let b = Alternation::new(r"^\.\.+|^\.|^\+(?![0-9])").unwrap();
        assert_eq!(b.search_at("...a", 0), Some((0, 3)));
        assert_eq!(b.search_at("+a", 0), Some((0, 1)));
        assert_eq!(b.search_at("+1", 0), None);
        let c = Alternation::new(r"(?<=[0-9])[+\-](?=[0-9])|--").unwrap();
        assert_eq!(c.find_iter("1+2--3-4"), [(1, 2), (3, 5), (6, 7)]);
    }
}
