//! What a reader knows from the words around a name and the model does not: "my name is", "Dear",
//! "Dr.", a signature after "Best,", a `customer:` field or a `name` column. spaCy's small model calls
//! "Olumide Adeyemi" a facility after "My name is"; a person cue turns a capitalised run there into a
//! PERSON, whatever the model said of it, and the model's answer stands everywhere else. A second pass
//! drops what the model calls a person where English grammar says it is a word: "Will you…", "Bill the
//! client…" at the start of a sentence.

use regex::Regex;

/// A person found by a cue: byte range in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cued {
    pub start: usize,
    pub end: usize,
}

pub(crate) struct Cues {
    /// A phrase right before a name: "my name is", "Dear", "Dr.", "reported by".
    before: Regex,
    /// A field whose value is a person: `customer: `, `"account_manager": "`, `user="`, `From: `.
    field: Regex,
    /// A sign-off on its own line: the next line is a name.
    sign_off: Regex,
    /// Fields that hold several people, comma-separated.
    list_field: Regex,
    /// A table column of people.
    column: Regex,
    /// The start of a sentence and a capitalised word the model may call a person, then a word that
    /// makes it a verb or a modal: "Will you", "Bill the", "May I".
    not_a_name: Regex,
}

/// Words that follow a capitalised cue word but are not names ("Hi team", "Dear Sir or Madam").
const NOT_NAMES: &[&str] = &[
    "team",
    "all",
    "everyone",
    "everybody",
    "there",
    "sir",
    "madam",
    "customer",
    "support",
    "guys",
    "folks",
    "colleagues",
    "friends",
    "again",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "thanks",
    "regards",
    "hello",
    "hi",
    "the",
    "a",
    "an",
    "i",
    "we",
    "you",
    "mr",
    "mrs",
    "ms",
    "mx",
    "dr",
    "prof",
];

/// Lower-case words a name may hold between its capitalised parts: "Ana de la Cruz", "Daan van Dijk".
const PARTICLES: &[&str] = &[
    "de", "da", "di", "do", "dos", "das", "del", "della", "la", "le", "van", "von", "der", "den",
    "ter", "bin", "ibn", "al", "el", "y", "ní", "mac",
];

const PERSON_FIELDS: &str = "full[ _-]?name|first[ _-]?name|last[ _-]?name|given[ _-]?name|family[ _-]?name|surname|\
    display[ _-]?name|contact[ _-]?name|customer[ _-]?name|name|customer|contact|user|employee|patient|author|sender|\
    recipient|from|to|cc|manager|account[ _-]?manager|emergency[ _-]?contact|assignee|reporter|owner|team[ _-]?lead|\
    agent|attendees?|participants?|signed[ _-]?by|approved[ _-]?by|requested[ _-]?by|ship[ _-]?to|bill[ _-]?to|attn";

impl Cues {
    pub fn new() -> Cues {
        let compile = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("a built-in pattern: {e}"));
        Cues {
            before: compile(
                r"(?i)\b(?:my name is|my name's|name is|call me|i am|i'm|i’m|speaking with|talking to|reported by|assigned to|approved by|signed by|ask for|dear|hi|hello|hey|thanks|thank you|mr|mrs|ms|miss|mx|dr|prof|sir)\.?,?[ \t]+",
            ),
            field: compile(&format!(
                r#"(?im)(?:^|[\s{{,"'\\])(?:{PERSON_FIELDS})(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?[ \t]*"#
            )),
            sign_off: compile(
                r"(?i)\b(?:regards|best|cheers|thanks|thank you|sincerely|yours|best wishes|many thanks|warmly|take care|(?:ship|bill|deliver)[ _-]?to:?)[,!.]?[ \t]*\r?\n[ \t]*",
            ),
            list_field: compile(r"(?i)\b(?:attendees?|participants?|cc|to|present|members?)\b"),
            column: compile(&format!(r"(?i)^\s*(?:{PERSON_FIELDS})\s*$")),
            not_a_name: compile(
                r"(?m)(?:^|[.!?]\s+)(\p{Lu}\p{Ll}+)\s+(?:you|your|the|a|an|i|we|it|this|that|my|our|their|me|us|him|her|them)\b",
            ),
        }
    }

    /// The people the cues point at in `text`.
    pub fn people(&self, text: &str) -> Vec<Cued> {
        let mut out = Vec::new();
        for m in self.before.find_iter(text) {
            out.extend(name_at(text, m.end()));
        }
        for m in self.field.find_iter(text) {
            // A field's name is all of its value ("Customer: No, thanks" is a line of a transcript).
            let Some(first) = name_at(text, m.end()).filter(|n| ends_a_value(&text[n.end..]))
            else {
                continue;
            };
            let list = self.list_field.is_match(m.as_str());
            let mut end = first.end;
            out.push(first);
            // "Attendees: A, B and C"
            while list && end < text.len() {
                let rest = &text[end..];
                let skip = [", ", ",", " and ", " & ", "; "]
                    .iter()
                    .find(|sep| rest.starts_with(**sep));
                let Some(next) = skip.and_then(|sep| name_at(text, end + sep.len())) else {
                    break;
                };
                end = next.end;
                out.push(next);
            }
        }
        for m in self.sign_off.find_iter(text) {
            // The name is the whole of its line.
            if let Some(name) = name_at(text, m.end()) {
                let line_end = text[name.end..]
                    .find('\n')
                    .map_or(text.len(), |i| name.end + i);
                if text[name.end..line_end].trim().is_empty() {
                    out.push(name);
                }
            }
        }
        out.extend(self.columns(text));
        out.sort_by_key(|c| (c.start, c.end));
        out.dedup_by(|b, a| b.start < a.end);
        out
    }

    /// Cells under a header cell like `name`, `contact` or `Owner`, in CSV, TSV and Markdown tables.
    fn columns(&self, text: &str) -> Vec<Cued> {
        let mut out = Vec::new();
        let mut header: Option<(char, Vec<usize>)> = None;
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            let separator = ['\t', '|', ','].into_iter().find(|&c| body.contains(c));
            match (&header, separator) {
                (Some((sep, columns)), Some(s)) if s == *sep => {
                    let mut at = offset;
                    for (i, cell) in body.split(s).enumerate() {
                        if columns.contains(&i) {
                            let lead = cell.len() - cell.trim_start().len();
                            if let Some(name) = name_at(text, at + lead) {
                                if name.end <= at + cell.len() {
                                    out.push(name);
                                }
                            }
                        }
                        at += cell.len() + s.len_utf8();
                    }
                }
                (_, Some(s)) => {
                    let columns: Vec<usize> = body
                        .split(s)
                        .enumerate()
                        .filter(|(_, c)| self.column.is_match(c))
                        .map(|(i, _)| i)
                        .collect();
                    header = (!columns.is_empty()).then_some((s, columns));
                }
                (_, None) => header = None,
            }
            offset += line.len();
        }
        out
    }

    /// Sentence-initial words followed by a pronoun or article ("Will you", "Bill the client"): byte ranges
    /// of the word, which the model's PERSON there should not claim.
    pub fn words_not_names(&self, text: &str) -> Vec<(usize, usize)> {
        self.not_a_name
            .captures_iter(text)
            .filter_map(|c| c.get(1))
            .map(|m| (m.start(), m.end()))
            .collect()
    }
}

/// Whether a field's value ends here: the end of the line or the text, a closing quote, bracket or cell,
/// or a comma with no space after it (CSV) or before a list's next name.
fn ends_a_value(rest: &str) -> bool {
    let mut chars = rest.chars();
    match chars.next() {
        None | Some('\n' | '\r' | '"' | '\'' | '\\' | '|' | '\t' | '<' | '(' | '}' | ']' | ';') => {
            true
        }
        Some(',') => {
            chars.next().is_none_or(|c| c != ' ')
                || rest[1..].trim_start().starts_with(char::is_uppercase)
        }
        Some(' ') => {
            let after = rest.trim_start_matches(' ');
            after.is_empty()
                || after.starts_with(['\n', '\r', '<', '(', '|'])
                || after.starts_with("and ")
        }
        _ => false,
    }
}

/// A name starting at `at`: one to four capitalised words (hyphens and apostrophes inside them, particles
/// between them), not a common word.
fn name_at(text: &str, at: usize) -> Option<Cued> {
    let rest = text.get(at..)?;
    let mut end = 0;
    let mut words = 0;
    let mut pending_particles = 0;
    let mut pos = 0;
    while words < 4 {
        let word_len = rest[pos..]
            .char_indices()
            .find(|&(_, c)| !(c.is_alphabetic() || c == '-' || c == '\'' || c == '’' || c == '.'))
            .map_or(rest.len() - pos, |(i, _)| i);
        let word = rest[pos..pos + word_len].trim_end_matches(['.', '-', '\'', '’']);
        if word.is_empty() {
            break;
        }
        let capitalised = word.chars().next().is_some_and(char::is_uppercase)
            && word.chars().skip(1).any(char::is_lowercase)
            && !word.contains('.');
        if capitalised && !NOT_NAMES.contains(&word.to_lowercase().as_str()) {
            words += 1;
            pending_particles = 0;
            end = pos + word.len();
        } else if words > 0 && PARTICLES.contains(&word) && pending_particles < 2 {
            pending_particles += 1;
        } else {
            break;
        }
        pos += word_len;
        // One space (not a line break) between the parts of a name.
        if rest[pos..].starts_with(' ') {
            pos += 1;
        } else {
            break;
        }
    }
    (words > 0).then(|| Cued {
        start: at,
        end: at + end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(text: &str) -> Vec<&str> {
        Cues::new()
            .people(text)
            .into_iter()
            .map(|c| &text[c.start..c.end])
            .collect()
    }

    #[test]
    fn cues_point_at_names() {
        assert_eq!(
            people("My name is Olumide Adeyemi, I live at 742 Evergreen Terrace"),
            ["Olumide Adeyemi"]
        );
        assert_eq!(
            people("Dear Dr. Ana de la Cruz,\nthanks"),
            ["Ana de la Cruz"]
        );
        assert_eq!(people("Kind regards,\nJi-woo Park\nAcme"), ["Ji-woo Park"]);
        assert_eq!(
            people(r#"{"customer": "Emeka Nwosu", "city": "Lagos"}"#),
            ["Emeka Nwosu"]
        );
        assert_eq!(
            people(r#"{\"account_manager\": \"Matteo Ricci\"}"#),
            ["Matteo Ricci"]
        );
        assert_eq!(
            people("Attendees: Astrid Haugen, Lars Berg and Noor Khalil\nLocation: Oslo"),
            ["Astrid Haugen", "Lars Berg", "Noor Khalil"]
        );
        assert_eq!(
            people("name,city\nSiobhán O'Neill,Cork\nWei Zhang,Chengdu\n"),
            ["Siobhán O'Neill", "Wei Zhang"]
        );
        assert_eq!(
            people("| Owner | Site |\n|---|---|\n| Daan van Dijk | Utrecht |\n"),
            ["Daan van Dijk"]
        );
    }

    #[test]
    fn no_cue_or_no_name_finds_nothing() {
        assert!(people("Hi team, the deploy is done. Thanks!").is_empty());
        assert!(people("Dear Sir or Madam,").is_empty());
        assert!(people("name: deploy-job\nuser=ci").is_empty());
        assert!(people("I'm from Lagos").is_empty());
        assert!(people("Kubernetes restarted the pod.").is_empty());
    }

    #[test]
    fn sentence_initial_words_used_as_words() {
        let text = "Will you send it? Bill the client. Anna called.";
        let words: Vec<&str> = Cues::new()
            .words_not_names(text)
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect();
        assert_eq!(words, ["Will", "Bill"]);
    }
}
