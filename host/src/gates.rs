//! The gates plugins declare (`gated-guardrail`'s `gate` export), searched once per text for a whole chain:
//! which plugins a text can concern. A plugin whose gate stays shut is not called; its answer is taken to
//! be `allow` with nothing found, as its gate promised.
//!
//! One search serves every plugin: natively, with the SIMD literal search that a plugin inside Wasm does
//! not have, so a detector with many keywords costs its keyword pass here once instead of in each call.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::engine::Gate;

/// Every gate of a chain's plugins, ready to search.
pub struct Gates {
    /// One per plugin of the bundle, in order; `None`: called for every text.
    plugins: Vec<Option<PluginGate>>,
    /// Every word of every gate, in any ASCII case.
    automaton: Option<AhoCorasick>,
    /// For each word of the automaton, in its order. A word two plugins declare is in it twice: an
    /// overlapping search reports both.
    words: Vec<Word>,
    /// For each byte, the byte groups (`PluginGate::group`) it belongs to; bit 63: outside ASCII.
    byte_groups: Box<[u64; 256]>,
    /// Every byte group some plugin asks about.
    wanted: u64,
}

struct Word {
    /// Its text, when it must match exactly as written.
    exact: Option<Box<[u8]>>,
    /// The plugin it opens.
    opens: usize,
}

struct PluginGate {
    /// Bit of `Gates::byte_groups` its bytes (and `non-ascii`) set; 0 when it declared neither.
    group: u64,
    has_words: bool,
    /// Labels that open it; a `*` at the end of one makes it a prefix.
    labels: Vec<String>,
}

/// Byte groups one chain can tell apart: plugins with byte conditions past these are called every time.
const BYTE_GROUPS: usize = 63;
const NON_ASCII: u64 = 1 << 63;

impl Gates {
    /// The gates of a chain's plugins, in bundle order (`None` for a plugin with none).
    pub fn new<'g>(gates: impl IntoIterator<Item = Option<&'g Gate>>) -> Gates {
        let mut byte_groups = Box::new([0u64; 256]);
        let mut words: Vec<&[u8]> = Vec::new();
        let mut word_plugins: Vec<Word> = Vec::new();
        let mut groups = 0;
        let mut plugins = Vec::new();
        for (index, gate) in gates.into_iter().enumerate() {
            let Some(gate) = gate else {
                plugins.push(None);
                continue;
            };
            let mut group = 0;
            if !gate.bytes.is_empty() || gate.non_ascii {
                if groups == BYTE_GROUPS {
                    plugins.push(None);
                    continue;
                }
                group = 1 << groups;
                groups += 1;
                for b in gate.bytes.bytes() {
                    byte_groups[usize::from(b)] |= group;
                }
                if gate.non_ascii {
                    group |= NON_ASCII;
                }
            }
            let exact = gate.exact_words.iter().map(|w| (w, true));
            for (word, exact) in gate.words.iter().map(|w| (w, false)).chain(exact) {
                words.push(word.as_bytes());
                word_plugins.push(Word {
                    exact: exact.then(|| Box::from(word.as_bytes())),
                    opens: index,
                });
            }
            plugins.push(Some(PluginGate {
                group,
                has_words: !gate.words.is_empty() || !gate.exact_words.is_empty(),
                labels: gate.labels.clone(),
            }));
        }
        for b in 0x80..=0xFF {
            byte_groups[b] = NON_ASCII;
        }
        // A DFA: a few hundred words make aho-corasick pick an NFA, which searches at half the speed.
        let automaton = (!words.is_empty()).then(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&words)
        });
        let automaton = match automaton {
            Some(Ok(automaton)) => Some(automaton),
            // Past the automaton's size limits: call the plugins with words every time instead.
            Some(Err(error)) => {
                tracing::warn!(%error, "the plugins' gate words do not fit one automaton; calling those plugins for every text");
                for word in &word_plugins {
                    plugins[word.opens] = None;
                }
                None
            }
            None => None,
        };
        let wanted = plugins.iter().flatten().fold(0, |all, p| all | p.group);
        Gates {
            plugins,
            automaton,
            words: word_plugins,
            byte_groups,
            wanted,
        }
    }

    /// Whether plugin `index` has a gate: whether the chain must ask before calling it.
    pub fn is_gated(&self, index: usize) -> bool {
        matches!(self.plugins.get(index), Some(Some(_)))
    }

    /// Which plugins `text` opens, from the text alone (labels are asked at each call, [`Opened::opens`]).
    pub fn search(&self, text: &str) -> Opened {
        let mut open: Vec<bool> = self.plugins.iter().map(Option::is_none).collect();
        if self.wanted != 0 {
            let seen = byte_groups_in(text.as_bytes(), &self.byte_groups, self.wanted);
            for (open, plugin) in open.iter_mut().zip(&self.plugins) {
                if let Some(p) = plugin {
                    *open |= p.group & seen != 0;
                }
            }
        }
        let shut_with_words = |open: &[bool]| {
            self.plugins
                .iter()
                .zip(open)
                .any(|(p, &open)| !open && p.as_ref().is_some_and(|p| p.has_words))
        };
        if let Some(automaton) = &self.automaton {
            if shut_with_words(&open) {
                for found in automaton.find_overlapping_iter(text) {
                    let Word { exact, opens } = &self.words[found.pattern().as_usize()];
                    if open[*opens]
                        || exact
                            .as_deref()
                            .is_some_and(|e| e != &text.as_bytes()[found.range()])
                    {
                        continue;
                    }
                    open[*opens] = true;
                    if !shut_with_words(&open) {
                        break;
                    }
                }
            }
        }
        Opened { open }
    }

    /// Whether plugin `index` is called for a text that `opened` was searched from, with `labels` in its
    /// context.
    pub fn opens(&self, index: usize, opened: &Opened, labels: &[String]) -> bool {
        if opened.open.get(index).copied().unwrap_or(true) {
            return true;
        }
        let Some(Some(gate)) = self.plugins.get(index) else {
            return true;
        };
        labels.iter().any(|label| {
            gate.labels.iter().any(|l| match l.strip_suffix('*') {
                Some(prefix) => label.starts_with(prefix),
                None => label == l,
            })
        })
    }
}

impl Default for Gates {
    /// No gates: every plugin is called for every text.
    fn default() -> Gates {
        Gates::new([])
    }
}

/// Which plugins of a chain one text opened; see [`Gates::search`].
pub struct Opened {
    open: Vec<bool>,
}

/// The byte groups (of `wanted`) any byte of `bytes` belongs to. In chunks with no early exit inside one,
/// so the compiler can test many bytes per instruction.
fn byte_groups_in(bytes: &[u8], groups: &[u64; 256], wanted: u64) -> u64 {
    let mut seen = 0;
    for chunk in bytes.chunks(256) {
        seen |= chunk
            .iter()
            .fold(0, |seen, &b| seen | groups[usize::from(b)]);
        if seen & wanted == wanted {
            break;
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(words: &[&str], exact: &[&str], bytes: &str, non_ascii: bool, labels: &[&str]) -> Gate {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Gate {
            words: owned(words),
            exact_words: owned(exact),
            bytes: bytes.into(),
            non_ascii,
            labels: owned(labels),
        }
    }

    fn opened(gates: &Gates, text: &str, labels: &[&str]) -> Vec<bool> {
        let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        let found = gates.search(text);
        (0..gates.plugins.len())
            .map(|i| gates.opens(i, &found, &labels))
            .collect()
    }

    #[test]
    fn each_part_of_a_gate_opens_it_alone() {
        let secrets = gate(&["password"], &["AKIA", "SK"], "\\%&", true, &[]);
        let digits = gate(&[], &[], "0123456789", false, &[]);
        let labelled = gate(
            &["secret"],
            &[],
            "",
            false,
            &["found:SECRET", "sensitivity:*"],
        );
        let gates = Gates::new([Some(&secrets), None, Some(&digits), Some(&labelled)]);
        let t = |text, labels: &[&str]| opened(&gates, text, labels);
        assert_eq!(t("nothing here", &[]), [false, true, false, false]);
        assert_eq!(t("my PassWord is", &[]), [true, true, false, false]);
        assert_eq!(t("AKIAIOSFODNN7EXAMPLE", &[]), [true, true, true, false]);
        // Exact words only as written: `sk` in "risks" is not Twilio's `SK`.
        assert_eq!(t("the risks, akia", &[]), [false, true, false, false]);
        assert_eq!(t("an SK here", &[]), [true, true, false, false]);
        assert_eq!(t("50% off", &[]), [true, true, true, false]);
        assert_eq!(t("café", &[]), [true, true, false, false]);
        assert_eq!(t("top SECRET plans", &[]), [false, true, false, true]);
        assert_eq!(t("plain", &["found:SECRET"]), [false, true, false, true]);
        assert_eq!(
            t("plain", &["sensitivity:restricted"]),
            [false, true, false, true]
        );
        assert_eq!(
            t("plain", &["found:EMAIL_ADDRESS"]),
            [false, true, false, false]
        );
    }

    #[test]
    fn a_word_shared_by_two_plugins_opens_both_and_overlapping_words_are_all_seen() {
        let a = gate(&["key"], &[], "", false, &[]);
        let b = gate(&["apikey", "key"], &[], "", false, &[]);
        let c = gate(&["pik"], &[], "", false, &[]);
        let gates = Gates::new([Some(&a), Some(&b), Some(&c)]);
        assert_eq!(opened(&gates, "an APIKEY", &[]), [true, true, true]);
        assert_eq!(opened(&gates, "a key", &[]), [true, true, false]);
    }

    #[test]
    fn bytes_are_found_anywhere_in_a_long_text() {
        let digits = gate(&[], &[], "0123456789", false, &[]);
        let gates = Gates::new([Some(&digits)]);
        let mut text = "a".repeat(10_000);
        assert_eq!(opened(&gates, &text, &[]), [false]);
        text.push('7');
        assert_eq!(opened(&gates, &text, &[]), [true]);
    }

    #[test]
    fn no_gate_is_always_open() {
        let gates = Gates::new([None, None]);
        assert!(!gates.is_gated(0) && !gates.is_gated(1));
        assert_eq!(opened(&gates, "", &[]), [true, true]);
    }
}
