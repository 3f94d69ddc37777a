//! Inputs a careless or hostile caller sends, to the real server over gRPC and HTTP: empty, 10 MiB, NUL
//! bytes, JSON nested 100,000 deep, JSON with a key twice. Each gets a decision or a clear error, and the
//! server keeps answering.

use palisade::server::proto::{check_request, check_response, CheckRequest, Decision};
use tonic::Code;

use crate::serve::{text, Server};
use crate::util::edited_default_bundle_dir;

fn json_body(body: &str) -> CheckRequest {
    CheckRequest {
        content: Some(check_request::Content::Body(body.as_bytes().to_vec())),
        content_type: "application/json".into(),
        ..Default::default()
    }
}

fn answered_text(r: &palisade::server::proto::CheckResponse) -> &str {
    match &r.content {
        Some(check_response::Content::Text(t)) => t,
        other => panic!("no text in the answer: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_nul_and_ten_mebibyte_texts_are_answered() {
    // The stock budgets (250 ms) are for prompts; 10 MiB through four plugins may take longer on a busy
    // machine, and a plugin out of budget would (rightly) deny.
    let dir = edited_default_bundle_dir(|m| m.replace("budget = \"250ms\"", "budget = \"60s\""));
    let server = Server::start(&[
        "--max-payload",
        "16MiB",
        "--bundle",
        dir.path().to_str().unwrap(),
    ])
    .await;
    // The answer carries the text back, over the client's default 4 MiB limit.
    let mut client = server.client().await.max_decoding_message_size(32 << 20);

    let r = client.check(text("")).await.unwrap().into_inner();
    assert_eq!((r.decision(), r.content), (Decision::Allow, None));

    // NUL is a character like any other: kept where it was, and no cover for what is next to it.
    let r = client
        .check(text("\0mail\0a@b.co\0"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answered_text(&r), "\0mail\0[EMAIL_ADDRESS]\0");

    // 10 MiB of prose with an address at each end: both found, at the right offsets.
    let filler = "the quick brown fox jumps over the lazy dog. ".repeat((10 << 20) / 45);
    let big = format!("first a@b.co {filler} last c@d.co");
    let r = client.check(text(&big)).await.unwrap().into_inner();
    assert_eq!(r.decision(), Decision::Modify, "{}", r.reason);
    let found: Vec<&str> = r
        .findings
        .iter()
        .map(|f| &big[f.start as usize..f.end as usize])
        .collect();
    assert_eq!(found, ["a@b.co", "c@d.co"]);
    let out = answered_text(&r);
    assert!(
        out.starts_with("first [EMAIL_ADDRESS] the quick") && out.ends_with("last [EMAIL_ADDRESS]")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_mebibytes_over_the_default_limit_is_refused_with_the_limit_and_the_flag() {
    let server = Server::start(&[]).await;
    let mut client = server.client().await;
    let e = client.check(text(&"x".repeat(10 << 20))).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(
        e.message().contains("the request is too large")
            && e.message().contains("payloads may be up to 4194304 bytes")
            && e.message().contains("--max-payload"),
        "{}",
        e.message()
    );
    // And the server is none the worse for it.
    client.check(text("a@b.co")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn deep_or_ambiguous_json_is_refused_with_where() {
    let server = Server::start(&["--http", "127.0.0.1:0"]).await;
    let mut client = server.client().await;

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = client.check(json_body(&deep)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message()
            .contains("recursion limit exceeded at line 1 column"),
        "{}",
        e.message()
    );

    // A second copy of `messages` would reach a model that keeps the last key unread by a guardrail that
    // kept the first, or the other way round: refused, saying where (not the key, which is caller data).
    let twice = r#"{"messages": [{"role": "user", "content": "ssn 123-45-6789"}],
 "messages": [{"role": "user", "content": "hello"}]}"#;
    let e = client.check(json_body(twice)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message()
            .contains("a key twice in one object, the second copy at line 2 column 11"),
        "{}",
        e.message()
    );

    // The HTTP API's own request document: deep nesting and a field twice are refused too (nothing in a
    // CheckRequest nests, so the first misplaced bracket ends the parse).
    let addr = server.http_addr.unwrap();
    let http = reqwest::Client::new();
    for (body, want) in [
        (
            format!(r#"{{"text": "x", "metadata": {{"k": {deep}}}}}"#),
            "not a CheckRequest in JSON",
        ),
        (
            r#"{"text": "a@b.co", "text": "hello"}"#.to_string(),
            "duplicate field `text`",
        ),
    ] {
        let answer = http
            .post(format!("http://{addr}/v1/check"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400);
        let answer: serde_json::Value = answer.json().await.unwrap();
        assert!(
            answer["message"].as_str().unwrap().contains(want),
            "{answer}"
        );
    }
    client.check(text("still here")).await.unwrap();
}
