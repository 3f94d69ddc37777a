//! Plugin gates (`gated-guardrail`'s `gate` export): a plugin is called only for the texts that open its
//! gate, the gate is searched again after a plugin changed the text, a gate that fails rejects the bundle,
//! and the stock plugins' gates lose nothing.

use std::time::{Duration, Instant};

use palisade::chain::{Outcome, Verdicts};

use crate::util::*;

/// A testbed that denies every text it is called for, behind `gate` (inline TOML).
fn denier(name: &str, gate: &str) -> String {
    testbed(name, &format!(r#"{{ mode = "deny", gate = {gate} }}"#), "")
}

#[test]
fn a_gated_plugin_is_called_only_for_texts_that_open_its_gate() {
    let gate = r#"{ words = ["trigger"], exact_words = ["SK"], bytes = "@#" }"#;
    let bundle = load(&format!("{HEADER}{}", denier("gated", gate))).expect("bundle loads");
    for (text, called) in [
        ("nothing in here", false),
        ("pull the TRIGGER now", true),
        ("the risks, asked", false),
        ("an SK here", true),
        ("issue #4", true),
        ("mail me at home", false),
        ("café au lait", false),
        ("", false),
    ] {
        let expected = if called {
            Outcome::Deny
        } else {
            Outcome::Allow
        };
        assert_eq!(run(&bundle, text).outcome, expected, "{text:?}");
    }
    let non_ascii = load(&format!(
        "{HEADER}{}",
        denier("gated", "{ non_ascii = true }")
    ))
    .expect("bundle loads");
    assert_eq!(run(&non_ascii, "café").outcome, Outcome::Deny);
    assert_eq!(run(&non_ascii, "cafe").outcome, Outcome::Allow);
}

#[test]
fn ignoring_the_gates_calls_every_plugin() {
    let gate = r#"{ words = ["trigger"] }"#;
    let mut bundle = load(&format!("{HEADER}{}", denier("gated", gate))).expect("bundle loads");
    assert_eq!(run(&bundle, "hello").outcome, Outcome::Allow);
    bundle.ignore_gates();
    assert_eq!(run(&bundle, "hello").outcome, Outcome::Deny);
}

#[test]
fn a_label_from_an_earlier_plugin_opens_a_gate() {
    let gate = r#"{ labels = ["found:EMAIL_*"] }"#;
    let bundle = load(&format!("{HEADER}{PII}{}", denier("gated", gate))).expect("bundle loads");
    assert_eq!(
        run(&bundle, "write to ann@example.com").outcome,
        Outcome::Deny
    );
    assert_eq!(run(&bundle, "write to ann").outcome, Outcome::Allow);
}

#[test]
fn the_gate_is_searched_again_in_the_text_an_earlier_plugin_changed() {
    // The first plugin rewrites every text to one holding the word; the second must see it.
    let rewriter = testbed(
        "rewriter",
        r#"{ mode = "rewrite", text = "now a trigger" }"#,
        "",
    );
    let gated = denier("gated", r#"{ words = ["trigger"] }"#);
    let bundle = load(&format!("{HEADER}{rewriter}{gated}")).expect("bundle loads");
    assert_eq!(run(&bundle, "plain").outcome, Outcome::Deny);

    // And a redaction that removes the word shuts the gate again.
    let gated = denier("gated", r#"{ words = ["example.com"] }"#);
    let bundle = load(&format!("{HEADER}{PII}{gated}")).expect("bundle loads");
    let v = run(&bundle, "mail ann@example.com");
    assert_eq!(v.outcome, Outcome::Modify, "{:?}", v.reason);
    assert!(!v.text.contains("example.com"), "{}", v.text);
    assert_eq!(run(&bundle, "see example.com").outcome, Outcome::Deny);
}

fn gate_fails(config: &str) -> String {
    let manifest = format!("{HEADER}{}", testbed("gated", config, ""));
    match load(&manifest) {
        Ok(_) => panic!("a testbed with {config} should fail the bundle"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_gate_that_fails_or_cannot_be_searched_rejects_the_bundle_with_the_reason() {
    let msg = gate_fails(r#"{ mode = "deny", gate_mode = "panic" }"#);
    assert!(
        msg.contains(r#"plugin "gated""#) && msg.contains("its gate is unusable: trapped"),
        "{msg}"
    );
    let msg = gate_fails(r#"{ mode = "deny", gate = { bytes = "é" } }"#);
    assert!(msg.contains("outside ASCII"), "{msg}");
    let msg = gate_fails(r#"{ mode = "deny", gate = { words = ["ok", ""] } }"#);
    assert!(msg.contains("an empty word"), "{msg}");
}

#[test]
fn a_gate_that_never_returns_is_cut_off_at_the_configure_budget() {
    let started = Instant::now();
    let msg = gate_fails(r#"{ mode = "deny", gate_mode = "loop" }"#);
    assert!(
        msg.contains("its gate is unusable: timed out: still running after its 5s budget"),
        "{msg}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// What a caller sees of a chain's answer.
fn answer(v: &Verdicts) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?}",
        v.outcome, v.text, v.reason, v.findings, v.labels
    )
}

#[test]
fn the_stock_plugins_gates_lose_nothing() {
    let gated = edited_default_bundle(|m| m);
    let mut ungated = edited_default_bundle(|m| m);
    ungated.ignore_gates();

    // The gates must shut for ordinary prose, or this test would prove nothing about them.
    let prose = "The quarterly review went well overall; the team shipped the new onboarding flow.";
    let opened = gated.gates.search(prose);
    let called: Vec<&str> = gated
        .plugins
        .iter()
        .enumerate()
        .filter(|(i, _)| gated.gates.opens(*i, &opened, &[]))
        .map(|(_, p)| p.name())
        .collect();
    assert_eq!(called, ["pii", "destinations"]);

    // Values a gate can only see through what normalising folds: a keyword split by a zero-width space
    // (a character outside ASCII) or written as an escape (`\`, `&`). Each is found without gates.
    let disguised = [
        "AK\u{200B}IAZ7Q3MBXR4PLW2K5N",
        "xo\u{200B}xb-2942817331-3929843411234-aB3dE5fG7hJ9kL1mN3pQ5rS7",
        r"\u0041KIAZ7Q3MBXR4PLW2K5N",
        "&#65;KIAZ7Q3MBXR4PLW2K5N",
        "CONFI\u{200B}DENTIAL",
        r"\u0043ONFIDENTIAL",
    ];
    for text in disguised {
        assert!(!run(&ungated, text).findings.is_empty(), "{text:?}");
    }
    let ours = [
        prose,
        "key AKIAZ7Q3MBXR4PLW2K5N and ghp_R4nd0mT0k3nV4lu3Xy9Zq8Wv7Ut6Sr5Qp4On3",
        r"{\u0022password\u0022: \u0022hunter2hunter2\u0022}",
        // Found by labels: an identifier makes the text confidential with no marking in it.
        "My SSN is 078-05-1120 and my card 4111 1111 1111 1111.",
        "Discord: MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
        "INTERNAL ONLY — mail ann@example.com",
    ];
    let dev = dev_corpus_texts();
    let texts = (disguised.iter().chain(&ours))
        .map(|t| t.to_string())
        .chain(dev);
    let mut compared = 0;
    for text in texts {
        for dir in [palisade::chain::Dir::Input, palisade::chain::Dir::Output] {
            let with = run_dir(&gated, &text, dir);
            let without = run_dir(&ungated, &text, dir);
            assert_eq!(answer(&with), answer(&without), "{text:?} ({dir:?})");
        }
        compared += 1;
    }
    assert!(compared >= disguised.len() + ours.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_the_texts_each_gate_spared_a_call() {
    let server = crate::serve::Server::start(&["--metrics", "127.0.0.1:0"]).await;
    let mut client = server.client().await;
    // Prose: neither gated stock plugin is called. An e-mail: `pii`'s found:EMAIL_ADDRESS opens
    // `classification`; `secrets` stays shut.
    for text in [
        "summarise the report for the board",
        "mail ana.silva@example.com",
    ] {
        client.check(crate::serve::text(text)).await.unwrap();
    }
    let page = server.metrics().await;
    for want in [
        "palisade_plugin_gate_shut_total{plugin=\"secrets\"} 2",
        "palisade_plugin_gate_shut_total{plugin=\"classification\"} 1",
        "palisade_plugin_duration_seconds_count{plugin=\"classification\"} 1",
        "palisade_plugin_duration_seconds_count{plugin=\"pii\"} 2",
    ] {
        assert!(page.contains(want), "{want} missing from:\n{page}");
    }
    // Plugins without a gate are always called.
    assert!(
        !page.contains("palisade_plugin_gate_shut_total{plugin=\"pii\"}"),
        "{page}"
    );
}
