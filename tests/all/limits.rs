//! What an abusive or careless client meets: limits announced in HTTP/2 SETTINGS and held, deadlines
//! answered as deadlines (seen with a raw HTTP/2 client, so what is seen is what the server sent), streams
//! that go quiet ended, streams past the limit refused.

use std::time::{Duration, Instant};

use bytes::Bytes;
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_client::ExternalProcessorClient;
use envoy_types::pb::envoy::service::ext_proc::v3::ProcessingRequest;
use palisade::server::proto::CheckStreamRequest;
use prost::Message;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;

use crate::serve::{text, Server};
use crate::util::{bundle_dir, testbed, HEADER};

/// An HTTP/2 connection to the server, driven in the background.
async fn connect(server: &Server) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    send
}

/// One unary gRPC call with extra request headers: (grpc-status, grpc-message), from the trailers or
/// from a trailers-only answer.
async fn call(
    send: &mut h2::client::SendRequest<Bytes>,
    path: &str,
    message: &impl Message,
    headers: &[(&str, &str)],
) -> (String, String) {
    let mut request = http::Request::post(format!("http://palisade{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut send = send.clone().ready().await.unwrap();
    let (response, mut body) = send.send_request(request.body(()).unwrap(), false).unwrap();
    let encoded = message.encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
    framed.extend_from_slice(&encoded);
    body.send_data(framed.into(), true).unwrap();
    let response = response.await.unwrap();
    let status = |headers: &http::HeaderMap| {
        let get = |name| {
            headers
                .get(name)
                .map(|v: &http::HeaderValue| v.to_str().unwrap().to_string())
        };
        get("grpc-status").map(|code| (code, get("grpc-message").unwrap_or_default()))
    };
    if let Some(status) = status(response.headers()) {
        return status;
    }
    let mut answer = response.into_body();
    while answer.data().await.is_some() {}
    let trailers = answer.trailers().await.unwrap().expect("trailers");
    status(&trailers).expect("a grpc-status")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_grpc_listener_announces_its_stream_limit() {
    let server = Server::start(&[]).await;
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let (mut send, mut connection) = h2::client::handshake(tcp).await.unwrap();
    // One health check, so the server's SETTINGS have arrived and been applied.
    let request = http::Request::post("http://palisade/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut body) = send.send_request(request, false).unwrap();
    body.send_data(Bytes::from_static(&[0, 0, 0, 0, 0]), true)
        .unwrap();
    let response = tokio::select! {
        response = response => response.unwrap(),
        ended = &mut connection => panic!("the connection ended first: {ended:?}"),
    };
    assert_eq!(response.status(), 200);
    assert_eq!(connection.max_concurrent_send_streams(), 256);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_grpc_timeout_is_deadline_exceeded_never_cancelled() {
    let manifest = format!(
        "{HEADER}{}",
        testbed("slow", r#"{ mode = "loop" }"#, "budget = \"10s\"")
    );
    let dir = bundle_dir(&manifest);
    let server = Server::start(&["--bundle", dir.path().to_str().unwrap()]).await;
    let mut send = connect(&server).await;
    const CHECK: &str = "/palisade.v1.Guardrail/Check";
    // 4 is DEADLINE_EXCEEDED; tonic's own server said 1 (CANCELLED, "Timeout expired").
    for timeout in ["1m", "1u", "5m", "50m"] {
        for _ in 0..5 {
            let (code, message) =
                call(&mut send, CHECK, &text("x"), &[("grpc-timeout", timeout)]).await;
            assert_eq!(code, "4", "grpc-timeout {timeout}: {message}");
        }
    }
    // Without a deadline, the same connection still answers.
    let (code, message) = call(
        &mut send,
        "/grpc.health.v1.Health/Check",
        &HealthCheckRequest::default(),
        &[],
    )
    .await;
    assert_eq!(code, "0", "{message}");
}

/// A CheckStream whose sender stays open: its first chunk is sent, the rest is up to the test.
async fn open_stream(
    server: &Server,
) -> (
    tokio::sync::mpsc::Sender<CheckStreamRequest>,
    Result<tonic::Streaming<palisade::server::proto::CheckStreamResponse>, tonic::Status>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(CheckStreamRequest {
        chunk: b"hello ".to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    let answers = server
        .client()
        .await
        .check_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map(tonic::Response::into_inner);
    (tx, answers)
}

/// The error a stream ends with (after any answers to chunks).
async fn ends_with(
    answers: Result<tonic::Streaming<palisade::server::proto::CheckStreamResponse>, tonic::Status>,
) -> tonic::Status {
    let mut answers = match answers {
        Err(status) => return status,
        Ok(answers) => answers,
    };
    loop {
        match answers.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended without an error"),
            Err(status) => return status,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_goes_quiet_is_ended_and_streams_past_the_limit_are_refused() {
    let server = Server::start(&["--stream-idle", "300ms", "--max-streams", "2"]).await;
    // Two streams open at once are served; a third is refused, saying which flag raises the limit.
    let (first_tx, first) = open_stream(&server).await;
    let (second_tx, second) = open_stream(&server).await;
    let (_third_tx, third) = open_stream(&server).await;
    let refused = ends_with(third).await;
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("--max-streams"),
        "{}",
        refused.message()
    );
    // Quiet past --stream-idle, both are ended as deadlines; their places are free again.
    for answers in [first, second] {
        let status = ends_with(answers).await;
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert!(
            status.message().contains("--stream-idle"),
            "{}",
            status.message()
        );
    }
    drop((first_tx, second_tx));
    let (tx, answers) = open_stream(&server).await;
    drop(tx);
    let mut answers = answers.unwrap();
    let mut done = false;
    while let Some(answer) = answers.message().await.unwrap() {
        done |= answer.done;
    }
    assert!(done, "a new stream is served once the others have ended");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ext_proc_exchange_that_goes_quiet_is_ended() {
    let server = Server::start(&["--stream-idle", "300ms"]).await;
    let mut client = ExternalProcessorClient::new(server.channel().await);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(ProcessingRequest {
        request: Some(crate::ext_proc::request_headers("application/json", &[])),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut answers = client
        .process(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    answers
        .message()
        .await
        .unwrap()
        .expect("the headers' answer");
    let status = answers.message().await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("--stream-idle"),
        "{}",
        status.message()
    );
    drop(tx);
}

#[tokio::test(flavor = "multi_thread")]
async fn request_headers_past_64_kib_are_refused() {
    let server = Server::start(&[]).await;
    let health = HealthCheckRequest::default();
    let path = "/grpc.health.v1.Health/Check";
    let mut send = connect(&server).await;
    let small = "x".repeat(1 << 10);
    let (code, message) = call(&mut send, path, &health, &[("x-padding", &small)]).await;
    assert_eq!(code, "0", "{message}");
    // 100 KiB of headers: h2's default would take 16 MiB; the server announces and holds 64 KiB.
    let big = "x".repeat(100 << 10);
    let refused = tokio::spawn(async move {
        let mut send = send;
        call(&mut send, path, &health, &[("x-padding", &big)]).await
    })
    .await;
    assert!(
        refused.is_err(),
        "a 100 KiB header list was served: {refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_past_the_worker_queue_are_refused_at_once() {
    let manifest = format!(
        "{HEADER}{}",
        testbed("slow", r#"{ mode = "loop" }"#, "budget = \"1s\"")
    );
    let dir = bundle_dir(&manifest);
    let server = Server::start(&[
        "--bundle",
        dir.path().to_str().unwrap(),
        "--workers",
        "1",
        "--max-queued",
        "1",
    ])
    .await;
    // One call runs (its plugin spins for a second), one waits for the worker, one is turned away.
    let mut calls = Vec::new();
    for _ in 0..3 {
        let mut client = server.client().await;
        calls.push(tokio::spawn(async move { client.check(text("x")).await }));
    }
    let mut refused = Vec::new();
    for call in calls {
        if let Err(status) = call.await.unwrap() {
            refused.push(status);
        }
    }
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].code(), Code::ResourceExhausted);
    assert!(
        refused[0].message().contains("--max-queued"),
        "{}",
        refused[0].message()
    );
}

/// `palisade_in_flight_bytes` now.
async fn in_flight(server: &Server) -> u64 {
    crate::serve::sample(&server.metrics().await, "palisade_in_flight_bytes")
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_past_the_in_flight_byte_budget_are_refused_before_they_are_read() {
    let server = Server::start(&[
        "--max-payload",
        "1MiB",
        "--max-in-flight",
        "3MiB",
        "--http",
        "127.0.0.1:0",
        "--metrics",
        "127.0.0.1:0",
    ])
    .await;
    // A caller announces a 2.5 MiB message, sends all of it but the last byte, and waits: its bytes are
    // held while the call is open.
    let held = 5 << 19;
    let mut send = connect(&server).await.ready().await.unwrap();
    let request = http::Request::post("http://palisade/palisade.v1.Guardrail/Check")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    let (response, mut body) = send.send_request(request, false).unwrap();
    let mut framed = vec![0];
    framed.extend_from_slice(&(held as u32).to_be_bytes());
    framed.resize(held + 4, b'x');
    body.send_data(framed.into(), false).unwrap();
    let started = Instant::now();
    while in_flight(&server).await < held as u64 {
        assert!(started.elapsed() < Duration::from_secs(30), "never held");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A 900 KiB payload is within --max-payload but not within what is left of the budget: refused, over
    // gRPC and over HTTP, saying which flag raises it.
    let payload = "a".repeat(900 << 10);
    let refused = server
        .client()
        .await
        .check(text(&payload))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("--max-in-flight"),
        "{}",
        refused.message()
    );
    let http = reqwest::Client::new()
        .post(format!("http://{}/v1/check", server.http_addr.unwrap()))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "text": payload }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(http.status(), 429);
    assert!(http.text().await.unwrap().contains("--max-in-flight"));
    // Small calls still fit.
    let small = server.client().await.check(text("hello")).await.unwrap();
    assert_eq!(small.into_inner().decision, 1, "allowed");

    // The held call goes away; its bytes are given back, and the large payload is served.
    drop((body, response, send));
    let started = Instant::now();
    while in_flight(&server).await != 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.client().await.check(text(&payload)).await.unwrap();
}

#[test]
fn a_budget_below_the_largest_request_does_not_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-in-flight",
            "1MiB",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--max-in-flight") && stderr.contains("--max-payload"),
        "{stderr}"
    );
}

/// A body of 1,500 addresses and, last, a token the policy denies.
fn many_findings(token: bool) -> String {
    let mut body: String = (0..1_500)
        .map(|i| format!("user{i}@example.com "))
        .collect();
    if token {
        body.push_str("ghp_R8cVq2mXz4Lw7Ty1Nb6Hd3Kp9Fs0Ja5Ue2Qo");
    }
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_lists_a_thousand_findings_and_counts_the_rest() {
    use palisade::server::proto::{CheckStreamRequest, Decision, Direction};
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut server = Server::start(&["--audit", audit.to_str().unwrap()]).await;
    let mut client = server.client().await;

    // Every address is redacted, though only the first thousand are listed.
    let answer = client
        .check(text(&many_findings(false)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.decision(), Decision::Modify);
    assert_eq!(
        (answer.findings.len(), answer.findings_dropped),
        (1_000, 500)
    );
    let Some(palisade::server::proto::check_response::Content::Text(redacted)) = answer.content
    else {
        panic!("a modify carries the text")
    };
    assert!(!redacted.contains("@example.com"), "{redacted}");

    // The finding that denies comes after the cap, and is listed all the same.
    let mut request = text(&many_findings(true));
    request.direction = Direction::Input.into();
    let answer = client.check(request).await.unwrap().into_inner();
    assert_eq!(answer.decision(), Decision::Deny, "{}", answer.reason);
    assert_eq!(
        (answer.findings.len(), answer.findings_dropped),
        (1_001, 500)
    );
    assert_eq!(answer.findings[1_000].category, "SECRET");
    assert!(answer.reason.contains("SECRET"), "{}", answer.reason);

    // A stream counts the same way, each finding once however many windows saw it.
    let messages: Vec<CheckStreamRequest> = many_findings(false)
        .as_bytes()
        .chunks(700)
        .map(|c| CheckStreamRequest {
            chunk: c.to_vec(),
            ..Default::default()
        })
        .collect();
    let (released, last) = crate::serve::stream_all(&mut client, messages).await;
    assert_eq!((last.findings.len(), last.findings_dropped), (1_000, 500));
    assert!(!String::from_utf8(released)
        .unwrap()
        .contains("@example.com"));

    // The audit trail lists what the answer lists and counts the rest.
    server.terminate();
    let lines = std::fs::read_to_string(&audit).unwrap();
    let events: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3, "{lines}");
    for event in &events {
        assert!(event["findings"].as_array().unwrap().len() >= 1_000);
        assert_eq!(event["findings_dropped"], 500, "{event}");
    }
}

/// A gRPC health check over a new connection: whether it was answered SERVING.
async fn health_over_a_new_connection(server: &Server) -> bool {
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let answer = health.check(HealthCheckRequest::default()).await;
    answer.is_ok_and(|a| a.into_inner().status == 1)
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_past_4096_wait_until_one_closes() {
    let server = Server::start(&[]).await;
    // 4,096 connections that never say a word hold every slot…
    let mut held = Vec::with_capacity(4096);
    for _ in 0..4096 {
        held.push(tokio::net::TcpStream::connect(server.addr()).await.unwrap());
    }
    // … so the next one waits in the kernel's backlog, unanswered, …
    let next = tokio::spawn({
        let addr = server.addr();
        async move {
            let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
                .unwrap()
                .connect_lazy();
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            health.check(HealthCheckRequest::default()).await.is_ok()
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!next.is_finished(), "a 4,097th connection was served");
    // … until one of them closes.
    held.pop();
    let served = tokio::time::timeout(Duration::from_secs(30), next).await;
    assert!(matches!(served, Ok(Ok(true))), "{served:?}");
    drop(held);
    assert!(health_over_a_new_connection(&server).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http1_request_whose_headers_never_end_is_closed_after_30_seconds() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start(&["--http", "127.0.0.1:0"]).await;
    let mut tcp = tokio::net::TcpStream::connect(server.http_addr.unwrap())
        .await
        .unwrap();
    tcp.write_all(
        b"POST /v1/check HTTP/1.1\r\nhost: palisade\r\ncontent-type: application/json\r\n",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(90), tcp.read_to_end(&mut answer)).await;
    let took = started.elapsed();
    assert!(read.is_ok(), "still open after {took:?}");
    // Not sooner than promised (a timer fires late, never early), and not much later.
    assert!(
        took >= Duration::from_millis(29_500) && took < Duration::from_secs(60),
        "closed after {took:?}"
    );
    assert!(health_over_a_new_connection(&server).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_opens_and_cancels_streams_in_a_loop_is_cut_off() {
    // CVE-2023-44487 ("rapid reset"): streams opened and reset at once cost the server work but never
    // count against the concurrent-stream limit. The server ends such a connection.
    let server = Server::start(&[]).await;
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    let request = || {
        http::Request::post("http://palisade/grpc.health.v1.Health/Check")
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap()
    };
    let mut sent = 0;
    for _ in 0..100_000 {
        let Ok(mut ready) = send.clone().ready().await else {
            break;
        };
        let Ok((response, body)) = ready.send_request(request(), false) else {
            break;
        };
        // Dropping both halves of an unfinished stream resets it (RST_STREAM, CANCEL).
        drop((response, body));
        sent += 1;
    }
    let ended = tokio::time::timeout(Duration::from_secs(30), connection)
        .await
        .expect("the connection was ended");
    let error = ended
        .unwrap()
        .expect_err("ended by the server, with an error");
    assert!(
        error.is_go_away() || error.is_io() || error.reason().is_some(),
        "{error:?} after {sent} streams"
    );
    assert!(sent < 100_000, "all 100,000 reset streams were taken");
    // Other callers are not affected.
    assert!(health_over_a_new_connection(&server).await);
}
