//! Policy as code: the stock `policy-cedar` plugin natively and as a component, in the example bundle
//! `examples/bundles/agents`, and its decisions cross-checked against the Cedar CLI on the same inputs.

use std::path::{Path, PathBuf};
use std::process::Command;

use palisade::bundle;
use palisade::chain::{self, Dir, Outcome, Request};
use palisade_sdk::Exchange;
use policy_cedar::CedarPolicy;
use policy_rego::RegoPolicy;

use crate::util::{engine, key, sha256};

const BILLING: &str = "spiffe://agents.example.com/ns/billing/sa/billing-agent";
const PLATFORM: &str = "spiffe://agents.example.com/ns/platform/sa/ops-agent";
const SUPPORT: &str = "spiffe://agents.example.com/ns/support/sa/helper";

fn agents_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/bundles/agents")
}

fn agents_file(name: &str) -> String {
    std::fs::read_to_string(agents_dir().join(name)).unwrap()
}

fn agents_policy() -> CedarPolicy {
    CedarPolicy::new(
        &agents_file("agents.cedar"),
        Some(&agents_file("agents.cedarschema")),
        Some(&agents_file("entities.json")),
        false,
    )
    .unwrap()
}

/// One exchange of the request table, owned.
#[derive(Debug, Clone)]
struct Case {
    principal: Option<&'static str>,
    direction: &'static str,
    destination: Option<&'static str>,
    tool: Option<&'static str>,
    labels: Vec<String>,
}

impl Case {
    fn exchange(&self) -> Exchange<'_> {
        Exchange {
            principal: self.principal,
            direction: self.direction,
            destination: self.destination,
            tool: self.tool,
            labels: &self.labels,
            metadata: &[],
        }
    }

    fn request(&self) -> Request {
        Request {
            direction: if self.direction == "input" {
                Dir::Input
            } else {
                Dir::Output
            },
            text: "the weekly summary".into(),
            principal: self.principal.map(Into::into),
            destination: self.destination.map(Into::into),
            tool: self.tool.map(Into::into),
            labels: self.labels.clone(),
            ..Request::default()
        }
    }
}

/// Every combination of callers, legs and tools, destinations and labels that the agents policies tell
/// apart: 4 × 5 × 4 × 4 = 320 requests.
fn table() -> Vec<Case> {
    let principals = [None, Some(BILLING), Some(PLATFORM), Some(SUPPORT)];
    let legs = [
        ("input", None),
        ("output", None),
        ("input", Some("refund")),
        ("input", Some("search")),
        ("output", Some("refund")),
    ];
    let destinations = [
        None,
        Some("llm.internal.example.com"),
        Some("api.openai.com"),
        Some("example.net"),
    ];
    let label_sets: [&[&str]; 4] = [
        &[],
        &["sensitivity:confidential"],
        &["found:SECRET", "sensitivity:restricted"],
        &["sensitivity:internal", "found:EMAIL_ADDRESS"],
    ];
    let mut cases = Vec::new();
    for principal in principals {
        for (direction, tool) in legs {
            for destination in destinations {
                for labels in label_sets {
                    cases.push(Case {
                        principal,
                        direction,
                        destination,
                        tool,
                        labels: labels.iter().map(|l| l.to_string()).collect(),
                    });
                }
            }
        }
    }
    cases
}

#[test]
fn each_rule_of_the_agents_policies_decides_with_its_id_and_reason() {
    let policy = agents_policy();
    let case = |principal, direction, destination, tool, labels: &[&str]| Case {
        principal,
        direction,
        destination,
        tool,
        labels: labels.iter().map(|l| l.to_string()).collect(),
    };
    let confidential = &["sensitivity:confidential"][..];
    for (case, denied_by) in [
        (
            case(Some(SUPPORT), "input", Some("api.openai.com"), None, &[]),
            None,
        ),
        (
            case(
                Some(SUPPORT),
                "input",
                Some("api.openai.com"),
                None,
                confidential,
            ),
            Some("confidential-stays-internal"),
        ),
        // An unknown destination is not internal, so it is external.
        (
            case(None, "input", None, None, confidential),
            Some("confidential-stays-internal"),
        ),
        (
            case(
                Some(SUPPORT),
                "input",
                Some("llm.internal.example.com"),
                None,
                confidential,
            ),
            None,
        ),
        (
            case(Some(SUPPORT), "input", None, Some("refund"), &[]),
            Some("refund-is-billing-only"),
        ),
        (
            case(Some(BILLING), "input", None, Some("refund"), &[]),
            None,
        ),
        (
            case(Some(SUPPORT), "input", None, Some("search"), &[]),
            None,
        ),
        (
            case(Some(SUPPORT), "output", None, None, &["found:SECRET"]),
            Some("no-secrets-outside-platform"),
        ),
        (
            case(Some(PLATFORM), "output", None, None, &["found:SECRET"]),
            None,
        ),
        (
            case(Some(SUPPORT), "input", None, None, &["found:SECRET"]),
            None,
        ),
    ] {
        let outcome = policy.authorize(&case.exchange()).unwrap();
        assert!(outcome.errors.is_empty(), "{case:?}: {:?}", outcome.errors);
        let forbids: Vec<&str> = outcome
            .determining
            .iter()
            .filter(|d| !d.permit)
            .map(|d| d.name.as_str())
            .collect();
        match denied_by {
            None => {
                assert!(outcome.allowed, "{case:?}: {outcome:?}");
                assert_eq!(outcome.determining.len(), 1, "{outcome:?}");
                assert_eq!(outcome.determining[0].name, "baseline");
            }
            Some(rule) => {
                assert!(!outcome.allowed, "{case:?}");
                assert_eq!(forbids, [rule], "{case:?}");
                let verdict = policy.verdict(&case.exchange());
                let palisade_sdk::Decision::Deny(reason) = verdict.decision else {
                    panic!("{case:?}: not denied");
                };
                let because = outcome.determining[0].reason.clone().unwrap();
                assert_eq!(
                    reason,
                    format!("forbidden by Cedar policy {rule}: {because}")
                );
                assert_eq!(verdict.findings.len(), 1);
                assert_eq!(verdict.findings[0].rule, format!("cedar.{rule}"));
                assert_eq!(verdict.findings[0].category, "POLICY");
            }
        }
    }
}

#[test]
fn with_no_permit_cedar_denies_by_default_and_says_so() {
    let policy = CedarPolicy::new(
        r#"permit (principal, action == Action::"output", resource);"#,
        None,
        None,
        true,
    )
    .unwrap();
    let input = Case {
        principal: None,
        direction: "input",
        destination: None,
        tool: None,
        labels: Vec::new(),
    };
    let verdict = policy.verdict(&input.exchange());
    assert!(
        matches!(&verdict.decision, palisade_sdk::Decision::Deny(reason)
            if reason == "no Cedar policy permits this exchange (Cedar denies by default)"),
        "{:?}",
        verdict.decision
    );
    // report_permits: the permit that let an output through is a finding.
    let output = Case {
        direction: "output",
        ..input
    };
    let verdict = policy.verdict(&output.exchange());
    assert!(matches!(verdict.decision, palisade_sdk::Decision::Allow));
    assert_eq!(verdict.findings.len(), 1);
    assert_eq!(verdict.findings[0].rule, "cedar.policy0");
}

#[test]
fn a_forbid_that_fails_to_evaluate_denies_unless_told_to_skip_it_as_cedar_does() {
    let policies = "permit (principal, action, resource);\n\
         @id(\"needs-team\")\n\
         forbid (principal, action, resource) when { context.metadata.team == \"red\" };\n\
         @id(\"needs-zone\")\n\
         permit (principal, action, resource) when { context.metadata.zone == \"a\" };";
    let case = Case {
        principal: None,
        direction: "input",
        destination: None,
        tool: None,
        labels: Vec::new(),
    };
    let denying = CedarPolicy::new(policies, None, None, false).unwrap();
    let verdict = denying.verdict(&case.exchange());
    assert!(
        matches!(&verdict.decision, palisade_sdk::Decision::Deny(reason)
            if reason.contains("needs-team") && reason.contains("on_forbid_error = \"skip\"")),
        "{:?}",
        verdict.decision
    );
    // Both failures are findings; only the forbid's denies.
    let rules: Vec<&str> = verdict.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["cedar.needs-team.error", "cedar.needs-zone.error"]);
    assert!(verdict.findings[0]
        .message
        .contains("failed to evaluate and denies"));
    assert!(verdict.findings[1]
        .message
        .contains("failed to evaluate and was skipped"));

    let skipping = CedarPolicy::new(policies, None, None, false)
        .unwrap()
        .skipping_failing_forbids();
    let verdict = skipping.verdict(&case.exchange());
    assert!(matches!(verdict.decision, palisade_sdk::Decision::Allow));
    assert!(
        verdict.findings[0]
            .message
            .contains("failed to evaluate and was skipped"),
        "{}",
        verdict.findings[0].message
    );
    // With the attribute there, the forbid applies either way.
    let metadata = [("team".to_string(), "red".to_string())];
    let exchange = Exchange {
        metadata: &metadata,
        ..case.exchange()
    };
    assert!(!skipping.authorize(&exchange).unwrap().allowed);
}

/// Copies the agents bundle to a temporary directory with `edit` applied to one of its files (and the
/// digest in bundle.toml updated to match), and tries to load it.
fn load_edited_agents(
    file: &str,
    edit: impl FnOnce(String) -> String,
) -> palisade::Result<bundle::Bundle> {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = agents_file("bundle.toml");
    let mut edit = Some(edit);
    for name in ["agents.cedar", "agents.cedarschema", "entities.json"] {
        let original = agents_file(name);
        let text = if name == file {
            let edited = edit.take().expect("one file is edited")(original.clone());
            manifest = manifest.replace(&sha256(original.as_bytes()), &sha256(edited.as_bytes()));
            edited
        } else {
            original
        };
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    bundle::load_dir(engine(), dir.path())
}

#[test]
fn bad_policy_files_reject_the_bundle_with_cedars_message_and_the_line_and_column() {
    // A syntax error: the `when` clause of the last policy loses its closing brace.
    let error = load_edited_agents("agents.cedar", |text| {
        text.replacen(
            r#"unless { context.principal like "spiffe://agents.example.com/ns/platform/*" };"#,
            r#"unless { context.principal like "spiffe://agents.example.com/ns/platform/*" ;"#,
            1,
        )
    })
    .err()
    .expect("a policy that does not parse rejects the bundle")
    .to_string();
    let line = agents_file("agents.cedar").lines().count();
    assert!(
        error.contains(&format!("agents.cedar:{line}:")) && error.contains("cannot parse"),
        "{error}"
    );
    assert!(error.contains(r#"plugin "policy""#), "{error}");

    // Parses, but reads an attribute the schema does not declare.
    let error = load_edited_agents("agents.cedar", |text| {
        text.replacen(
            r#"context.tool == "refund""#,
            r#"context.tool_name == "refund""#,
            1,
        )
    })
    .err()
    .expect("a policy that does not validate rejects the bundle")
    .to_string();
    let (line, column) = agents_file("agents.cedar")
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("context.tool ==").map(|c| (i + 1, c + 1)))
        .unwrap();
    assert!(
        error.contains(&format!(
            "agents.cedar:{line}:{column}: does not validate against the schema"
        )) && error.contains("tool_name"),
        "{error}"
    );

    // The schema itself, and the entities, are checked too.
    let error = load_edited_agents("agents.cedarschema", |text| {
        text.replacen("entity Zone;", "entity Zone", 1)
    })
    .err()
    .expect("a schema that does not parse rejects the bundle")
    .to_string();
    assert!(error.contains("agents.cedarschema:3:"), "{error}");
    let error = load_edited_agents("entities.json", |text| {
        text.replacen(r#""type": "Zone""#, r#""type": "Zones""#, 1)
    })
    .err()
    .expect("entities of an undeclared type reject the bundle")
    .to_string();
    assert!(
        error.contains("entities.json") && error.contains("Zones"),
        "{error}"
    );
}

/// An example bundle with its detectors taken out: the policy plugin alone, so the labels it sees are
/// exactly the request's.
fn policy_only(example: &Path) -> bundle::Bundle {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(example).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let manifest = std::fs::read_to_string(example.join("bundle.toml")).unwrap();
    let start = manifest.find("[[plugin]]\nname = \"pii\"").unwrap();
    let end = manifest.find("[[plugin]]\nname = \"policy\"").unwrap();
    let manifest = format!("{}{}", &manifest[..start], &manifest[end..]);
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    bundle::load_dir(engine(), dir.path()).unwrap()
}

/// The same verdicts, up to what the host makes of them: decision, reason, finding rules, labels.
fn assert_same_verdict(case: &Case, native: &palisade_sdk::Verdict, verdicts: &chain::Verdicts) {
    match &native.decision {
        palisade_sdk::Decision::Deny(reason) => {
            assert_eq!(verdicts.outcome, Outcome::Deny, "{case:?}");
            let expected = format!("plugin \"policy\" denied: {reason}");
            assert_eq!(verdicts.reason, Some(expected), "{case:?}");
        }
        _ => assert_eq!(
            verdicts.outcome,
            Outcome::Allow,
            "{case:?}: {:?}",
            verdicts.reason
        ),
    }
    let rules: Vec<&str> = verdicts.findings.iter().map(|f| f.rule.as_str()).collect();
    let expected: Vec<&str> = native.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, expected, "{case:?}");
    for label in &native.labels {
        assert!(verdicts.labels.contains(label), "{case:?}: {label} missing");
    }
}

#[test]
fn the_plugins_in_a_bundle_decide_as_they_do_natively_on_the_whole_table() {
    let cedar_bundle = policy_only(&agents_dir());
    let rego_bundle = policy_only(&agents_rego_dir());
    let cedar = agents_policy();
    let rego = agents_rego_policy();
    for case in table() {
        let verdicts = chain::run(&cedar_bundle, &case.request(), &key()).unwrap();
        assert_same_verdict(&case, &cedar.verdict(&case.exchange()), &verdicts);
        let verdicts = chain::run(&rego_bundle, &case.request(), &key()).unwrap();
        assert_same_verdict(&case, &rego.verdict(&case.exchange()), &verdicts);
    }
}

fn agents_rego_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/bundles/agents-rego")
}

fn agents_rego_policy() -> RegoPolicy {
    let dir = agents_rego_dir();
    let data = std::fs::read_to_string(dir.join("data.json")).unwrap();
    RegoPolicy::new(
        "agents.rego",
        &std::fs::read_to_string(dir.join("agents.rego")).unwrap(),
        Some(("data.json", &data)),
    )
    .unwrap()
}

#[test]
fn the_same_rules_in_rego_decide_as_the_cedar_policies_do() {
    let cedar = agents_policy();
    let rego = agents_rego_policy();
    for case in table() {
        let cedar = cedar.authorize(&case.exchange()).unwrap();
        let rego = rego.evaluate(&case.exchange()).unwrap();
        let forbids: Vec<&str> = cedar
            .determining
            .iter()
            .filter(|d| !d.permit)
            .map(|d| d.name.as_str())
            .collect();
        let reasons: Vec<&str> = rego
            .deny
            .iter()
            .map(|r| r.split(':').next().unwrap())
            .collect();
        assert_eq!(forbids, reasons, "{case:?}");
        assert_eq!(cedar.allowed, rego.deny.is_empty(), "{case:?}");
        let zone = if case.destination.is_some_and(|d| d.contains(".internal.")) {
            "zone:internal"
        } else {
            "zone:external"
        };
        assert_eq!(rego.labels, [zone], "{case:?}");
    }
}

#[test]
fn a_rego_policy_may_leave_out_either_rule_but_not_both() {
    let only_deny =
        "package palisade\n\nimport rego.v1\n\ndeny contains \"no tools\" if input.tool != \"\"\n";
    let rego = RegoPolicy::new("deny.rego", only_deny, None).unwrap();
    let case = Case {
        principal: None,
        direction: "input",
        destination: None,
        tool: Some("shell"),
        labels: Vec::new(),
    };
    let outcome = rego.evaluate(&case.exchange()).unwrap();
    assert_eq!(
        (outcome.deny.as_slice(), outcome.labels.len()),
        (&["no tools".to_string()][..], 0)
    );

    let only_labels = "package palisade\n\nimport rego.v1\n\nlabels contains \"zone:a\" if true\n";
    let rego = RegoPolicy::new("labels.rego", only_labels, None).unwrap();
    let outcome = rego.evaluate(&case.exchange()).unwrap();
    assert_eq!(
        (outcome.deny.len(), outcome.labels.as_slice()),
        (0, &["zone:a".to_string()][..])
    );

    let error = RegoPolicy::new("none.rego", "package palisade\n\nallow := true\n", None)
        .err()
        .unwrap();
    assert!(
        error.contains("none.rego: the policies define neither `deny` nor `labels`"),
        "{error}"
    );
}

#[test]
fn bad_rego_is_refused_with_the_file_line_and_column() {
    let broken =
        "package palisade\n\nimport rego.v1\n\ndeny contains \"x\" if {\n\tinput.tool == \n}\n";
    let error = RegoPolicy::new("agents.rego", broken, None).err().unwrap();
    assert!(error.starts_with("agents.rego:7:"), "{error}");
    let error = RegoPolicy::new("agents.rego", "package other\n", None)
        .err()
        .unwrap();
    assert!(
        error.contains("agents.rego: the policies are in data.other")
            && error.contains("package palisade"),
        "{error}"
    );
    // Runs, but a rule's value is not strings: refused when the bundle loads, not on the first request.
    let error = RegoPolicy::new("agents.rego", "package palisade\ndeny := 7\n", None)
        .err()
        .unwrap();
    assert!(
        error.contains("data.palisade.deny must be a set of strings, not 7"),
        "{error}"
    );
    // Through a bundle: the manifest's file name, and the plugin's.
    let dir = tempfile::tempdir().unwrap();
    for name in ["agents.rego", "data.json"] {
        std::fs::copy(agents_rego_dir().join(name), dir.path().join(name)).unwrap();
    }
    std::fs::write(dir.path().join("agents.rego"), broken).unwrap();
    let original = std::fs::read(agents_rego_dir().join("agents.rego")).unwrap();
    let manifest = std::fs::read_to_string(agents_rego_dir().join("bundle.toml"))
        .unwrap()
        .replace(&sha256(&original), &sha256(broken.as_bytes()));
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    let error = bundle::load_dir(engine(), dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains(r#"plugin "policy""#) && error.contains("agents.rego:7:"),
        "{error}"
    );
}

/// rego-cpp's Python bindings (`pip install regopy`), if importable. CI installs them and sets
/// `PALISADE_REGO_REFERENCE=required`, under which their absence fails the test.
fn rego_cpp() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import regopy"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let how = "install them with `pip install regopy`";
        if std::env::var("PALISADE_REGO_REFERENCE").as_deref() == Ok("required") {
            panic!("rego-cpp's Python bindings are missing: {how}");
        }
        eprintln!("skipped: rego-cpp's Python bindings (regopy) are missing; {how}");
    }
    found
}

#[test]
fn rego_decisions_and_labels_match_rego_cpp_on_the_same_inputs() {
    if !rego_cpp() {
        return;
    }
    let rego = agents_rego_policy();
    let cases = table();
    let inputs: String = cases
        .iter()
        .map(|case| {
            // One line each: regorus' own to_json_str pretty-prints.
            let input = policy_rego::input(&case.exchange());
            format!("{}\n", serde_json::to_string(&input).unwrap())
        })
        .collect();
    let dir = agents_rego_dir();
    let mut child = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/policy/rego_reference.py"))
        .arg(dir.join("agents.rego"))
        .arg(dir.join("data.json"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), inputs.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let answers: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), cases.len());
    let mut denied = 0;
    for (case, reference) in cases.iter().zip(&answers) {
        let ours = rego.evaluate(&case.exchange()).unwrap();
        assert_eq!(serde_json::json!(ours.deny), reference["deny"], "{case:?}");
        assert_eq!(
            serde_json::json!(ours.labels),
            reference["labels"],
            "{case:?}"
        );
        denied += usize::from(!ours.deny.is_empty());
    }
    assert!(denied > 50 && cases.len() - denied > 50, "{denied} denied");
}

/// The Cedar CLI (`cargo install cedar-policy-cli`), if installed. CI installs it and sets
/// `PALISADE_CEDAR_CLI=required`, under which a missing CLI fails the test.
fn cedar_cli() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("cedar"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        let how = "install it with `cargo install cedar-policy-cli --version 4.14.1 --locked`";
        if std::env::var("PALISADE_CEDAR_CLI").as_deref() == Ok("required") {
            panic!("the Cedar CLI (`cedar`) is not on PATH: {how}");
        }
        eprintln!("skipped: the Cedar CLI (`cedar`) is not on PATH; {how}");
    }
    found
}

#[test]
fn decisions_match_the_cedar_cli_on_the_same_requests() {
    let Some(cli) = cedar_cli() else { return };
    let policy = agents_policy();
    let scratch = tempfile::tempdir().unwrap();
    let context_file = scratch.path().join("context.json");
    let dir = agents_dir();
    let (mut allowed, mut denied) = (0, 0);
    for case in table() {
        let principal = case.principal.unwrap_or("anonymous");
        let destination = case.destination.unwrap_or("unknown");
        let context = serde_json::json!({
            "labels": case.labels,
            "tool": case.tool.unwrap_or(""),
            "direction": case.direction,
            "metadata": {},
            "principal": principal,
            "destination": destination,
        });
        std::fs::write(&context_file, context.to_string()).unwrap();
        let action = if case.tool.is_some() {
            "call_tool"
        } else {
            case.direction
        };
        let output = Command::new(&cli)
            .arg("authorize")
            .arg("--policies")
            .arg(dir.join("agents.cedar"))
            .arg("--schema")
            .arg(dir.join("agents.cedarschema"))
            .arg("--entities")
            .arg(dir.join("entities.json"))
            .args(["--request-validation", "false", "--verbose"])
            .arg("--principal")
            .arg(format!("Principal::{principal:?}"))
            .arg("--action")
            .arg(format!("Action::{action:?}"))
            .arg("--resource")
            .arg(format!("Destination::{destination:?}"))
            .arg("--context")
            .arg(&context_file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let decision = stdout.lines().map(str::trim).find(|l| !l.is_empty());
        let cli_allowed = match decision {
            Some("ALLOW") => true,
            Some("DENY") => false,
            _ => panic!(
                "{case:?}: the Cedar CLI said:\n{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            ),
        };
        let mut cli_policies: Vec<&str> = stdout
            .split("following policies:")
            .nth(1)
            .map(|rest| {
                rest.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        cli_policies.sort();

        let outcome = policy.authorize(&case.exchange()).unwrap();
        // The CLI, like the plugin, names a policy by its @id annotation.
        let mut ours: Vec<&str> = outcome
            .determining
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        ours.sort();
        assert_eq!(outcome.allowed, cli_allowed, "{case:?}\n{stdout}");
        assert_eq!(ours, cli_policies, "{case:?}\n{stdout}");
        assert!(outcome.errors.is_empty(), "{case:?}: {:?}", outcome.errors);
        if cli_allowed {
            allowed += 1;
        } else {
            denied += 1;
        }
    }
    // The table exercises both answers, each rule's forbid among them.
    assert!(
        allowed > 50 && denied > 50,
        "{allowed} allowed, {denied} denied"
    );
}

#[test]
fn the_agents_bundle_labels_then_decides_and_in_report_mode_changes_nothing() {
    let bundle = bundle::load_dir(engine(), &agents_dir()).unwrap();
    let ask =
        |bundle: &bundle::Bundle, direction, text: &str, principal: &str, destination: &str| {
            let request = Request {
                direction,
                text: text.into(),
                principal: Some(principal.into()),
                destination: Some(destination.into()),
                ..Request::default()
            };
            chain::run(bundle, &request, &key()).unwrap()
        };
    // classification labels the marking; the policy keeps it off an external model.
    let memo = "CONFIDENTIAL: the Q3 numbers are down 4%.";
    let verdicts = ask(&bundle, Dir::Input, memo, SUPPORT, "api.openai.com");
    assert_eq!(verdicts.outcome, Outcome::Deny);
    let reason = verdicts.reason.clone().unwrap();
    assert!(reason.contains("confidential-stays-internal"), "{reason}");
    assert!(verdicts
        .labels
        .iter()
        .any(|l| l == "sensitivity:confidential"));
    let verdicts = ask(
        &bundle,
        Dir::Input,
        memo,
        SUPPORT,
        "llm.internal.example.com",
    );
    assert_eq!(verdicts.outcome, Outcome::Allow, "{:?}", verdicts.reason);

    // A credential in a model's answer: redacted by the policy table, and then (found:SECRET) denied to a
    // caller outside the platform namespace.
    let answer = "Use the key AKIAU6TIUGYPEHMXKFTI for the bucket.";
    let verdicts = ask(&bundle, Dir::Output, answer, SUPPORT, "api.openai.com");
    assert_eq!(verdicts.outcome, Outcome::Deny);
    assert!(verdicts
        .reason
        .unwrap()
        .contains("no-secrets-outside-platform"));
    let verdicts = ask(&bundle, Dir::Output, answer, PLATFORM, "api.openai.com");
    assert_eq!(verdicts.outcome, Outcome::Modify);
    assert_eq!(verdicts.text, "Use the key [SECRET] for the bucket.");

    // The same bundle in report mode: every payload passes as it came, and the answer says what the
    // policy would have done.
    let dir = tempfile::tempdir().unwrap();
    for name in ["agents.cedar", "agents.cedarschema", "entities.json"] {
        std::fs::copy(agents_dir().join(name), dir.path().join(name)).unwrap();
    }
    let manifest =
        agents_file("bundle.toml").replacen("# mode = \"report\"", "mode = \"report\"", 1);
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    let report = bundle::load_dir(engine(), dir.path()).unwrap();
    for (direction, text, principal) in [
        (Dir::Input, memo, SUPPORT),
        (Dir::Output, answer, SUPPORT),
        (Dir::Output, answer, PLATFORM),
    ] {
        let enforced = ask(&bundle, direction, text, principal, "api.openai.com");
        let reported = ask(&report, direction, text, principal, "api.openai.com");
        assert_eq!(reported.outcome, Outcome::Allow);
        assert_eq!(reported.text, text);
        let would = reported
            .would
            .expect("report mode says what would have happened");
        assert_eq!(would.outcome, enforced.outcome);
        assert_eq!(would.reason, enforced.reason);
    }
}
