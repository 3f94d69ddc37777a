//! Plugins that misbehave: each is cut off or rejected, mapped to its `on_error`, and the chain (and the
//! plugin, with a fresh instance) keeps working afterwards.

use std::time::{Duration, Instant};

use palisade::chain::Outcome;
use palisade::PluginError;

use crate::util::{load, run, testbed, HEADER, PII};

/// A bundle: the hostile testbed (with `on_error`) and then pii, so we can see whether the chain went on.
fn hostile(mode: &str, on_error: &str, extra: &str) -> palisade::bundle::Bundle {
    let plugin = testbed(
        "hostile",
        &format!(r#"{{ mode = "{mode}" }}"#),
        &format!("on_error = \"{on_error}\"\n{extra}"),
    );
    load(&format!("{HEADER}{plugin}{PII}")).expect("bundle loads")
}

fn failure(v: &palisade::chain::Verdicts) -> &PluginError {
    &v.failures
        .first()
        .expect("the hostile plugin's failure is reported")
        .error
}

#[test]
fn an_infinite_loop_is_cut_off_within_its_budget_and_the_next_call_works() {
    let bundle = hostile("loop", "deny", r#"budget = "2ms""#);
    for _ in 0..3 {
        let started = Instant::now();
        let v = run(&bundle, "a@b.co");
        let took = started.elapsed();
        assert_eq!(v.outcome, Outcome::Deny);
        assert!(
            matches!(failure(&v), PluginError::Timeout { budget } if *budget == Duration::from_millis(2))
        );
        assert!(
            v.reason.as_deref().unwrap().contains("timed out"),
            "{:?}",
            v.reason
        );
        // "A few milliseconds, not a hang": the bound is loose so a loaded CI machine can't flake it; the
        // benchmark measures the real figure.
        assert!(
            took < Duration::from_millis(500),
            "a 2ms budget took {took:?}"
        );
    }
}

#[test]
fn on_error_skip_carries_on_without_the_failed_plugin() {
    let bundle = hostile("loop", "skip", r#"budget = "2ms""#);
    let v = run(&bundle, "mail a@b.co");
    assert_eq!(
        v.outcome,
        Outcome::Modify,
        "pii still ran after the skipped plugin"
    );
    assert_eq!(v.text, "mail [EMAIL_ADDRESS]");
    assert_eq!(v.failures.len(), 1);
    assert_eq!(v.failures[0].on_error.as_str(), "skip");
}

#[test]
fn a_memory_bomb_hits_its_limit() {
    let bundle = hostile("memory-bomb", "deny", "memory = \"16MiB\"\nbudget = \"5s\"");
    let v = run(&bundle, "x");
    assert!(
        matches!(failure(&v), PluginError::MemoryLimit { limit } if *limit == 16 << 20),
        "{:?}",
        v.failures
    );
    assert_eq!(v.outcome, Outcome::Deny);
}

#[test]
fn a_stack_overflow_is_a_trap_and_the_plugin_recovers() {
    let bundle = hostile("stack-overflow", "skip", "budget = \"5s\"");
    for _ in 0..2 {
        let v = run(&bundle, "mail a@b.co");
        assert!(
            matches!(failure(&v), PluginError::Trap(_)),
            "{:?}",
            v.failures
        );
        assert_eq!(v.text, "mail [EMAIL_ADDRESS]", "the chain went on");
    }
}

#[test]
fn a_rewrite_of_100_mib_is_refused_with_the_limit() {
    let bundle = hostile(
        "huge-rewrite",
        "deny",
        "memory = \"512MiB\"\nbudget = \"10s\"",
    );
    let v = run(&bundle, "a short prompt");
    assert_eq!(v.outcome, Outcome::Deny);
    assert_eq!(v.text, "a short prompt", "nothing of the rewrite is kept");
    assert!(
        matches!(failure(&v), PluginError::BadVerdict(m)
            if m.contains("104857600 bytes") && m.contains(&palisade::chain::max_rewrite(14).to_string())),
        "{:?}",
        v.failures
    );
}

#[test]
fn a_plugin_can_reach_no_file_environment_socket_or_thread() {
    // The host has files, environment variables and, here, an open port for the plugin to try.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bundle = hostile("escape", "deny", "");
    let v = run(&bundle, &listener.local_addr().unwrap().to_string());
    assert_eq!(v.failures.len(), 0, "{:?}", v.failures);
    assert_ne!(v.outcome, Outcome::Deny, "{:?}", v.reason);
    assert!(
        v.labels.contains(&"sandboxed".to_string()),
        "{:?}",
        v.labels
    );
}

#[test]
fn a_panic_is_a_trap_and_the_plugin_recovers_with_a_fresh_instance() {
    let bundle = hostile("panic", "skip", "");
    for _ in 0..3 {
        let v = run(&bundle, "x");
        assert!(
            matches!(failure(&v), PluginError::Trap(m) if m.contains("panicked")),
            "{:?}",
            v.failures
        );
        assert_eq!(v.outcome, Outcome::Allow);
    }
}

#[test]
fn spans_out_of_range_or_inside_a_character_are_bad_verdicts() {
    let v = run(&hostile("bad-span", "deny", ""), "abc");
    assert!(
        matches!(failure(&v), PluginError::BadVerdict(m) if m.contains("outside the text")),
        "{:?}",
        v.failures
    );
    assert_eq!(v.outcome, Outcome::Deny);
    let v = run(&hostile("split-char", "deny", ""), "añb");
    assert!(
        matches!(failure(&v), PluginError::BadVerdict(m) if m.contains("splits a UTF-8 character")),
        "{:?}",
        v.failures
    );
}

#[test]
fn a_huge_verdict_is_rejected() {
    let v = run(&hostile("huge-verdict", "deny", ""), "x");
    assert!(
        matches!(failure(&v), PluginError::BadVerdict(m) if m.contains("more than the limit")),
        "{:?}",
        v.failures
    );
}

#[test]
fn a_log_flood_is_bounded_and_does_not_fail_the_call() {
    // 20,000 lines take longer than the default budget to write; the budget here is not what is tested.
    let v = run(&hostile("log-flood", "deny", r#"budget = "5s""#), "x");
    assert!(v.failures.is_empty(), "{:?}", v.failures);
    assert_eq!(v.outcome, Outcome::Allow);
}

#[test]
fn a_plugin_whose_configure_fails_rejects_the_bundle() {
    let err = load(&format!(
        "{HEADER}{}",
        testbed("picky", r#"{ mode = "configure-error" }"#, "")
    ))
    .err()
    .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains(r#"plugin "picky" (testbed.wasm)"#)
            && msg.contains("rejecting config on purpose"),
        "{msg}"
    );
    let err = load(&format!(
        "{HEADER}{}",
        testbed("crashy", r#"{ mode = "configure-panic" }"#, "")
    ))
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("configure failed: trapped"),
        "{err}"
    );
}
