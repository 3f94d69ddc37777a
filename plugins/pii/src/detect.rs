//! The recognisers: regexes that propose candidates, validators that keep only real values.
//!
//! Plain Rust (the SDK helper it uses is plain Rust too), so it compiles natively and can be reasoned
//! about and benchmarked on its own.

use regex::Regex;
use std::ops::Range;

/// The entities this plugin knows, named as Presidio names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Email,
    Phone,
    CreditCard,
    UsSsn,
    Iban,
    IpAddress,
    UkNhs,
}

impl Entity {
    /// Every entity, in the order their recognisers run.
    pub const ALL: &'static [Entity] = &[
        Entity::Email,
        Entity::CreditCard,
        Entity::UsSsn,
        Entity::Iban,
        Entity::IpAddress,
        Entity::UkNhs,
        Entity::Phone,
    ];

    /// The finding category (Presidio's entity name).
    pub fn name(self) -> &'static str {
        match self {
            Entity::Email => "EMAIL_ADDRESS",
            Entity::Phone => "PHONE_NUMBER",
            Entity::CreditCard => "CREDIT_CARD",
            Entity::UsSsn => "US_SSN",
            Entity::Iban => "IBAN_CODE",
            Entity::IpAddress => "IP_ADDRESS",
            Entity::UkNhs => "UK_NHS",
        }
    }

    /// The stable rule id reported with each finding.
    pub fn rule(self) -> &'static str {
        match self {
            Entity::Email => "pii.email",
            Entity::Phone => "pii.phone-number",
            Entity::CreditCard => "pii.credit-card",
            Entity::UsSsn => "pii.us-ssn",
            Entity::Iban => "pii.iban",
            Entity::IpAddress => "pii.ip-address",
            Entity::UkNhs => "pii.uk-nhs",
        }
    }

    /// What a person reads in a finding; never the value itself.
    pub fn message(self) -> &'static str {
        match self {
            Entity::Email => "email address",
            Entity::Phone => "phone number",
            Entity::CreditCard => "payment card number (Luhn-valid, known issuer prefix)",
            Entity::UsSsn => "US social security number (valid assignment ranges)",
            Entity::Iban => "IBAN (country length and mod-97 checksum valid)",
            Entity::IpAddress => "IP address",
            Entity::UkNhs => "UK NHS number (mod-11 check digit valid)",
        }
    }

    /// The entity with this category name, if any.
    pub fn from_name(name: &str) -> Option<Entity> {
        Entity::ALL.iter().copied().find(|e| e.name() == name)
    }
}

/// One validated value found in a text.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub entity: Entity,
    /// UTF-8 byte range into the inspected text.
    pub range: Range<usize>,
    pub confidence: f32,
}

/// Decides whether a candidate is real; may narrow its range. Returns the range and a confidence.
type Validator = fn(&str, Range<usize>) -> Option<(Range<usize>, f32)>;

struct Recognizer {
    entity: Entity,
    candidates: Regex,
    validate: Validator,
}

/// The configured set of recognisers. Building it compiles the regexes, so build it once per instance.
pub struct Detector {
    recognizers: Vec<Recognizer>,
}

impl Detector {
    /// Recognisers for `entities` (each at most once, whatever the order given).
    pub fn new(entities: &[Entity]) -> Detector {
        let recognizers = Entity::ALL
            .iter()
            .filter(|e| entities.contains(e))
            .flat_map(|&entity| recognizers_for(entity))
            .collect();
        Detector { recognizers }
    }

    /// Every validated value in `text`; where two overlap, the more confident (then the longer) wins.
    pub fn detect(&self, text: &str) -> Vec<Hit> {
        let mut hits = Vec::new();
        for r in &self.recognizers {
            for m in r.candidates.find_iter(text) {
                if let Some((range, confidence)) = (r.validate)(text, m.range()) {
                    hits.push(Hit {
                        entity: r.entity,
                        range,
                        confidence,
                    });
                }
            }
        }
        palisade_sdk::keep_best_non_overlapping(hits, |h| h.range.clone(), |h| h.confidence)
    }
}

fn recognizers_for(entity: Entity) -> Vec<Recognizer> {
    let make = |pattern: &str, validate: Validator| Recognizer {
        entity,
        // The patterns are constants of this crate; a bad one is a bug that the test suite catches at once.
        candidates: Regex::new(pattern).expect("built-in pattern compiles"),
        validate,
    };
    match entity {
        Entity::Email => vec![make(
            r"(?i)[a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,24}",
            validate_email,
        )],
        Entity::CreditCard => vec![make(r"\d(?:[ -]?\d){12,18}", validate_card)],
        Entity::UsSsn => vec![make(r"\d{3}[- ]\d{2}[- ]\d{4}", validate_ssn)],
        Entity::Iban => vec![make(
            r"(?i)[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}",
            validate_iban,
        )],
        Entity::IpAddress => vec![
            make(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", validate_ipv4),
            make(r"(?i)[0-9a-f:]*:[0-9a-f:]*:[0-9a-f:.]*", validate_ipv6),
        ],
        Entity::UkNhs => vec![make(r"\d{3}[ -]?\d{3}[ -]?\d{4}", validate_nhs)],
        Entity::Phone => vec![
            // North American: (415) 555-0132, 415-555-0132, 415.555.0132, +1 415 555 0132.
            make(
                r"(?:\+1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}",
                validate_nanp,
            ),
            // International with a country code: +44 20 7946 0958, +49 30 12345678, +33 1 23 45 67 89.
            make(
                r"\+[1-9]\d{0,2}(?:[ .-]?\(0\))?(?:[ .-]?\d{1,5}){2,6}",
                validate_international,
            ),
            // UK national: 020 7946 0958, 07700 900123.
            make(r"0\d{2,4} \d{3,4} ?\d{3,4}", validate_uk_national),
        ],
    }
}

// ---- boundaries -------------------------------------------------------------------------------------------

fn before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

fn after(text: &str, at: usize) -> Option<char> {
    text[at..].chars().next()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True when the number at `range` is not a piece of a longer token: no letter or digit touches it, and no
/// separator joins it to another digit (`4532 0151 1283 0367` must not yield a phone number in its tail,
/// `1.2.3.4.5` no IP address).
fn stands_alone(text: &str, range: &Range<usize>, joiners: &[char]) -> bool {
    let mut back = text[..range.start].chars().rev();
    match back.next() {
        Some(c) if is_word(c) => return false,
        Some(c) if joiners.contains(&c) && back.next().is_some_and(|d| d.is_ascii_digit()) => {
            return false
        }
        _ => {}
    }
    let mut ahead = text[range.end..].chars();
    match ahead.next() {
        Some(c) if is_word(c) => false,
        Some(c) if joiners.contains(&c) && ahead.next().is_some_and(|d| d.is_ascii_digit()) => {
            false
        }
        _ => true,
    }
}

fn digits(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

// ---- validators -------------------------------------------------------------------------------------------

fn validate_email(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let (local, _) = value.split_once('@')?;
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return None;
    }
    if before(text, range.start).is_some_and(|c| is_word(c) || matches!(c, '.' | '-' | '+' | '%')) {
        return None;
    }
    if after(text, range.end).is_some_and(|c| is_word(c) || c == '@') {
        return None;
    }
    // `user:password@host` inside a URL is a credential in a connection string, not an address.
    let token_start =
        text[..range.start].rfind(|c: char| c.is_whitespace() || "\"'<>(),;=".contains(c));
    let token = &text[token_start.map_or(0, |i| i + 1)..range.start];
    if token.contains("://") {
        return None;
    }
    Some((range, 0.95))
}

/// Luhn checksum over the digits, as card issuers compute it.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Issuer prefixes (IIN ranges) and lengths of the networks a card number can belong to.
fn known_issuer(d: &[u8]) -> bool {
    let prefix = |n: usize| {
        d.iter()
            .take(n)
            .fold(0u32, |acc, &x| acc * 10 + u32::from(x))
    };
    let len = d.len();
    match d.first() {
        Some(4) => matches!(len, 13 | 16 | 19), // Visa
        Some(5) => (51..=55).contains(&prefix(2)) && len == 16, // Mastercard
        Some(2) => (2221..=2720).contains(&prefix(4)) && len == 16, // Mastercard 2-series
        Some(3) if matches!(prefix(2), 34 | 37) => len == 15, // Amex
        Some(3) if (3528..=3589).contains(&prefix(4)) => (16..=19).contains(&len), // JCB
        Some(3) if (300..=305).contains(&prefix(3)) || matches!(prefix(2), 36 | 38 | 39) => {
            (14..=19).contains(&len)
        } // Diners
        Some(6) => {
            (prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)))
                && (16..=19).contains(&len)
        } // Discover
        _ => false,
    }
}

fn validate_card(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    // Groups are separated consistently (all spaces, all dashes, or none): `4111 1111-1111 1111` is not a card.
    let separators: Vec<char> = value.chars().filter(|c| !c.is_ascii_digit()).collect();
    if separators.windows(2).any(|w| w[0] != w[1]) {
        return None;
    }
    if !stands_alone(text, &range, &['-', ' ', '.', ',']) {
        return None;
    }
    let d = digits(value);
    (known_issuer(&d) && luhn_valid(&d)).then_some((range, 0.95))
}

fn validate_ssn(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let b = value.as_bytes();
    if b[3] != b[6] || !stands_alone(text, &range, &['-', ' ', '.']) {
        return None;
    }
    let d = digits(value);
    let num = |s: &[u8]| s.iter().fold(0u32, |acc, &x| acc * 10 + u32::from(x));
    let (area, group, serial) = (num(&d[0..3]), num(&d[3..5]), num(&d[5..9]));
    // The SSA never assigns area 000, 666 or 900-999, group 00 or serial 0000.
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return None;
    }
    let cued = has_cue(
        text,
        range.start,
        &[
            "ssn",
            "social security",
            "social_security",
            "tax_id",
            "taxpayer",
        ],
    );
    Some((range, if cued { 0.95 } else { 0.8 }))
}

/// ISO 13616 IBAN length per country, for the countries whose IBANs are most often seen.
#[rustfmt::skip]
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "AD" => 24, "AE" => 23, "AT" => 20, "BE" => 16, "BG" => 22, "BH" => 22, "BR" => 29, "CH" => 21,
        "CY" => 28, "CZ" => 24, "DE" => 22, "DK" => 18, "EE" => 20, "ES" => 24, "FI" => 18, "FO" => 18,
        "FR" => 27, "GB" => 22, "GI" => 23, "GL" => 18, "GR" => 27, "HR" => 21, "HU" => 28, "IE" => 22,
        "IL" => 23, "IS" => 26, "IT" => 27, "KW" => 30, "KZ" => 20, "LB" => 28, "LI" => 21, "LT" => 20,
        "LU" => 20, "LV" => 21, "MC" => 27, "MT" => 31, "NL" => 18, "NO" => 15, "PL" => 28, "PT" => 25,
        "QA" => 29, "RO" => 24, "SA" => 24, "SE" => 24, "SI" => 19, "SK" => 24, "SM" => 27, "TR" => 26,
        "UA" => 29,
        _ => return None,
    })
}

fn validate_iban(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let country = value.get(0..2)?.to_ascii_uppercase();
    let want = iban_length(&country)?;
    // The candidate regex is greedy; walk it until the country's length to find where the IBAN ends.
    let mut compact = String::with_capacity(want);
    let mut end = range.start;
    for (i, c) in value.char_indices() {
        if c == ' ' {
            continue;
        }
        compact.push(c.to_ascii_uppercase());
        if compact.len() == want {
            end = range.start + i + c.len_utf8();
            break;
        }
    }
    if compact.len() != want || !compact[2..4].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let range = range.start..end;
    if before(text, range.start).is_some_and(is_word)
        || after(text, range.end).is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    // Mod-97 (ISO 7064) over the rearranged IBAN, letters as 10..35, folded digit by digit.
    let rearranged = compact[4..].chars().chain(compact[..4].chars());
    let mut rem: u32 = 0;
    for c in rearranged {
        let v = c.to_digit(36)?;
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    (rem == 1).then_some((range, 0.95))
}

/// Words that, right before a dotted quad, make it a version or an OID rather than an address.
const VERSION_CUES: &[&str] = &[
    "version", "firmware", "build", "release", "ver", "fw", "oid", "v", "windows", "agent",
    "kernel", "os",
];

fn validate_ipv4(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    if !value
        .split('.')
        .all(|o| o.parse::<u8>().is_ok() && (o == "0" || !o.starts_with('0')))
    {
        return None;
    }
    // `1.3.6.1.4.1` and `10.0.19045.3803` are longer dotted runs; `Chrome/120.0.6099.109` sits after a slash.
    if !stands_alone(text, &range, &['.']) || before(text, range.start) == Some('/') {
        return None;
    }
    let preceding = text[..range.start].trim_end_matches([' ', ':', '=', '\t']);
    let word_start = preceding
        .rfind(|c: char| !c.is_alphanumeric())
        .map_or(0, |i| i + 1);
    let word = preceding[word_start..].to_ascii_lowercase();
    if VERSION_CUES.contains(&word.as_str()) {
        return None;
    }
    Some((range, 0.9))
}

fn validate_ipv6(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let mut value = &text[range.clone()];
    // A sentence may end right after the address: `… from fe80::1.`
    let trimmed = value.trim_end_matches(['.', ':']);
    let range = if trimmed.len() < value.len() && !trimmed.ends_with("::") {
        value = trimmed;
        range.start..range.start + trimmed.len()
    } else {
        range
    };
    if value.parse::<std::net::Ipv6Addr>().is_err() {
        return None;
    }
    // `std::vec`, `a::b` and MAC-like or clock-like runs are not addresses: demand an address's shape.
    let groups = value.split(':').filter(|g| !g.is_empty()).count();
    if groups < 2 || !value.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    if before(text, range.start).is_some_and(|c| is_word(c) || c == ':')
        || after(text, range.end).is_some_and(is_word)
    {
        return None;
    }
    Some((range, 0.9))
}

/// Words that say a number is an NHS number. A 3-3-4 NHS number is also a well-formed US phone number,
/// so only a cue lifts it above the phone reading; a bare one is reported at low confidence.
const NHS_CUES: &[&str] = &["nhs", "health service", "patient"];

fn validate_nhs(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let separators: Vec<char> = value.chars().filter(|c| !c.is_ascii_digit()).collect();
    if separators.len() == 1 || separators.windows(2).any(|w| w[0] != w[1]) {
        return None;
    }
    if !stands_alone(text, &range, &['-', ' ', '.']) {
        return None;
    }
    // Mod-11: weights 10 down to 2 over the first nine digits; the check digit is 11 minus the remainder
    // (11 reads as 0, and 10 means the number was never issued).
    let d = digits(value);
    let sum: u32 = d[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(&x, w)| u32::from(x) * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return None,
        c => c,
    };
    if u32::from(d[9]) != check {
        return None;
    }
    let cued = has_cue(text, range.start, NHS_CUES);
    // A bare ten-digit run is as likely an epoch timestamp or an id (one in eleven passes mod-11): without
    // separators, only a cue makes it an NHS number.
    if separators.is_empty() && !cued {
        return None;
    }
    Some((range, if cued { 0.95 } else { 0.5 }))
}

/// Whether one of `cues` appears (case-insensitively) in the 32 bytes before `at`.
fn has_cue(text: &str, at: usize, cues: &[&str]) -> bool {
    let window = text[text.floor_char_boundary(at.saturating_sub(32))..at].to_ascii_lowercase();
    cues.iter().any(|cue| window.contains(cue))
}

fn validate_nanp(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let d = digits(value);
    let national = if d.len() == 11 { &d[1..] } else { &d[..] };
    // NANP area codes and exchanges start with 2-9.
    if national.len() != 10 || national[0] < 2 || national[3] < 2 {
        return None;
    }
    if !stands_alone(text, &range, &['-', ' ', '.', '/']) {
        return None;
    }
    Some((range, 0.75))
}

fn validate_international(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let n = digits(value).len();
    if !(8..=15).contains(&n)
        || value.starts_with("+1") && n == 11 && validate_nanp(text, range.clone()).is_some()
    {
        // North American numbers are the NANP recogniser's; leave them to it.
        return None;
    }
    if !stands_alone(text, &range, &['-', ' ', '.']) {
        return None;
    }
    Some((range, 0.75))
}

fn validate_uk_national(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let n = digits(&text[range.clone()]).len();
    if !(10..=11).contains(&n) || !stands_alone(text, &range, &['-', ' ', '.']) {
        return None;
    }
    Some((range, 0.6))
}
