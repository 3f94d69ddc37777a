//! Values written to get past a filter — full-width digits, zero-width characters, escapes, other scripts'
//! digits, typographic spaces and dashes — found by the stock plugins in the default bundle, reported over
//! exactly the disguised bytes, and redacted without a trace. And look-alikes that normalising must not
//! turn into findings.

use proptest::prelude::*;

use palisade::chain::{Dir, Verdicts};

use crate::util::{default_bundle, edited_default_bundle, run, run_dir, with_plugin_config};

/// Values of each kind the default bundle redacts (or, for secrets on input, denies), after the words a
/// value without a checksum of its own needs in front of it.
const PLANTED: &[(&str, &str, &str)] = &[
    ("CREDIT_CARD", "", "4111 1111 1111 1111"),
    ("CREDIT_CARD", "", "4407-9337-9156-6857"),
    ("CREDIT_CARD", "", "378282246310005"),
    ("US_SSN", "", "536-22-1947"),
    ("EMAIL_ADDRESS", "", "ana.lopez@example.org"),
    ("IBAN_CODE", "", "DE89370400440532013000"),
    ("PHONE_NUMBER", "", "+44 20 7946 0958"),
    ("UK_NHS", "NHS number ", "877 733 0919"),
    ("SECRET", "", "ghp_dT2rIhEhvLlb5O7nbncTIsHVcQXPQjWJQh3q"),
    ("SECRET", "", "AKIAU6TIUGYPEHMXKFTI"),
    ("SECRET", "", "sk_live_kTSOsq63Hvzl8IBtPnRNbzoc51Feogdvbz"),
    (
        "SECRET",
        "",
        "xoxb-290794730170-6081549796233-tXmdZte29B66QHYxGj1D2qdF",
    ),
];

/// One known evasion, applied to one character of a value.
#[derive(Clone, Copy, Debug)]
enum Disguise {
    Plain,
    FullWidth,
    MathBold,
    ArabicIndicDigit,
    DevanagariDigit,
    JsonEscape,
    HtmlEscape,
    TagCharacter,
    /// An invisible character after this one (zero-width space, joiner, word joiner, soft hyphen, BOM).
    InvisibleAfter(char),
    /// A typographic space or dash in place of a group separator.
    Separator,
}

impl Disguise {
    /// Whether a value people write may look like this (another script's digits, typographic
    /// separators), so the finding is not marked obfuscated for it. Credentials are ASCII: any disguise
    /// in one is marked.
    fn is_ordinary(self, category: &str) -> bool {
        let by_people = category != "SECRET";
        match self {
            Disguise::Plain => true,
            Disguise::ArabicIndicDigit | Disguise::DevanagariDigit | Disguise::Separator => {
                by_people
            }
            _ => false,
        }
    }

    /// `c` written this way, or `None` when this disguise does not apply to it.
    fn apply(self, c: char, last: bool) -> Option<String> {
        let code = c as u32;
        let digit = c.to_digit(10);
        let shifted = |base: u32| char::from_u32(base).map(String::from);
        match self {
            Disguise::Plain => Some(c.to_string()),
            Disguise::FullWidth => c
                .is_ascii_graphic()
                .then(|| shifted(code - 0x21 + 0xFF01))?,
            Disguise::MathBold => match (digit, c) {
                (Some(d), _) => shifted(0x1D7CE + d),
                (None, 'A'..='Z') => shifted(0x1D400 + code - 'A' as u32),
                (None, 'a'..='z') => shifted(0x1D41A + code - 'a' as u32),
                _ => None,
            },
            Disguise::ArabicIndicDigit => shifted(0x0660 + digit?),
            Disguise::DevanagariDigit => shifted(0x0966 + digit?),
            Disguise::JsonEscape => Some(format!("\\u{code:04x}")),
            Disguise::HtmlEscape => Some(format!("&#{code};")),
            Disguise::TagCharacter => c.is_ascii_graphic().then(|| shifted(0xE0000 + code))?,
            // Between characters only: one after the last is not part of the value.
            Disguise::InvisibleAfter(mark) => (!last).then(|| format!("{c}{mark}")),
            Disguise::Separator => match c {
                ' ' => Some("\u{A0}".into()),
                '-' => Some("\u{2013}".into()),
                _ => None,
            },
        }
    }
}

fn disguise() -> impl Strategy<Value = Disguise> {
    prop_oneof![
        3 => Just(Disguise::Plain),
        1 => Just(Disguise::FullWidth),
        1 => Just(Disguise::MathBold),
        1 => Just(Disguise::ArabicIndicDigit),
        1 => Just(Disguise::DevanagariDigit),
        1 => Just(Disguise::JsonEscape),
        1 => Just(Disguise::HtmlEscape),
        1 => Just(Disguise::TagCharacter),
        1 => prop::sample::select(vec!['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{AD}', '\u{FEFF}'])
            .prop_map(Disguise::InvisibleAfter),
        1 => Just(Disguise::Separator),
    ]
}

/// `value` (of `category`) with each character disguised as `how` says, where that disguise applies, and
/// whether any disguise used is one that ordinary writing does not produce.
fn disguised(category: &str, value: &str, how: &[Disguise]) -> (String, bool) {
    let count = value.chars().count();
    let mut evasive = false;
    let mut out = String::new();
    for (i, (c, &d)) in value.chars().zip(how.iter().cycle()).enumerate() {
        match d.apply(c, i + 1 == count) {
            Some(written) => {
                evasive |= !d.is_ordinary(category) && written != c.to_string();
                out.push_str(&written);
            }
            None => out.push(c),
        }
    }
    (out, evasive)
}

/// Prose around a value: several scripts, nothing any stock plugin reports.
fn prose() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "please check",
            "Grüße aus Köln:",
            "お客様の番号は",
            "номер карты",
            "see — the value",
            "(ref)",
            "",
        ])
        .prop_map(String::from),
        // Random words: letters (some accented, some Cyrillic) and spaces, which no rule reports.
        "[a-zà-öø-ÿа-я ]{1,24}",
    ]
}

/// The default bundle, with cards redacted rather than masked: a mask keeps the last four digits on
/// purpose, and this test checks that nothing of the value is left.
fn redacting_bundle() -> &'static palisade::bundle::Bundle {
    static BUNDLE: std::sync::OnceLock<palisade::bundle::Bundle> = std::sync::OnceLock::new();
    BUNDLE.get_or_init(|| {
        edited_default_bundle(|m| m.replace("CREDIT_CARD = \"mask\"", "CREDIT_CARD = \"redact\""))
    })
}

fn spans_of(v: &Verdicts, category: &str) -> Vec<std::ops::Range<usize>> {
    v.findings
        .iter()
        .filter(|f| f.category == category)
        .filter_map(|f| f.span.clone())
        .collect()
}

/// The text each `category` finding of `v` covers.
fn values_of<'t>(v: &Verdicts, text: &'t str, category: &str) -> Vec<&'t str> {
    spans_of(v, category)
        .into_iter()
        .map(|r| &text[r])
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// A planted value in any mix of the known evasions is found, reported over exactly its disguised
    /// bytes, marked obfuscated when it was, and redacted (on output) with nothing of it left behind.
    #[test]
    fn disguised_values_are_found_spanned_exactly_and_redacted(
        planted in prop::sample::select(PLANTED),
        how in prop::collection::vec(disguise(), 1..12),
        before in prose(),
        after in prose(),
    ) {
        let (category, cue, value) = planted;
        let (written, evasive) = disguised(category, value, &how);
        let text = format!("{before} {cue}{written} {after}");
        let start = before.len() + 1 + cue.len();
        let at = start..start + written.len();

        let v = run_dir(redacting_bundle(), &text, Dir::Output);
        prop_assert_eq!(spans_of(&v, category), vec![at.clone()], "{:?} in {:?}: {:?}", value, text, v.findings);
        let finding = v.findings.iter().find(|f| f.category == category).cloned();
        let rule = finding.map(|f| f.rule).unwrap_or_default();
        prop_assert_eq!(rule.ends_with(".obfuscated"), evasive, "rule {} for {:?}", rule, text);
        prop_assert_eq!(v.labels.iter().any(|l| l == "obfuscated"), evasive);
        prop_assert_eq!(v.text, format!("{before} {cue}[{category}] {after}"));
    }

    /// Look-alikes that carry no personal data or credential stay unreported however they are written:
    /// normalising finds only what would pass the validators written plainly.
    #[test]
    fn disguised_look_alikes_are_not_findings(
        decoy in prop::sample::select(vec![
            "IMEI 490154203237518",
            "ISBN 978-0-306-40615-7",
            "ISBN 0-306-40615-2",
            "colour #FF5733 and #1e90ff",
            "version 2.14.3",
            "build 10.0.19045.3803",
            "OID 1.3.6.1.4.1.311",
            "order 4111-1111-1111-1112",
            "on 2026-11-24 at 12:30:45",
            "uuid 3f2b8c1e-9a7d-4e5f-8b6c-1d2e3f4a5b6c",
            "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ]),
        how in prop::collection::vec(disguise(), 1..12),
    ) {
        let (written, _) = disguised("", decoy, &how);
        let v = run(default_bundle(), &written);
        let reported: Vec<_> = v.findings.iter().filter(|f| f.span.is_some()).collect();
        prop_assert!(reported.is_empty(), "{:?} ({:?}): {:?}", written, decoy, reported);
    }
}

#[test]
fn normalising_can_be_turned_off_per_plugin() {
    let text = "card ４１１１ １１１１ １１１１ １１１１, key ghp_dT2rIhEhvLlb5O7n\u{200B}bncTIsHVcQXPQjWJQh3q";
    let plain = edited_default_bundle(|m| {
        let m = with_plugin_config(m, "pii", "{ normalize = false }");
        with_plugin_config(m, "secrets", "{ normalize = false }")
    });
    let off = run(&plain, text);
    assert!(
        off.findings.iter().all(|f| f.span.is_none()),
        "{:?}",
        off.findings
    );
    let on = run(default_bundle(), text);
    let rules: Vec<&str> = on.findings.iter().map(|f| f.rule.as_str()).collect();
    assert!(rules.contains(&"pii.credit-card.obfuscated"), "{rules:?}");
    assert!(rules.contains(&"secret.github-pat.obfuscated"), "{rules:?}");
    let secret = on.findings.iter().find(|f| f.category == "SECRET").unwrap();
    assert!(
        secret.message.contains("invisible characters"),
        "{}",
        secret.message
    );
}

/// A plugin later in the chain reads the text the earlier ones rewrote: `secrets` still finds a curl
/// password whose user `pii` has already redacted (`--user [EMAIL_ADDRESS]:pQ9w…`), and nothing of it is
/// left in what goes on. Written after gitleaks' case was found passing the password through.
#[test]
fn a_credential_part_of_which_an_earlier_plugin_redacted_is_still_found() {
    let text = "curl --user roger23@gmail.com:pQ9wTxu4Fg https://www.dropbox.com/cli_link -v";
    let v = run_dir(default_bundle(), text, Dir::Output);
    assert!(
        v.findings.iter().any(|f| f.category == "SECRET"),
        "{:?}",
        v.findings
    );
    assert!(!v.text.contains("pQ9wTxu4Fg"), "{}", v.text);

    let text = "the password for jane.roe@example.com is Tr0ub4dor&3";
    let v = run_dir(default_bundle(), text, Dir::Output);
    assert!(!v.text.contains("Tr0ub4dor"), "{}", v.text);
}

#[test]
fn values_inside_urls_and_scoped_addresses() {
    let text = "write to mailto:ana%40example.org today";
    let v = run(default_bundle(), text);
    assert_eq!(values_of(&v, text, "EMAIL_ADDRESS"), ["ana%40example.org"]);

    // An IPv6 address keeps its zone; inside a URL it is reported as an address and the URL as a URL.
    let text = "ping fe80::1%eth0 or http://[2001:db8::7]:8080/health and http://10.20.30.40/";
    let v = run(default_bundle(), text);
    assert_eq!(
        values_of(&v, text, "IP_ADDRESS"),
        ["fe80::1%eth0", "2001:db8::7", "10.20.30.40"]
    );
    assert_eq!(
        values_of(&v, text, "URL"),
        ["http://[2001:db8::7]:8080/health", "http://10.20.30.40/"]
    );
    assert_eq!(v.text, "ping [IP_ADDRESS] or [URL] and [URL]");

    // An address in a URL's query: the URL is redacted whole, and both are reported.
    let text = "unsubscribe at https://example.com/u?email=ana@example.org&list=7 today";
    let v = run(default_bundle(), text);
    assert_eq!(values_of(&v, text, "EMAIL_ADDRESS"), ["ana@example.org"]);
    assert_eq!(v.text, "unsubscribe at [URL] today");

    // Percent-encoded zone (RFC 6874) inside brackets.
    let text = "http://[fe80::1%25eth0]/";
    let v = run(default_bundle(), text);
    assert_eq!(values_of(&v, text, "IP_ADDRESS"), ["fe80::1%25eth0"]);
}

/// JSON percent-encoded into a query string or form body (an analytics beacon, a form field): the
/// encoded quotes part each value from its neighbours, and the whole of each is redacted.
#[test]
fn values_in_percent_encoded_json() {
    let text = "beacon?d=%7B%22email%22%3A%22ana%40example.org%22%2C%22card%22%3A%224111111111111111%22%2C%22ssn%22%3A%22536-22-8714%22%7D";
    let v = run(default_bundle(), text);
    assert_eq!(values_of(&v, text, "EMAIL_ADDRESS"), ["ana%40example.org"]);
    assert_eq!(values_of(&v, text, "CREDIT_CARD"), ["4111111111111111"]);
    assert_eq!(values_of(&v, text, "US_SSN"), ["536-22-8714"]);
    for value in ["ana", "4111", "8714"] {
        assert!(!v.text.contains(value), "{}", v.text);
    }
}

/// The secrets detector alone: credentials carried inside URLs are reported as the credential only.
#[test]
fn credentials_inside_urls_are_the_credential_only() {
    let detector = secrets::Detector::new();
    let found = |text: &str| -> Vec<(String, String)> {
        detector
            .detect(text)
            .into_iter()
            .map(|h| (h.rule.to_string(), text[h.range].to_string()))
            .collect()
    };
    assert_eq!(
        found("clone https://deploy:Zq8vR2mK9xLp@git.example.com/app.git now"),
        [("url-password".to_string(), "Zq8vR2mK9xLp".to_string())]
    );
    assert_eq!(
        found("GET https://api.example.com/v1/items?limit=5&api_key=aDEQGWBtZjKHqFmYj9bvsUeWccXzxDWN&x=1"),
        [("generic-api-key".to_string(), "aDEQGWBtZjKHqFmYj9bvsUeWccXzxDWN".to_string())]
    );
    // A SAS signature, percent-encoded as Azure writes it: reported over the encoded bytes (the base64
    // padding, `%3D`, is not part of the value, as everywhere else).
    let sas = "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=Xk3%2Bq9Lm2vT8Rz1Wc6Yb0Np4Hs7Jd5Ge%3D";
    assert_eq!(
        found(sas),
        [(
            "generic-api-key".to_string(),
            "Xk3%2Bq9Lm2vT8Rz1Wc6Yb0Np4Hs7Jd5Ge".to_string()
        )]
    );
    // Not credentials: a port where a password would be, placeholders, a short query value.
    for text in [
        "https://user:8080@host.example.com/",
        "https://user:${PASSWORD}@host.example.com/",
        "https://user:password@host.example.com/",
        "https://example.com/search?q=hello&token=short",
    ] {
        assert_eq!(found(text), [], "{text}");
    }
}

#[test]
fn disguised_markings_still_set_the_level() {
    let classifier = classification::Classifier::new(true, Vec::new(), Vec::new());
    for (text, marking) in [
        (
            "CONFI\u{200B}DENTIAL\nQ3 revenue forecast",
            "CONFI\u{200B}DENTIAL",
        ),
        (
            "ＣＯＮＦＩＤＥＮＴＩＡＬ\nQ3 revenue forecast",
            "ＣＯＮＦＩＤＥＮＴＩＡＬ",
        ),
        (
            "Strictly confidential: merger terms",
            "Strictly confidential",
        ),
    ] {
        let marks = classifier.classify(text, &[]);
        let mark = marks
            .first()
            .unwrap_or_else(|| panic!("no marking in {text:?}"));
        let range = mark.range.clone().expect("a marking has a range");
        assert_eq!(&text[range], marking);
        assert_eq!(!mark.evasion.is_empty(), !text.is_ascii(), "{text:?}");
    }
}

#[test]
fn a_tool_call_url_written_to_slip_past_the_allowlist_is_judged_by_its_host() {
    use destinations::{Effect, Policy, Rule};

    let policy = Policy {
        tags: Default::default(),
        rules: vec![Rule {
            destinations: vec!["*.pastebin.com".into()],
            ..crate::stock_policy::rule("no-paste-sites", Effect::Deny)
        }],
        default: Effect::Allow,
        inspect_tool_arguments: true,
    };
    for args in [
        r#"{"url": "https://x.pastebin．com/api"}"#,
        r#"{"url": "https:\/\/x.pastebin.com\/api"}"#,
        "{\"url\": \"https://x.paste\u{200B}bin.com/api\"}",
    ] {
        let decisions = policy.check(None, None, Some("http_post"), &[], "input", args);
        assert_eq!(decisions.len(), 1, "{args}");
        assert_eq!(decisions[0].effect, Effect::Deny, "{args}");
        let range = decisions[0]
            .range
            .clone()
            .expect("a URL in the arguments has a range");
        assert!(args[range].starts_with("https:"), "{args}");
    }
}
