//! Sensitivity from three sources: document markings in the text, a team's keyword dictionaries, and the
//! `found:<CATEGORY>` labels earlier plugins left. Each source yields a level; the text's level is the
//! highest, reported as the label `sensitivity:<level>`.

use std::fmt;

use palisade_sdk::normalize::{Folds, Normalized, FOLD_BYTES};
use std::ops::Range;
use std::str::FromStr;

use palisade_sdk::keywords::{KeywordGate, Needs};
use regex::{Regex, RegexBuilder};

/// How sensitive a text is, least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Public,
    Internal,
    Confidential,
    Restricted,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::Public,
        Level::Internal,
        Level::Confidential,
        Level::Restricted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Public => "public",
            Level::Internal => "internal",
            Level::Confidential => "confidential",
            Level::Restricted => "restricted",
        }
    }

    /// The label that carries this level: `sensitivity:confidential`.
    pub fn label(self) -> String {
        format!("{SENSITIVITY_PREFIX}{}", self.as_str())
    }

    /// The level a `sensitivity:<level>` label names, if it is one.
    pub fn from_label(label: &str) -> Option<Level> {
        label.strip_prefix(SENSITIVITY_PREFIX)?.parse().ok()
    }
}

/// What the label of a level starts with.
const SENSITIVITY_PREFIX: &str = "sensitivity:";

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!("unknown level {s:?}; use public, internal, confidential or restricted")
            })
    }
}

/// One reason the text is as sensitive as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// Rule id: `classification.marking`, `classification.keyword`, `classification.findings`.
    pub rule: &'static str,
    pub level: Level,
    /// Where in the text, for markings and keywords; `None` for a level derived from labels.
    pub range: Option<Range<usize>>,
    /// For people; names the marking, dictionary or labels, never a keyword's text.
    pub message: String,
    /// How a marking or keyword was written to evade detection, if it was (see `palisade_sdk::normalize`).
    pub evasion: Folds,
}

/// A level earned by the labels earlier plugins left: at least `at_least` of `labels` present.
#[derive(Clone, Debug, PartialEq)]
pub struct Escalation {
    pub labels: Vec<String>,
    pub at_least: usize,
    pub level: Level,
}

/// A team's dictionary of words that make a text sensitive (code names, customer names).
#[derive(Clone, Debug)]
pub struct Dictionary {
    pub name: String,
    pub level: Level,
    /// One case-insensitive, whole-word alternation of every term.
    terms: Regex,
    /// The terms as written (trimmed), for the plugin's gate.
    words: Vec<String>,
}

impl Dictionary {
    /// A dictionary matching `terms` as whole words, in any case.
    pub fn new(name: &str, level: Level, terms: &[String]) -> Result<Dictionary, String> {
        let words: Vec<String> = terms
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        let terms: Vec<String> = words.iter().map(|t| regex::escape(t)).collect();
        if terms.is_empty() {
            return Err(format!("dictionary {name:?} has no terms"));
        }
        let pattern = format!(r"\b(?:{})\b", terms.join("|"));
        let terms = RegexBuilder::new(&pattern)
            .case_insensitive(true)
            .size_limit(16 << 20)
            .build()
            .map_err(|e| format!("dictionary {name:?} is too large to compile: {e}"))?;
        Ok(Dictionary {
            name: name.to_string(),
            level,
            terms,
            words,
        })
    }
}

struct Marking {
    pattern: Regex,
    level: Level,
    what: &'static str,
    /// Words every match contains: most texts hold none, and then no marking pattern runs.
    needs: Needs,
}

/// The built-in markings. Classification banners are matched in capitals only (`CONFIDENTIAL`, not "keep
/// this confidential"); fixed legal phrases in any case.
fn markings() -> Vec<Marking> {
    let m = |pattern: &str, level, what, words: &[&str]| Marking {
        // Constants of this crate; a bad one is caught by the test suite at once.
        pattern: Regex::new(pattern).expect("built-in marking compiles"),
        level,
        what,
        needs: Needs {
            words: words.iter().map(|w| w.as_bytes().to_vec()).collect(),
            // Capitals-only banners need their words in capitals; `(?i)` phrases in any case.
            any_case: pattern.starts_with("(?i)"),
        },
    };
    vec![
        m(
            r"\b(?:TOP SECRET|SECRET|CONFIDENTIAL)//[A-Z][A-Z0-9 ,/-]*",
            Level::Restricted,
            "classification control marking (e.g. SECRET//NOFORN)",
            &["SECRET//", "CONFIDENTIAL//"],
        ),
        m(
            r"\bTOP SECRET\b",
            Level::Restricted,
            "TOP SECRET banner",
            &["TOP SECRET"],
        ),
        m(
            r"\((?:TS|S|C)//[A-Z][A-Z0-9 ,/-]*\)",
            Level::Restricted,
            "portion marking",
            &["(TS//", "(S//", "(C//"],
        ),
        m(
            r"\b(?:STRICTLY CONFIDENTIAL|HIGHLY CONFIDENTIAL|RESTRICTED)\b",
            Level::Restricted,
            "restricted banner",
            &["CONFIDENTIAL", "RESTRICTED"],
        ),
        m(
            r"(?i)\b(?:strictly|highly) confidential\b",
            Level::Restricted,
            "strictly confidential marking",
            &["confidential"],
        ),
        m(
            r"(?i)\battorney[- ]client privilege[d]?\b|\bprivileged (?:and|&) confidential\b|\battorney work product\b",
            Level::Confidential,
            "legal privilege marking",
            &["privilege", "work product"],
        ),
        m(
            r"(?i)\b(?:company|business|commercial(?:ly)?|proprietary (?:and|&)) confidential\b|\bconfidential (?:and|&) proprietary\b|\bunder NDA\b",
            Level::Confidential,
            "confidentiality marking",
            &["confidential", "under nda"],
        ),
        m(
            r"\bCONFIDENTIAL\b",
            Level::Confidential,
            "CONFIDENTIAL banner",
            &["CONFIDENTIAL"],
        ),
        m(
            r"(?i)\b(?:for )?internal (?:use )?only\b|\bnot for (?:external|public) (?:distribution|release)\b|\bdo not (?:distribute|forward)\b",
            Level::Internal,
            "internal-only marking",
            &["internal", "not for", "do not"],
        ),
    ]
}

/// The configured classifier. Building it compiles regexes, so build it once per instance.
pub struct Classifier {
    markings: Vec<Marking>,
    /// Which markings a text needs; see [`KeywordGate`].
    gate: KeywordGate,
    dictionaries: Vec<Dictionary>,
    escalations: Vec<Escalation>,
}

/// Government and financial identifiers: one makes a text confidential.
pub const IDENTIFIER_LABELS: &[&str] = &[
    "found:CREDIT_CARD",
    "found:US_SSN",
    "found:IBAN_CODE",
    "found:UK_NHS",
    "found:US_BANK_NUMBER",
    "found:UK_NINO",
    "found:US_ITIN",
    "found:US_PASSPORT",
    "found:UK_PASSPORT",
    "found:US_DRIVER_LICENSE",
    "found:ES_NIF",
    "found:ES_NIE",
    "found:IT_FISCAL_CODE",
    "found:IN_AADHAAR",
    "found:IN_PAN",
    "found:AU_TFN",
    "found:AU_ABN",
    "found:AU_MEDICARE",
    "found:SG_NRIC_FIN",
    "found:PL_PESEL",
    "found:KR_RRN",
    "found:FI_PERSONAL_IDENTITY_CODE",
    "found:DE_TAX_ID",
];

/// The rest of the PII categories; with [`IDENTIFIER_LABELS`], what counts towards "several kinds of
/// personal data".
pub const OTHER_PII_LABELS: &[&str] = &[
    "found:EMAIL_ADDRESS",
    "found:PHONE_NUMBER",
    "found:IP_ADDRESS",
    "found:CRYPTO",
    "found:MAC_ADDRESS",
    "found:DATE_OF_BIRTH",
];

/// The escalations used when the config names none: any secret makes a text restricted; a government or
/// financial identifier makes it confidential; three or more kinds of personal data make it restricted.
pub fn default_escalations() -> Vec<Escalation> {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    vec![
        Escalation {
            labels: owned(&["found:SECRET"]),
            at_least: 1,
            level: Level::Restricted,
        },
        Escalation {
            labels: owned(IDENTIFIER_LABELS),
            at_least: 1,
            level: Level::Confidential,
        },
        Escalation {
            labels: owned(&[IDENTIFIER_LABELS, OTHER_PII_LABELS].concat()),
            at_least: 3,
            level: Level::Restricted,
        },
    ]
}

impl Classifier {
    /// A classifier with the built-in markings (unless `markings` is false), `dictionaries` and
    /// `escalations`.
    pub fn new(
        markings_on: bool,
        dictionaries: Vec<Dictionary>,
        escalations: Vec<Escalation>,
    ) -> Classifier {
        let markings = if markings_on { markings() } else { Vec::new() };
        let gate = KeywordGate::new(markings.iter().map(|m| &m.needs));
        Classifier {
            markings,
            gate,
            dictionaries,
            escalations,
        }
    }

    /// Every reason `text`, with the labels so far, is sensitive. Of markings that overlap, the first
    /// (most severe) is kept. The text is normalised first, so `CONFI\u{200B}DENTIAL` or full-width
    /// `ＩＮＴＥＲＮＡＬ` count, and each range covers the words as written.
    pub fn classify(&self, text: &str, labels: &[String]) -> Vec<Mark> {
        self.normalized(text, |text| {
            self.classify_with(text, labels, &self.gate.rules_for(text))
        })
    }

    /// What a text must hold, or its context carry, for [`Classifier::classify`] or [`overall`] to find
    /// anything (the plugin's gate): the markings' keywords and the dictionaries' terms, anything
    /// normalising would fold, an escalation's labels and a `sensitivity:` label. `None` when a marking
    /// has no keyword or a term is not ASCII (a Kelvin sign in a term matches `k` under `(?i)`).
    pub fn gate(&self) -> Option<palisade_sdk::Gate> {
        let mut gate = self.gate.gate()?;
        for dictionary in &self.dictionaries {
            if !dictionary.words.iter().all(|w| w.is_ascii()) {
                return None;
            }
            gate.words.extend(dictionary.words.iter().cloned());
        }
        gate.bytes = FOLD_BYTES.into();
        gate.non_ascii = true;
        gate.labels = self
            .escalations
            .iter()
            .flat_map(|e| e.labels.iter().cloned())
            .chain([format!("{SENSITIVITY_PREFIX}*")])
            .collect();
        gate.labels.sort();
        gate.labels.dedup();
        Some(gate)
    }

    /// The same as [`Classifier::classify`], with every marking searching the whole text: the reference
    /// the keyword gate is tested against.
    pub fn classify_without_gate(&self, text: &str, labels: &[String]) -> Vec<Mark> {
        self.normalized(text, |text| {
            self.classify_with(text, labels, &vec![true; self.markings.len()])
        })
    }

    fn normalized(&self, text: &str, classify: impl Fn(&str) -> Vec<Mark>) -> Vec<Mark> {
        let normalized = Normalized::with_look_alikes(text);
        let mut marks = classify(normalized.text());
        for mark in &mut marks {
            if let Some(range) = mark.range.take() {
                let (range, folds) = normalized.locate(range);
                mark.range = Some(range);
                mark.evasion = folds.intersection(Folds::EVASIVE);
            }
        }
        marks
    }

    fn classify_with(&self, text: &str, labels: &[String], wanted: &[bool]) -> Vec<Mark> {
        let mut marks: Vec<Mark> = Vec::new();
        let overlaps = |marks: &[Mark], r: &Range<usize>| {
            marks
                .iter()
                .filter_map(|m| m.range.as_ref())
                .any(|o| o.start < r.end && r.start < o.end)
        };
        for (marking, _) in self.markings.iter().zip(wanted).filter(|(_, &run)| run) {
            for m in marking.pattern.find_iter(text) {
                let range = m.range();
                if !overlaps(&marks, &range) {
                    marks.push(Mark {
                        rule: "classification.marking",
                        level: marking.level,
                        range: Some(range),
                        message: format!("{}: {}", marking.what, marking.level),
                        evasion: Folds::NONE,
                    });
                }
            }
        }
        for dictionary in &self.dictionaries {
            for m in dictionary.terms.find_iter(text) {
                marks.push(Mark {
                    rule: "classification.keyword",
                    level: dictionary.level,
                    range: Some(m.range()),
                    message: format!(
                        "term from dictionary {:?}: {}",
                        dictionary.name, dictionary.level
                    ),
                    evasion: Folds::NONE,
                });
            }
        }
        for e in &self.escalations {
            let present: Vec<&str> = e
                .labels
                .iter()
                .filter(|l| labels.contains(l))
                .map(String::as_str)
                .collect();
            if !present.is_empty() && present.len() >= e.at_least {
                marks.push(Mark {
                    rule: "classification.findings",
                    level: e.level,
                    range: None,
                    message: format!("earlier findings ({}): {}", present.join(", "), e.level),
                    evasion: Folds::NONE,
                });
            }
        }
        marks.sort_by_key(|m| m.range.as_ref().map_or(usize::MAX, |r| r.start));
        marks
    }
}

/// The highest level among `marks` and any `sensitivity:` label already present (from the gateway).
pub fn overall(marks: &[Mark], labels: &[String]) -> Option<Level> {
    marks
        .iter()
        .map(|m| m.level)
        .chain(labels.iter().filter_map(|l| Level::from_label(l)))
        .max()
}
