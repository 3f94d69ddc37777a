//! The rules: a regex per credential shape, and validators that keep real credentials only.

use base64::Engine as _;
use regex::Regex;
use std::ops::Range;

/// Every rule id, as gitleaks names them where gitleaks has one.
pub const RULES: &[&str] = &[
    "private-key",
    "connection-string",
    "jwt",
    "anthropic-api-key",
    "openai-api-key",
    "aws-access-token",
    "aws-secret-access-key",
    "github-pat",
    "github-oauth",
    "github-app-token",
    "github-fine-grained-pat",
    "gitlab-pat",
    "slack-bot-token",
    "slack-user-token",
    "stripe-access-token",
    "gcp-api-key",
    "generic-api-key",
];

/// One credential found in a text.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The rule id (without the `secret.` prefix).
    pub rule: &'static str,
    /// What kind of credential, for people.
    pub description: &'static str,
    /// UTF-8 byte range into the inspected text.
    pub range: Range<usize>,
    pub confidence: f32,
}

/// Decides whether a candidate is real; may narrow its range.
type Validator = fn(&str, Range<usize>) -> Option<Range<usize>>;

struct Rule {
    id: &'static str,
    description: &'static str,
    pattern: Regex,
    confidence: f32,
    validate: Validator,
}

/// The configured rules. Building it compiles the regexes, so build it once per instance.
pub struct Detector {
    rules: Vec<Rule>,
}

impl Detector {
    /// All rules, or only those named.
    pub fn new(only: Option<&[String]>) -> Detector {
        let rules = all_rules()
            .into_iter()
            .filter(|r| only.is_none_or(|names| names.iter().any(|n| n == r.id)))
            .collect();
        Detector { rules }
    }

    /// Every credential in `text`; of overlapping hits, the more confident (then the longer) wins.
    pub fn detect(&self, text: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        for rule in &self.rules {
            for caps in rule.pattern.captures_iter(text) {
                // A rule with a `secret` group reports only the value, not the key name before it.
                let Some(m) = caps.name("secret").or_else(|| caps.get(0)) else {
                    continue;
                };
                if let Some(range) = (rule.validate)(text, m.range()) {
                    hits.push(Hit {
                        rule: rule.id,
                        description: rule.description,
                        range,
                        confidence: rule.confidence,
                    });
                }
            }
        }
        palisade_sdk::keep_best_non_overlapping(hits, |h| h.range.clone(), |h| h.confidence)
    }
}

fn all_rules() -> Vec<Rule> {
    let rule = |id, description, pattern: &str, confidence, validate: Validator| Rule {
        id,
        description,
        // The patterns are constants of this crate; a bad one is a bug the test suite catches at once.
        pattern: Regex::new(pattern).expect("built-in pattern compiles"),
        confidence,
        validate,
    };
    vec![
        // Base64 bodies contain no '-', so the body runs to the END line (or, if cut off, to the next '-').
        rule(
            "private-key",
            "PEM private key",
            r"-----BEGIN[A-Z ]{0,24} PRIVATE KEY-----[^-]*(?:-----END[A-Z ]{0,24} PRIVATE KEY-----)?",
            0.99,
            keep,
        ),
        rule(
            "connection-string",
            "database or broker URL with a password",
            r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver)://[^\s:/@'`<>]*:(?P<password>[^\s@'`<>/]+)@[^\s'`<>()]+",
            0.95,
            connection_string,
        ),
        rule(
            "jwt",
            "JSON web token",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
            0.95,
            jwt,
        ),
        rule(
            "anthropic-api-key",
            "Anthropic API key",
            r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,120}",
            0.98,
            provider,
        ),
        rule(
            "openai-api-key",
            "OpenAI API key",
            r"\bsk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}|\bsk-proj-[A-Za-z0-9_-]{80,}",
            0.97,
            provider,
        ),
        rule(
            "aws-access-token",
            "AWS access key id",
            r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
            0.95,
            provider,
        ),
        rule(
            "aws-secret-access-key",
            "AWS secret access key",
            r"(?:^|[^A-Za-z0-9/+])(?P<secret>[A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])",
            0.85,
            aws_secret,
        ),
        rule(
            "github-pat",
            "GitHub personal access token",
            r"\bghp_[A-Za-z0-9]{36}\b",
            0.97,
            provider,
        ),
        rule(
            "github-oauth",
            "GitHub OAuth token",
            r"\bgho_[A-Za-z0-9]{36}\b",
            0.97,
            provider,
        ),
        rule(
            "github-app-token",
            "GitHub app token",
            r"\bgh[usr]_[A-Za-z0-9]{36}\b",
            0.97,
            provider,
        ),
        rule(
            "github-fine-grained-pat",
            "GitHub fine-grained token",
            r"\bgithub_pat_[A-Za-z0-9_]{82}\b",
            0.97,
            provider,
        ),
        rule(
            "gitlab-pat",
            "GitLab personal access token",
            r"\bglpat-[A-Za-z0-9_-]{20}\b",
            0.97,
            provider,
        ),
        rule(
            "slack-bot-token",
            "Slack bot token",
            r"\bxoxb-\d{8,13}-\d{8,13}-[A-Za-z0-9]{20,32}\b",
            0.97,
            provider,
        ),
        rule(
            "slack-user-token",
            "Slack user token",
            r"\bxox[pe](?:-\d{8,13}){3}-[a-f0-9]{28,40}\b",
            0.97,
            provider,
        ),
        rule(
            "stripe-access-token",
            "Stripe secret or restricted key",
            r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,247}\b",
            0.97,
            provider,
        ),
        rule(
            "gcp-api-key",
            "Google API key",
            r"\bAIza[0-9A-Za-z_-]{35}",
            0.95,
            provider,
        ),
        rule(
            "generic-api-key",
            "credential assigned to a key-like name",
            concat!(
                r#"(?i)(?:api[_\s.-]?key|apikey|api[_-]?secret|client[_-]?secret|auth[_-]?token|access[_-]?token|refresh[_-]?token|"#,
                r#"secret[_-]?key|private[_-]?token|x-api-key|bearer|token|secret|passwd|password)['"]?"#,
                // How a value is tied to the name: `= "…"`, `: …`, ` is …`, ` (…)`, ` below:\n…`.
                r#"\s*(?:[:=]{1,2}|=>|\bis\b|\bbelow\b:?|\()?\s*['"`]?"#,
                r#"(?P<secret>[A-Za-z0-9_\-./+=~]{16,128})"#
            ),
            0.7,
            generic,
        ),
    ]
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn keep(_: &str, range: Range<usize>) -> Option<Range<usize>> {
    Some(range)
}

/// Documentation's and templates' stand-ins: never a live credential.
fn placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "example",
        "your",
        "xxxx",
        "placeholder",
        "changeme",
        "change_me",
        "dummy",
        "redacted",
        "sample",
        "****",
        "${",
        "{{",
        "<",
        "insert",
        "replace",
        "1234567890",
        "abcdef",
    ];
    WORDS.iter().any(|w| lower.contains(w))
}

/// Shannon entropy in bits per character.
fn entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in value.bytes() {
        counts[b as usize] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| f64::from(c) / n)
        .map(|p| -p * p.log2())
        .sum()
}

fn provider(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    (!placeholder(&text[range.clone()])).then_some(range)
}

fn connection_string(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    // A URL ends before sentence punctuation.
    let value = text[range.clone()].trim_end_matches(['.', ',', ';', ':', '!', '?', '"']);
    let password = value
        .split("://")
        .nth(1)?
        .split('@')
        .next()?
        .split_once(':')?
        .1;
    if password.len() < 4 || placeholder(password) || password.eq_ignore_ascii_case("password") {
        return None;
    }
    Some(range.start..range.start + value.len())
}

fn jwt(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let header = text[range.clone()].split('.').next()?;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let header = String::from_utf8(decoded).ok()?;
    (header.starts_with('{') && header.contains("\"alg\"")).then_some(range)
}

/// A 40-character base64 run is an AWS secret key only next to AWS context: a key name, or an access key
/// id nearby. Git SHAs and hex digests are lowercase hex and fail the mixed-case test.
fn aws_secret(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = &text[range.clone()];
    let mixed = value.bytes().any(|b| b.is_ascii_uppercase())
        && value.bytes().any(|b| b.is_ascii_lowercase())
        && value.bytes().any(|b| b.is_ascii_digit());
    if !mixed || placeholder(value) || entropy(value) < 4.0 {
        return None;
    }
    let window = |from: usize, to: usize| {
        text[text.floor_char_boundary(from)..text.ceil_char_boundary(to.min(text.len()))]
            .to_ascii_lowercase()
    };
    let before = window(range.start.saturating_sub(80), range.start);
    let around = window(range.start.saturating_sub(300), range.end + 300);
    let named = [
        "aws",
        "secret_access",
        "secretaccess",
        "secret access",
        "secret key",
    ]
    .iter()
    .any(|w| before.contains(w));
    let near_key_id = ["akia", "asia"].iter().any(|w| around.contains(w));
    (named || near_key_id).then_some(range)
}

fn generic(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let value = text[range.clone()].trim_end_matches(['.', '=', '-']);
    let range = range.start..range.start + value.len();
    if value.len() < 16 || placeholder(value) || text[range.end..].starts_with(|c: char| is_word(c))
    {
        return None;
    }
    // A value needs the variety of a generated token: digits and letters, and enough entropy.
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let has_alpha = value.bytes().any(|b| b.is_ascii_alphabetic());
    if !has_digit || !has_alpha || entropy(value) < 3.3 {
        return None;
    }
    // Paths, URLs and dotted identifiers are not tokens.
    if value.contains('/') && !value.contains('+') || value.matches('.').count() > 1 {
        return None;
    }
    Some(range)
}
