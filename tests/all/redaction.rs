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
fn value() -> impl Strategy<Value = String> {
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

fn filler() -> impl Strategy<Value = String> {
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
