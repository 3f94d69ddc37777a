//! Where data may go: destinations tagged by pattern, and an ordered list of rules over principal, tool,
//! direction, sensitivity labels and destination; the first rule that matches decides.

use std::collections::BTreeMap;
use std::ops::Range;

use palisade_sdk::normalize::{Folds, Normalized};
use regex::Regex;

/// `*` matches any run of characters (including none); everything else matches itself. Hosts and URLs
/// are compared in lowercase by the caller.
pub fn glob(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no `*` at all: exact match
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The host of a URL, lowercased, without user info or port; for anything else, the value lowercased.
pub fn host_of(destination: &str) -> String {
    let Some((_, rest)) = destination.split_once("://") else {
        return destination.to_ascii_lowercase();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or(host_port)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    host.to_ascii_lowercase()
}

/// Whether destination `pattern` covers `destination`. A pattern with `://` is a URL prefix (`https://api.example.com/v1/`);
/// any other is a glob over the host (`*.example.com`) or, for a destination that is not a URL, over
/// the whole name (`gpt-4o*`, `claude-*`).
pub fn destination_matches(pattern: &str, destination: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let destination_lower = destination.to_ascii_lowercase();
    if pattern.contains("://") {
        return glob(&format!("{pattern}*"), &destination_lower);
    }
    glob(&pattern, &host_of(destination)) || glob(&pattern, &destination_lower)
}

/// What a rule does when it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One rule. Every condition given must hold; a condition left out holds for anything.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub effect: Effect,
    /// Destination patterns (see [`destination_matches`]).
    pub destinations: Vec<String>,
    /// The destination must carry one of these tags.
    pub tags: Vec<String>,
    /// The destination must carry none of these tags (`confidential` data only to `internal`).
    pub unless_tags: Vec<String>,
    /// Principal globs (`spiffe://example.org/ns/team-a/*`).
    pub principals: Vec<String>,
    /// Tool globs (`http_*`).
    pub tools: Vec<String>,
    /// One of these labels must be present (`sensitivity:confidential`).
    pub labels: Vec<String>,
    /// `input`, `output`.
    pub directions: Vec<String>,
    /// Said to the caller on deny, after the rule's name.
    pub reason: Option<String>,
}

/// Everything a rule may look at for one destination.
pub struct Subject<'a> {
    pub destination: &'a str,
    pub tags: &'a [String],
    pub principal: Option<&'a str>,
    pub tool: Option<&'a str>,
    pub labels: &'a [String],
    pub direction: &'a str,
}

impl Rule {
    fn matches(&self, s: &Subject) -> bool {
        let any = |list: &[String], ok: &dyn Fn(&str) -> bool| {
            list.is_empty() || list.iter().any(|x| ok(x))
        };
        any(&self.destinations, &|p| {
            destination_matches(p, s.destination)
        }) && any(&self.tags, &|t| s.tags.iter().any(|x| x == t))
            && !self.unless_tags.iter().any(|t| s.tags.contains(t))
            && any(&self.principals, &|p| {
                s.principal.is_some_and(|principal| glob(p, principal))
            })
            && any(&self.tools, &|p| s.tool.is_some_and(|tool| glob(p, tool)))
            && any(&self.labels, &|l| s.labels.iter().any(|x| x == l))
            && any(&self.directions, &|d| d == s.direction)
    }
}

/// The configured destination policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Tag → destination patterns.
    pub tags: BTreeMap<String, Vec<String>>,
    pub rules: Vec<Rule>,
    /// What happens when no rule matches.
    pub default: Effect,
    /// Check URLs inside tool calls' text too.
    pub inspect_tool_arguments: bool,
}

/// What the policy made of one destination.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub destination: String,
    /// Where it sits in the text, for a URL found in a tool call's arguments.
    pub range: Option<Range<usize>>,
    /// How that URL was written to evade detection, if it was (`https://evil．com`).
    pub evasion: Folds,
    pub tags: Vec<String>,
    /// The rule that matched, if any.
    pub rule: Option<String>,
    pub effect: Effect,
    pub reason: Option<String>,
}

/// URLs in a tool call's arguments (JSON or prose): scheme, host, and the rest up to a delimiter.
fn urls() -> &'static Regex {
    static URLS: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    URLS.get_or_init(|| {
        Regex::new(r#"(?i)\b(?:https?|ftps?|wss?|s3|gs)://[^\s"'<>`{}|\\^]+"#)
            .expect("URL pattern compiles")
    })
}

impl Policy {
    /// The tags whose patterns cover `destination`.
    pub fn tags_of(&self, destination: &str) -> Vec<String> {
        self.tags
            .iter()
            .filter(|(_, patterns)| patterns.iter().any(|p| destination_matches(p, destination)))
            .map(|(tag, _)| tag.clone())
            .collect()
    }

    /// Decides one destination: the first matching rule, else the default.
    pub fn decide(&self, subject: Subject, range: Option<Range<usize>>) -> Decision {
        let rule = self.rules.iter().find(|r| r.matches(&subject));
        Decision {
            destination: subject.destination.to_string(),
            range,
            evasion: Folds::NONE,
            tags: subject.tags.to_vec(),
            rule: rule.map(|r| r.name.clone()),
            effect: rule.map_or(self.default, |r| r.effect),
            reason: rule.and_then(|r| r.reason.clone()),
        }
    }

    /// Decisions for the request's own destination and, for a tool call, each URL in its text.
    pub fn check(
        &self,
        destination: Option<&str>,
        principal: Option<&str>,
        tool: Option<&str>,
        labels: &[String],
        direction: &str,
        text: &str,
    ) -> Vec<Decision> {
        let mut targets: Vec<(String, Option<Range<usize>>, Folds)> = Vec::new();
        if let Some(d) = destination.filter(|d| !d.is_empty()) {
            targets.push((d.to_string(), None, Folds::NONE));
        }
        if self.inspect_tool_arguments && tool.is_some() {
            // Normalised, so `https://evil．com` or `https:\/\/evil.com` is judged as the host it names.
            let normalized = Normalized::new(text);
            for m in urls().find_iter(normalized.text()) {
                let url = m.as_str().trim_end_matches(['.', ',', ';', ':', ')', ']']);
                let (range, folds) = normalized.locate(m.start()..m.start() + url.len());
                targets.push((
                    url.to_string(),
                    Some(range),
                    folds.intersection(Folds::EVASIVE),
                ));
            }
        }
        targets
            .into_iter()
            .map(|(destination, range, evasion)| {
                let tags = self.tags_of(&destination);
                let subject = Subject {
                    destination: &destination,
                    tags: &tags,
                    principal,
                    tool,
                    labels,
                    direction,
                };
                Decision {
                    evasion,
                    ..self.decide(subject, range)
                }
            })
            .collect()
    }
}
