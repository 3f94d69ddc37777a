//! The recognisers: regexes that propose candidates, validators that keep only real values.
//!
//! Plain Rust (the SDK helper it uses is plain Rust too), so it compiles natively and can be reasoned
//! about and benchmarked on its own.

mod national;

use palisade_sdk::keywords::{KeywordGate, Needs};
use palisade_sdk::normalize::{Folds, Normalized};
use palisade_sdk::tables::{column_header, forget_tables, MAX_ROW};
// The engine under `regex`, for searching a window of a text while `\b` and `^` still see the text around it.
use regex_automata::{meta::Regex, Anchored, Input};
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
    Crypto,
    UkNhs,
    UsBankNumber,
    Url,
    UkNino,
    UsItin,
    UsPassport,
    UkPassport,
    UsDriverLicense,
    EsNif,
    EsNie,
    ItFiscalCode,
    InAadhaar,
    InPan,
    AuTfn,
    AuAbn,
    AuMedicare,
    SgNric,
    PlPesel,
    KrRrn,
    FiHetu,
    DeTaxId,
    MacAddress,
    DateOfBirth,
}

impl Entity {
    /// Every entity, in the order their recognisers run.
    pub const ALL: &'static [Entity] = &[
        Entity::Email,
        Entity::CreditCard,
        Entity::UsSsn,
        Entity::Iban,
        Entity::IpAddress,
        Entity::Crypto,
        Entity::Url,
        Entity::UkNhs,
        Entity::UsBankNumber,
        Entity::UkNino,
        Entity::UsItin,
        Entity::UsPassport,
        Entity::UkPassport,
        Entity::UsDriverLicense,
        Entity::EsNif,
        Entity::EsNie,
        Entity::ItFiscalCode,
        Entity::InAadhaar,
        Entity::InPan,
        Entity::AuTfn,
        Entity::AuAbn,
        Entity::AuMedicare,
        Entity::SgNric,
        Entity::PlPesel,
        Entity::KrRrn,
        Entity::FiHetu,
        Entity::DeTaxId,
        Entity::MacAddress,
        Entity::DateOfBirth,
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
            Entity::Crypto => "CRYPTO",
            Entity::UkNhs => "UK_NHS",
            Entity::UsBankNumber => "US_BANK_NUMBER",
            Entity::Url => "URL",
            Entity::UkNino => "UK_NINO",
            Entity::UsItin => "US_ITIN",
            Entity::UsPassport => "US_PASSPORT",
            Entity::UkPassport => "UK_PASSPORT",
            Entity::UsDriverLicense => "US_DRIVER_LICENSE",
            Entity::EsNif => "ES_NIF",
            Entity::EsNie => "ES_NIE",
            Entity::ItFiscalCode => "IT_FISCAL_CODE",
            Entity::InAadhaar => "IN_AADHAAR",
            Entity::InPan => "IN_PAN",
            Entity::AuTfn => "AU_TFN",
            Entity::AuAbn => "AU_ABN",
            Entity::AuMedicare => "AU_MEDICARE",
            Entity::SgNric => "SG_NRIC_FIN",
            Entity::PlPesel => "PL_PESEL",
            Entity::KrRrn => "KR_RRN",
            Entity::FiHetu => "FI_PERSONAL_IDENTITY_CODE",
            Entity::DeTaxId => "DE_TAX_ID",
            Entity::MacAddress => "MAC_ADDRESS",
            Entity::DateOfBirth => "DATE_OF_BIRTH",
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
            Entity::Crypto => "pii.crypto",
            Entity::UkNhs => "pii.uk-nhs",
            Entity::UsBankNumber => "pii.us-bank-number",
            Entity::Url => "pii.url",
            Entity::UkNino => "pii.uk-nino",
            Entity::UsItin => "pii.us-itin",
            Entity::UsPassport => "pii.us-passport",
            Entity::UkPassport => "pii.uk-passport",
            Entity::UsDriverLicense => "pii.us-driver-license",
            Entity::EsNif => "pii.es-nif",
            Entity::EsNie => "pii.es-nie",
            Entity::ItFiscalCode => "pii.it-fiscal-code",
            Entity::InAadhaar => "pii.in-aadhaar",
            Entity::InPan => "pii.in-pan",
            Entity::AuTfn => "pii.au-tfn",
            Entity::AuAbn => "pii.au-abn",
            Entity::AuMedicare => "pii.au-medicare",
            Entity::SgNric => "pii.sg-nric-fin",
            Entity::PlPesel => "pii.pl-pesel",
            Entity::KrRrn => "pii.kr-rrn",
            Entity::FiHetu => "pii.fi-personal-identity-code",
            Entity::DeTaxId => "pii.de-tax-id",
            Entity::MacAddress => "pii.mac-address",
            Entity::DateOfBirth => "pii.date-of-birth",
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
            Entity::Crypto => "cryptocurrency address (checksum valid)",
            Entity::UkNhs => "UK NHS number (mod-11 check digit valid)",
            Entity::UsBankNumber => "bank account number (named as one nearby)",
            Entity::Url => "URL",
            Entity::UkNino => "UK National Insurance number (HMRC's letter rules)",
            Entity::UsItin => "US individual taxpayer identification number (IRS ranges)",
            Entity::UsPassport => "US passport number (named as one nearby)",
            Entity::UkPassport => "UK passport number (named as a British passport nearby)",
            Entity::UsDriverLicense => "US driver's license number (named as one nearby)",
            Entity::EsNif => "Spanish NIF/DNI (check letter valid)",
            Entity::EsNie => "Spanish NIE (check letter valid)",
            Entity::ItFiscalCode => "Italian fiscal code (check character valid)",
            Entity::InAadhaar => "Indian Aadhaar number (Verhoeff check digit valid)",
            Entity::InPan => "Indian PAN (holder-type letter valid)",
            Entity::AuTfn => "Australian tax file number (weighted check valid)",
            Entity::AuAbn => "Australian business number (mod-89 check valid)",
            Entity::AuMedicare => "Australian Medicare number (check digit valid)",
            Entity::SgNric => "Singapore NRIC/FIN (check letter valid)",
            Entity::PlPesel => "Polish PESEL (birth date and check digit valid)",
            Entity::KrRrn => "Korean resident registration number (birth date valid)",
            Entity::FiHetu => "Finnish personal identity code (date and check character valid)",
            Entity::DeTaxId => "German tax identification number (check digit valid)",
            Entity::MacAddress => "MAC address",
            Entity::DateOfBirth => "date of birth (named as one nearby)",
        }
    }

    /// The entity with this category name, if any.
    pub fn from_name(name: &str) -> Option<Entity> {
        Entity::ALL.iter().copied().find(|e| e.name() == name)
    }
}

/// One validated value found in a text.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit<'d> {
    /// The stable rule id, e.g. `pii.email`.
    pub rule: &'d str,
    /// The finding category, e.g. `EMAIL_ADDRESS`.
    pub category: &'d str,
    /// What a person reads in the finding; never the value.
    pub message: &'d str,
    /// UTF-8 byte range into the inspected text.
    pub range: Range<usize>,
    pub confidence: f32,
    /// How the value was written to evade detection, if it was (see `palisade_sdk::normalize`).
    pub evasion: Folds,
}

/// A team's own recogniser, from the plugin's config: a regex, optionally only near one of its context words.
#[derive(Clone, Debug)]
pub struct CustomPattern {
    /// Reported as rule `pii.<name>`.
    pub name: String,
    pub category: String,
    pub confidence: f32,
    /// If not empty, a match counts only with one of these words (any case) in the 48 bytes before it.
    pub context: Vec<String>,
    pattern: Regex,
    reach: Option<Reach>,
    runs: Option<Runs>,
}

impl CustomPattern {
    /// A recogniser for `pattern`; the error says what is wrong with the pattern, for the operator.
    pub fn new(
        name: String,
        category: String,
        pattern: &str,
        confidence: f32,
        context: Vec<String>,
    ) -> Result<CustomPattern, String> {
        // Parsed first for the error people can read (where in the pattern, and what); building can still
        // fail past the size limits.
        let hir = regex_syntax::Parser::new()
            .parse(pattern)
            .map_err(|e| e.to_string())?;
        Ok(CustomPattern {
            name,
            category,
            confidence,
            context,
            pattern: Regex::new(pattern).map_err(|e| e.to_string())?,
            reach: reach(&hir),
            runs: Runs::of(&hir),
        })
    }
}

/// Decides whether a candidate is real; may narrow its range. Returns the range and a confidence.
type Validator = fn(&str, Range<usize>) -> Option<(Range<usize>, f32)>;

enum Check {
    Builtin(Validator),
    Custom {
        confidence: f32,
        context: Vec<String>,
    },
}

struct Recognizer {
    rule: String,
    category: String,
    message: String,
    candidates: Regex,
    check: Check,
    /// For a recogniser whose values count only next to a word that names them: a text with none of these
    /// (in any ASCII case) is not searched at all, unless `spelled` matches it. See [`CueGate`].
    cues: Vec<&'static str>,
    spelled: Option<Spelled>,
    /// The same for a recogniser whose values carry a mark a cheap test finds: a text without it is not
    /// searched.
    gate: Option<fn(&str) -> bool>,
    /// Whether what comes right before a value makes it something else (see [`after_an_id_label`]).
    refused_after: Option<fn(&str, usize) -> bool>,
    /// How the pattern's matches sit around their digits, when every one holds one: it is then searched
    /// only near the text's digits.
    reach: Option<Reach>,
    /// Otherwise, the runs of bytes its matches are made of, when every match holds one of a few bytes:
    /// it is then searched only in the runs that hold one.
    runs: Option<Runs>,
}

impl Recognizer {
    /// A finding of this recogniser's at `range`.
    fn hit(&self, range: Range<usize>, confidence: f32) -> Hit<'_> {
        Hit {
            rule: &self.rule,
            category: &self.category,
            message: &self.message,
            range,
            confidence,
            evasion: Folds::NONE,
        }
    }

    /// This recogniser, searched only near stretches of at least `digits` digits: what its validator takes
    /// holds that many, more than its pattern's fewest, so the windows it skips hold only what it rejects.
    fn needing(mut self, digits: usize) -> Recognizer {
        if let Some(reach) = &mut self.reach {
            reach.digits = reach.digits.max(digits);
        }
        self
    }
}

/// Values never to report: exact values (any case), and email or URL domains with their subdomains.
#[derive(Clone, Debug, Default)]
pub struct Allowed {
    pub values: Vec<String>,
    pub domains: Vec<String>,
}

impl Allowed {
    fn permits(&self, category: &str, value: &str) -> bool {
        if self.values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
            return true;
        }
        let domain = match category {
            "EMAIL_ADDRESS" => value.rsplit_once('@').map(|(_, d)| d),
            "URL" => Some(url_host(value)),
            _ => None,
        };
        domain.is_some_and(|d| {
            self.domains.iter().any(|allowed| {
                d.eq_ignore_ascii_case(allowed)
                    || d.len() > allowed.len()
                        && d[d.len() - allowed.len()..].eq_ignore_ascii_case(allowed)
                        && d.as_bytes()[d.len() - allowed.len() - 1] == b'.'
            })
        })
    }
}

/// The configured set of recognisers. Building it compiles the regexes, so build it once per instance.
pub struct Detector {
    recognizers: Vec<Recognizer>,
    allowed: Allowed,
    normalize: bool,
    /// Report a host name alone (`example.com`: no scheme, `www.` or path) as a URL.
    bare_hosts: bool,
    /// Leave the credential in a URL to a secrets plugin later in the chain (see [`credential_free`]).
    leave_credentials: bool,
    /// Search the patterns that allow it only where their matches can be: near digits (see
    /// [`digit_windows`]) or in runs of their bytes (see [`Runs`]). Off only to test that it changes no
    /// answer.
    windows: bool,
    /// Every recogniser's cues, searched in one pass: which recognisers a text has the words for.
    cue_gate: KeywordGate,
    /// Whether recognisers whose values count only next to a cue skip texts without one (the default).
    cues_gated: bool,
    /// How the built-in patterns with nothing but punctuation between their digits join runs of digits, at
    /// the loosest: the union of their joiners and the longest of their gaps. See [`coarse_stretches`].
    coarse: Option<Reach>,
}

impl Detector {
    /// Recognisers for `entities` (each at most once, whatever the order given).
    pub fn new(entities: &[Entity]) -> Detector {
        let recognizers: Vec<Recognizer> = Entity::ALL
            .iter()
            .filter(|e| entities.contains(e))
            .flat_map(|&entity| recognizers_for(entity))
            .collect();
        // A team's own recognisers, added later, have no cues: they never ask the gate.
        let needs: Vec<Needs> = recognizers
            .iter()
            .map(|r| Needs {
                words: r.cues.iter().map(|c| c.as_bytes().to_vec()).collect(),
                any_case: true,
            })
            .collect();
        let coarse = recognizers
            .iter()
            .filter_map(|r| r.reach)
            .filter(|reach| !(b'A'..=b'z').any(|b| reach.joiners.contains(b)))
            .reduce(|a, b| Reach {
                lead: 0,
                trail: 0,
                gap: a.gap.max(b.gap),
                digits: a.digits.min(b.digits),
                joiners: a.joiners.union(b.joiners),
            });
        Detector {
            coarse,
            cue_gate: KeywordGate::new(&needs),
            cues_gated: true,
            recognizers,
            allowed: Allowed::default(),
            normalize: true,
            bare_hosts: false,
            leave_credentials: false,
            windows: true,
        }
    }

    /// This detector with a team's own recognisers added after the built-in ones.
    pub fn with_patterns(mut self, patterns: Vec<CustomPattern>) -> Detector {
        self.recognizers
            .extend(patterns.into_iter().map(|p| Recognizer {
                reach: p.reach,
                runs: p.runs,
                rule: format!("pii.{}", p.name),
                message: format!("matches the configured pattern `{}`", p.name),
                category: p.category,
                candidates: p.pattern,
                check: Check::Custom {
                    confidence: p.confidence,
                    context: p.context.iter().map(|w| w.to_lowercase()).collect(),
                },
                cues: Vec::new(),
                spelled: None,
                gate: None,
                refused_after: None,
            }));
        self
    }

    /// This detector, never reporting what `allowed` permits.
    pub fn with_allowed(mut self, allowed: Allowed) -> Detector {
        self.allowed = allowed;
        self
    }

    /// This detector, reporting a host name alone (`example.com`) as a URL (`true`) or not (the default:
    /// it is rarely personal data, and redacting every host name makes a prompt useless).
    pub fn with_bare_hosts(mut self, bare_hosts: bool) -> Detector {
        self.bare_hosts = bare_hosts;
        self
    }

    /// This detector, leaving what makes a URL a credential unreported (`true`) so that a secrets plugin
    /// after it in the chain still sees it and reports a `SECRET`: a redacted URL would hide it. See
    /// [`credential_free`]. Off by default: on its own, pii redacts such a URL whole, credential and all.
    pub fn with_credentials_left(mut self, leave: bool) -> Detector {
        self.leave_credentials = leave;
        self
    }

    /// This detector, reading text as written (`false`) instead of normalised first (the default).
    pub fn with_normalization(mut self, normalize: bool) -> Detector {
        self.normalize = normalize;
        self
    }

    /// This detector, searching every pattern over the whole text (`false`) instead of searching the
    /// patterns that allow it only where their matches can be (the default: near digits, or in runs of
    /// the bytes they are made of): the reference the windows are tested against.
    pub fn with_windows(mut self, windows: bool) -> Detector {
        self.windows = windows;
        self
    }

    /// This detector, running the recognisers whose values need a cue word on every text (`false`)
    /// instead of only on texts that have one of their cues (the default): the reference that gate is
    /// tested against.
    pub fn with_cue_gate(mut self, gated: bool) -> Detector {
        self.cues_gated = gated;
        self
    }

    /// Every validated value in `text`; where two overlap, the more confident (then the longer) wins.
    /// Unless turned off, the text is normalised first (full-width digits, zero-width characters,
    /// escapes …) and each span covers the value as written, disguise included.
    pub fn detect(&self, text: &str) -> Vec<Hit<'_>> {
        if !self.normalize {
            return self.detect_as_written(text);
        }
        let normalized = Normalized::with_look_alikes(text);
        let mut hits = self.detect_as_written(normalized.text());
        for hit in &mut hits {
            let (range, folds) = normalized.locate(hit.range.clone());
            hit.range = range;
            hit.evasion = folds.intersection(Folds::EVASIVE);
        }
        hits
    }

    fn detect_as_written(&self, text: &str) -> Vec<Hit<'_>> {
        forget_tables();
        let mut hits = Vec::new();
        // Searched once, for the recognisers that only count next to a word.
        let mut cued: Option<Vec<bool>> = None;
        // Windows pay off over a text with no digits (nothing to search) and over one with digits here and
        // there, short texts included (natively, a 250-byte chat turn with a phone number 8.4 -> 5.0 µs;
        // 4 KiB of prose with a value every 30 bytes 170 -> 109 µs). Each pattern's windows fall back to
        // the whole text when they would cover most of it; a text with a run of digits every few bytes is
        // searched whole without counting (and the runs kept stay under twice the text's size).
        let digitless = self.windows && !text.bytes().any(|b| b.is_ascii_digit());
        let digits = if self.windows && !digitless {
            digit_runs(text, text.len() / 8)
        } else {
            None
        };
        let windowed = digitless || digits.is_some();
        let digits = digits.unwrap_or_default();
        let mut windows: Vec<Range<usize>> = Vec::new();
        // The text's coarse stretches of digits, found when a pattern first asks.
        let mut coarse: Option<Vec<(Range<usize>, usize)>> = None;
        let mut candidates = Vec::new();
        // The validators read cues lowercased as Unicode lowercases (`MÓVIL` is `móvil`), which the gate's
        // ASCII-case search does not: a text with a capital outside ASCII asks every cued recogniser.
        // Looked for once, and only when a gate is shut.
        let mut unicode_capitals: Option<bool> = None;
        for (i, r) in self.recognizers.iter().enumerate() {
            let shut = !r.cues.is_empty()
                && self.cues_gated
                && !cued.get_or_insert_with(|| self.cue_gate.rules_for(text))[i]
                && !*unicode_capitals.get_or_insert_with(|| {
                    !text.is_ascii() && text.chars().any(|c| !c.is_ascii() && c.is_uppercase())
                });
            // A cue of short words is looked for spelled only in a text with digits: every recogniser with
            // cues takes only values with digits (a licence five or more, dates, identifiers, phone
            // numbers), and over prose the search would cost more than the recognisers it opens.
            if shut && (digitless || !r.spelled.as_ref().is_some_and(|s| s.is_in(text)))
                || r.gate.is_some_and(|gate| !gate(text))
            {
                continue;
            }
            candidates.clear();
            let in_windows = match (r.reach.filter(|_| windowed), &r.runs) {
                (Some(reach), _) => {
                    let coarse = self.coarse.filter(|c| reach.within(c)).map(|c| {
                        &coarse.get_or_insert_with(|| coarse_stretches(text, &digits, &c))[..]
                    });
                    digit_windows(text, &digits, coarse, reach, &mut windows);
                    true
                }
                (None, Some(runs)) if self.windows => {
                    windows = runs.windows(text);
                    true
                }
                _ => false,
            };
            if in_windows {
                for window in windows.drain(..) {
                    let found = r.candidates.find_iter(Input::new(text).range(window));
                    candidates.extend(found.map(|m| m.range()));
                }
            } else {
                candidates.extend(r.candidates.find_iter(text).map(|m| m.range()));
            }
            for m in candidates.drain(..) {
                let checked = match &r.check {
                    // A candidate its validator refuses may hold a value that starts inside it: the
                    // `212.555.0187` in `1 212.555.0187` of `row 1001 212.555.0187`, the card after the
                    // `1001 4539` of `row 1001 4539-6209-6654-2877`. Each group after a space inside it
                    // is tried as a start.
                    Check::Builtin(validate) => validate(text, m.clone()).or_else(|| {
                        group_starts(text, m).find_map(|at| {
                            let input = Input::new(text).range(at..).anchored(Anchored::Yes);
                            validate(text, r.candidates.search(&input)?.range())
                        })
                    }),
                    Check::Custom {
                        confidence,
                        context,
                    } => (!m.is_empty()
                        && (context.is_empty() || has_cue(text, m.start, 48, context)))
                    .then_some((m, *confidence)),
                };
                let Some((mut range, confidence)) = checked else {
                    continue;
                };
                if r.refused_after
                    .is_some_and(|refused| refused(text, range.start))
                {
                    continue;
                }
                if self.leave_credentials && r.category == Entity::Url.name() {
                    match credential_free(text, range) {
                        Some(rest) => range = rest,
                        None => continue,
                    }
                }
                let value = &text[range.clone()];
                if self.allowed.permits(&r.category, value)
                    || (!self.bare_hosts && r.category == Entity::Url.name() && is_bare_host(value))
                {
                    continue;
                }
                hits.push(r.hit(range, confidence));
            }
        }
        let mut kept =
            palisade_sdk::keep_best_non_overlapping(hits, |h| h.range.clone(), |h| h.confidence);
        let inside = self.values_in_urls(text, &kept);
        kept.extend(inside);
        kept.sort_by_key(|h| h.range.start);
        kept
    }

    /// What the URLs in `kept` carry that is reported inside them as well: a host that is an address
    /// literal (`http://[2001:db8::1]:8080/`) as an IP address, an e-mail address in the path or query
    /// (`/unsubscribe?email=ann@example.com`) as an address. Redacting the URL hides them too, but the
    /// findings say what it carried.
    fn values_in_urls(&self, text: &str, kept: &[Hit<'_>]) -> Vec<Hit<'_>> {
        // Only where URLs are looked for: a team's own pattern may report its matches as `URL` too.
        if self.looking_for(Entity::Url).is_none() {
            return Vec::new();
        }
        let ip = self.looking_for(Entity::IpAddress);
        let email = self.looking_for(Entity::Email);
        let mut found = Vec::new();
        for url in kept.iter().filter(|h| h.category == Entity::Url.name()) {
            let url = url.range.clone();
            if let Some(ip) = ip {
                found.extend(literal_host(text, url.clone()).map(|host| (ip, host, 0.9)));
            }
            if let (Some(email), Some(path)) = (email, url_path_start(text, url.clone())) {
                for m in email
                    .candidates
                    .find_iter(Input::new(text).range(path..url.end))
                {
                    let address = email_at(text, m.range()).filter(|r| r.start >= path);
                    found.extend(address.map(|address| (email, address, 0.95)));
                }
            }
        }
        found
            .into_iter()
            .filter(|(r, range, _)| !self.allowed.permits(&r.category, &text[range.clone()]))
            .map(|(r, range, confidence)| r.hit(range, confidence))
            .collect()
    }

    /// The first recogniser for `entity`, when this detector looks for it.
    fn looking_for(&self, entity: Entity) -> Option<&Recognizer> {
        self.recognizers
            .iter()
            .find(|r| r.category == entity.name())
    }
}

/// The span of a URL's host when it is an IP address literal, without the brackets of an IPv6 one.
fn literal_host(text: &str, url: Range<usize>) -> Option<Range<usize>> {
    let value = &text[url.clone()];
    let host = url_host(value);
    // `url_host` returns a slice of `value`: its offset in it is the pointers' difference.
    let offset = url.start + (host.as_ptr() as usize - value.as_ptr() as usize);
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return ipv6_literal(inner).map(|_| offset + 1..offset + 1 + inner.len());
    }
    host.parse::<std::net::Ipv4Addr>()
        .ok()
        .map(|_| offset..offset + host.len())
}

fn recognizers_for(entity: Entity) -> Vec<Recognizer> {
    let make = |pattern: &str, validate: Validator| {
        // `\d` as ASCII digits: the validators count ASCII digits, and a value in another script's digits
        // (`٠٧٨-٠٥-١١٢٠`) matched the pattern but left them fewer digits than its shape promised — the SSN
        // validator panicked. Values in other digits are for normalisation before matching.
        // The patterns are constants of this crate; a bad one is a bug that the test suite catches at once.
        let pattern = pattern.replace(r"\d", "[0-9]");
        let hir = regex_syntax::Parser::new()
            .parse(&pattern)
            .expect("built-in pattern parses");
        // The cues its validator wants, for the gate that skips texts without one.
        let cues: &[&'static str] = match entity {
            Entity::UsItin => national::ITIN_CUES,
            Entity::UsPassport => national::US_PASSPORT_CUES,
            Entity::UkPassport => national::UK_PASSPORT_CUES,
            Entity::UsDriverLicense => national::DRIVER_LICENSE_CUES,
            Entity::PlPesel => national::PESEL_CUES,
            Entity::DateOfBirth => national::BIRTH_CUES,
            _ => &[],
        };
        let gate = CueGate::of(cues);
        Recognizer {
            rule: entity.rule().to_string(),
            category: entity.name().to_string(),
            message: entity.message().to_string(),
            candidates: Regex::new(&pattern).expect("built-in pattern compiles"),
            reach: reach(&hir),
            runs: Runs::of(&hir),
            check: Check::Builtin(validate),
            cues: gate.words,
            spelled: gate.spelled,
            gate: None,
            refused_after: None,
        }
    };
    match entity {
        // From the `@` on: the validator reads the local part backwards. A pattern with the local part in it
        // (`[\p{L}0-9._%+-]{0,63}@`) starts a match at every letter of every text, and the Unicode class
        // thrashed the lazy DFA: the corpus took ten times as long.
        // The domain in ASCII (an internationalised one in its `xn--` form): Latin letters swapped for
        // Cyrillic look-alikes are folded back before matching (`Normalized::with_look_alikes`).
        Entity::Email => vec![
            make(
                r"(?i)@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,24}",
                validate_email,
            ),
            // An internationalised domain as written (`josé@exämple.de`, `用户@例子.广告`), only in texts
            // where an `@` is followed by a character outside ASCII before anything that ends a domain:
            // `\w` of every script is a large class for the lazy DFA.
            Recognizer {
                gate: Some(non_ascii_after_at),
                ..make(r"@[\w-]+(?:\.[\w-]+)+", validate_idn_email)
            },
            // Written to dodge address harvesters: `jane [at] example [dot] com`, `jane(at)example.com`,
            // `jane at example dot com`, `jane@example[.]com`. Only in texts with one of those marks: ` at `
            // alone is in most English prose.
            Recognizer {
                gate: Some(has_obfuscation_mark),
                ..make(
                    r"(?i)(?:[\[({<] ?(?:at|@) ?[\])}>] ?| at | @ |@)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:(?: ?[\[({<] ?(?:dot|\.) ?[\])}>] ?| dot |\.)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+",
                    validate_obfuscated_email,
                )
            },
        ],
        // Digits run together, or in groups split by one kind of separator: `4012888888881881 4012-8888-…`
        // is two numbers, not one candidate of nineteen digits that swallows the start of the next. Spaces
        // may be doubled (forms and PDFs pad them); dots, slashes and spaced dashes are how some people
        // write a card, too.
        // Searched only near twelve digits or more: no issuer's numbers are shorter.
        Entity::CreditCard => vec![make(
            r"\d{12,19}|\d{1,8}(?: {1,2}\d{1,8}){1,7}|\d{1,8}(?:-\d{1,8}){1,7}|\d{1,8}(?:\.\d{1,8}){1,7}|\d{1,8}(?: - \d{1,8}){1,7}|\d{1,8}(?:/\d{1,8}){1,7}",
            validate_card,
        )
        .needing(12)],
        // The usual groupings, and with a cue the ones people type less often (`536 - 22 - 8714`,
        // `536/22/8714`, `536-22- 8714`).
        Entity::UsSsn => vec![make(
            r"\d{3}[-. ]\d{2}[-. ]\d{4}|\d{9}|\d{3} ?[-/] ?\d{2} ?[-/] ?\d{4}",
            validate_ssn,
        )],
        // Identifiers written in ASCII take `(?i-u)`: either case of ASCII letters and nothing else. Unicode's
        // case folding also matches `ſ` for s and the Kelvin sign for k, and the validators, which read such
        // a value as ASCII bytes, panicked on them (with normalisation off, which would fold them first: a
        // text holding `RſSMRA85T10A562S` made the plugin trap).
        Entity::Iban => vec![make(
            r"(?i-u)[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,32}",
            validate_iban,
        )],
        Entity::IpAddress => vec![
            make(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", validate_ipv4),
            make(r"(?i)[0-9a-f:]*:[0-9a-f:]*:[0-9a-f:.]*", validate_ipv6),
        ],
        Entity::Crypto => vec![
            make(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}", validate_base58_address),
            make(
                r"(?i)(?:bc|tb)1[02-9ac-hj-np-z]{11,87}",
                validate_segwit_address,
            ),
            make(r"0x[0-9a-fA-F]{40}", validate_eth_address),
        ],
        Entity::Url => vec![
            make(
                r#"(?i)(?:https?|ftps?|wss?)://[^\s<>"'`{}|\\^]+"#,
                validate_url,
            ),
            make(
                r#"(?i)www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/?#:][^\s<>"'`{}|\\^]*)?"#,
                validate_url,
            ),
            // A bare domain (`example.com`, `shop.example.co.uk/cart`), only with a well-known TLD. Label
            // lengths and hyphens are checked by the validator: bounded repetitions here (`{0,61}` per label)
            // made a lazy DFA too big for its cache, and this one pattern cost more than all the others.
            make(
                r#"[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.[a-z]{2,6}(?:/[^\s<>"'`{}|\\^]*)?"#,
                validate_bare_domain,
            ),
        ],
        Entity::UkNhs => vec![make(r"\d{3}[ .-]?\d{3}[ .-]?\d{4}", validate_nhs)],
        Entity::UsBankNumber => vec![make(r"\d{8,17}", validate_bank_number)],
        Entity::UkNino => vec![make(
            r"(?i-u)[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]",
            national::uk_nino,
        )],
        Entity::UsItin => vec![make(r"9\d{2}[- ]\d{2}[- ]\d{4}|9\d{8}", national::us_itin)],
        Entity::UsPassport => vec![make(r"[A-Za-z]\d{8}|\d{9}", national::us_passport)],
        Entity::UkPassport => vec![make(r"\d{9}", national::uk_passport)],
        // The states' formats (a letter or two and digits, digits alone, Florida's and Illinois' dashed
        // groups, New York's 3-3-3, Washington's WDL…) — all of them only next to words for the licence.
        Entity::UsDriverLicense => vec![make(
            r"[A-Za-z]{1,2}\d{5,14}|\d{5,14}|[A-Za-z]\d{3}-\d{3}-\d{2}-\d{3}-\d|[A-Za-z]\d{3}-\d{4}-\d{4}|\d{3} \d{3} \d{3}|WDL[A-Z0-9*]{9}",
            national::us_driver_license,
        )],
        Entity::EsNif => vec![make(r"(?i-u)\d{7,8}-?[A-Z]", national::es_nif)],
        Entity::EsNie => vec![make(r"(?i-u)[XYZ]-?\d{7}-?[A-Z]", national::es_nie)],
        Entity::ItFiscalCode => vec![make(
            r"(?i-u)[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]",
            national::it_fiscal_code,
        )],
        Entity::InAadhaar => vec![make(
            r"[2-9]\d{3} \d{4} \d{4}|[2-9]\d{3}-\d{4}-\d{4}|[2-9]\d{11}",
            national::in_aadhaar,
        )],
        Entity::InPan => vec![make(
            r"[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z]",
            national::in_pan,
        )],
        Entity::AuTfn => vec![make(r"\d{3}[ -]\d{3}[ -]\d{3}|\d{9}", national::au_tfn)],
        Entity::AuAbn => vec![make(r"\d{2} \d{3} \d{3} \d{3}|\d{11}", national::au_abn)],
        Entity::AuMedicare => vec![make(
            r"[2-6]\d{3} \d{5} \d|[2-6]\d{9}",
            national::au_medicare,
        )],
        Entity::SgNric => vec![make(r"(?i-u)[STFGM]\d{7}[A-Z]", national::sg_nric)],
        Entity::PlPesel => vec![make(r"\d{11}", national::pl_pesel)],
        Entity::KrRrn => vec![make(r"\d{6}-\d{7}|\d{13}", national::kr_rrn)],
        Entity::FiHetu => vec![make(
            r"(?i-u)\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]",
            national::fi_hetu,
        )],
        Entity::DeTaxId => vec![make(r"\d{2} \d{3} \d{3} \d{3}|\d{11}", national::de_tax_id)],
        Entity::MacAddress => vec![make(
            r"(?i-u)[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}",
            national::mac_address,
        )],
        Entity::DateOfBirth => vec![make(
            &format!(
                r"(?i)\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[./-]\d{{1,2}}[./-](?:\d{{4}}|\d{{2}})|\d{{1,2}}(?:st|nd|rd|th|er)?\.?(?: of| de)? (?:{months})[a-zà-öø-ÿа-я]*\.?,?(?: de)? \d{{4}}|(?:{months})[a-zà-öø-ÿ]*\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}|\d{{4}}年\d{{1,2}}月\d{{1,2}}日|\d{{4}}년 ?\d{{1,2}}월 ?\d{{1,2}}일|\d{{4}}\. ?\d{{1,2}}\. ?\d{{1,2}}\.?",
                months = national::MONTHS.map(|(start, _)| start).join("|")
            ),
            national::date_of_birth,
        )],
        Entity::Phone => {
            let phone_gate = CueGate::of(&[PHONE_CUES, PHONE_LABELS_AFTER].concat());
            // Its validator wants a cue, so texts without one skip it: in a log line of numbers it was
            // most of `pii`'s time.
            let cued = |pattern: &str| {
                Recognizer {
                    cues: phone_gate.words.clone(),
                    spelled: phone_gate.spelled.clone(),
                    ..make(pattern, validate_cued_phone)
                }
                .needing(6)
            };
            vec![
                // North American: (415) 555-0132, 415-555-0132, 415.555.0132, +1 415 555 0132, 1-800-555-0199.
                make(
                    r"(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}",
                    validate_nanp,
                )
                .needing(10),
                // French national: 01 23 45 67 89, 06.12.34.56.78.
                make(
                    r"0[1-9](?:[ .]\d{2}){4}|0[1-9](?:-\d{2}){4}",
                    validate_national,
                )
                .needing(10),
                // International with a country code: +44 20 7946 0958, +49 30 12345678, +33 1 23 45 67 89, the
                // area code in brackets: +44 (0)20 7946 0958, +44 (20) 7946 0958, and the country code:
                // (+30) 2491 186252, +(370) 28194821.
                make(
                    r"(?:\+[1-9]\d{0,2}|\(\+[1-9]\d{0,2}\)|\+\([1-9]\d{0,2}\))(?:[ .-]?\(0?\d{0,4}\))?(?:[ .-]?\d{1,5}){2,6}",
                    validate_international,
                )
                .needing(8),
                // The same dialled from Europe, `00` for the `+`: 0049 30 1234567, 0044 20 7946 0958.
                make(
                    r"00[1-9]\d{0,2}[ .-](?:\(0?\d{0,4}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{1,5}){1,5}",
                    validate_double_zero,
                )
                .needing(10),
                // The same as a form field's value, `+` for each space (`phone=%2B44+20+7946+0958` once the
                // `%2B` is undone): its own pattern, so that `=+` keeps it off the common path.
                make(
                    r"=\+[1-9]\d{0,2}(?:\+?\(0?\d{0,4}\))?(?:[+-]?\d{1,5}){2,6}",
                    validate_form_phone,
                )
                .needing(8),
                // German mobiles, 015x to 017x and seven or eight digits: 0151 23456789, 0171/1234567.
                make(r"01[5-7]\d{1,2}[ /-]\d{7,8}", validate_german_mobile).needing(11),
                // UK and German national: 020 7946 0958, 07700 900123, 030 12345678, 05393 36338; the trunk
                // code then pairs or threes that much of Europe writes: 0494 41 18 24 (Belgium), 026 848 14 90
                // (Switzerland), 09721 88 29 47 (Germany), 0699 888 72 47 (Austria), 044 613 186 (Croatia),
                // 06 091 39 09, 08-909 960 30 (Sweden); Australia's 02 9482 1993.
                make(
                    r"0\d{2,4} \d{3,4} ?\d{3,4}|0[1-9]\d{0,3}(?: \d{2,3}){2,4}|0[1-9]\d{2,4} \d{4,8}|0[1-9]\d{0,3}-\d{2,3}(?: \d{2,4}){1,3}|0[2-9] \d{4} \d{4}",
                    validate_grouped_national,
                )
                .needing(9),
                // A trunk code in brackets: (02) 9876 5432 (Australia), (020) 7946 0958, (030) 1234567,
                // (07700) 798 524, (0543)-231948.
                make(r"\(0\d{1,4}\)[ -]?\d{2,4}[ -]?\d{3,4}", validate_national).needing(10),
                // Brazil: (11) 91234-5678, (21) 2345-6789, 61 0308-2462.
                make(
                    r"\([1-9]\d\) ?9?\d{4}-\d{4}|[1-9]\d 9?\d{4}-\d{4}",
                    validate_national,
                )
                .needing(10),
                // Japan and Korea: 03-1234-5678, 090-1234-5678, 02-123-4567, 010-1234-5678; the Netherlands:
                // 06-12345678, 020-1234567; Israel: 09-7625400, 054-1234567; Australian mobiles: 0412 345 678.
                make(r"0\d{1,3}-\d{3,4}-\d{4}", validate_dashed_national).needing(9),
                make(r"0\d{1,3}-\d{6,8}", validate_dashed_national).needing(9),
                make(
                    r"04\d{2}(?: \d{3} \d{3}|-\d{3}-\d{3}|\.\d{3}\.\d{3})",
                    validate_national,
                )
                .needing(10),
                // Any other grouping (912 345 678 in Spain, 06 1234 5678 in Italy, 96 771394, 30/166 1318 in
                // Hungary, 8 260 181 5908 in Russia, a subscriber's 469 2020), an area code in brackets of any
                // length ((72) 583-350, 8 (246) 281-9482, (351) 911860913), or digits run together (a Chinese
                // mobile's eleven, a national number with its trunk 0 or Russia's 8, eight to ten digits),
                // next to a word that says phone.
                cued(
                    r"(?:\+?\d{1,3} ?)?\(\d{1,5}\)[ /-]?\d{2,9}(?:[ ./-]\d{2,8}){0,3}|\d{1,5}(?:[ ./-] ?\d{2,8}){1,4}|1[3-9]\d{9}|[08]\d{9,10}|\d{8,10}",
                ),
                // A North American number's ten digits run together, an Indian mobile as 98765 43210: a
                // pattern of their own (as alternatives of the one above, one A/B measured pii ~4 % slower
                // over log-heavy text; later runs could not tell the two apart from noise).
                cued(r"[2-9]\d{2}[2-9]\d{6}|0?[6-9]\d{4}[ .-]\d{5}"),
            ]
            .into_iter()
            .map(|r| Recognizer {
                refused_after: Some(after_an_id_label),
                ..r
            })
            .collect()
        }
    }
}

/// What a text must hold for a validator's cues to be in it, found with one search of the text instead of
/// reading every value's surroundings: the validators read a cue as [`cue_words`] reads text (`_ - .` as
/// spaces, camel case split: `TRAVEL_DOCUMENT`, `TaxId`, `D_O_B`), so the gate holds on to a word each cue
/// keeps whole however it is written — its longest (`birth` of `date of birth`) — and a cue of short words
/// only (`d o b`, `dl no`), which no one word picks out, is matched spelled any of those ways.
struct CueGate {
    words: Vec<&'static str>,
    spelled: Option<Spelled>,
}

/// A recogniser's cues of short words only, each as its words.
#[derive(Clone)]
struct Spelled(Vec<Vec<&'static [u8]>>);

impl Spelled {
    /// Whether one of the cues is in `text` with any run of `_ - . ` (or nothing: camel case) between its
    /// words, in any ASCII case. Compared where each cue's first letter is (a regex of them all, searched
    /// in every text a gate shut, made 4 KiB of prose 32 -> 38 µs in Wasm).
    fn is_in(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        self.0.iter().any(|words| {
            let first = words[0][0];
            memchr::memchr2_iter(first, first.to_ascii_uppercase(), bytes)
                .any(|at| spelled_at(&bytes[at..], words))
        })
    }
}

/// Whether `words` are at the start of `bytes`, with any run of `_ - . ` between them.
fn spelled_at(mut bytes: &[u8], words: &[&[u8]]) -> bool {
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            let gap = bytes
                .iter()
                .take_while(|b| matches!(b, b' ' | b'_' | b'-' | b'.'))
                .count();
            bytes = &bytes[gap..];
        }
        match bytes.get(..word.len()) {
            Some(here) if here.eq_ignore_ascii_case(word) => bytes = &bytes[word.len()..],
            _ => return false,
        }
    }
    true
}

impl CueGate {
    fn of(cues: &[&'static str]) -> CueGate {
        let mut words = Vec::new();
        let mut spelled = Vec::new();
        for &cue in cues {
            let longest = cue
                .split(' ')
                .fold("", |a, w| if w.len() > a.len() { w } else { a });
            if longest.len() >= 4 || !cue.contains(' ') {
                words.push(longest);
            } else {
                spelled.push(cue.split(' ').map(str::as_bytes).collect());
            }
        }
        let spelled = (!spelled.is_empty()).then_some(Spelled(spelled));
        CueGate { words, spelled }
    }
}

// ---- digit windows ----------------------------------------------------------------------------------------

/// How a pattern's matches sit around their digits: at most `lead` bytes before the first digit, `trail`
/// after the last, and `gap` between two digits. Known only for a pattern every match of which holds an
/// ASCII digit. (What it asserts about the text around it, `\b` or `^`, is read in the whole text: a
/// window is searched as a span of it.)
#[derive(Clone, Copy, Debug)]
struct Reach {
    lead: usize,
    trail: usize,
    gap: usize,
    /// The fewest digits a match holds: a stretch of the text's digits with fewer holds no match.
    digits: usize,
    /// The bytes other than digits a match can hold: two runs of digits with any other byte between
    /// them are not in one match (a timestamp's `T` and `:` split it for a pattern of dashed groups).
    joiners: ByteSet,
}

impl Reach {
    /// Whether every stretch of digits this pattern can span lies inside one of `coarse`'s, and the
    /// stretches `coarse` drops for too few digits hold too few for it: it joins runs no farther apart,
    /// across no other bytes, and wants no fewer digits. See [`coarse_stretches`].
    fn within(&self, coarse: &Reach) -> bool {
        self.gap <= coarse.gap
            && self.joiners.is_subset(&coarse.joiners)
            && self.digits >= coarse.digits
    }
}

/// What the strings a piece of a pattern matches look like around digits: the longest with no digit
/// (`None`: every one has one), and over those with digits the most bytes before the first, after the
/// last and between two. Lengths past [`Shape::FAR`] are as good as unbounded.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Shape {
    free: Option<usize>,
    lead: Option<usize>,
    trail: Option<usize>,
    gap: Option<usize>,
}

impl Shape {
    const FAR: usize = 1 << 16;
    const EMPTY: Shape = Shape {
        free: Some(0),
        lead: None,
        trail: None,
        gap: None,
    };
    const DIGIT: Shape = Shape {
        free: None,
        lead: Some(0),
        trail: Some(0),
        gap: Some(0),
    };

    fn no_digit(len: usize) -> Shape {
        Shape {
            free: Some(len),
            ..Shape::EMPTY
        }
    }

    /// Either one's strings.
    fn or(self, other: Shape) -> Shape {
        let max = |a: Option<usize>, b: Option<usize>| a.max(b);
        Shape {
            free: max(self.free, other.free),
            lead: max(self.lead, other.lead),
            trail: max(self.trail, other.trail),
            gap: max(self.gap, other.gap),
        }
    }

    /// A string of this one followed by a string of `next`.
    fn then(self, next: Shape) -> Shape {
        let add = |a: Option<usize>, b: Option<usize>| Some(a?.saturating_add(b?).min(Shape::FAR));
        Shape {
            free: add(self.free, next.free),
            lead: self.lead.max(add(self.free, next.lead)),
            trail: next.trail.max(add(self.trail, next.free)),
            gap: self.gap.max(next.gap).max(add(self.trail, next.lead)),
        }
    }
}

/// Whether a class holds ASCII digits, and whether it holds anything else.
fn digits_and_others(class: &regex_syntax::hir::Class) -> (bool, bool) {
    use regex_syntax::hir::Class;
    let bounds: Vec<(u32, u32)> = match class {
        Class::Unicode(c) => c
            .ranges()
            .iter()
            .map(|r| (r.start().into(), r.end().into()))
            .collect(),
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .map(|r| (r.start().into(), r.end().into()))
            .collect(),
    };
    let (zero, nine) = (u32::from(b'0'), u32::from(b'9'));
    (
        bounds
            .iter()
            .any(|&(start, end)| start <= nine && end >= zero),
        bounds
            .iter()
            .any(|&(start, end)| start < zero || end > nine),
    )
}

fn shape(hir: &regex_syntax::hir::Hir) -> Shape {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Shape::EMPTY,
        HirKind::Literal(literal) => literal.0.iter().fold(Shape::EMPTY, |s, b| {
            s.then(if b.is_ascii_digit() {
                Shape::DIGIT
            } else {
                Shape::no_digit(1)
            })
        }),
        HirKind::Class(class) => {
            // Other characters are at most `len` bytes each.
            let len = match class {
                Class::Unicode(c) => c.ranges().last().map_or(1, |r| r.end().len_utf8()),
                Class::Bytes(_) => 1,
            };
            match digits_and_others(class) {
                (true, true) => Shape::DIGIT.or(Shape::no_digit(len)),
                (true, false) => Shape::DIGIT,
                _ => Shape::no_digit(len),
            }
        }
        HirKind::Capture(capture) => shape(&capture.sub),
        HirKind::Concat(parts) => parts.iter().fold(Shape::EMPTY, |s, p| s.then(shape(p))),
        HirKind::Alternation(branches) => branches
            .iter()
            .map(shape)
            .reduce(Shape::or)
            .unwrap_or(Shape::EMPTY),
        HirKind::Repetition(repetition) => {
            let one = shape(&repetition.sub);
            // Every count from `min` to `max`; past 64 copies, whatever still grows is unbounded.
            if repetition.min > 64 {
                let far = |n: Option<usize>| n.map(|_| Shape::FAR);
                return Shape {
                    free: far(one.free),
                    lead: far(one.lead),
                    trail: far(one.trail),
                    gap: far(one.gap),
                };
            }
            let max = repetition.max.unwrap_or(u32::MAX).min(65);
            let (mut copies, mut all) = (Shape::EMPTY, None::<Shape>);
            let mut previous = Shape::EMPTY;
            for n in 0..=max {
                if n >= repetition.min {
                    all = Some(all.map_or(copies, |a| a.or(copies)));
                }
                previous = copies;
                copies = copies.then(one);
            }
            let mut all = all.unwrap_or(Shape::EMPTY);
            if repetition.max.is_none_or(|m| m > 64) && copies != previous {
                let far = |now: Option<usize>, before: Option<usize>| {
                    if now != before {
                        now.map(|_| Shape::FAR)
                    } else {
                        now
                    }
                };
                all = Shape {
                    free: far(copies.free, previous.free).max(all.free),
                    lead: far(copies.lead, previous.lead).max(all.lead),
                    trail: far(copies.trail, previous.trail).max(all.trail),
                    gap: far(copies.gap, previous.gap).max(all.gap),
                };
            }
            all
        }
    }
}

/// The [`Reach`] of a pattern, if it has one.
fn reach(hir: &regex_syntax::hir::Hir) -> Option<Reach> {
    let s = shape(hir);
    let near = |n: Option<usize>| n.filter(|&n| n < Shape::FAR);
    let gap = near(s.gap)?;
    match s.free {
        None => Some(Reach {
            lead: near(s.lead)?,
            trail: near(s.trail)?,
            gap,
            digits: fewest_digits(hir),
            // Digits run together only (`[A-Za-z][0-9]{8}`): no byte joins two runs, whatever else a match
            // holds.
            joiners: if gap == 0 {
                ByteSet::default()
            } else {
                alphabet(hir).without(b'0'..=b'9')
            },
        }),
        _ => None,
    }
}

/// The fewest ASCII digits a match of the pattern holds (a class counts only when it holds digits alone).
fn fewest_digits(hir: &regex_syntax::hir::Hir) -> usize {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 0,
        HirKind::Literal(literal) => literal.0.iter().filter(|b| b.is_ascii_digit()).count(),
        HirKind::Class(class) => usize::from(digits_and_others(class) == (true, false)),
        HirKind::Capture(capture) => fewest_digits(&capture.sub),
        HirKind::Concat(parts) => parts
            .iter()
            .map(fewest_digits)
            .fold(0, usize::saturating_add),
        HirKind::Alternation(branches) => branches.iter().map(fewest_digits).min().unwrap_or(0),
        HirKind::Repetition(repetition) => {
            fewest_digits(&repetition.sub).saturating_mul(repetition.min as usize)
        }
    }
}

/// The runs of ASCII digits in `text`, found once for every recogniser; none past `most` of them.
fn digit_runs(text: &str, most: usize) -> Option<Vec<Range<usize>>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (i, b) in text.bytes().enumerate() {
        if !b.is_ascii_digit() {
            continue;
        }
        match runs.last_mut() {
            Some(run) if run.end == i => run.end += 1,
            _ => runs.push(i..i + 1),
        }
        if runs.len() > most {
            return None;
        }
    }
    Some(runs)
}

/// Calls `each` with every stretch of `runs` one match of this [`Reach`] can span — runs at most `gap` bytes
/// apart with only `joiners` between — that holds at least `digits` digits: the indices of its runs in
/// `runs`, the bytes from the first's start to the last's end, and its digits. Stops when `each` says so.
fn stretches(
    text: &str,
    runs: &[Range<usize>],
    reach: &Reach,
    mut each: impl FnMut(Range<usize>, Range<usize>, usize) -> bool,
) {
    let bytes = text.as_bytes();
    let Some(first) = runs.first() else {
        return;
    };
    let (mut from, mut digits) = (0, first.len());
    for (i, run) in runs.iter().enumerate().skip(1) {
        let end = runs[i - 1].end;
        let joined = run.start - end <= reach.gap
            && bytes[end..run.start]
                .iter()
                .all(|&b| reach.joiners.contains(b));
        if joined {
            digits += run.len();
            continue;
        }
        if digits >= reach.digits && !each(from..i, runs[from].start..end, digits) {
            return;
        }
        (from, digits) = (i, run.len());
    }
    if digits >= reach.digits {
        each(
            from..runs.len(),
            runs[from].start..runs[runs.len() - 1].end,
            digits,
        );
    }
}

/// A text's widest stretches of digits: its runs joined as the most lenient of the built-in patterns
/// without letters between their digits join them (`coarse`, see [`Detector::coarse`]), as ranges of
/// indices into the runs. A pattern that joins no more loosely has each of its stretches inside one of
/// these, so it need walk only those with as many digits as it wants: over a log or a prompt dense with
/// short numbers, a handful of a text's hundreds of runs.
fn coarse_stretches(
    text: &str,
    runs: &[Range<usize>],
    coarse: &Reach,
) -> Vec<(Range<usize>, usize)> {
    let mut found = Vec::new();
    stretches(text, runs, coarse, |indices, _, digits| {
        found.push((indices, digits));
        true
    });
    found
}

/// Where a pattern of this [`Reach`] can match, into `windows`: the text's [`stretches`] for it, `lead`
/// bytes before and `trail` after added, overlapping windows joined. Searching each window finds exactly
/// what searching the whole text finds: every match lies inside one window, and no match found in a window
/// runs past its end. A text with no digits has no windows; one they would mostly cover is searched whole.
/// With `coarse` (the text's [`coarse_stretches`], when the pattern joins no more loosely than they do),
/// only those of them with enough digits are walked.
fn digit_windows(
    text: &str,
    runs: &[Range<usize>],
    coarse: Option<&[(Range<usize>, usize)]>,
    reach: Reach,
    windows: &mut Vec<Range<usize>>,
) {
    // Each search has a start-up cost, about what scanning 16 bytes costs: where the windows would cost
    // more than half of one search of the whole text, that search is cheaper.
    let budget = text.len() / 2;
    let mut cost = 0;
    windows.clear();
    let mut add = |stretch: Range<usize>| {
        let start = text.floor_char_boundary(stretch.start.saturating_sub(reach.lead));
        let end = text.ceil_char_boundary(stretch.end.saturating_add(reach.trail).min(text.len()));
        match windows.last_mut() {
            Some(last) if last.end >= start => {
                cost += end.saturating_sub(last.end);
                last.end = last.end.max(end);
            }
            _ => {
                cost += end - start + 16;
                windows.push(start..end);
            }
        }
        cost <= budget
    };
    let whole = [(0..runs.len(), usize::MAX)];
    let mut within_budget = true;
    for (span, digits) in coarse.unwrap_or(&whole) {
        if *digits < reach.digits {
            continue;
        }
        stretches(text, &runs[span.clone()], &reach, |_, stretch, _| {
            within_budget = add(stretch);
            within_budget
        });
        if !within_budget {
            break;
        }
    }
    if !within_budget {
        windows.clear();
        windows.push(0..text.len());
    }
}

// ---- byte runs --------------------------------------------------------------------------------------------

/// A set of bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn of(b: u8) -> ByteSet {
        let mut set = ByteSet::default();
        set.add(b..=b);
        set
    }

    fn add(&mut self, range: std::ops::RangeInclusive<u8>) {
        for b in range {
            self.0[usize::from(b >> 6)] |= 1 << (b & 63);
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    fn without(mut self, range: std::ops::RangeInclusive<u8>) -> ByteSet {
        for b in range {
            self.0[usize::from(b >> 6)] &= !(1 << (b & 63));
        }
        self
    }

    fn is_subset(&self, other: &ByteSet) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| a & !b == 0)
    }

    fn union(mut self, other: ByteSet) -> ByteSet {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        self
    }

    fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// How good a set is to look for: fewer bytes first, then fewer letters and digits (prose is mostly
    /// those).
    fn rarity(&self) -> (u32, usize) {
        let alphanumeric = (0..=u8::MAX)
            .filter(|&b| b.is_ascii_alphanumeric() && self.contains(b))
            .count();
        (self.len(), alphanumeric)
    }
}

/// The bytes of every character a class matches: a class with any non-ASCII character stands for every
/// byte a UTF-8 sequence can hold (the ASCII ones are enough to cut runs).
fn class_bytes(class: &regex_syntax::hir::Class) -> ByteSet {
    use regex_syntax::hir::Class;
    let mut set = ByteSet::default();
    match class {
        Class::Unicode(c) => {
            for r in c.ranges() {
                if r.start().is_ascii() {
                    set.add(r.start() as u8..=r.end().min('\x7f') as u8);
                }
                if !r.end().is_ascii() {
                    set.add(0x80..=0xff);
                }
            }
        }
        Class::Bytes(c) => c.ranges().iter().for_each(|r| set.add(r.start()..=r.end())),
    }
    set
}

/// Every byte a match of the pattern can hold.
fn alphabet(hir: &regex_syntax::hir::Hir) -> ByteSet {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => ByteSet::default(),
        HirKind::Literal(literal) => literal
            .0
            .iter()
            .map(|&b| ByteSet::of(b))
            .fold(ByteSet::default(), ByteSet::union),
        HirKind::Class(class) => class_bytes(class),
        HirKind::Capture(capture) => alphabet(&capture.sub),
        HirKind::Repetition(repetition) => alphabet(&repetition.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => parts
            .iter()
            .map(alphabet)
            .fold(ByteSet::default(), ByteSet::union),
    }
}

/// The bytes a match can start with, and whether a match can be empty.
fn starts(hir: &regex_syntax::hir::Hir) -> (ByteSet, bool) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (ByteSet::default(), true),
        HirKind::Literal(literal) => (ByteSet::of(literal.0[0]), false),
        HirKind::Class(class) => (class_bytes(class), false),
        HirKind::Capture(capture) => starts(&capture.sub),
        HirKind::Repetition(repetition) => {
            let (set, empty) = starts(&repetition.sub);
            (set, empty || repetition.min == 0)
        }
        HirKind::Concat(parts) => {
            let mut all = ByteSet::default();
            for part in parts {
                let (set, empty) = starts(part);
                all = all.union(set);
                if !empty {
                    return (all, false);
                }
            }
            (all, true)
        }
        HirKind::Alternation(branches) => branches.iter().map(starts).fold(
            (ByteSet::default(), false),
            |(all, any_empty), (set, empty)| (all.union(set), any_empty || empty),
        ),
    }
}

/// A set of bytes one of which every match holds, the rarest the pattern's structure shows.
fn required(hir: &regex_syntax::hir::Hir) -> Option<ByteSet> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(literal) => literal
            .0
            .iter()
            .map(|&b| ByteSet::of(b))
            .min_by_key(ByteSet::rarity),
        HirKind::Class(class) => Some(class_bytes(class)),
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min > 0 => required(&repetition.sub),
        HirKind::Repetition(_) => None,
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(required)
            .min_by_key(ByteSet::rarity),
        HirKind::Alternation(branches) => branches
            .iter()
            .map(required)
            .try_fold(ByteSet::default(), |set, branch| Some(set.union(branch?))),
    }
}

/// What a pattern's matches are made of, for one some of whose matches hold no digit: every match is a
/// stretch of bytes from `alphabet`, at least `min_len` long, holding one of `marks` (one to three bytes,
/// no letters or digits: those are everywhere). So it lies inside one run of `alphabet`'s bytes around a
/// mark, and only those runs need searching. Only for a pattern that may start at any of many bytes: one
/// that starts with a few (`@`, `https://`) is searched faster by the regex's own prefilter, and one whose
/// every match holds a digit near digits.
#[derive(Clone, Copy, Debug)]
struct Runs {
    alphabet: ByteSet,
    marks: [u8; 3],
    min_len: usize,
}

impl Runs {
    fn of(hir: &regex_syntax::hir::Hir) -> Option<Runs> {
        let required = required(hir)?;
        let (bytes, alphanumeric) = required.rarity();
        let (first, empty) = starts(hir);
        if bytes > 3 || alphanumeric > 0 || first.len() <= 8 && !empty || shape(hir).free.is_none()
        {
            return None;
        }
        let mut marks = (0..=u8::MAX).filter(|&b| required.contains(b));
        let first = marks.next()?;
        let second = marks.next().unwrap_or(first);
        let third = marks.next().unwrap_or(second);
        Some(Runs {
            alphabet: alphabet(hir),
            marks: [first, second, third],
            min_len: hir.properties().minimum_len().filter(|&n| n > 0)?,
        })
    }

    /// The runs of `text` a match can lie in. Searching each finds what searching the whole text finds:
    /// no match crosses a byte outside the alphabet, so none spans two runs. Where the runs would cost more
    /// than half of one search of the whole text, that is the one window.
    fn windows(&self, text: &str) -> Vec<Range<usize>> {
        let bytes = text.as_bytes();
        let budget = text.len() / 2;
        let mut cost = 0;
        let mut windows: Vec<Range<usize>> = Vec::new();
        let [a, b, c] = self.marks;
        let mut searched_to = 0;
        for at in memchr::memchr3_iter(a, b, c, bytes) {
            if at < searched_to {
                continue;
            }
            let start = bytes[searched_to..at]
                .iter()
                .rposition(|&b| !self.alphabet.contains(b))
                .map_or(searched_to, |i| searched_to + i + 1);
            let end = bytes[at..]
                .iter()
                .position(|&b| !self.alphabet.contains(b))
                .map_or(bytes.len(), |i| at + i);
            searched_to = end;
            if end - start < self.min_len {
                continue;
            }
            // Each search has a start-up cost, about what scanning 16 bytes costs.
            cost += end - start + 16;
            if cost > budget {
                return std::iter::once(0..text.len()).collect();
            }
            windows.push(text.floor_char_boundary(start)..text.ceil_char_boundary(end));
        }
        windows
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
///
/// A comma joins only as a thousands separator does (`12,345`: one to three digits, then exactly three, in a
/// value grouped by nothing else), so a value in a CSV row (`…,4111111111111111,…`) still stands alone.
fn stands_alone(text: &str, range: &Range<usize>, joiners: &[char]) -> bool {
    stands_apart(text, range, joiners, joiners)
}

/// [`stands_alone`] with a joiner list for each side.
fn stands_apart(
    text: &str,
    range: &Range<usize>,
    joiners: &[char],
    after_joiners: &[char],
) -> bool {
    let value = &text[range.clone()];
    let grouped = value.contains([' ', '-', '.']);
    let run = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let run_back = |s: &str| s.bytes().rev().take_while(u8::is_ascii_digit).count();
    let mut back = text[..range.start].chars().rev();
    match back.next() {
        Some(c) if is_word(c) => return false,
        Some(',') if joiners.contains(&',') => {
            let before = run_back(&text[..range.start - 1]);
            if !grouped && (1..=3).contains(&before) && run(value) == 3 {
                return false;
            }
        }
        Some(c) if joiners.contains(&c) && back.next().is_some_and(|d| d.is_ascii_digit()) => {
            return false
        }
        _ => {}
    }
    let mut ahead = text[range.end..].chars();
    match ahead.next() {
        Some(c) if is_word(c) => false,
        Some(',') if after_joiners.contains(&',') => {
            grouped || !((1..=3).contains(&run_back(value)) && run(&text[range.end + 1..]) == 3)
        }
        Some(c)
            if after_joiners.contains(&c) && ahead.next().is_some_and(|d| d.is_ascii_digit()) =>
        {
            false
        }
        // `415-555-0132-A`, `536-22-4187-X2`: a code that goes on past the number (a label after a dash,
        // `781-618-4959-Fax`, is a word).
        Some('-') => {
            let suffix = text[range.end + 1..]
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default();
            !(1..=2).contains(&suffix.len())
                || !suffix.bytes().any(|b| b.is_ascii_uppercase())
                || suffix.bytes().any(|b| b.is_ascii_lowercase())
        }
        _ => true,
    }
}

/// Whether the number at `range` is glued to its label, as text extracted from a PDF runs a form's
/// fields together (`Card number4620966542870724Expiration 04/27`, `SSN536-22-4187`, `Card:…Exp:09/28`):
/// the letters right before it (or before a `:`, `#` or space) end in one of `labels` (lowercase), and
/// after it comes no letter or digit, or the capital that starts the next label.
fn glued_to_label(text: &str, range: &Range<usize>, labels: &[&str]) -> bool {
    let head = text[..range.start].trim_end_matches([' ', ':', '#']);
    let word = &head[head
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphabetic())
        .last()
        .map_or(head.len(), |(i, _)| i)..];
    let word = word.to_lowercase();
    !word.is_empty()
        && labels.iter().any(|label| word.ends_with(label))
        && after(text, range.end).is_none_or(|c| !c.is_alphanumeric() || c.is_uppercase())
}

/// The number the digits `d` spell.
fn number(d: &[u8]) -> u32 {
    d.iter().fold(0, |acc, &x| acc * 10 + u32::from(x))
}

/// Letters of `value` are all capitals or all small (`AB123456C`, `ab123456c`; not `Ab123456c`).
fn one_case(value: &str) -> bool {
    !(value.bytes().any(|b| b.is_ascii_uppercase())
        && value.bytes().any(|b| b.is_ascii_lowercase()))
}

/// What stands between a value's groups of digits (`" "`, `"-"`, `" - "` …), in order.
fn separators(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| c.is_ascii_digit())
        .filter(|s| !s.is_empty())
}

fn digits(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

/// Whether an `@` is followed by a character outside ASCII before anything an ASCII domain cannot hold:
/// only then can the internationalised-domain pattern find a domain its validator keeps.
fn non_ascii_after_at(text: &str) -> bool {
    !text.is_ascii()
        && text.match_indices('@').any(|(at, _)| {
            text.as_bytes()[at + 1..]
                .iter()
                .take_while(|&&b| {
                    !b.is_ascii() || b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
                })
                .any(|b| !b.is_ascii())
        })
}

// ---- validators -------------------------------------------------------------------------------------------

/// An address whose domain is written outside ASCII: labels of letters, digits and inner hyphens in any
/// script, ending in a top-level domain of letters. An ASCII domain is the first email pattern's.
fn validate_idn_email(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let domain = &text[range.start + 1..range.end];
    let tld = domain.rsplit('.').next()?;
    let labels = domain.split('.').all(|label| {
        !label.is_empty()
            && label.chars().count() <= 63
            && !label.contains('_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if domain.is_ascii()
        || !labels
        || tld.chars().count() < 2
        || !tld.chars().all(char::is_alphabetic)
    {
        return None;
    }
    validate_email(text, range)
}

/// The address whose domain the pattern matched at `range`: its local part read backwards from the `@`.
fn email_at(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    // The local part: up to 64 letters (any script: RFC 6531), digits and `._%+-` before the `@`, starting
    // with a letter or a digit.
    let local_chars = |c: char| c.is_alphabetic() || c.is_ascii_digit() || "._%+-".contains(c);
    let head = &text[..range.start];
    let run_start = head
        .char_indices()
        .rev()
        .take_while(|&(_, c)| local_chars(c))
        .last()
        .map_or(range.start, |(i, _)| i);
    let local_start = run_start + head[run_start..].find(|c: char| c.is_alphanumeric())?;
    if head[local_start..].chars().count() > 64 {
        return None;
    }
    let range = local_start..range.end;
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
    Some(range)
}

fn validate_email(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let range = email_at(text, range)?;
    // Inside a URL, an address is part of the URL (and reported inside it: see
    // [`Detector::values_in_urls`]), and `user:password@host` is a credential.
    // The separator may be wider than a byte (a no-break space): the token starts after all of it.
    let token_start = text[..range.start]
        .char_indices()
        .rfind(|&(_, c)| c.is_whitespace() || "\"'<>()`".contains(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let token = &text[token_start..range.start];
    if token.contains("://") {
        return None;
    }
    Some((range, 0.95))
}

/// Whether a text has what an address written to dodge harvesters has: ` dot `, ` @ `, or `at`,
/// `@`, `.` or `dot` before a closing bracket (`[at]`, `(@)`, `[.]`, `(dot)`). Vectorised searches: this
/// runs on every text, and a regex pass here cost 2 % of pii's time over the corpus.
fn has_obfuscation_mark(text: &str) -> bool {
    let b = text.as_bytes();
    let ends_with = |bytes: &[u8], mark: &[u8]| {
        bytes.len() >= mark.len() && bytes[bytes.len() - mark.len()..].eq_ignore_ascii_case(mark)
    };
    let bracketed = memchr::memchr3_iter(b']', b')', b'}', b).any(|i| {
        let before = &b[i.saturating_sub(4)..i];
        let before = before.strip_suffix(b" ").unwrap_or(before);
        [&b"at"[..], b"@", b".", b"dot"]
            .iter()
            .any(|mark| ends_with(before, mark))
    });
    let spelled_dot = memchr::memchr2_iter(b'd', b'D', b).any(|i| {
        i > 0
            && b[i - 1] == b' '
            && b.get(i..i + 4)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"dot "))
    });
    bracketed || spelled_dot || memchr::memmem::find(b, b" @ ").is_some()
}

/// An address written with its `@` or its dots spelled out or bracketed. The local part is read backwards
/// from the `at`, as [`validate_email`] does; the last label must be a top-level domain. Spelled out in
/// prose (`at`, `dot`), the words are common, so a spelled `at` needs a spelled or bracketed dot too.
fn validate_obfuscated_email(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    // The `at` as the pattern wrote it: bracketed (up to its closing bracket), spelled between spaces, or `@`.
    let at_len = match value.as_bytes().first()? {
        b'[' | b'(' | b'{' | b'<' => value.find([']', ')', '}', '>'])? + 1,
        b' ' => value[1..].find(' ')? + 2,
        _ => 1,
    };
    let (at, domain) = value.split_at(at_len);
    let (at, domain) = (at.trim(), domain.trim_start());
    let spelled_at = at.eq_ignore_ascii_case("at");
    // The pattern allows only `.`, `dot` and bracketed dots between labels: any other is written with a
    // space or a bracket.
    let plain_dots = !domain.contains([' ', '[', '(', '{', '<']);
    // A plain address is validate_email's; `work at google.com` is a workplace.
    if plain_dots && (at == "@" || spelled_at) {
        return None;
    }
    let tld = domain
        .rsplit(|c: char| !c.is_ascii_alphanumeric() && c != '-')
        .next()?
        .to_ascii_lowercase();
    let two_letters = tld.len() == 2 && tld.bytes().all(|b| b.is_ascii_alphabetic());
    if !two_letters && !BARE_TLDS.contains(&tld.as_str()) {
        return None;
    }
    // The local part: before the `at`, allowing one space before a bracketed one.
    let mut end = range.start;
    if !spelled_at && at != "@" && text[..end].ends_with(' ') {
        end -= 1;
    }
    let local_chars = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let start = text[..end]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| local_chars(c))
        .last()
        .map(|(i, _)| i)?;
    let start = start + text[start..end].find(|c: char| c.is_ascii_alphanumeric())?;
    let local = &text[start..end];
    if local.len() > 64 || local.ends_with('.') || before(text, start).is_some_and(is_word) {
        return None;
    }
    if after(text, range.end).is_some_and(|c| is_word(c) || c == '@') {
        return None;
    }
    Some((start..range.end, if spelled_at { 0.8 } else { 0.9 }))
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
        Some(5) if (51..=55).contains(&prefix(2)) => len == 16, // Mastercard
        Some(2) if (2221..=2720).contains(&prefix(4)) => len == 16, // Mastercard 2-series
        Some(3) if matches!(prefix(2), 34 | 37) => len == 15, // Amex
        // JCB: 3528-3589 is its range today; test-card generators (Faker, FakeNameGenerator) write any
        // `35`, which no other network holds. Its older 15-digit numbers start 2131 or 1800.
        Some(3) if prefix(2) == 35 => (16..=19).contains(&len),
        Some(2) if prefix(4) == 2131 => len == 15,
        Some(3) if (300..=305).contains(&prefix(3)) || matches!(prefix(2), 36 | 38 | 39) => {
            (14..=19).contains(&len)
        } // Diners
        Some(6) if prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)) => {
            (16..=19).contains(&len)
        } // Discover
        Some(6) if prefix(2) == 62 => (16..=19).contains(&len), // UnionPay
        // Maestro's whole range (50, 56-69: Faker's Russian cards use all of it), RuPay, Dankort.
        Some(6) => (12..=19).contains(&len),
        Some(5) if matches!(prefix(2), 50 | 56..=59) => (12..=19).contains(&len),
        Some(8) if prefix(2) == 81 => (16..=19).contains(&len), // UnionPay's 81
        Some(8) if prefix(2) == 82 => len == 16,                // RuPay's 82
        Some(9) if prefix(4) == 9792 => len == 16,              // Troy (Türkiye)
        Some(2) if (2200..=2204).contains(&prefix(4)) => (16..=19).contains(&len), // Mir
        Some(1) => len == 15,                                   // UATP (AirPlus), JCB's 1800
        // Maestro's 0604, in the lists card generators draw from (Faker's twelve digits).
        Some(0) if prefix(4) == 604 => (12..=19).contains(&len),
        _ => false,
    }
}

/// The words a card number is glued to in a PDF's text (see [`glued_to_label`]).
const CARD_LABELS: &[&str] = &[
    "card",
    "number",
    "cardno",
    "cc",
    "pan",
    "visa",
    "mastercard",
    "amex",
    "discover",
];

fn validate_card(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    // Groups are separated consistently (all spaces, all dashes, or none): `4111 1111-1111 1111` is not a
    // card. A separator of spaces alone counts as one space (forms pad them); ` - ` is a dash.
    let separators: Vec<char> = separators(value)
        .map(|s| match s.trim_matches(' ') {
            "" => ' ',
            "-" => '-',
            _ => s.chars().next().unwrap_or(' '),
        })
        .collect();
    if separators.windows(2).any(|w| w[0] != w[1]) {
        return None;
    }
    // After a `+` the digits are a phone number in E.164 form, whatever Luhn says. Digits next to more
    // digits in the same grouping are part of a longer number; run together or dashed, they are a number
    // of their own even with another after a space (`4012888888881881 4012-8888-8888-1881`), and so is a
    // spaced one after another number written differently (the `1881 ` of `…-8888-1881 4012 8888 …`).
    let joiners: &[char] = match separators.first() {
        None | Some('-' | '/') => &['-', '.', ','],
        _ if follows_another_number(text, range.start) => &['-', '.', ','],
        _ => &['-', ' ', '.', ','],
    };
    let alone = stands_alone(text, &range, joiners) || glued_to_label(text, &range, CARD_LABELS);
    if !alone || before(text, range.start) == Some('+') {
        return None;
    }
    let d = digits(value);
    if !known_issuer(&d) || !luhn_valid(&d) {
        return None;
    }
    // Cards are grouped from a first group of four (4-4-4-4, Amex's 4-6-5, Diners' 4-6-4), only the last
    // group shorter: `1 84 12 75 123 456 78` is a French social security number that passes Luhn.
    let mut groups = value
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(str::len)
        .peekable();
    let first = groups.next().unwrap_or(0);
    if !separators.is_empty() && first != 4 {
        return None;
    }
    while let Some(g) = groups.next() {
        if g < 4 && groups.peek().is_some() {
            return None;
        }
    }
    // After "account number" (and no word of cards), a bank's account number that happens to pass Luhn —
    // but only where the bank reading takes it: grouped like a card (`acct 4111 1111 1111 1111`), no bank
    // pattern matches, and yielding would leave the number unreported.
    let account = has_cue(text, range.start, 24, BANK_CUES)
        && !has_cue(text, range.start, 24, &["card"])
        && separators.is_empty()
        && d.len() <= 17
        && validate_bank_number(text, range.clone()).is_some();
    (!account).then_some((range, 0.95))
}

/// Whether the word before `start` (up to the space before it) is a number of its own: digits run together
/// past what one group of a grouped number holds (eight), or digits joined by dashes.
fn follows_another_number(text: &str, start: usize) -> bool {
    let Some(head) = text[..start].strip_suffix(' ') else {
        return false;
    };
    let word = &head[head.rfind(char::is_whitespace).map_or(0, |i| i + 1)..];
    let digits = word.bytes().filter(u8::is_ascii_digit).count();
    word.ends_with(|c: char| c.is_ascii_digit())
        && word.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && (word.contains('-') || digits > 8)
}

fn validate_ssn(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let compact = value.len() == 9;
    let separators: Vec<&str> = separators(value).collect();
    // `536-22-8714`, `536.22.8714`, `536 22 8714`; any other (`536 - 22 - 8714`, `536/22/8714`) only with
    // a cue.
    let usual = compact
        || separators.len() == 2
            && separators[0] == separators[1]
            && matches!(separators[0], "-" | "." | " ");
    // Glued to its label in a PDF's text: `SSN536-22-4187`, `Social Security Number536-22-4187` (the
    // cue below must then name it).
    let glued = !compact && glued_to_label(text, &range, &["ssn", "number", "no"]);
    let slashes = separators.iter().any(|s| s.contains('/'));
    let joiners: &[char] = if slashes {
        &['-', ' ', '.', '/']
    } else {
        &['-', ' ', '.']
    };
    if !(glued || stands_apart_from_numbers(text, &range, joiners)) {
        return None;
    }
    let d = digits(value);
    // `ORD-536228714`, `RX-536-22-8714`: the end of a code.
    let coded = after_a_code(text, range.start);
    if compact && coded {
        return None;
    }
    let (area, group, serial) = (number(&d[0..3]), number(&d[3..5]), number(&d[5..9]));
    // The SSA never assigns area 000, 666 or 900-999, group 00 or serial 0000.
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return None;
    }
    let cued = has_cue(
        text,
        range.start,
        32,
        &[
            "ssn",
            "social security",
            "my social",
            "social sec",
            "soc sec",
            "ss#",
            "tax id",
            "taxpayer",
        ],
    );
    // Nine bare digits are as likely a zip+4, a routing number or an id: only a cue makes them an SSN;
    // nor is a grouped one right after an order's or a claim's label or a code's letters, unless a cue
    // names it.
    match (compact || glued || !usual, cued) {
        (true, false) => None,
        (_, true) => Some((range, 0.95)),
        (false, false) if coded || after_an_id_label(text, range.start) => None,
        (false, false) => Some((range, 0.8)),
    }
}

/// The length of an IBAN of `country`: every country of the ISO 13616 registry (SWIFT's IBAN registry).
#[rustfmt::skip]
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "AD" => 24, "AE" => 23, "AL" => 28, "AT" => 20, "AZ" => 28, "BA" => 20, "BE" => 16, "BG" => 22,
        "BH" => 22, "BI" => 27, "BR" => 29, "BY" => 28, "CH" => 21, "CR" => 22, "CY" => 28, "CZ" => 24,
        "DE" => 22, "DJ" => 27, "DK" => 18, "DO" => 28, "EE" => 20, "EG" => 29, "ES" => 24, "FI" => 18,
        "FK" => 18, "FO" => 18, "FR" => 27, "GB" => 22, "GE" => 22, "GI" => 23, "GL" => 18, "GR" => 27,
        "GT" => 28, "HN" => 28, "HR" => 21, "HU" => 28, "IE" => 22, "IL" => 23, "IQ" => 23, "IS" => 26,
        "IT" => 27, "JO" => 30, "KW" => 30, "KZ" => 20, "LB" => 28, "LC" => 32, "LI" => 21, "LT" => 20,
        "LU" => 20, "LV" => 21, "LY" => 25, "MC" => 27, "MD" => 24, "ME" => 22, "MK" => 19, "MN" => 20,
        "MR" => 27, "MT" => 31, "MU" => 30, "NI" => 28, "NL" => 18, "NO" => 15, "OM" => 23, "PK" => 24,
        "PL" => 28, "PS" => 29, "PT" => 25, "QA" => 29, "RO" => 24, "RS" => 22, "RU" => 33, "SA" => 24,
        "SC" => 31, "SD" => 18, "SE" => 24, "SI" => 19, "SK" => 24, "SM" => 27, "SO" => 23, "ST" => 25,
        "SV" => 28, "TL" => 23, "TN" => 24, "TR" => 26, "UA" => 29, "VA" => 22, "VG" => 24, "XK" => 20,
        "YE" => 30,
        _ => return None,
    })
}

fn validate_iban(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let country = text.get(range.start..range.start + 2)?.to_ascii_uppercase();
    let want = iban_length(&country)?;
    if let Some(iban) = iban_of_length(text, range.clone(), want) {
        return Some((iban, 0.95));
    }
    // Faker writes a GB IBAN one character short for the locales it has no bank format for; whatever its
    // length, a string run together that passes mod-97 after a country's code is an account number.
    // (The candidate can run on into the words after it: `GB02… today`.)
    let run = text[range.clone()]
        .bytes()
        .take_while(u8::is_ascii_alphanumeric)
        .count();
    if run == want || !(15..=34).contains(&run) {
        return None;
    }
    iban_of_length(text, range.start..range.start + run, run).map(|iban| (iban, 0.8))
}

/// The IBAN of `want` characters (separators aside) at the start of `range`: grouped consistently, one
/// case, standing alone, and passing mod-97.
fn iban_of_length(text: &str, range: Range<usize>, want: usize) -> Option<Range<usize>> {
    let value = &text[range.clone()];
    // The candidate regex is greedy; walk it until the country's length to find where the IBAN ends.
    // Groups are split by spaces or by dashes, not both; letters are all capitals or all small.
    let mut compact = String::with_capacity(want);
    let mut end = range.start;
    let mut separator = None;
    for (i, c) in value.char_indices() {
        if c == ' ' || c == '-' {
            if separator.get_or_insert(c) != &c {
                return None;
            }
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
    if !one_case(&text[range.clone()]) {
        return None;
    }
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
    (rem == 1).then_some(range)
}

/// Words that, right before a dotted quad, make it a version, an OID or a document's numbering rather than
/// an address: `firmware 3.1.0.12`, `"version": "1.0.0.0"`, `Section 4.1.2.3`. Key names that end in
/// `version` count too (`fileVersion`, `AssemblyVersion(`, `app_version=`), and so does `§`.
const VERSION_CUES: &[&str] = &[
    "version",
    "firmware",
    "build",
    "release",
    "ver",
    "fw",
    "oid",
    "v",
    "windows",
    "agent",
    "kernel",
    "os",
    "section",
    "sec",
    "chapter",
    "clause",
    "article",
    "paragraph",
    "para",
    "step",
    "figure",
    "fig",
    "appendix",
    "annex",
    "item",
    // Software that is named before its version, and what is done to one.
    "android",
    "ios",
    "macos",
    "chrome",
    "firefox",
    "safari",
    "sdk",
    "jdk",
    "jre",
    "runtime",
    "python",
    "java",
    "php",
    "driver",
    "patch",
    "revision",
    "rev",
    "upgrade",
    "upgraded",
    "bump",
    "bumped",
];

fn validate_ipv4(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    // Leading zeros mark a version's parts (`1.02.03.04`), unless every octet is padded to three digits
    // the way fixed-width logs write an address (`192.168.010.001`).
    let padded = value.split('.').all(|o| o.len() == 3);
    if !value
        .split('.')
        .all(|o| o.parse::<u8>().is_ok() && (padded || o == "0" || !o.starts_with('0')))
    {
        return None;
    }
    // `1.3.6.1.4.1` and `10.0.19045.3803` are longer dotted runs; `Chrome/120.0.6099.109` sits after a slash.
    if !stands_alone(text, &range, &['.']) || before(text, range.start) == Some('/') {
        return None;
    }
    // A pre-release or build suffix (`1.2.3.4-beta`, `1.2.3.4+20240101`) marks a version; an address
    // range (`10.0.0.1-10.0.0.20`) has a digit after its dash.
    let rest = &text[range.end..];
    let suffix = rest.strip_prefix('-').and_then(|r| r.chars().next());
    if rest.starts_with('+') || suffix.is_some_and(char::is_alphabetic) {
        return None;
    }
    let head = &text[..range.start];
    // A package pin: `pkg==1.2.3.4`, `pkg>=1.2.0.0`, `pkg~=…`.
    if ["==", ">=", "<=", "~=", "!="]
        .iter()
        .any(|op| head.ends_with(op))
    {
        return None;
    }
    // `ver. 1.2.3.4`, `<version>1.2.3.4</version>`.
    let preceding = head.trim_end_matches([' ', ':', '=', '\t', '"', '\'', '(', '.', '>']);
    let word_start = preceding
        .char_indices()
        .rfind(|&(_, c)| !c.is_alphanumeric())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = preceding[word_start..].to_ascii_lowercase();
    if VERSION_CUES.contains(&word.as_str())
        || word.ends_with("version")
        || preceding.ends_with('§')
    {
        return None;
    }
    // An image tag (`image: acme/web:2.14.3.3`, `ghcr.io/acme/api:1.0.0.7`): a path right before the `:`.
    // Only the end of the line matters; looking no further back keeps a text of one long line linear.
    let head = &head[head.floor_char_boundary(head.len().saturating_sub(MAX_ROW))..];
    let line = &head[head.rfind('\n').map_or(0, |i| i + 1)..];
    if let Some(reference) = line.strip_suffix(':') {
        let token = &reference[reference
            .rfind([' ', '\t', '"', '\'', '='])
            .map_or(0, |i| i + 1)..];
        if token.contains('/') && !token.contains("://") {
            return None;
        }
    }
    // A key-value pair that names a version: `<add key="Build" value="1.2.3.4"/>`, `{"name": "release",
    // "value": "…"}`.
    if word == "value" {
        let pair =
            line[line.floor_char_boundary(line.len().saturating_sub(48))..].to_ascii_lowercase();
        if ["version", "build", "release", "firmware"]
            .iter()
            .any(|cue| pair.contains(cue))
        {
            return None;
        }
    }
    Some((range, 0.9))
}

fn validate_ipv6(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let mut value = &text[range.clone()];
    // A sentence may end right after the address: `… from fe80::1.` (but `2001:db8::` ends in its `::`).
    let trimmed = value.trim_end_matches(['.', ':']);
    let whole = value.parse::<std::net::Ipv6Addr>().is_ok();
    let range = if !whole && trimmed.len() < value.len() && !trimmed.ends_with("::") {
        value = trimmed;
        range.start..range.start + trimmed.len()
    } else {
        range
    };
    if value.parse::<std::net::Ipv6Addr>().is_err() {
        return None;
    }
    // `std::vec`, `a::b` and MAC-like or clock-like runs are not addresses: demand an address's shape.
    // One full group before a final `::` is a network's prefix (`fe80::/10`).
    // The loopback `::1` and the unspecified network written as one (`::/0`) are addresses too; a bare
    // `::` is not (`x :: Int`).
    let groups = value.split(':').filter(|g| !g.is_empty()).count();
    let prefix = groups == 1 && value.len() == 6 && value.ends_with("::");
    let loopback = value == "::1";
    let any_network = value == "::" && prefix_length(&text[range.end..]);
    if groups < 2 && !(prefix || loopback || any_network)
        || !(any_network || value.bytes().any(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if before(text, range.start).is_some_and(|c| is_word(c) || c == ':')
        || after(text, range.end).is_some_and(is_word)
    {
        return None;
    }
    // A scoped address (`fe80::1%eth0`, RFC 4007) carries its zone: it is part of what to redact.
    let zone = text[range.end..].strip_prefix('%').map_or(0, |rest| {
        rest.bytes()
            .take_while(|&b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
            .count()
    });
    let range = if zone > 0 {
        range.start..range.end + 1 + zone
    } else {
        range
    };
    Some((range, 0.9))
}

/// Whether `rest` opens with a CIDR prefix length: `/` and one to three digits, then no more word.
fn prefix_length(rest: &str) -> bool {
    let Some(rest) = rest.strip_prefix('/') else {
        return false;
    };
    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
    (1..=3).contains(&n) && !rest[n..].starts_with(is_word)
}

/// Words that say a number is an NHS number. A 3-3-4 NHS number is also a well-formed US phone number,
/// so only a cue lifts it above the phone reading; a bare one is reported at low confidence.
const NHS_CUES: &[&str] = &["nhs", "n h s", "health service", "patient"];

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
    let cued = has_cue(text, range.start, 32, NHS_CUES);
    // A bare ten-digit run is as likely an epoch timestamp or an id (one in eleven passes mod-11): without
    // separators, only a cue makes it an NHS number, as with dots (`225.123.9375`, a US phone number's
    // shape); nor is one right after an order's or a ticket's label.
    if !cued
        && (separators.first().is_none_or(|&s| s == '.') || after_an_id_label(text, range.start))
    {
        return None;
    }
    Some((range, if cued { 0.95 } else { 0.5 }))
}

/// Where the groups of digits after the first start inside `range`: a digit, `+` or `(` right after a
/// space (after a dash, a dot or a slash every validator reads the group as joined to the one before).
/// Not after a bracketed group, which is the area code of what follows (`(02239) 09960 308`).
fn group_starts(text: &str, range: Range<usize>) -> impl Iterator<Item = usize> + '_ {
    let b = text.as_bytes();
    (range.start + 2..range.end).filter(move |&at| {
        matches!(b[at], b'0'..=b'9' | b'+' | b'(') && b[at - 1] == b' ' && b[at - 2] != b')'
    })
}

/// [`stands_alone`] for a value written with separators, where a space next to it joins it to a neighbour's
/// digits only when the value is spaced itself: `415 555 0132` may be the middle of a longer spaced number,
/// but one written with dashes, dots or brackets is a number of its own beside another (`415-555-0132
/// 212-555-0187`, `536-22-8714 943 476 5919`), and nothing before a `+` runs into it (`… 0187 +1
/// 415-555-0132`). A country code's space (`+1 415-…`) does not make a value spaced. A bracket starts afresh
/// too, unless one to three digits stand before it: `8 (246) 281-9482` is one Russian number, trunk prefix
/// and all.
fn stands_apart_from_numbers(text: &str, range: &Range<usize>, joiners: &[char]) -> bool {
    let value = &text[range.clone()];
    let body = match value.strip_prefix('+') {
        Some(rest) => rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' '),
        None => value,
    };
    let spaced = (body.as_bytes().windows(3))
        .any(|w| w[0].is_ascii_digit() && w[1] == b' ' && w[2].is_ascii_digit());
    let unspaced: Vec<char> = joiners.iter().copied().filter(|&c| c != ' ').collect();
    let joiners_after = if spaced { joiners } else { &unspaced };
    // `8 (246) 281-9482`: one to three digits alone before a bracket are a trunk or country prefix.
    let prefixed = value.starts_with('(')
        && text[..range.start].strip_suffix(' ').is_some_and(|head| {
            let prefix = head.bytes().rev().take_while(u8::is_ascii_digit).count();
            (1..=3).contains(&prefix) && !before(text, head.len() - prefix).is_some_and(is_word)
        });
    let joiners_before = if !value.starts_with('+') && (spaced || prefixed) {
        joiners
    } else {
        &unspaced
    };
    stands_apart(text, range, joiners_before, joiners_after)
}

/// Whether the digits at `at` end a code such as `ORD-20765525` or `INV-0042`: letters and a dash before
/// them make one token, an order or an invoice number, not an account's.
fn after_a_code(text: &str, at: usize) -> bool {
    text[..at]
        .strip_suffix('-')
        .is_some_and(|head| head.ends_with(|c: char| c.is_ascii_alphabetic()))
}

/// Whether one of `cues` (lowercase, words separated by one space) appears in the `width` bytes before
/// `at` or in the header of the table column `at` is in (a CSV export's `account_number`), in any case and
/// however its words are joined (`bank_account_number`, `Account-No`, `Soc. Sec. No.`, `accountNumber`).
/// A label belongs to the value after it, not to the next one: in a table row the window is the value's own
/// cell (the header speaks for the column), and elsewhere it starts after a line, a sentence, a field (`&`,
/// `;`, `|`, tab) or an XML element that ends in a number (`SSN 025425766` above `Employee no.: 820034384`,
/// `DL# 22205482. Also invoice 91081436011`, `acct=123&pan=…`).
fn has_cue<S: AsRef<str>>(text: &str, at: usize, width: usize, cues: &[S]) -> bool {
    let window = window_before(text, at, width);
    // The header only when it can matter: no cue in the window, or one that may be another cell's.
    if !names_any(window, cues) {
        return header_names(text, at, cues);
    }
    let cells = ['\n', '\t', '|', ',', ';'];
    if window.contains(cells) {
        if let Some(header) = column_header(text, at) {
            let cell = window.rfind(cells).map_or(window, |i| &window[i + 1..]);
            return names_any(cell, cues) || names_any(header, cues);
        }
    }
    let mut rest = window;
    while let Some(end) = rest.rfind(['\n', '&', ';', '|', '\t', '<', '.']) {
        // A full stop ends a sentence only before a space: `12.5` and `no.123` go on.
        let ends = window.as_bytes()[end] != b'.' || window[end + 1..].starts_with(' ');
        if ends
            && rest[..end]
                .trim_end()
                .ends_with(|c: char| c.is_ascii_digit())
        {
            let mut after = &window[end + 1..];
            // An XML element's end tag names the value before it: `…123</account_number><pan>`.
            if after.starts_with('/') {
                after = after.split_once('>').map_or("", |(_, after)| after);
            }
            return names_any(after, cues) || header_names(text, at, cues);
        }
        rest = &rest[..end];
    }
    true
}

/// Whether one of `words` is in the `width` bytes before `at` or in its column's header: for words that set
/// the scene (`routing` on the line above an account number) rather than name the value.
fn has_context<S: AsRef<str>>(text: &str, at: usize, width: usize, words: &[S]) -> bool {
    names_any(window_before(text, at, width), words) || header_names(text, at, words)
}

/// The `width` bytes of `text` before `at` (to a character boundary).
fn window_before(text: &str, at: usize, width: usize) -> &str {
    &text[text.floor_char_boundary(at.saturating_sub(width))..at]
}

/// The `width` bytes of `text` after `at` (to a character boundary).
fn window_after(text: &str, at: usize, width: usize) -> &str {
    &text[at..text.ceil_char_boundary((at + width).min(text.len()))]
}

/// Whether one of `cues` is in `text` read as [`cue_words`]. Asked for most values a text holds, so the
/// words are written into one buffer kept for the purpose, not a new string each time.
fn names_any<S: AsRef<str>>(text: &str, cues: &[S]) -> bool {
    thread_local! {
        static WORDS: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    WORDS.with_borrow_mut(|words| {
        cue_words_into(text, words);
        cues.iter().any(|cue| holds(words, cue.as_ref()))
    })
}

/// Whether `needle` is in `hay`.
fn holds(hay: &str, needle: &str) -> bool {
    places(hay, needle).next().is_some()
}

/// Where `needle` is in `hay`, as `str::match_indices` finds it (left to right, not overlapping). Over the
/// few dozen bytes a cue is looked for in, comparing where the needle's first byte is costs less than the
/// searcher `str` prepares for every needle: that preparing was a tenth of pii's time over a log of
/// numbers, each value's cues looked for one by one.
fn places<'a>(hay: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let mut from = 0;
    std::iter::from_fn(move || {
        let last = hay.len().checked_sub(needle.len())?;
        while from <= last {
            let at = from;
            if needle.first().is_none_or(|&b| hay[at] == b) && hay[at..at + needle.len()] == *needle
            {
                from = at + needle.len().max(1);
                return Some(at);
            }
            from += 1;
        }
        None
    })
}

/// Whether the header of the table column `at` is in names one of `cues`.
fn header_names<S: AsRef<str>>(text: &str, at: usize, cues: &[S]) -> bool {
    column_header(text, at).is_some_and(|header| names_any(header, cues))
}

/// `text` lowercased with its words split the ways labels and field names join them: `_`, `-` and `.`
/// read as spaces, a lowercase letter followed by a capital as two words (`socialSecurityNo` →
/// `social security no`), and a run of spaces as one.
fn cue_words(text: &str) -> String {
    let mut out = String::new();
    cue_words_into(text, &mut out);
    out
}

/// [`cue_words`] into `out`, replacing what it held.
fn cue_words_into(text: &str, out: &mut String) {
    out.clear();
    let mut previous = ' ';
    for c in text.chars() {
        let c = if matches!(c, '_' | '-' | '.') { ' ' } else { c };
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        if c.is_ascii() {
            if c.is_ascii_uppercase() && previous.is_ascii_lowercase() {
                out.push(' ');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            if c.is_uppercase() && previous.is_lowercase() {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
        }
        previous = c;
    }
}

/// `number` with the extension written right after it, if any (`x549`, ` ext. 12`, ` extension 4`, as
/// test-data generators and signatures write them): the extension is part of what to redact, and without
/// it the letter after the digits would make the number part of a word.
fn with_extension(text: &str, number: Range<usize>) -> Range<usize> {
    let rest = &text[number.end..];
    let mark = rest.strip_prefix(' ').unwrap_or(rest);
    let Some(tail) = ["extension", "ext.", "ext", "x"].iter().find_map(|word| {
        let head = mark.get(..word.len())?;
        head.eq_ignore_ascii_case(word).then(|| &mark[word.len()..])
    }) else {
        return number;
    };
    let tail = tail.strip_prefix(' ').unwrap_or(tail);
    let run = tail.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=6).contains(&run) {
        return number;
    }
    number.start..text.len() - tail.len() + run
}

fn validate_nanp(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let d = digits(&text[range.clone()]);
    let range = with_extension(text, range);
    let national = match d.len() {
        11 if d[0] == 1 => &d[1..],
        10 => &d[..],
        _ => return None,
    };
    // NANP area codes and exchanges start with 2-9.
    if national.len() != 10 || national[0] < 2 || national[3] < 2 {
        return None;
    }
    if !stands_apart_from_numbers(text, &range, &['-', ' ', '.', '/']) {
        return None;
    }
    Some((range, 0.75))
}

fn validate_international(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let d = digits(value);
    let range = with_extension(text, range);
    let n = d.len();
    if !(8..=15).contains(&n) {
        return None;
    }
    if value.starts_with("+1") && n == 11 {
        // North American: with separators, the NANP recogniser's; in compact E.164 form (+14155550132),
        // this one's, under the same area-code and exchange rules.
        if value.contains([' ', '.', '-', '(']) || d[1] < 2 || d[4] < 2 {
            return None;
        }
    }
    if !stands_apart_from_numbers(text, &range, &['-', ' ', '.']) {
        return None;
    }
    Some((range, 0.75))
}

/// An international number dialled with `00` for the `+`: only when what follows the `00`, up to the first
/// separator, is a country calling code (`0049 30 …`, not `0012 3456 …`), since `00` opens many other codes.
fn validate_double_zero(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let code = &value[2..value.find([' ', '.', '-'])?];
    let d = digits(&value[2..]);
    // North American numbers have ten digits after the 1, their area code and exchange starting 2-9.
    let plausible = match code {
        "1" => d.len() == 11 && d[1] >= 2 && d[4] >= 2,
        _ => (8..=15).contains(&d.len()),
    };
    let range = with_extension(text, range);
    (calling_code(code) && plausible && stands_alone(text, &range, &['-', ' ', '.', '+']))
        .then_some((range, 0.7))
}

/// Whether `code` is a country calling code in ITU-T E.164's list (three-digit codes by their first two
/// digits: the zones where the ITU assigns them).
fn calling_code(code: &str) -> bool {
    const TWO: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    const ZONES_OF_THREE: &[&str] = &[
        "21", "22", "23", "24", "25", "26", "29", "35", "37", "38", "42", "50", "59", "67", "68",
        "69", "85", "88", "96", "97", "99",
    ];
    match code.len() {
        1 => code == "1" || code == "7",
        2 => TWO.contains(&code),
        3 => ZONES_OF_THREE.contains(&&code[..2]),
        _ => false,
    }
}

/// A form field's international number (`=+44+20+7946+0958`): the number after the `=`, checked as one
/// written with spaces.
fn validate_form_phone(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let number = range.start + 1..range.end;
    if !stands_alone(text, &number, &['-', '+']) {
        return None;
    }
    let spaced = text[number.clone()].replace('+', " ");
    validate_international(&format!("+{}", &spaced[1..]), 0..spaced.len())?;
    Some((number, 0.75))
}

fn validate_national(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    national_number(text, range, 10..=11)
}

/// A national number (trunk prefix, no country code) of `lengths` digits that no other digit run touches.
fn national_number(
    text: &str,
    range: Range<usize>,
    lengths: std::ops::RangeInclusive<usize>,
) -> Option<(Range<usize>, f32)> {
    let n = digits(&text[range.clone()]).len();
    if !lengths.contains(&n) || !stands_alone(text, &range, &['-', ' ', '.']) {
        return None;
    }
    Some((range, 0.6))
}

/// A German mobile number with its trunk prefix (0151, 0176 …): eleven or twelve digits.
fn validate_german_mobile(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let n = digits(&text[range.clone()]).len();
    ((11..=12).contains(&n) && stands_alone(text, &range, &['-', ' ', '.', '/']))
        .then_some((range, 0.6))
}

/// A national number with its trunk prefix in groups: ten or eleven digits, or nine in three groups or more
/// (Croatia's 044 613 186, Sweden's 08-909 960 30).
fn validate_grouped_national(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let groups = text[range.clone()].split([' ', '-']).count();
    national_number(text, range, if groups >= 3 { 9..=11 } else { 10..=11 })
}

/// Korea's Seoul numbers and Israel's landlines have nine digits (02-123-4567, 09-7625400); the rest of
/// the dashed forms ten or eleven.
fn validate_dashed_national(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    national_number(text, range, 9..=11)
}

/// Words that name an identifier: a number in a phone number's or an SSN's shape right after one (`order
/// 415-555-0132`, `ticket #0212 061 0524`, `account id (674) 954-4099`, `claim 219-90-1960`) is that
/// identifier.
const ID_LABELS: &[&str] = &[
    "order",
    "invoice",
    "ticket",
    "tracking",
    "shipment",
    "case",
    "claim",
    "booking",
    "confirmation",
    "serial",
    "sku",
    "part",
    "item",
    "policy",
    "request",
    "job",
    "batch",
    "lot",
    "transaction",
    "receipt",
    "ref",
    "reference",
    "po",
    "account",
    "isbn",
    "model",
    "build",
    "version",
];

/// Whether the value at `start` comes right after an [`ID_LABELS`] word or an `id`, with nothing between
/// but `#`, `:`, `no.`, `number` and the like (`Order #`, `PO no.`, `customer id:`); `caller id` and a
/// phone word before `no.` name a phone number.
fn after_an_id_label(text: &str, start: usize) -> bool {
    let head = &text[text.floor_char_boundary(start.saturating_sub(48))..start];
    let head = head.trim_end_matches([' ', '\t', ':', '#', '.', '=', '-', '"', '\'']);
    let mut words = head
        .rsplit(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase);
    let Some(mut word) = words.next() else {
        return false;
    };
    // Only the words the label is written with: `order no.`, `tracking number`, `customer id`.
    let id = word == "id" || word == "ids";
    if id || ["no", "nr", "number", "num"].contains(&word.as_str()) {
        let Some(named) = words.next() else {
            return id;
        };
        if named == "caller" || PHONE_CUES.contains(&named.as_str()) {
            return false;
        }
        if id {
            return true;
        }
        word = named;
    }
    ID_LABELS.contains(&word.as_str())
}

/// Words that say the number after them is a phone number, in the languages whose national formats have no
/// recogniser of their own.
/// Each starts a word (so `tel` is not read in "Patel", nor `cell` in "cancelled"), and one of four letters
/// or fewer is a whole word (nor `tel` in "telegram").
const PHONE_CUES: &[&str] = &[
    "phone",
    "tel",
    "telephone",
    "call",
    "calling",
    "mobile",
    "cell",
    "cellphone",
    "cellular",
    "fax",
    "whatsapp",
    "ring me",
    "ring us",
    "dial",
    "contact",
    "reach me",
    "reach us",
    "text me",
    // Where messages and calls go: `stop receiving messages to …`, `SMS …`, `not answering at …`.
    "sms",
    "message me",
    "messages to",
    "voicemail",
    "answering",
    "landline",
    // What a chat or a signature draws instead of the word.
    "📞",
    "☎",
    "📱",
    "hotline",
    "desk",
    "helpline",
    "telefon",
    "téléphone",
    "teléfono",
    "telefono",
    "móvil",
    "movil",
    "handy",
    "portable",
    "cellulare",
    "celular",
    "telemóvel",
    "telemovel",
    "telefone",
    "telefoon",
    "mobiel",
    "mobil",
    "puhelin",
    "komórka",
    "cep",
    // `call me` in other languages (not `llama` alone: the model).
    "llámame",
    "llamame",
    "llamar",
    "llama al",
    "appelez",
    "appeler",
    "appelle",
    "anrufen",
    "chiamami",
    "chiamare",
    "ligue",
    "ligar",
    "bel me",
    "звоните",
    "позвоните",
    "мобильный",
    // Hindi (with and without the nukta), Arabic, Vietnamese.
    "फ़ोन",
    "फोन",
    "मोबाइल",
    "هاتف",
    "جوال",
    "điện thoại",
    // Abbreviations on business cards and signatures: Indonesian `Telp`, Portuguese `Tlm`, Danish and
    // Norwegian `Tlf`, `Mob`; Russian and Ukrainian `Тел`.
    "telp",
    "tlm",
    "tlf",
    "mob",
    "тел",
    "телефон",
    // Chinese, Japanese and Korean: written without spaces around words, so these count wherever they
    // stand (see `word_cue`).
    "电话",
    "電話",
    "手机",
    "手機",
    "携帯",
    "전화",
    "휴대폰",
    "핸드폰",
    "연락처",
];

fn validate_cued_phone(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    // `(415) 555-0132` is the North American recogniser's, and more confidently: not read twice (a chat
    // turn dense with such numbers paid for every one).
    if north_american_shape(value) && validate_nanp(text, range.clone()).is_some() {
        return None;
    }
    let d = digits(value);
    let n = d.len();
    // A date (2024-05-17, 17.05.2024, 17 05 24, 20240517) is not a phone number, whatever is near it.
    let groups: Vec<usize> = value
        .split([' ', '.', '-', '/'])
        .filter(|g| !g.is_empty())
        .map(str::len)
        .collect();
    let month_day =
        |m: &[u8], day: &[u8]| (1..=12).contains(&number(m)) && (1..=31).contains(&number(day));
    let date = matches!(groups[..], [4, 2, 2] | [2, 2, 4])
        || n == 6
            && groups[..] == [2, 2, 2]
            && (month_day(&d[2..4], &d[..2]) || month_day(&d[..2], &d[2..4]))
        || n == 8
            && groups.len() == 1
            && matches!(number(&d[..2]), 19 | 20)
            && month_day(&d[4..6], &d[6..]);
    // `6777880100:AA4N…` is an id and its secret (a Telegram bot's token), not a number to call.
    let id_of_secret = text[range.end..]
        .strip_prefix(':')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_alphanumeric()));
    // Chinese and Japanese put no space between a number and the words around it (`我的手机号是138…`).
    let (left, right) = (before(text, range.start), after(text, range.end));
    let cjk = |c: Option<char>| c.is_some_and(written_without_spaces);
    let edge = |c: Option<char>| c.is_none_or(|c| written_without_spaces(c) || !is_word(c));
    // The number as matched; `range` takes in its extension.
    let bare = range.clone();
    let range = with_extension(text, range);
    let alone = stands_alone(text, &range, &['-', ' ', '.'])
        || (cjk(left) || cjk(right)) && edge(left) && edge(right);
    // `ORD-2024-686225`, `INV/2024 1234`: a reference's number, joined to its letters.
    let joined = text[..bare.start]
        .strip_suffix(['-', '/', '.', '_'])
        .is_some_and(|head| head.ends_with(|c: char| c.is_alphanumeric()));
    if date || id_of_secret || joined || !alone {
        return None;
    }
    // The word that says phone: anywhere in the 24 bytes before eight digits or more; right before six or
    // seven in groups (a subscriber's number without its area code: `Phone: 469 2020`, `call me on 87 47
    // 98`, but not the house number of `call a taxi to 3348 84 Cassinia Street`); or right after either, as
    // contact blocks label their lines (`723 813 266 office`, `…-Fax`).
    // Run together, only the lengths of a plan: ten or eleven after a trunk 0 (or Russia's 8), a Chinese
    // mobile's eleven, North American ten (area code and exchange from 2), and eight to ten when the word
    // is right before them (`Phone: 12345678`, `Call me at 3471234567`, an Italian mobile; not a number
    // in the column after the header's `phone`).
    let grouped = groups.len() > 1 || value.starts_with('(');
    let planned = grouped
        || match n {
            8 | 9 => cue_right_before(text, bare.start),
            10 => d[0] == 0 || d[0] >= 2 && d[3] >= 2 || cue_right_before(text, bare.start),
            11 => d[0] == 0 || d[0] == 8 || d[0] == 1 && d[1] >= 3,
            _ => false,
        };
    let cued = match n {
        _ if !planned => return None,
        8..=12 => word_cue(text, bare.start, 24, PHONE_CUES),
        6 | 7 if grouped => cue_right_before(text, bare.start),
        _ => return None,
    };
    (cued || labelled_after(text, range.end)).then_some((range, 0.55))
}

/// Whether `value` is written `(415) 555-0132` (or `(415)555-0132`, `.` or a space before the last four):
/// a shape the North American pattern matches whole.
fn north_american_shape(value: &str) -> bool {
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let Some(area) = value.as_bytes().strip_prefix(b"(") else {
        return false;
    };
    if area.len() < 12 || !all_digits(&area[..3]) || area[3] != b')' {
        return false;
    }
    let rest = area[4..].strip_prefix(b" ").unwrap_or(&area[4..]);
    rest.len() == 8
        && all_digits(&rest[..3])
        && matches!(rest[3], b' ' | b'.' | b'-')
        && all_digits(&rest[4..])
}

/// Words that say phone only after a number: `0380 7558505 office`, where before one (`The office is at 171
/// 3890 Creekside Lane`) it is more often an address.
const PHONE_LABELS_AFTER: &[&str] = &["office"];

/// Whether a phone word labels the number ending at `end` from after it: `723 813 266 office`,
/// `0494 41 18 24-Office`, `8240084271 (mobile)`.
fn labelled_after(text: &str, end: usize) -> bool {
    let rest = text[end..].trim_start_matches([' ', '-', '(']);
    let word = &rest[..rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len())];
    PHONE_CUES
        .iter()
        .chain(PHONE_LABELS_AFTER)
        .any(|cue| cue.eq_ignore_ascii_case(word))
}

/// Whether a phone word stands right before `at`, with nothing between but punctuation and the small words
/// that join them: `Phone: `, `call me on `, `mobile no. `, `tel #`.
fn cue_right_before(text: &str, at: usize) -> bool {
    const JOINING: &[&str] = &[
        "me", "us", "on", "at", "is", "no", "nr", "number", "my", "our",
    ];
    // Markdown's emphasis, code and table cells too: `**Phone:** …`, `| Tel | …`.
    let separator = |c: char| c.is_whitespace() || ":#.=-*_|`".contains(c);
    let mut head = window_before(text, at, 32).trim_end_matches(separator);
    for _ in 0..4 {
        let lower = head.to_lowercase();
        if PHONE_CUES.iter().any(|cue| {
            lower.ends_with(cue)
                && (cue.starts_with(written_without_spaces)
                    || lower[..lower.len() - cue.len()]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !c.is_alphanumeric()))
        }) {
            return true;
        }
        let start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphabetic())
            .last()
            .map_or(head.len(), |(i, _)| i);
        if !JOINING
            .iter()
            .any(|j| head[start..].eq_ignore_ascii_case(j))
        {
            return false;
        }
        head = head[..start].trim_end_matches(separator);
    }
    false
}

/// Like [`has_cue`], but a cue counts only at the start of a word — in scripts that mark words with
/// spaces: a Chinese, Japanese or Korean cue counts anywhere (`我的电话是`).
fn word_cue(text: &str, at: usize, width: usize, cues: &[&str]) -> bool {
    let window = window_before(text, at, width).to_lowercase();
    // A short cue (four letters or fewer, in any script: Russian `тел` is six bytes) is a word of its
    // own: `tel` is not read in "telegram" or "telnet", nor `dial` in "dialog", nor `тел` in "телевизор"
    // (the longer words that do say phone are cues of their own).
    let is_word_at = |i: usize, cue: &str| {
        if cue.chars().next().is_some_and(written_without_spaces) {
            return true;
        }
        let starts = window[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let ends = cue.chars().count() > 4
            || window[i + cue.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphabetic());
        starts && ends
    };
    cues.iter()
        .any(|cue| places(&window, cue).any(|i| is_word_at(i, cue)))
        || column_header(text, at).is_some_and(|header| {
            let header = cue_words(header);
            cues.iter().any(|cue| {
                places(&header, cue)
                    .any(|i| header[..i].chars().next_back().is_none_or(|c| c == ' '))
            })
        })
}

/// A Han, kana or Hangul character: scripts whose words are not set apart by spaces (Korean's are, but
/// its particles join the word before).
fn written_without_spaces(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{9fff}' | '\u{ac00}'..='\u{d7af}')
}

fn validate_base58_address(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let alone = !before(text, range.start).is_some_and(is_word)
        && !after(text, range.end).is_some_and(is_word);
    (alone && crate::crypto::base58_address_valid(&text[range.clone()])).then_some((range, 0.95))
}

fn validate_segwit_address(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let alone = !before(text, range.start).is_some_and(is_word)
        && !after(text, range.end).is_some_and(is_word);
    (alone && crate::crypto::segwit_address_valid(&text[range.clone()])).then_some((range, 0.95))
}

fn validate_eth_address(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    if before(text, range.start).is_some_and(is_word) || after(text, range.end).is_some_and(is_word)
    {
        return None;
    }
    // Without a checksum, any 160-bit hex value would do; a wallet word nearby makes it an address.
    let confidence = match crate::crypto::eth_address_checked(&text[range.clone()])? {
        true => 0.95,
        false if has_cue(text, range.start, 48, CRYPTO_CUES) => 0.9,
        false => 0.8,
    };
    Some((range, confidence))
}

const CRYPTO_CUES: &[&str] = &[
    "wallet", "address", "eth", "btc", "bitcoin", "ether", "crypto", "payout",
];

/// The address of an IPv6 literal from a URL (`2001:db8::1`, `fe80::1%eth0` with its zone).
fn ipv6_literal(host: &str) -> Option<std::net::Ipv6Addr> {
    let address = host.split_once('%').map_or(host, |(a, _)| a);
    address.parse().ok()
}

/// Where the URL at `range` goes on past its host (its path, query or fragment), if it does: an `@`
/// before it is a user's, after it an address's.
fn url_path_start(text: &str, range: Range<usize>) -> Option<usize> {
    let url = &text[range.clone()];
    let authority = url.find("://").map_or(0, |i| i + 3);
    url[authority..]
        .find(['/', '?', '#'])
        .map(|i| range.start + authority + i)
}

/// The host of a URL (or of a `www.` address): between the scheme and the first `/`, `?`, `#` or port.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return host_port.split_inclusive(']').next().unwrap_or(host_port);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

fn validate_url(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    if before(text, range.start).is_some_and(|c| is_word(c) || c == '.' || c == '@') {
        return None;
    }
    // Sentence punctuation and the closing bracket of `(see https://…)` or `[a](https://…)` are not part of
    // the URL unless the URL opened that bracket itself.
    let mut value = &text[range.clone()];
    loop {
        let trimmed = value.trim_end_matches(['.', ',', ';', ':', '!', '?', '*', '\'']);
        let unbalanced = |open: char, close: char| {
            trimmed.ends_with(close)
                && trimmed.matches(open).count() < trimmed.matches(close).count()
        };
        let trimmed = if unbalanced('(', ')') || unbalanced('[', ']') {
            &trimmed[..trimmed.len() - 1]
        } else {
            trimmed
        };
        if trimmed.len() == value.len() {
            break;
        }
        value = trimmed;
    }
    let host = url_host(value);
    // Internationalised names count as written (`https://deineka.укр/`), not only in punycode.
    let named = host.contains('.')
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && host
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().any(char::is_alphabetic));
    let literal = host.parse::<std::net::Ipv4Addr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| ipv6_literal(h).is_some());
    let local = host.eq_ignore_ascii_case("localhost");
    if !(named || literal || local) {
        return None;
    }
    Some((range.start..range.start + value.len(), 0.9))
}

/// Webhook URLs whose path is the credential (anyone holding one can post): host, then path prefix.
const WEBHOOK_URLS: &[(&str, &str)] = &[
    ("hooks.slack.com", "/services/"),
    ("hooks.slack.com", "/workflows/"),
    ("hooks.slack.com", "/triggers/"),
    ("discord.com", "/api/webhooks/"),
    ("discordapp.com", "/api/webhooks/"),
    ("ptb.discord.com", "/api/webhooks/"),
    ("canary.discord.com", "/api/webhooks/"),
    (".webhook.office.com", "/webhookb2/"),
    ("outlook.office.com", "/webhook/"),
    ("hooks.zapier.com", "/hooks/catch/"),
];

/// Query parameters whose value is a credential (`?api_key=…`, `?k8sToken=…`, an Azure SAS `&sig=…`): these
/// names, or a name containing one of [`CREDENTIAL_PARAM_WORDS`].
const CREDENTIAL_PARAMS: &[&str] = &["key", "auth", "sig", "pwd", "code"];
const CREDENTIAL_PARAM_WORDS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "apikey",
    "api_key",
    "api-key",
    "signature",
];

fn credential_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    CREDENTIAL_PARAMS.contains(&name.as_str())
        || CREDENTIAL_PARAM_WORDS.iter().any(|w| name.contains(w))
}

/// The part of the URL at `range` that is not a credential, when a secrets plugin is to report that:
/// `None` for a webhook URL (all of it is the credential); the URL after `user:password@` or a token sent
/// as the user (`ghp_…@`, see [`palisade_sdk::token_as_user`]); the URL before
/// a query string that carries a credential parameter. Otherwise `range` itself.
fn credential_free(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let url = &text[range.clone()];
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = url_host(url).to_ascii_lowercase();
    let webhook = WEBHOOK_URLS.iter().any(|&(h, p)| {
        (host == h.trim_start_matches('.') || (h.starts_with('.') && host.ends_with(h)))
            && path.len() > p.len()
            && path[..p.len()].eq_ignore_ascii_case(p)
    });
    if webhook {
        return None;
    }
    let mut start = range.start;
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if userinfo.contains(':') || palisade_sdk::token_as_user(userinfo) {
            start = range.start + (url.len() - rest.len()) + userinfo.len() + 1;
        }
    }
    let mut end = range.end;
    if let Some(query_at) = url.find('?') {
        let query = url[query_at + 1..].split('#').next().unwrap_or_default();
        let credential = query.split('&').any(|pair| {
            pair.split_once('=')
                .is_some_and(|(name, value)| value.len() >= 16 && credential_param(name))
        });
        if credential {
            end = range.start + query_at;
        }
    }
    (start < end).then_some(start..end)
}

/// Top-level domains a bare name must end in to count as a domain. Common TLDs that are also file
/// extensions or code (`.rs`, `.py`, `.md`, `.sh`, `.pl`, `.cc`, `.zip`, `.mov`) are left out on purpose.
#[rustfmt::skip]
const BARE_TLDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "mil", "int", "io", "co", "ai", "app", "dev", "info", "biz", "me", "us",
    "uk", "de", "fr", "es", "it", "nl", "be", "ch", "at", "se", "no", "dk", "fi", "ie", "pt", "gr", "cz", "hu",
    "ro", "ru", "ua", "cn", "jp", "kr", "in", "au", "nz", "ca", "br", "mx", "ar", "cl", "za", "il", "tr", "eu",
    "asia", "xyz", "online", "site", "tech", "cloud", "store", "shop", "blog", "news", "ly", "gg", "tv",
];

/// A URL candidate that is only a host name: no scheme, no `www.`, no path.
fn is_bare_host(value: &str) -> bool {
    !value.contains("://")
        && !value
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("www."))
        && !value.contains('/')
}

fn validate_bare_domain(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    let value = &text[range.clone()];
    let host = value.split('/').next().unwrap_or(value);
    let tld = host.rsplit('.').next()?;
    // `user@example.com` is an email, `a.b.c` inside a longer dotted name is not a domain, and `ASP.NET` or
    // `config.json` are not domains either.
    if before(text, range.start)
        .is_some_and(|c| is_word(c) || matches!(c, '.' | '@' | '/' | ':' | '-'))
        || after(text, range.end).is_some_and(|c| is_word(c) || c == '@')
        || !BARE_TLDS.contains(&tld)
        || host
            .split('.')
            .any(|label| label.starts_with('-') || label.ends_with('-'))
    {
        return None;
    }
    let (range, _) = validate_url(text, range)?;
    Some((range, 0.6))
}

/// Words that make a run of digits a bank account number. Without one, an 8-17 digit number is as likely an
/// order number, an id or a timestamp, so none is reported.
const BANK_CUES: &[&str] = &[
    "account number",
    "account no",
    "account num",
    "account #",
    "acct",
    "bank account",
    "bank number",
    "bank acct",
    "checking",
    "savings",
    "deposit account",
    "direct deposit",
    "beneficiary account",
    "a/c",
    "kontonummer",
    "konto nr",
    "numéro de compte",
    "numero de compte",
    "número de cuenta",
    "numero de cuenta",
    "numero di conto",
    "conto corrente",
    "rekeningnummer",
];

/// Accounts that are not at a bank, however near a bank's words: a customer's, a user's, a cloud's.
const NOT_BANK_ACCOUNTS: &[&str] = &[
    "account id",
    "customer account",
    "user account",
    "aws account",
    "account ref",
];

/// With "account" alone, one of these must be near too: an AWS or a customer account number is not a bank's.
const BANKING_WORDS: &[&str] = &[
    "bank",
    "credit union",
    "routing",
    "wire transfer",
    "wire to",
    "sort code",
    " ach ",
    "deposit",
    " aba ",
    "swift",
    // Other countries' bank codes: Australia's BSB, Germany's BLZ, India's IFSC.
    "bsb",
    "blz",
    "ifsc",
];

fn validate_bank_number(text: &str, range: Range<usize>) -> Option<(Range<usize>, f32)> {
    if !stands_alone(text, &range, &['-', ' ', '.', ',']) || after_a_code(text, range.start) {
        return None;
    }
    // A bank's words may come after the number too: `wire to account 4820193756, routing number …`.
    let banking = || {
        has_context(text, range.start, 80, BANKING_WORDS)
            || names_any(window_after(text, range.end, 60), BANKING_WORDS)
    };
    let cued = has_cue(text, range.start, 40, BANK_CUES)
        || has_cue(text, range.start, 24, &["account"])
            && !has_cue(text, range.start, 24, NOT_BANK_ACCOUNTS)
            && banking();
    cued.then_some((range, 0.7))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hir(pattern: &str) -> regex_syntax::hir::Hir {
        regex_syntax::Parser::new().parse(pattern).unwrap()
    }

    fn reach_of(pattern: &str) -> Option<(usize, usize, usize)> {
        reach(&hir(pattern)).map(|r| (r.lead, r.trail, r.gap))
    }

    /// A word that makes one entity out of digits never hides another: a value found in plain words is
    /// found, as something, after every cue word too (`acct 4111 1111 1111 1111` once released the card).
    #[test]
    fn no_cue_word_hides_a_value_found_without_it() {
        let detector = Detector::new(Entity::ALL);
        let values = [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111111111111111",
            "4111111111111111110",
            "ana.silva@example.com",
            "219-09-9999",
            "GB82 WEST 1234 5698 7654 32",
            "192.168.10.44",
            "2001:db8::8a2e:370:7334",
            "https://example.com/x",
            "+44 20 7946 0958",
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        ];
        let cue_lists = [
            BANK_CUES,
            NOT_BANK_ACCOUNTS,
            BANKING_WORDS,
            PHONE_CUES,
            NHS_CUES,
            CRYPTO_CUES,
            VERSION_CUES,
            CREDENTIAL_PARAM_WORDS,
        ];
        let covered = |text: &str, value: &str| {
            let at = text.find(value).expect("the value is in the text");
            detector
                .detect(text)
                .iter()
                .any(|hit| hit.range.start <= at && at + value.len() <= hit.range.end)
        };
        for value in values {
            assert!(covered(&format!("a a a {value} a a"), value), "{value}");
            for cue in cue_lists.iter().flat_map(|list| list.iter()) {
                let text = format!("{cue} a a a {value} a a");
                assert!(covered(&text, value), "{text:?}");
            }
        }
    }

    /// The internationalised-domain gate opens wherever that pattern's validator could keep an address,
    /// and stays shut for texts whose only non-ASCII characters are elsewhere.
    #[test]
    fn the_idn_gate_opens_only_for_a_domain_outside_ascii() {
        for text in [
            "write to josé@exämple.de",
            "邮箱：用户@例子.广告",
            "a@b.c, info@пример.рф",
            "@x-ü",
        ] {
            assert!(non_ascii_after_at(text), "{text:?}");
        }
        for text in [
            "josé@example.de",
            "日本 a@b.com",
            "über @ alle",
            "naïve",
            "a@b.c ü",
            "x@y.z/ü",
        ] {
            assert!(!non_ascii_after_at(text), "{text:?}");
        }
    }

    #[test]
    fn the_fewest_digits_a_match_holds() {
        let digits = |p: &str| fewest_digits(&hir(p));
        assert_eq!(digits(r"[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{9}"), 9);
        assert_eq!(digits("[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11,32}"), 2);
        assert_eq!(digits("(?:[0-9]{3} ){2,}x"), 6);
        assert_eq!(digits("12|[0-9]*"), 0);
        // A class with other characters in it may match none.
        assert_eq!(digits("[0-9a-f]{8}"), 0);
    }

    fn marks_of(pattern: &str) -> Option<String> {
        Runs::of(&hir(pattern)).map(|r| {
            let mut marks: Vec<char> = r.marks.iter().map(|&b| char::from(b)).collect();
            marks.dedup();
            marks.into_iter().collect()
        })
    }

    #[test]
    fn reach_is_read_from_the_pattern_and_unknown_when_unsure() {
        assert_eq!(reach_of("[A-Z]{2}[0-9]{2}"), Some((2, 0, 0)));
        assert_eq!(reach_of(r"\+[0-9]{1,3}(?: [0-9]{1,4}){2}"), Some((1, 0, 1)));
        assert_eq!(reach_of("a(?:[0-9]x)+"), Some((1, 1, 1)));
        assert_eq!(
            reach_of("(?i)k[0-9]"),
            Some((3, 0, 0)),
            "the Kelvin sign is three bytes"
        );
        // Starts at a digit: searched in the windows too (as Wasm, a prefilter that jumps from digit to
        // digit costs more than the digit runs found once for every pattern).
        assert_eq!(reach_of("[0-9]+x"), Some((0, 1, 0)));
        // What it asserts about the text around it is read in the whole text: no difference.
        assert_eq!(reach_of(r"a\b[0-9]"), Some((1, 0, 0)));
        // Not every match holds a digit, or the pattern reaches too far to bound.
        assert_eq!(reach_of("a[0-9]|b"), None);
        assert_eq!(reach_of("a(?:[0-9]x)*"), None);
        assert_eq!(reach_of("x[0-9][a-z]+"), None);
        assert_eq!(reach_of("x[0-9][a-z]{100}"), None);
        assert_eq!(reach_of("x(?:[0-9]y){70}"), None);
    }

    #[test]
    fn runs_are_read_from_the_pattern_and_only_where_they_pay() {
        // A domain: any letter may start it, and it holds a dot.
        assert_eq!(
            marks_of(r"[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.[a-z]{2,6}").as_deref(),
            Some(".")
        );
        assert_eq!(
            marks_of("(?i)[0-9a-f:]*:[0-9a-f:]*:[0-9a-f:.]*").as_deref(),
            Some(":")
        );
        assert_eq!(
            marks_of(
                "(?i)[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}|[0-9a-f]{4}\\.[0-9a-f]{4}\\.[0-9a-f]{4}"
            )
            .as_deref(),
            Some("-.:")
        );
        // Starts with a few bytes: the regex's own prefilter finds those.
        assert_eq!(marks_of("@[a-z]+\\.[a-z]+"), None);
        assert_eq!(marks_of("(?i)https?://[^ ]+"), None);
        // Every match holds a digit: searched near digits instead.
        assert_eq!(marks_of("[a-z]+-[0-9]"), None);
        // Nothing but letters, or marks too many or too common to look for.
        assert_eq!(marks_of("[a-z]{6}"), None);
        assert_eq!(marks_of("[a-z]+[-.:;,]"), None);
        assert_eq!(marks_of("[a-z]+x[a-z]+"), None);
        // A match may be empty.
        assert_eq!(marks_of("[a-z]*:?"), None);
    }

    #[test]
    fn runs_hold_every_match_and_skip_short_ones() {
        let runs = Runs::of(&hir(r"[a-z]+\.[a-z]{2,}")).unwrap();
        let text = "Done. See the docs at example.com or x.y, then café.org and more.".to_string();
        // Long enough that the runs cost less than half of a search of all of it.
        let text = text + &" ".repeat(200);
        let windows: Vec<&str> = runs.windows(&text).into_iter().map(|w| &text[w]).collect();
        // A run ends at any byte no match holds (the capital D, the é, a space); "x.y" is a byte short.
        assert_eq!(windows, ["one.", "example.com", ".org", "more."]);
    }

    #[test]
    fn digits_group_only_across_bytes_a_match_can_hold() {
        // Spaces after it: windows that cover most of a text give way to one search of all of it.
        let text = "2026-12-06T10:11:12Z id 078-05-1120 and 12 34".to_string() + &" ".repeat(400);
        let runs = digit_runs(&text, text.len()).unwrap();
        let windows = |pattern: &str, digits: usize| {
            let reach = Reach {
                lead: 0,
                trail: 0,
                digits,
                ..reach(&hir(pattern)).unwrap()
            };
            let mut windows = Vec::new();
            digit_windows(&text, &runs, None, reach, &mut windows);
            windows.into_iter().map(|w| &text[w]).collect::<Vec<_>>()
        };
        let ssn = "[0-9]{3}[-. ][0-9]{2}[-. ][0-9]{4}|[0-9]{9}";
        // Dashes and spaces join an SSN's groups; the timestamp's `T` and colons do not.
        assert_eq!(
            windows(ssn, 1),
            ["2026-12-06", "10", "11", "12", "078-05-1120", "12 34"]
        );
        // A stretch with fewer digits than a match holds has no window.
        assert_eq!(windows(ssn, 9), ["078-05-1120"]);
        // Digits run together only: nothing joins.
        assert_eq!(windows("[0-9]{11}", 1).len(), runs.len());
    }

    #[test]
    fn coarse_stretches_leave_every_window_where_it_was() {
        let detector = Detector::new(Entity::ALL);
        let coarse = detector.coarse.unwrap();
        let texts = [
            "2026-12-06T10:11:12Z id=100035 took 15 ms; 078-05-1120, +44 (0)20 7946 0958 / 555.0132",
            "order ORD-2024-118834, card 4111 1111 1111 1111, call (415) 555-0132 after 5pm, v3.1.0.12",
            "6f1c2a9e-3b7d-4c55-9a0e-1d2f3a4b5c6d 12 34 56 78 90 1 2 3 4 5 6 7 8 9 0 00 11 22 33 44 55",
        ];
        let mut checked = 0;
        for text in texts.map(|t| t.to_string() + &" ".repeat(600)) {
            let runs = digit_runs(&text, text.len()).unwrap();
            let stretches = coarse_stretches(&text, &runs, &coarse);
            for reach in detector.recognizers.iter().filter_map(|r| r.reach) {
                if !reach.within(&coarse) {
                    continue;
                }
                let (mut walked, mut skipped) = (Vec::new(), Vec::new());
                digit_windows(&text, &runs, None, reach, &mut walked);
                digit_windows(&text, &runs, Some(&stretches), reach, &mut skipped);
                assert_eq!(walked, skipped, "{reach:?} over {text:?}");
                checked += 1;
            }
        }
        // Most of the built-in patterns' reaches, each over every text.
        assert!(checked >= 3 * 25, "{checked}");
    }

    /// Letters that Unicode's case folding makes ASCII ones (`ſ` is s, the Kelvin sign is k), in every
    /// identifier that holds a k or an s, and the text read as written: no validator is handed them.
    #[test]
    fn letters_that_fold_to_ascii_ones_reach_no_validator() {
        let detector = Detector::new(Entity::ALL).with_normalization(false);
        let values = [
            "codice RSSMRA85T10A562S",
            "NINO SK 12 34 56 C",
            "NI number KS123456C",
            "IBAN KW81CBKU0000000000001234560101",
            "IBAN GB82 WEST 1234 5698 7654 32",
            "NIE X0000015S",
            "NIF 12345679S",
            "NRIC S1234567D",
            "hetu 131052-301K",
            "MAC 00:1b:2b:3c:4d:5e",
        ];
        for value in values {
            assert!(!detector.detect(value).is_empty(), "{value}");
            for (i, c) in value.char_indices().filter(|(_, c)| "kKsS".contains(*c)) {
                let folded = if c.eq_ignore_ascii_case(&'k') {
                    '\u{212A}'
                } else {
                    'ſ'
                };
                let text = format!("{}{folded}{}", &value[..i], &value[i + 1..]);
                let found: Vec<_> = detector
                    .detect(&text)
                    .iter()
                    .map(|h| h.range.clone())
                    .collect();
                assert!(
                    found.iter().all(|r| text[r.clone()].is_ascii()),
                    "{text}: {found:?}"
                );
            }
        }
    }

    #[test]
    fn places_are_where_match_indices_finds_them() {
        let hays = [
            "",
            "a",
            "tel tel",
            "aaaa",
            "o o o",
            "teléfono tel.",
            "xnenene",
            "電話 番号 電話",
        ];
        let needles = [
            "a",
            "aa",
            "tel",
            "o o",
            "nene",
            "é",
            "電話",
            "tel.",
            "zz",
            "teléfono tel. x",
        ];
        for hay in hays {
            for needle in needles {
                let expected: Vec<usize> = hay.match_indices(needle).map(|(i, _)| i).collect();
                assert_eq!(
                    places(hay, needle).collect::<Vec<_>>(),
                    expected,
                    "{needle:?} in {hay:?}"
                );
                assert_eq!(holds(hay, needle), hay.contains(needle));
            }
        }
    }

    #[test]
    fn a_cue_gate_holds_on_to_a_word_each_cue_keeps_or_to_its_spellings() {
        let gate = CueGate::of(national::BIRTH_CUES);
        for word in [
            "birth",
            "birthdate",
            "born",
            "dob",
            "geburtsdatum",
            "geboren",
            "née",
            "nato",
        ] {
            assert!(gate.words.contains(&word), "{word}: {:?}", gate.words);
        }
        // `d o b` and `né le` have no word of four bytes: spelled, however they are joined.
        let spelled = gate.spelled.expect("short-word cues are spelled");
        // (`dOB` reads as `d ob`, no cue: the gate may open for more than the validators take, never less.)
        for (text, is_in) in [
            ("D_O_B:", true),
            ("x d. o. b.", true),
            ("(D-O-B)", true),
            ("Né le", true),
            ("dOB", true),
            ("ne_le", false),
            ("db o", false),
            ("d o", false),
        ] {
            assert_eq!(spelled.is_in(text), is_in, "{text}");
        }
        let gate = CueGate::of(national::DRIVER_LICENSE_CUES);
        assert!(gate.words.contains(&"drivers") && gate.words.contains(&"d/l"));
        let spelled = gate.spelled.expect("`dl no` is spelled");
        assert!(spelled.is_in("DL_No") && spelled.is_in("dl #") && spelled.is_in("DlNum"));
        assert!(!spelled.is_in("handle") && !spelled.is_in("dl"));
    }
}
