//! A keyword gate for detectors with many rules: one pass over the text finds which rules can match, so a
//! rule whose words are absent costs nothing (gitleaks' approach). Inside Wasm, where the regex crate has
//! no SIMD literal search, one search per rule over every text is most of a detector's time.
//!
//! Enabled by the SDK's `keywords` feature.

use aho_corasick::{AhoCorasick, AhoCorasickKind};

/// What one rule cannot match without.
pub struct Needs {
    /// Every match of the rule contains one of these; empty: no such list, the rule runs on every text.
    pub words: Vec<Vec<u8>>,
    /// The words match in any ASCII case (words written by hand for a case-insensitive pattern), or only
    /// as they are (literals taken from a pattern, which list every case it accepts).
    pub any_case: bool,
}

/// The rules' keywords, searched in one pass. Build it once per instance, like the rules.
pub struct KeywordGate {
    /// Every keyword, in any ASCII case; `None` when no rule has any.
    automaton: Option<AhoCorasick>,
    /// The automaton's keywords, in its order.
    words: Vec<Vec<u8>>,
    /// For each keyword of the automaton: its bytes if it must match exactly (`SK` is Twilio's prefix,
    /// `sk` in "risks" is not), and the rules it belongs to.
    keywords: Vec<(Option<Vec<u8>>, Vec<usize>)>,
    /// The rules that run whatever the text holds.
    always: Vec<bool>,
}

impl KeywordGate {
    /// A gate for rules `0, 1, …`, rule `i` needing the `i`th of `needs`.
    pub fn new<'a>(needs: impl IntoIterator<Item = &'a Needs>) -> KeywordGate {
        let mut words: Vec<&[u8]> = Vec::new();
        let mut keywords: Vec<(Option<Vec<u8>>, Vec<usize>)> = Vec::new();
        let mut always = Vec::new();
        for (rule, need) in needs.into_iter().enumerate() {
            always.push(need.words.is_empty());
            for word in &need.words {
                let exact = (!need.any_case).then(|| word.clone());
                match words
                    .iter()
                    .zip(&keywords)
                    .position(|(w, (e, _))| *e == exact && w.eq_ignore_ascii_case(word))
                {
                    Some(known) => keywords[known].1.push(rule),
                    None => {
                        words.push(word);
                        keywords.push((exact, vec![rule]));
                    }
                }
            }
        }
        // Over a hundred keywords make aho-corasick default to an NFA; a DFA searches twice as fast.
        let automaton = (!words.is_empty()).then(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&words)
                // Plain strings, a few hundred at most: far below any automaton limit.
                .expect("keyword automaton builds")
        });
        KeywordGate {
            automaton,
            words: words.into_iter().map(<[u8]>::to_vec).collect(),
            keywords,
            always,
        }
    }

    /// The same keywords as a plugin's gate (`Plugin::gate`): the host searches them for it, natively,
    /// before calling it. `None` when some rule runs on every text (or a keyword is not UTF-8): then no
    /// list of words can gate the plugin.
    pub fn gate(&self) -> Option<crate::Gate> {
        if self.always.iter().any(|&always| always) {
            return None;
        }
        let (mut words, mut exact_words) = (Vec::new(), Vec::new());
        for (word, (exact, _)) in self.words.iter().zip(&self.keywords) {
            let word = String::from_utf8(word.clone()).ok()?;
            match exact {
                Some(_) => exact_words.push(word),
                None => words.push(word),
            }
        }
        Some(crate::Gate {
            words,
            exact_words,
            bytes: String::new(),
            // `ſ` and the Kelvin sign, which `(?i)` patterns read as `s` and `k`: see `rules_for`.
            non_ascii: true,
            labels: Vec::new(),
        })
    }

    /// For each rule, whether it can match `text`.
    pub fn rules_for(&self, text: &str) -> Vec<bool> {
        let mut wanted = self.always.clone();
        let Some(automaton) = &self.automaton else {
            return wanted;
        };
        // Under `(?i)` a pattern's `s` also matches `ſ` (U+017F) and its `k` the Kelvin sign (U+212A),
        // which an ASCII keyword search would not see: such a text gets every rule. (Two searches for one
        // character each: those are memchr; a search for either is a loop over characters.)
        if text.contains('\u{17F}') || text.contains('\u{212A}') {
            return vec![true; wanted.len()];
        }
        for found in automaton.find_overlapping_iter(text) {
            let (exact, rules) = &self.keywords[found.pattern().as_usize()];
            if exact
                .as_ref()
                .is_some_and(|word| text.as_bytes()[found.range()] != word[..])
            {
                continue;
            }
            for &rule in rules {
                wanted[rule] = true;
            }
        }
        wanted
    }
}
