//! Reversible pseudonyms: `pseudonymize` on the way in, the sealed vault, restore on the way out. As the
//! chain runs it (a property over random texts and over the corpus, the output policy still judging what
//! comes back, the ways a model rewrites a stand-in), and through the real server over gRPC and HTTP
//! (multi-turn, replicas sharing a key, and every way a vault can fail to open).

use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request as In;
use palisade::bundle::Bundle;
use palisade::chain::{self, Dir, Outcome, Request, Verdicts};
use palisade::policy::Action;
use palisade::server::proto::{
    check_request, CheckRequest, CheckResponse, CheckStreamRequest, Decision, Direction,
};
use palisade::stream::{StreamCheck, StreamSettings, StreamType, Summary};
use proptest::prelude::*;
use serde_json::json;

use crate::ext_proc::{body as body_of, common, headers, new_body, request_headers, Envoy};
use crate::redaction::{filler, value};
use crate::serve::{stream_all, Server};
use crate::stream::{events_of, joined, sse, tokens};
use crate::util::{dev_corpus_texts, edited_default_bundle, edited_default_bundle_dir, key};

/// The default bundle's policy with every category it redacts or masks pseudonymized instead (SECRET
/// is still denied on input and redacted on output).
fn pseudonymizing(manifest: String) -> String {
    manifest
        .lines()
        .map(|line| match line.split_once(" = ") {
            Some((category, "\"redact\"" | "\"mask\""))
                if category
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_') =>
            {
                format!("{category} = \"pseudonymize\"")
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn bundle() -> &'static Arc<Bundle> {
    static BUNDLE: OnceLock<Arc<Bundle>> = OnceLock::new();
    BUNDLE.get_or_init(|| Arc::new(edited_default_bundle(pseudonymizing)))
}

fn check(bundle: &Bundle, direction: Dir, text: &str, vault: Option<&Verdicts>) -> Verdicts {
    let request = Request {
        direction,
        text: text.into(),
        vault: vault.map(|v| Arc::new(v.pseudonyms.clone())),
        ..Request::default()
    };
    chain::run(bundle, &request, &key()).expect("no deadline, so no error")
}

/// The text as the model sees it (pseudonymized on input), and the answer restored from it on output.
fn round_trip(text: &str) -> (Verdicts, Verdicts) {
    let input = check(bundle(), Dir::Input, text, None);
    let output = check(bundle(), Dir::Output, &input.text, Some(&input));
    (input, output)
}

fn gb_iban(bank: &str, digits: u64) -> String {
    let bban = format!("{bank}{digits:014}");
    let numeric: String = format!("{bban}GB00")
        .chars()
        .map(|c| c.to_digit(36).unwrap().to_string())
        .collect();
    let remainder = numeric
        .bytes()
        .fold(0u64, |r, d| (r * 10 + u64::from(d - b'0')) % 97);
    format!("GB{:02}{bban}", 98 - remainder)
}

fn any_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => value(),
        1 => ("[A-Z]{4}", 0u64..99_999_999_999_999).prop_map(|(bank, n)| gb_iban(&bank, n)),
        1 => ("[a-z]{3,9}", "[a-z]{3,9}").prop_map(|(host, path)| format!("https://{host}.example.com/{path}?id=7")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// restore(pseudonymize(x)) == x, and the model's text holds none of the values found.
    #[test]
    fn restoring_what_was_pseudonymized_gives_back_the_text(
        parts in prop::collection::vec((filler(), any_value()), 1..5),
        tail in filler(),
    ) {
        let mut text = String::new();
        for (words, v) in &parts {
            text += &format!("{words} - {v} ");
        }
        text += &tail;
        let (input, output) = round_trip(&text);
        prop_assert_eq!(input.outcome, Outcome::Modify, "{:?}", input.reason);
        for f in &input.findings {
            let span = f.span.clone().unwrap_or(0..0);
            if f.action == Action::Pseudonymize && !span.is_empty() {
                prop_assert!(!input.text.contains(&text[span]), "{} survives in {:?}", f.category, input.text);
            }
        }
        prop_assert_eq!(&output.text, &text);
        prop_assert!(output.restored.len() >= input.pseudonyms.len(), "every stand-in comes back");
        // On the way out the values are what the caller wrote: reported, not pseudonymized again.
        prop_assert!(output.pseudonyms.is_empty(), "{:?}", output.findings);
    }
}

/// A stand-in after a password's name is not a password: `secrets` reads the text `pii` rewrote, and
/// `EMAIL_ADDRESS_98ed748b2e` has the three kinds of character a password has (proptest found
/// `pW - aa.aa@aa-mail.com`).
#[test]
fn a_stand_in_after_a_password_word_is_not_a_secret() {
    for text in ["pW - aa.aa@aa-mail.com ", "password: ann.lee@example.com"] {
        let (input, output) = round_trip(text);
        assert_eq!(input.outcome, Outcome::Modify, "{text}: {:?}", input.reason);
        assert_eq!(output.text, text);
    }
}

/// An address inside a URL is reported inside it; the URL is the one stand-in, and it comes back whole.
#[test]
fn a_url_carrying_an_address_round_trips_as_one_stand_in() {
    let text = "unsubscribe via https://example.com/u?email=ana@example.org&list=7 today";
    let (input, output) = round_trip(text);
    assert!(
        input.findings.iter().any(|f| f.category == "EMAIL_ADDRESS"),
        "{:?}",
        input.findings
    );
    assert!(!input.text.contains("ana@example.org"), "{}", input.text);
    assert_eq!(output.text, text);
    assert!(
        output.restored.len() >= input.pseudonyms.len(),
        "{:?} {:?}",
        input.pseudonyms,
        output.restored
    );
}

#[test]
fn every_corpus_document_round_trips() {
    // The dev corpus, and our own (every national identifier, date of birth and MAC address too).
    let own = tempfile::NamedTempFile::new().unwrap();
    let generated = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/accuracy/corpus.py"
        ))
        .arg("-o")
        .arg(own.path())
        .status()
        .expect("python3 runs tests/accuracy/corpus.py");
    assert!(generated.success());
    let own: Vec<String> = std::fs::read_to_string(own.path())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(own.len() >= 1_000);
    let texts: Vec<String> = dev_corpus_texts().into_iter().chain(own).collect();
    let (mut pseudonymized, mut denied) = (0, 0);
    let mut categories = std::collections::BTreeSet::new();
    for text in &texts {
        let (input, output) = round_trip(text);
        if input.outcome == Outcome::Deny {
            // A credential on input is denied before anything reaches a model.
            denied += 1;
            continue;
        }
        pseudonymized += usize::from(!input.pseudonyms.is_empty());
        categories.extend(
            (input.findings.iter())
                .filter(|f| f.action == Action::Pseudonymize)
                .map(|f| f.category.clone()),
        );
        assert_eq!(&output.text, text, "as the model saw it: {:?}", input.text);
        assert!(output.pseudonyms.is_empty(), "{:?}", output.findings);
    }
    eprintln!(
        "{} corpus documents: {pseudonymized} pseudonymized and restored, {denied} denied on input; \
         categories: {categories:?}",
        texts.len()
    );
    // Every category the bundle pseudonymizes came up.
    for line in pseudonymizing(palisade::bundle::embedded::MANIFEST.to_string()).lines() {
        if let Some(category) = line.strip_suffix(" = \"pseudonymize\"") {
            assert!(
                categories.contains(category),
                "no {category} in either corpus"
            );
        }
    }
}

/// The ways a model rewrites what it copies, and which of them restore finds: every one it claims, on
/// every category the default bundle pseudonymizes.
#[test]
fn stand_ins_come_back_the_ways_a_model_copies_them() {
    let values = [
        "ana.lima@example.com",
        "4111 1111 1111 1111",
        "078-05-1120",
        "+44 20 7946 0958",
        "GB82 WEST 1234 5698 7654 32",
        "10.20.30.40",
    ];
    type Rewrite = fn(&str) -> String;
    let found: [(&str, Rewrite); 9] = [
        ("as written", |s| s.to_string()),
        ("upper case", |s| s.to_uppercase()),
        ("lower case", |s| s.to_lowercase()),
        ("in quotes", |s| format!("\"{s}\"")),
        ("bold", |s| format!("**{s}**")),
        ("italic with _", |s| format!("_{s}_")),
        ("Markdown link", |s| format!("[{s}](mailto:{s})")),
        ("underscores escaped", |s| s.replace('_', "\\_")),
        ("in code", |s| format!("`{s}`")),
    ];
    let missed: [(&str, Rewrite); 3] = [
        ("underscores as spaces", |s| s.replace('_', " ")),
        ("underscores as hyphens", |s| s.replace('_', "-")),
        ("tag split", |s| {
            format!("{} {}", &s[..s.len() - 5], &s[s.len() - 5..])
        }),
    ];
    for value in values {
        let input = check(
            bundle(),
            Dir::Input,
            &format!("write to {value} today"),
            None,
        );
        assert_eq!(input.pseudonyms.len(), 1, "{value}: {:?}", input.text);
        let stand_in = input.text["write to ".len()..input.text.len() - " today".len()].to_string();
        for (how, rewrite) in found {
            let answer = format!("Done: {} is updated.", rewrite(&stand_in));
            let output = check(bundle(), Dir::Output, &answer, Some(&input));
            assert_eq!(
                output.restored.len(),
                1 + usize::from(how == "Markdown link"),
                "{how}: {answer}"
            );
            assert!(output.text.contains(value), "{how}: {:?}", output.text);
        }
        for (how, rewrite) in missed {
            let answer = format!("Done: {} is updated.", rewrite(&stand_in));
            let output = check(bundle(), Dir::Output, &answer, Some(&input));
            assert_eq!(output.restored.len(), 0, "{how} is not restored: {answer}");
        }
    }
    // In a JSON tool call, the stand-in inside the arguments' own JSON comes back as a JSON string.
    let input = check(bundle(), Dir::Input, "mail ana.lima@example.com", None);
    let stand_in = input.text.trim_start_matches("mail ");
    let arguments = json!({"to": stand_in.to_lowercase(), "cc": [stand_in]}).to_string();
    let body = json!({"choices": [{"message": {"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "send", "arguments": arguments}}]}}]});
    let exchange = Request {
        direction: Dir::Output,
        vault: Some(Arc::new(input.pseudonyms.clone())),
        ..Request::default()
    };
    let checked = palisade::check::run(
        bundle(),
        palisade::payload::ContentType::Json,
        body.to_string(),
        &exchange,
        &key(),
    )
    .unwrap();
    assert_eq!(checked.restored, 2);
    let answer: serde_json::Value = serde_json::from_str(&checked.content).unwrap();
    let arguments: serde_json::Value = serde_json::from_str(
        answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        arguments,
        json!({"to": "ana.lima@example.com", "cc": ["ana.lima@example.com"]})
    );
}

/// Restoring is no way around the output policy: a value that comes back is judged as if the model
/// wrote it.
#[test]
fn restored_values_meet_the_output_policy() {
    let bundle = edited_default_bundle(|m| {
        m.replace(
            "EMAIL_ADDRESS = \"redact\"",
            "EMAIL_ADDRESS = { input = \"pseudonymize\", output = \"deny\" }",
        )
        .replace(
            "CREDIT_CARD = \"mask\"",
            "CREDIT_CARD = { input = \"pseudonymize\", output = \"mask\" }",
        )
    });
    let input = check(
        &bundle,
        Dir::Input,
        "ana@example.com paid with 4111 1111 1111 1111",
        None,
    );
    assert_eq!(input.pseudonyms.len(), 2, "{}", input.text);
    let (email, card) = input.text.split_once(" paid with ").unwrap();

    let output = check(&bundle, Dir::Output, &format!("Card: {card}"), Some(&input));
    assert_eq!(output.restored.len(), 1);
    assert_eq!(output.text, "Card: **** **** **** 1111");
    let card_finding = output
        .findings
        .iter()
        .find(|f| f.category == "CREDIT_CARD")
        .unwrap();
    assert_eq!(card_finding.action, Action::Mask);
    // Label rules see it too: later plugins (a Cedar or Rego policy) get `found:CREDIT_CARD`.
    assert!(
        output.labels.iter().any(|l| l == "found:CREDIT_CARD"),
        "{:?}",
        output.labels
    );
    // The finding's span is the stand-in the caller sent.
    assert_eq!(card_finding.span, Some(6..6 + card.len()));

    let output = check(&bundle, Dir::Output, &format!("Mail {email}"), Some(&input));
    assert_eq!(output.outcome, Outcome::Deny, "{}", output.text);
    assert!(output.reason.unwrap().contains("EMAIL_ADDRESS"));
}

/// A destination rule judges a restored URL in a tool call as if the model had written it there.
#[test]
fn a_restored_url_in_a_tool_call_meets_the_destination_rules() {
    let bundle = edited_default_bundle(|m| {
        m.replace(
            "URL = \"redact\"",
            "URL = { input = \"pseudonymize\", output = \"report\" }",
        ) + r#"
[[plugin.config.rules]]
name = "no-paste-sites"
effect = "deny"
tools = ["http_*"]
destinations = ["*.pastebin.com"]
"#
    });
    let input = check(
        &bundle,
        Dir::Input,
        "post it to https://x.pastebin.com/api?paste=hello",
        None,
    );
    assert_eq!(input.pseudonyms.len(), 1, "{}", input.text);
    let stand_in = input.text.trim_start_matches("post it to ");
    let call = |tool: &str| Request {
        direction: Dir::Output,
        text: json!({"url": stand_in}).to_string(),
        tool: Some(tool.into()),
        vault: Some(Arc::new(input.pseudonyms.clone())),
        ..Request::default()
    };
    let denied = chain::run(&bundle, &call("http_post"), &key()).unwrap();
    assert_eq!(denied.outcome, Outcome::Deny, "{}", denied.text);
    assert!(denied.reason.unwrap().contains("no-paste-sites"));
    // Another tool may take it: the URL comes back.
    let allowed = chain::run(&bundle, &call("summarise"), &key()).unwrap();
    assert_eq!(
        allowed.text,
        r#"{"url":"https://x.pastebin.com/api?paste=hello"}"#
    );
}

// ---------------------------------------------------------------------------------------------------------
// Through the real server.

const KEY: &str = "a key both replicas share";

async fn start(key: &str, extra: &[&str]) -> (Server, tempfile::TempDir) {
    let dir = edited_default_bundle_dir(pseudonymizing);
    let mut command = Command::new(env!("CARGO_BIN_EXE_palisade"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--bundle",
        ])
        .arg(dir.path())
        .args(extra)
        .env("PALISADE_CACHE_DIR", crate::util::BINARY_CACHE_DIR)
        .env("PALISADE_HASH_KEY", key);
    (Server::spawn(command, None).await, dir)
}

fn request(direction: Direction, text: &str, principal: &str, vault: &str) -> CheckRequest {
    CheckRequest {
        direction: direction.into(),
        content: Some(check_request::Content::Text(text.into())),
        principal: principal.into(),
        vault: vault.into(),
        ..Default::default()
    }
}

async fn grpc(server: &Server, request: CheckRequest) -> CheckResponse {
    server
        .client()
        .await
        .check(request)
        .await
        .unwrap()
        .into_inner()
}

fn text_of(r: &CheckResponse) -> &str {
    match &r.content {
        Some(palisade::server::proto::check_response::Content::Text(t)) => t,
        other => panic!("no text in the answer: {other:?}"),
    }
}

async fn http(server: &Server, request: serde_json::Value) -> serde_json::Value {
    let addr = server.http_addr.expect("started with --http");
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/v1/check"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_round_trips_over_grpc_and_http_and_across_replicas() {
    let (a, _a) = start(KEY, &[]).await;
    let (b, _b) = start(KEY, &[]).await;
    let alice = "spiffe://example.org/agent";

    // Turn 1 over gRPC: the model sees stand-ins, the answer carries the vault.
    let turn1 = "Draft a reply to ana@example.com about card 4111 1111 1111 1111";
    let r1 = grpc(&a, request(Direction::Input, turn1, alice, "")).await;
    assert_eq!(r1.decision(), Decision::Modify);
    let seen = text_of(&r1).to_string();
    assert!(!seen.contains("ana@") && !seen.contains("4111"), "{seen}");
    assert!(r1.vault.starts_with("pv1.") && !r1.vault.contains("ana@example.com"));
    // The same value gets the same stand-in on the other replica.
    let r1b = grpc(&b, request(Direction::Input, turn1, alice, "")).await;
    assert_eq!(text_of(&r1b), seen);
    let email = seen
        .split_whitespace()
        .find(|w| w.starts_with("EMAIL_ADDRESS_"))
        .unwrap();

    // The model's answer, restored over HTTP on the other replica, with the stand-in as a model writes it.
    let answer = format!("I wrote to **{}** and to {email}.", email.to_uppercase());
    let r = http(&b, json!({"direction": "DIRECTION_OUTPUT", "text": answer, "principal": alice, "vault": r1.vault})).await;
    assert_eq!(r["decision"], "DECISION_MODIFY", "{r}");
    assert_eq!(
        r["text"],
        "I wrote to **ana@example.com** and to ana@example.com."
    );
    assert_eq!(r["restored"], 2);

    // Turn 2 carries turn 1's vault and adds a value: the new vault holds both.
    let r2 = grpc(
        &a,
        request(
            Direction::Input,
            "and call +1 415 555 2671",
            alice,
            &r1.vault,
        ),
    )
    .await;
    let phone = text_of(&r2).trim_start_matches("and call ").to_string();
    let body = json!({"choices": [{"message": {"role": "assistant", "content": format!("Calling {phone}"),
        "tool_calls": [{"id": "1", "type": "function", "function": {"name": "send_email",
            "arguments": json!({"to": email, "about": "card"}).to_string()}}]}}]});
    let r = grpc(
        &a,
        CheckRequest {
            direction: Direction::Output.into(),
            content: Some(check_request::Content::Body(body.to_string().into_bytes())),
            content_type: "application/json".into(),
            principal: alice.into(),
            vault: r2.vault.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(r.restored, 2, "{r:?}");
    let Some(palisade::server::proto::check_response::Content::Body(restored)) = &r.content else {
        panic!("{r:?}")
    };
    let restored = String::from_utf8(restored.clone()).unwrap();
    assert!(restored.contains("Calling +1 415 555 2671"), "{restored}");
    assert!(
        restored.contains(r#"{\"to\":\"ana@example.com\""#),
        "{restored}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_that_does_not_open_restores_nothing_and_says_why() {
    let (a, _a) = start(KEY, &[]).await;
    let (other, _o) = start("another key", &["--vault-ttl", "1s"]).await;
    let alice = "alice";
    let r1 = grpc(
        &a,
        request(Direction::Input, "mail ana@example.com", alice, ""),
    )
    .await;
    let stand_in = text_of(&r1).trim_start_matches("mail ").to_string();
    let answer = format!("Sent to {stand_in}");

    let mut tampered = r1.vault.clone().into_bytes();
    let last = tampered.len() - 10;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let cases = [
        (
            &a,
            r1.vault.as_str(),
            "mallory",
            "issued to another principal",
        ),
        (&a, tampered.as_str(), alice, "does not verify"),
        (&a, "pv2.something", alice, "not one Palisade issued"),
        (&other, r1.vault.as_str(), alice, "sealed under another key"),
    ];
    for (server, vault, principal, why) in cases {
        let r = grpc(
            server,
            request(Direction::Output, &answer, principal, vault),
        )
        .await;
        assert!(r.vault_error.contains(why), "{why}: {:?}", r.vault_error);
        assert_eq!((r.restored, r.decision()), (0, Decision::Allow), "{why}");
        assert!(
            r.vault.is_empty(),
            "a vault that does not open is not passed on"
        );
        assert!(!r.vault_error.contains("ana"), "{:?}", r.vault_error);
    }

    // Expired: the second server's vaults last a second.
    let r1 = grpc(
        &other,
        request(Direction::Input, "mail ana@example.com", alice, ""),
    )
    .await;
    let answer = format!("Sent to {}", text_of(&r1).trim_start_matches("mail "));
    let fresh = grpc(
        &other,
        request(Direction::Output, &answer, alice, &r1.vault),
    )
    .await;
    assert_eq!(fresh.restored, 1, "{:?}", fresh.vault_error);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let late = grpc(
        &other,
        request(Direction::Output, &answer, alice, &r1.vault),
    )
    .await;
    assert!(
        late.vault_error.contains("expired"),
        "{:?}",
        late.vault_error
    );
    assert_eq!(late.restored, 0);

    // A stand-in a valid vault does not hold (here, one the other key made) is left as it is.
    let r2 = grpc(
        &a,
        request(Direction::Input, "mail bob@example.org", alice, ""),
    )
    .await;
    let r = grpc(&a, request(Direction::Output, &answer, alice, &r2.vault)).await;
    assert_eq!(
        (r.restored, r.decision(), r.vault_error.as_str()),
        (0, Decision::Allow, "")
    );
}

// ---------------------------------------------------------------------------------------------------------
// Streams: a stand-in split across chunks and events is restored whole.

/// An OpenAI chat stream whose content and tool-call arguments carry `content` and `arguments` a few
/// characters per event.
fn openai_stream(content: &str, arguments: &str) -> String {
    let chunk = |delta: serde_json::Value| {
        let event = json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
        (None, event.to_string())
    };
    let mut events: Vec<(Option<&str>, String)> = tokens(content)
        .into_iter()
        .map(|t| chunk(json!({"content": t})))
        .collect();
    events.push(chunk(
        json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function",
        "function": {"name": "send_email", "arguments": ""}}]}),
    ));
    for t in tokens(arguments) {
        events.push(chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": t}}]}),
        ));
    }
    events.push((None, "[DONE]".into()));
    sse(&events)
}

fn stream_through(vault: &Verdicts, kind: StreamType, pieces: &[&[u8]]) -> (Vec<u8>, Summary) {
    let exchange = Request {
        direction: Dir::Output,
        vault: Some(Arc::new(vault.pseudonyms.clone())),
        ..Request::default()
    };
    let settings = StreamSettings {
        context: 64,
        ..StreamSettings::new(64, 4 << 20)
    };
    let mut check = StreamCheck::new(bundle().clone(), exchange, kind, settings);
    let mut out = Vec::new();
    for piece in pieces {
        out.extend(check.push(piece, &key()).expect("chunk accepted"));
    }
    out.extend(check.finish(&key()).expect("stream ends"));
    (out, check.summary())
}

#[test]
fn a_stand_in_split_across_chunks_and_events_is_restored_at_every_split() {
    let input = check(
        bundle(),
        Dir::Input,
        "ana@example.com, card 4111 1111 1111 1111",
        None,
    );
    let (email, card) = input.text.split_once(", card ").unwrap();
    let content = format!(
        "I'll write to {} about {card} today, then confirm with {email}.",
        email.to_uppercase()
    );
    let arguments = json!({"to": email, "note": format!("card {card}")}).to_string();
    let body = openai_stream(&content, &arguments);
    let want_content = "I'll write to ana@example.com about 4111 1111 1111 1111 today, then confirm with ana@example.com.";
    let want_arguments = json!({"to": "ana@example.com", "note": "card 4111 1111 1111 1111"});
    let bytes = body.as_bytes();
    for at in 0..=bytes.len() {
        let (released, summary) =
            stream_through(&input, StreamType::Sse, &[&bytes[..at], &bytes[at..]]);
        let events = events_of(&released);
        assert_eq!(
            joined(&events, "/choices/0/delta/content"),
            want_content,
            "split at {at}"
        );
        let arguments = joined(&events, "/choices/0/delta/tool_calls/0/function/arguments");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&arguments).unwrap(),
            want_arguments,
            "split at {at}"
        );
        assert_eq!(summary.restored, 5, "split at {at}");
        assert_eq!(summary.outcome, Outcome::Modify);
    }
    // Raw text, one byte at a time.
    let bytes = content.as_bytes();
    let pieces: Vec<&[u8]> = bytes.chunks(1).collect();
    let (released, summary) = stream_through(&input, StreamType::Text, &pieces);
    assert_eq!(String::from_utf8(released).unwrap(), want_content);
    assert_eq!(summary.restored, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_stream_and_ext_proc_restore_what_their_input_pseudonymized() {
    let (server, _dir) = start(KEY, &[]).await;
    let principal = "spiffe://example.org/agent";
    let r1 = grpc(
        &server,
        request(Direction::Input, "mail ana@example.com", principal, ""),
    )
    .await;
    let email = text_of(&r1).trim_start_matches("mail ").to_string();

    // CheckStream: the vault on the first message; the answer cut in two at every byte, so the stand-in
    // is split across chunks at every position (and across events, as the model streams it).
    let body = openai_stream(
        &format!("Sent to {email}, and to {}.", email.to_lowercase()),
        "{}",
    );
    let mut client = server.client().await;
    for at in 0..=body.len() {
        let first = CheckStreamRequest {
            chunk: body.as_bytes()[..at].to_vec(),
            content_type: "text/event-stream".into(),
            principal: principal.into(),
            vault: r1.vault.clone(),
            ..Default::default()
        };
        let rest = CheckStreamRequest {
            chunk: body.as_bytes()[at..].to_vec(),
            ..Default::default()
        };
        let (released, last) = stream_all(&mut client, vec![first, rest]).await;
        assert_eq!(
            joined(&events_of(&released), "/choices/0/delta/content"),
            "Sent to ana@example.com, and to ana@example.com.",
            "split at {at}"
        );
        assert_eq!(
            (last.restored, last.vault_error.as_str()),
            (2, ""),
            "split at {at}"
        );
    }

    // ext_proc: the request leg pseudonymizes, the response leg of the same exchange restores — a
    // buffered JSON answer, and an event stream.
    for streamed in [false, true] {
        let mut envoy = Envoy::connect(&server).await;
        envoy.send(request_headers("application/json", &[])).await;
        let prompt =
            br#"{"model":"m","messages":[{"role":"user","content":"mail ana@example.com"}]}"#;
        let sent = new_body(&common(
            envoy.send(In::RequestBody(body_of(prompt, true))).await,
        ))
        .unwrap();
        let sent = String::from_utf8(sent).unwrap();
        assert!(sent.contains(&email) && !sent.contains("ana@"), "{sent}");
        let content_type = if streamed {
            "text/event-stream"
        } else {
            "application/json"
        };
        envoy
            .send(In::ResponseHeaders(headers(
                &[(":status", "200"), ("content-type", content_type)],
                false,
            )))
            .await;
        let answer = if streamed {
            openai_stream(&format!("Sent to {email}."), "{}")
        } else {
            json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": format!("Sent to {email}."),
                "tool_calls": [{"id": "1", "type": "function", "function": {"name": "send_email",
                    "arguments": json!({"to": email}).to_string()}}]}}]})
            .to_string()
        };
        let chunks: Vec<&[u8]> = answer
            .as_bytes()
            .chunks(if streamed { 9 } else { answer.len() })
            .collect();
        let mut released = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let c = common(
                envoy
                    .send(In::ResponseBody(body_of(chunk, i + 1 == chunks.len())))
                    .await,
            );
            released.extend(new_body(&c).unwrap_or_else(|| chunk.to_vec()));
        }
        let released = String::from_utf8(released).unwrap();
        if streamed {
            assert_eq!(
                joined(&events_of(released.as_bytes()), "/choices/0/delta/content"),
                "Sent to ana@example.com."
            );
        } else {
            let answer: serde_json::Value = serde_json::from_str(&released).unwrap();
            assert_eq!(
                answer["choices"][0]["message"]["content"],
                "Sent to ana@example.com."
            );
            let arguments = answer["choices"][0]["message"]["tool_calls"][0]["function"]
                ["arguments"]
                .as_str()
                .unwrap();
            assert_eq!(arguments, r#"{"to":"ana@example.com"}"#);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Offline: `palisade scan --vault FILE`.

fn scan(args: &[&str], key: Option<&str>, stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_palisade"));
    command
        .arg("scan")
        .args(args)
        .env_remove("PALISADE_BUNDLE")
        .env_remove("PALISADE_HASH_KEY")
        .env("PALISADE_CACHE_DIR", crate::util::BINARY_CACHE_DIR)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(key) = key {
        command.env("PALISADE_HASH_KEY", key);
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn scan_pseudonymizes_and_restores_offline_with_a_vault_file() {
    let dir = edited_default_bundle_dir(pseudonymizing);
    let work = tempfile::tempdir().unwrap();
    let vault = work.path().join("conversation.vault");
    let (bundle, vault_arg) = (dir.path().to_str().unwrap(), vault.to_str().unwrap());
    let text = |o: &std::process::Output| String::from_utf8(o.stdout.clone()).unwrap();
    let errors = |o: &std::process::Output| String::from_utf8(o.stderr.clone()).unwrap();

    // Two inputs add to one vault file.
    let first = scan(
        &["--bundle", bundle, "--vault", vault_arg],
        Some(KEY),
        "mail ana@example.com",
    );
    assert_eq!(first.status.code(), Some(0), "{}", errors(&first));
    let email = text(&first).trim_start_matches("mail ").to_string();
    let lines = format!("{}\n", json!({"id": 1, "text": "call +1 415 555 2671"}));
    let second = scan(
        &["--bundle", bundle, "--vault", vault_arg, "--jsonl"],
        Some(KEY),
        &lines,
    );
    let answer: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    let phone = answer["text"]
        .as_str()
        .unwrap()
        .trim_start_matches("call ")
        .to_string();
    assert!(
        errors(&second).contains("the vault holds 2 values"),
        "{}",
        errors(&second)
    );

    // The model's answer, restored from the file, in plain and JSON-lines mode.
    let reply = format!("Wrote to {email}, called {}.", phone.to_lowercase());
    let restored = scan(
        &[
            "--bundle",
            bundle,
            "--vault",
            vault_arg,
            "--direction",
            "output",
        ],
        Some(KEY),
        &reply,
    );
    assert_eq!(
        text(&restored),
        "Wrote to ana@example.com, called +1 415 555 2671."
    );
    assert!(
        errors(&restored).contains("(2 stand-ins restored)"),
        "{}",
        errors(&restored)
    );
    let lines = format!(
        "{}\n",
        json!({"id": "a", "text": reply, "direction": "output"})
    );
    let restored = scan(
        &["--bundle", bundle, "--vault", vault_arg, "--jsonl"],
        Some(KEY),
        &lines,
    );
    let answer: serde_json::Value = serde_json::from_slice(&restored.stdout).unwrap();
    assert_eq!(
        (answer["text"].as_str(), answer["restored"].as_u64()),
        (
            Some("Wrote to ana@example.com, called +1 415 555 2671."),
            Some(2)
        )
    );

    // Without the key, or with another, it says why and exits 2, leaving the file as it was.
    let before = std::fs::read(&vault).unwrap();
    let no_key = scan(&["--bundle", bundle, "--vault", vault_arg], None, "x");
    assert_eq!(no_key.status.code(), Some(2));
    assert!(
        errors(&no_key).contains("--vault needs PALISADE_HASH_KEY"),
        "{}",
        errors(&no_key)
    );
    let other = scan(
        &["--bundle", bundle, "--vault", vault_arg],
        Some("another key"),
        "x",
    );
    assert_eq!(other.status.code(), Some(2));
    assert!(
        errors(&other).contains("sealed under another key"),
        "{}",
        errors(&other)
    );
    assert_eq!(std::fs::read(&vault).unwrap(), before);
}
