//! Property: whatever prose surrounds them, values the default policy redacts never survive in the output.
//! Values are generated valid (Luhn, SSA ranges, real octets), placed at random among random words and
//! punctuation, and the chain runs as the real components.

use palisade::chain::{Dir, Outcome};
use proptest::prelude::*;

use crate::util::{default_bundle, run_dir};

fn luhn_complete(prefix: &str, len: usize, body: u64) -> String {
    let mut digits: Vec<u32> = prefix.chars().filter_map(|c| c.to_digit(10)).collect();
    let mut x = body;
    while digits.len() < len - 1 {
        digits.push((x % 10) as u32);
        x /= 10;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        // The digit next to the check digit is doubled, and every second one from there.
        .map(|(i, &d)| match (i % 2 == 0, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect()
}

/// A value the default policy redacts or masks, and its category.
pub(crate) fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            "[a-z]{2,8}",
            "[a-z]{2,8}",
            prop::sample::select(vec!["com", "org", "co.uk", "de"])
        )
            .prop_map(|(user, domain, tld)| format!("{user}.{user}@{domain}-mail.{tld}")),
        (
            any::<u64>(),
            prop::sample::select(vec![("4", 16), ("51", 16), ("37", 15), ("6011", 16)])
        )
            .prop_map(|(body, (prefix, len))| luhn_complete(prefix, len, body)),
        (1u32..=665, 1u32..=99, 1u32..=9999)
            .prop_map(|(area, group, serial)| format!("{area:03}-{group:02}-{serial:04}")),
        (11u8..=223, any::<u8>(), any::<u8>(), 1u8..=254)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        (200u32..=999, 200u32..=999, 0u32..=9999)
            .prop_map(|(area, exchange, line)| format!("({area}) {exchange}-{line:04}")),
    ]
}

pub(crate) fn filler() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-zA-Z]{1,10}",
            Just("über".to_string()),
            Just("日本語".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("\n".to_string()),
            Just("\"".to_string()),
        ],
        0..12,
    )
    .prop_map(|words| words.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn redacted_values_never_reach_the_output(
        parts in prop::collection::vec((filler(), value()), 1..4),
        tail in filler(),
    ) {
        let mut text = String::new();
        let mut values = Vec::new();
        for (words, v) in &parts {
            // A dash before each value, so a random word can't be a cue that changes its meaning (`v 1.2.3.4`
            // is a version, by design).
            text.push_str(words);
            text.push_str(" - ");
            text.push_str(v);
            text.push(' ');
            values.push(v.clone());
        }
        text.push_str(&tail);
        let v = run_dir(default_bundle(), &text, Dir::Output);
        prop_assert_ne!(v.outcome, Outcome::Deny, "{:?}", v.reason);
        for value in &values {
            // A value is either redacted or, if the generator made something no detector claims, not
            // reported at all; a reported value must be gone.
            let reported = v.findings.iter().any(|f| {
                f.span.as_ref().is_some_and(|s| text[s.clone()].contains(value.as_str()) || value.contains(&text[s.clone()]))
            });
            prop_assert!(reported, "{value:?} not found in {text:?}: {:?}", v.findings);
            prop_assert!(!v.text.contains(value.as_str()), "{value:?} survives in {:?}", v.text);
        }
        for f in &v.findings {
            if let Some(span) = &f.span {
                if f.action.modifies() {
                    let original = &text[span.clone()];
                    prop_assert!(!v.text.contains(original), "{} {original:?} survives in {:?}", f.category, v.text);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Fail-closed: random policies, random plugin failures, text or a chat body. Whatever goes wrong, a value
// whose category the policy redacts or denies is never in the answer, unless the operator set the detector
// itself to `on_error = "skip"` and it failed.

const ACTIONS: [&str; 6] = ["redact", "mask", "hash", "pseudonymize", "deny", "report"];
const CATEGORIES: [&str; 5] = [
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "US_SSN",
    "IP_ADDRESS",
    "PHONE_NUMBER",
];

/// A `[policy]` table: a default, and for some categories an action on both directions or on one.
#[derive(Clone, Debug)]
struct RandomPolicy {
    default: &'static str,
    categories: Vec<(&'static str, Option<&'static str>, Option<&'static str>)>,
}

impl RandomPolicy {
    /// What the policy says for `category` on `direction`: the oracle the chain is held to.
    fn action(&self, category: &str, direction: Dir) -> &'static str {
        let named = self.categories.iter().find(|(c, _, _)| *c == category);
        let said = named.and_then(|(_, input, output)| match direction {
            Dir::Input => *input,
            Dir::Output => *output,
        });
        said.unwrap_or(self.default)
    }

    fn toml(&self) -> String {
        let mut t = format!("[policy]\ndefault = \"{}\"\n", self.default);
        for (category, input, output) in &self.categories {
            let mut sides = Vec::new();
            if let Some(a) = input {
                sides.push(format!("input = \"{a}\""));
            }
            if let Some(a) = output {
                sides.push(format!("output = \"{a}\""));
            }
            t += &format!("{category} = {{ {} }}\n", sides.join(", "));
        }
        t
    }
}

fn random_policy() -> impl Strategy<Value = RandomPolicy> {
    let action = prop::sample::select(ACTIONS.to_vec());
    (
        action.clone(),
        prop::collection::vec(
            (
                prop::sample::select(CATEGORIES.to_vec()),
                prop::option::of(action.clone()),
                prop::option::of(action),
            ),
            0..5,
        ),
    )
        .prop_map(|(default, mut categories)| {
            categories.sort_by_key(|(c, _, _)| *c);
            categories.dedup_by_key(|(c, _, _)| *c);
            categories.retain(|(_, i, o)| i.is_some() || o.is_some());
            RandomPolicy {
                default,
                categories,
            }
        })
}

/// A plugin that always fails in its own way, where it sits, and what its `on_error` says.
#[derive(Clone, Debug)]
struct Saboteur {
    mode: &'static str,
    on_error: &'static str,
    before_pii: bool,
}

fn saboteur() -> impl Strategy<Value = Option<Saboteur>> {
    prop::option::of(
        (
            prop::sample::select(vec![
                "loop",
                "panic",
                "bad-span",
                "split-char",
                "huge-verdict",
                "stack-overflow",
            ]),
            prop::sample::select(vec!["deny", "skip"]),
            any::<bool>(),
        )
            .prop_map(|(mode, on_error, before_pii)| Saboteur {
                mode,
                on_error,
                before_pii,
            }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn whatever_fails_a_value_the_policy_stops_never_reaches_the_answer(
        parts in prop::collection::vec((filler(), value()), 1..3),
        policy in random_policy(),
        sabotage in saboteur(),
        // pii itself may run out of a tiny budget on a long text (or not): either way the answer must hold.
        pii_budget in prop::sample::select(vec!["1ms", "5s"]),
        long in any::<bool>(),
        pii_skips in any::<bool>(),
        output in any::<bool>(),
        as_chat_body in any::<bool>(),
    ) {
        let mut text = String::new();
        for (words, v) in &parts {
            text += &format!("{words} - {v} ");
        }
        if long {
            text += &"plain words and nothing else to find here. ".repeat(20_000);
        }
        let direction = if output { Dir::Output } else { Dir::Input };
        let pii = format!(
            "\n[[plugin]]\nname = \"pii\"\nwasm = \"pii.wasm\"\nsha256 = \"@pii\"\nbudget = \"{pii_budget}\"\n{}",
            if pii_skips { "on_error = \"skip\"\n" } else { "" }
        );
        let hostile = sabotage.as_ref().map(|s| crate::util::testbed(
            "saboteur",
            &format!(r#"{{ mode = "{}" }}"#, s.mode),
            &format!("on_error = \"{}\"\nbudget = \"{}\"", s.on_error, if s.mode == "loop" { "2ms" } else { "5s" }),
        )).unwrap_or_default();
        let plugins = if sabotage.as_ref().is_some_and(|s| s.before_pii) { hostile + &pii } else { pii + &hostile };
        let manifest = format!("[bundle]\nname = \"random\"\nversion = \"1\"\n\n{}{plugins}", policy.toml());
        let dir = crate::util::bundle_dir(&manifest);
        let bundle = palisade::bundle::load_dir(crate::util::engine(), dir.path()).expect("bundle loads");

        let (content_type, body) = if as_chat_body {
            let body = serde_json::json!({"messages": [{"role": "user", "content": text}]});
            (palisade::payload::ContentType::Json, body.to_string())
        } else {
            (palisade::payload::ContentType::Text, text.clone())
        };
        let exchange = palisade::chain::Request { direction, ..Default::default() };
        let checked = palisade::check::run(&bundle, content_type, body, &exchange, &crate::util::key())
            .expect("no deadline, so an answer");

        let failed = |name: &str| checked.failures.iter().any(|f| f.plugin == name);
        if failed("pii") && !pii_skips || failed("saboteur") && sabotage.as_ref().is_some_and(|s| s.on_error == "deny") {
            prop_assert_eq!(checked.outcome, Outcome::Deny, "a failure whose on_error is deny denies");
        }
        for f in &checked.findings {
            let Some(span) = &f.span else { continue };
            prop_assert!(span.start <= span.end && span.end <= text.len()
                && text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                "{} span {span:?} is not valid in {text:?}", f.category);
            match policy.action(&f.category, direction) {
                "deny" => prop_assert_eq!(checked.outcome, Outcome::Deny, "{} should deny", f.category),
                "report" => {}
                // An empty span (a finding at a point, e.g. testbed's split-char on ASCII text) holds nothing
                // that could leak.
                _ if checked.outcome != Outcome::Deny && !span.is_empty() => {
                    let value = &text[span.clone()];
                    prop_assert!(!checked.content.contains(value), "{} {value:?} survives in {:?}", f.category, checked.content);
                }
                _ => {}
            }
        }
        if checked.outcome != Outcome::Deny && !failed("pii") {
            // pii ran: every planted value was found, so none whose category is stopped survives.
            for (_, v) in &parts {
                prop_assert!(checked.findings.iter().any(|f| f.span.as_ref().is_some_and(|s| text[s.clone()].contains(v.as_str()))),
                    "{v:?} was not found in {text:?}");
            }
        }
    }
}
