//! The chain: plugin order, deny short-circuit, labels flowing between plugins, policy actions, and spans
//! reported against the original input even after earlier plugins' redactions shifted the text.

use palisade::chain::{Dir, Outcome};
use palisade::policy::Action;

use crate::util::{load, run, run_dir, testbed, HEADER, PII};

#[test]
fn spans_map_to_the_original_text_through_an_earlier_redaction() {
    // pii redacts the email first (its token is longer than the value), then testbed finds a word after it.
    let manifest = format!(
        "{HEADER}{PII}{}",
        testbed("finder", r#"{ mode = "find", needle = "Zebra" }"#, "")
    );
    let bundle = load(&manifest).unwrap();
    let text = "Żółw a@b.co said Zebra twice: Zebra";
    let v = run(&bundle, text);
    assert_eq!(v.text, "Żółw [EMAIL_ADDRESS] said Zebra twice: Zebra");
    let zebras: Vec<_> = v
        .findings
        .iter()
        .filter(|f| f.plugin == "finder")
        .map(|f| f.span.clone().unwrap())
        .collect();
    assert_eq!(zebras.len(), 2);
    for span in zebras {
        assert_eq!(
            &text[span], "Zebra",
            "finder's span must point into the original input"
        );
    }
    let email = v
        .findings
        .iter()
        .find(|f| f.category == "EMAIL_ADDRESS")
        .unwrap();
    assert_eq!(&text[email.span.clone().unwrap()], "a@b.co");
    assert_eq!(email.action, Action::Redact);
}

#[test]
fn a_later_plugin_finding_over_a_redaction_covers_the_original_value() {
    let manifest = format!(
        "{HEADER}{PII}{}",
        testbed("brackets", r#"{ mode = "find", needle = "[EMAIL" }"#, "")
    );
    let bundle = load(&manifest).unwrap();
    let text = "to: x@y.org!";
    let v = run(&bundle, text);
    let f = v.findings.iter().find(|f| f.plugin == "brackets").unwrap();
    assert_eq!(&text[f.span.clone().unwrap()], "x@y.org");
}

#[test]
fn labels_flow_to_later_plugins() {
    let manifest = format!(
        "{HEADER}{PII}{}{}",
        testbed(
            "tagger",
            r#"{ mode = "find", needle = "nothing", labels = ["team:a"] }"#,
            ""
        ),
        testbed(
            "gate",
            r#"{ mode = "find", needle = "nothing", deny_if_label = "found:EMAIL_ADDRESS" }"#,
            ""
        )
    );
    let bundle = load(&manifest).unwrap();
    let v = run(&bundle, "no personal data here");
    assert_eq!(v.outcome, Outcome::Allow);
    assert_eq!(v.labels, ["team:a"]);
    let v = run(&bundle, "write to a@b.co");
    assert_eq!(v.outcome, Outcome::Deny);
    assert!(
        v.reason
            .as_deref()
            .unwrap()
            .contains("saw label found:EMAIL_ADDRESS"),
        "{:?}",
        v.reason
    );
    assert!(v.labels.contains(&"found:EMAIL_ADDRESS".to_string()));
}

#[test]
fn a_deny_ends_the_chain() {
    let manifest = format!(
        "{HEADER}{}{}",
        testbed("stopper", r#"{ mode = "deny" }"#, ""),
        testbed(
            "after",
            r#"{ mode = "find", needle = "x", labels = ["after-ran"] }"#,
            ""
        )
    );
    let bundle = load(&manifest).unwrap();
    let v = run(&bundle, "x");
    assert_eq!(v.outcome, Outcome::Deny);
    assert_eq!(
        v.reason.as_deref(),
        Some("plugin \"stopper\" denied: testbed denies on purpose")
    );
    assert!(v.findings.is_empty() && !v.labels.contains(&"after-ran".to_string()));
}

#[test]
fn plugins_run_in_manifest_order_and_only_on_their_directions() {
    let manifest = format!(
        "{HEADER}{}{}",
        testbed(
            "out-only",
            r#"{ mode = "find", needle = "a", labels = ["first"] }"#,
            r#"directions = ["output"]"#
        ),
        testbed(
            "both",
            r#"{ mode = "find", needle = "a", labels = ["second"] }"#,
            ""
        )
    );
    let bundle = load(&manifest).unwrap();
    assert_eq!(
        run_dir(&bundle, "a", Dir::Input).labels,
        ["found:CLASSIFICATION", "second"]
    );
    assert_eq!(
        run_dir(&bundle, "a", Dir::Output).labels,
        ["found:CLASSIFICATION", "first", "second"]
    );
}

#[test]
fn policy_actions_per_category_with_plugin_overrides() {
    let manifest = format!(
        "{HEADER}{}{}{}",
        testbed(
            "hasher",
            r#"{ mode = "find", needle = "alice", category = "PERSON" }"#,
            r#"policy = { PERSON = "hash" }"#
        ),
        testbed(
            "masker",
            r#"{ mode = "find", needle = "4242424242424242", category = "CREDIT_CARD" }"#,
            ""
        ),
        testbed(
            "reporter",
            r#"{ mode = "find", needle = "hello", category = "GREETING" }"#,
            ""
        )
    );
    let bundle = load(&manifest).unwrap();
    let v = run(&bundle, "hello alice, card 4242424242424242");
    assert_eq!(v.outcome, Outcome::Modify);
    assert!(v.text.starts_with("hello [PERSON:"), "{}", v.text);
    assert!(v.text.ends_with("card ************4242"), "{}", v.text);
    // The pseudonym is stable for the same value and key.
    assert_eq!(
        run(&bundle, "hello alice, card 4242424242424242").text,
        v.text
    );
    // … and tells values apart: another value in the same text gets another one, the same value again
    // the same one (a pseudonym that ignored the value would pass the checks above).
    let two =
        load(&manifest.replace(r#"needle = "alice""#, r#"needles = ["alice", "alicf"]"#)).unwrap();
    let text = run(&two, "alice, alicf and alice").text;
    let pseudonyms: Vec<&str> = text.split(", ").flat_map(|p| p.split(" and ")).collect();
    assert_eq!(pseudonyms.len(), 3, "{text}");
    assert!(
        pseudonyms.iter().all(|p| p.starts_with("[PERSON:")),
        "{text}"
    );
    assert_ne!(pseudonyms[0], pseudonyms[1], "{text}");
    assert_eq!(pseudonyms[0], pseudonyms[2], "{text}");
    let actions: Vec<_> = v
        .findings
        .iter()
        .map(|f| (f.category.as_str(), f.action))
        .collect();
    assert!(
        actions.contains(&("PERSON", Action::Hash))
            && actions.contains(&("GREETING", Action::Report))
    );
}

#[test]
fn a_category_the_policy_denies_denies_the_exchange() {
    let manifest = format!(
        "{HEADER}SECRET = \"deny\"\n{}",
        testbed(
            "secrets",
            r#"{ mode = "find", needle = "hunter2", category = "SECRET" }"#,
            ""
        )
    );
    let bundle = load(&manifest).unwrap();
    let v = run(&bundle, "password hunter2");
    assert_eq!(v.outcome, Outcome::Deny);
    assert_eq!(
        v.reason.as_deref(),
        Some("plugin \"secrets\" found SECRET (rule testbed.find), which the policy denies")
    );
    assert!(
        !v.reason.unwrap().contains("hunter2"),
        "a reason never repeats the value"
    );
}

#[test]
fn overlapping_findings_merge_into_one_replacement() {
    let manifest = format!(
        "{HEADER}{}",
        testbed(
            "overlap",
            r#"{ mode = "find", needles = ["abcdef", "defgh"], category = "CREDIT_CARD" }"#,
            ""
        )
    );
    let bundle = load(&manifest).unwrap();
    // 3..9 and 6..11 overlap: one masked replacement over 3..11, not two edits fighting over "def".
    let v = run(&bundle, "xx abcdefgh yy");
    assert_eq!(v.text, "xx ****efgh yy");
    assert_eq!(v.findings.len(), 2);
}

#[test]
fn a_rewrite_replaces_the_whole_text() {
    let manifest = format!(
        "{HEADER}{}",
        testbed(
            "rewriter",
            r#"{ mode = "rewrite", text = "[summary withheld]" }"#,
            ""
        )
    );
    let bundle = load(&manifest).unwrap();
    let v = run(&bundle, "a long answer");
    assert_eq!(
        (v.outcome, v.text.as_str()),
        (Outcome::Modify, "[summary withheld]")
    );
}

#[test]
fn a_deny_wins_over_the_same_plugins_rewrite() {
    let manifest = format!(
        "{HEADER}SECRET = \"deny\"\n{}",
        testbed(
            "rewriter",
            r#"{ mode = "rewrite", text = "[rewritten]", needle = "hunter2", category = "SECRET" }"#,
            ""
        )
    );
    let bundle = load(&manifest).unwrap();
    let v = run(&bundle, "the password is hunter2");
    assert_eq!(v.outcome, Outcome::Deny, "{:?}", v.text);
    assert!(
        v.reason.as_deref().unwrap().contains("SECRET"),
        "{:?}",
        v.reason
    );
    // Without the finding the rewrite stands.
    let v = run(&bundle, "nothing to see");
    assert_eq!(
        (v.outcome, v.text.as_str()),
        (Outcome::Modify, "[rewritten]")
    );
}

#[test]
fn a_rewriting_action_on_a_finding_with_no_span_denies() {
    let manifest = format!(
        "{HEADER}{}",
        testbed(
            "whole",
            r#"{ mode = "whole", category = "EMAIL_ADDRESS" }"#,
            ""
        )
    );
    let bundle = load(&manifest).unwrap();
    let v = run(&bundle, "some text");
    assert_eq!(v.outcome, Outcome::Deny);
    assert!(
        v.reason.as_deref().unwrap().contains("no span"),
        "{:?}",
        v.reason
    );
    assert_eq!(v.findings[0].action, Action::Deny);
    assert_eq!(v.text, "some text");
}

#[test]
fn hash_pseudonyms_of_different_values_differ() {
    let key = palisade::policy::HashKey::new(*b"a key");
    // The hex part: `[CATEGORY:` before it differs by category whatever the hash does.
    let pseudonym = |category: &str, value: &str| {
        let replaced = palisade::policy::replacement(Action::Hash, category, value, &key);
        let hex = replaced.strip_prefix(&format!("[{category}:")).unwrap();
        hex.trim_end_matches(']').to_string()
    };
    // Ten thousand values that differ by a character or two: ten thousand pseudonyms.
    let values: Vec<String> = (0..10_000)
        .map(|i| format!("user{i}@example.com"))
        .collect();
    let distinct: std::collections::HashSet<String> = values
        .iter()
        .map(|v| pseudonym("EMAIL_ADDRESS", v))
        .collect();
    assert_eq!(distinct.len(), values.len());
    // The category is part of what is hashed: the same digits as two kinds of number are not linkable.
    assert_ne!(
        pseudonym("PHONE_NUMBER", "4155550132"),
        pseudonym("US_BANK_NUMBER", "4155550132")
    );
}
