//! `palisade bench` against the real server: the counts it promises (open loop sends exactly rate ×
//! duration calls, closed loop stops at --requests), its report, and a clear error with no server.

use std::process::Command;

use crate::serve::Server;

fn bench(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .arg("bench")
        .args(args)
        .output()
        .expect("palisade runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn open_loop_sends_rate_times_duration_and_reports_percentiles() {
    let server = Server::start(&[]).await;
    let addr = server.addr().to_string();
    let (code, out, err) = bench(&[
        "--addr",
        &addr,
        "--rate",
        "200",
        "--duration",
        "1s",
        "--warmup",
        "5",
        "--with-finding",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("open loop at 200 req/s, 4 connections: 200 calls in "),
        "{out}"
    );
    assert!(
        out.contains("latency µs (from intended send time): p50 "),
        "{out}"
    );
    assert!(
        out.contains("outcomes: modify 200\n"),
        "every call redacts the planted email: {out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_loop_stops_at_the_request_count() {
    let server = Server::start(&[]).await;
    let addr = server.addr().to_string();
    let (code, out, err) = bench(&[
        "--addr",
        &addr,
        "--concurrency",
        "8",
        "--requests",
        "50",
        "--size",
        "1KiB",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("closed loop, 8 callers, 4 connections: 50 calls in "),
        "{out}"
    );
    assert!(out.contains("outcomes: allow 50\n"), "{out}");
}

#[test]
fn without_a_server_it_says_so() {
    // Port 9 (discard) on loopback: nothing listens there in a test environment.
    let (code, _, err) = bench(&["--addr", "127.0.0.1:9", "--duration", "1s"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot connect to 127.0.0.1:9") && err.contains("palisade serve"),
        "{err}"
    );
    let (code, _, err) = bench(&["--addr", "not an address"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not an address"), "{err}");
}
