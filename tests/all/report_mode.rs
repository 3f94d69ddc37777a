//! `mode = "report"`, at bundle and plugin level: denies and redactions are computed, reported and audited
//! as what would have happened, and the payload passes unchanged.

use proptest::prelude::*;

use palisade::chain::{Outcome, WouldHave};
use palisade::server::proto::{self, check_response};

use crate::serve::{text, Server};
use crate::util::{
    default_bundle, edited_default_bundle, edited_default_bundle_dir, load, run, testbed, HEADER,
    PII,
};

/// The default bundle with `[bundle] mode = "report"`.
fn report_bundle_manifest(manifest: String) -> String {
    let anchor = "[bundle]\n";
    assert!(manifest.contains(anchor));
    manifest.replacen(anchor, "[bundle]\nmode = \"report\"\n", 1)
}

const VALUES: &[&str] = &[
    "ana.lopez@example.org",
    "4111 1111 1111 1111",
    "536-22-1947",
    "+44 20 7946 0958",
    "ghp_dT2rIhEhvLlb5O7nbncTIsHVcQXPQjWJQh3q",
    "AKIAU6TIUGYPEHMXKFTI",
    "CONFIDENTIAL",
    "nothing to see",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The same texts through the default bundle and through it in report mode: report mode passes each
    /// text unchanged and allowed, reports the same findings with the same actions (marked not enforced),
    /// and says the enforcing bundle's decision and reason as what would have happened.
    #[test]
    fn report_mode_never_changes_a_payload_and_says_what_enforcing_would_have_done(
        picks in prop::collection::vec(prop::sample::select(VALUES), 1..5),
    ) {
        static REPORT: std::sync::OnceLock<palisade::bundle::Bundle> = std::sync::OnceLock::new();
        let report = REPORT.get_or_init(|| edited_default_bundle(report_bundle_manifest));
        let text = picks.join(" and then ");
        let enforced = run(default_bundle(), &text);
        let reported = run(report, &text);

        prop_assert_eq!(reported.outcome, Outcome::Allow);
        prop_assert_eq!(&reported.text, &text);
        let expected = match enforced.outcome {
            Outcome::Allow => None,
            outcome => Some(WouldHave { outcome, reason: enforced.reason.clone() }),
        };
        prop_assert_eq!(&reported.would, &expected);
        let key = |f: &palisade::chain::ReportedFinding| {
            (f.plugin.clone(), f.rule.clone(), f.span.clone(), f.action)
        };
        // A deny ends an enforcing chain; in report mode every plugin runs, so it may report more.
        let all: Vec<_> = reported.findings.iter().map(key).collect();
        for f in &enforced.findings {
            prop_assert!(all.contains(&key(f)), "{:?} missing from {:?}", key(f), all);
        }
        prop_assert!(reported.findings.iter().all(|f| !f.enforced));
        prop_assert!(enforced.findings.iter().all(|f| f.enforced));
    }
}

#[test]
fn one_plugin_in_report_mode_beside_enforcing_ones() {
    let bundle = edited_default_bundle(|m| {
        m.replacen(
            "name = \"secrets\"\n",
            "name = \"secrets\"\nmode = \"report\"\n",
            1,
        )
    });
    let v = run(
        &bundle,
        "mail ana@example.com, key ghp_dT2rIhEhvLlb5O7nbncTIsHVcQXPQjWJQh3q",
    );
    // pii enforces: the address is redacted. secrets reports: the key stays, and would have denied.
    assert_eq!(v.outcome, Outcome::Modify);
    assert_eq!(
        v.text,
        "mail [EMAIL_ADDRESS], key ghp_dT2rIhEhvLlb5O7nbncTIsHVcQXPQjWJQh3q"
    );
    let would = v.would.expect("secrets would have denied");
    assert_eq!(would.outcome, Outcome::Deny);
    assert!(
        would
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("secret.github-pat"),
        "{would:?}"
    );
    for f in &v.findings {
        assert_eq!(f.enforced, f.plugin != "secrets", "{f:?}");
    }
}

#[test]
fn a_failing_plugin_in_report_mode_does_not_deny() {
    let plugin = testbed(
        "trial",
        r#"{ mode = "panic" }"#,
        "on_error = \"deny\"\nmode = \"report\"",
    );
    let bundle = load(&format!("{HEADER}{plugin}{PII}")).unwrap();
    let v = run(&bundle, "write to a@b.co");
    assert_eq!(v.outcome, Outcome::Modify, "{:?}", v.reason);
    assert_eq!(v.text, "write to [EMAIL_ADDRESS]");
    assert_eq!(v.failures.len(), 1);
    let would = v.would.expect("its on_error would have denied");
    assert!(
        would
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("\"trial\" failed"),
        "{would:?}"
    );
}

#[test]
fn an_unknown_mode_is_refused_with_the_values_it_may_take() {
    let plugin = testbed(
        "trial",
        r#"{ mode = "find", needle = "x" }"#,
        "mode = \"dry-run\"",
    );
    let error = load(&format!("{HEADER}{plugin}"))
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains("dry-run") && error.contains("enforce") && error.contains("report"),
        "{error}"
    );
}

/// Over gRPC with `serve --audit`: the response and the audit event say what would have happened.
#[tokio::test(flavor = "multi_thread")]
async fn the_response_the_stream_and_the_audit_events_say_what_would_have_happened() {
    let bundle = edited_default_bundle_dir(report_bundle_manifest);
    let audit = tempfile::tempdir().unwrap();
    let audit_path = audit.path().join("audit.jsonl");
    let mut server = Server::start(&[
        "--bundle",
        bundle.path().to_str().unwrap(),
        "--audit",
        audit_path.to_str().unwrap(),
    ])
    .await;
    let mut client = server.client().await;
    let prompt = "key AKIAU6TIUGYPEHMXKFTI for ana@example.com";
    let answer = client.check(text(prompt)).await.unwrap().into_inner();
    assert_eq!(answer.decision(), proto::Decision::Allow);
    // ALLOW carries no content: the caller passes its payload on unchanged.
    assert!(!matches!(
        answer.content,
        Some(check_response::Content::Text(_))
    ));
    let would = answer
        .would
        .expect("report mode says what would have happened");
    assert_eq!(would.decision(), proto::Decision::Deny);
    assert!(
        would.reason.contains("secret.aws-access-token"),
        "{would:?}"
    );
    assert!(answer.findings.iter().all(|f| f.report_only));
    assert!(answer
        .findings
        .iter()
        .any(|f| f.category == "EMAIL_ADDRESS" && f.action == "redact"));

    // The same prompt as a stream (on input: a stream defaults to output, where the policy would only
    // redact the key): released as it came, and the last message says what would have happened.
    let messages: Vec<proto::CheckStreamRequest> = prompt
        .as_bytes()
        .chunks(5)
        .enumerate()
        .map(|(i, c)| proto::CheckStreamRequest {
            direction: if i == 0 {
                proto::Direction::Input as i32
            } else {
                0
            },
            chunk: c.to_vec(),
            ..Default::default()
        })
        .collect();
    let (released, last) = crate::serve::stream_all(&mut client, messages).await;
    assert_eq!(String::from_utf8(released).unwrap(), prompt);
    assert_eq!(last.decision(), proto::Decision::Allow);
    let would = last.would.expect("a stream's last message says it too");
    assert_eq!(would.decision(), proto::Decision::Deny);
    assert!(
        would.reason.contains("secret.aws-access-token"),
        "{would:?}"
    );

    // Shutting down writes out what is queued.
    server.terminate();

    let lines = std::fs::read_to_string(&audit_path).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    for line in lines.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["decision"], "allow");
        assert_eq!(event["would"]["decision"], "deny", "{line}");
        assert!(event["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["report_only"] == true));
    }
    assert!(!lines.contains("AKIAU6TIUGYPEHMXKFTI") && !lines.contains("ana@example.com"));
}
