//! `palisade serve`, started as the real binary on an ephemeral port and called with real gRPC clients:
//! health, reflection, Check (modify, deny, bad input, limits, deadlines, concurrency), Admin, shutdown.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use palisade::server::proto::admin_client::AdminClient;
use palisade::server::proto::guardrail_client::GuardrailClient;
use palisade::server::proto::{
    check_request, check_response, CheckRequest, CheckStreamRequest, CheckStreamResponse, Decision,
    ReloadRequest, StatusRequest,
};
use tonic::transport::Channel;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::util::{bundle_dir, testbed, HEADER, PII};

/// A running `palisade serve`; killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    addr: SocketAddr,
    /// How clients connect: `None` is plaintext.
    tls: Option<tonic::transport::ClientTlsConfig>,
    /// Where metrics are served, when started with `--metrics`.
    pub(crate) metrics_addr: Option<SocketAddr>,
    /// Where the HTTP/JSON API is served, when started with `--http`.
    pub(crate) http_addr: Option<SocketAddr>,
    /// Every line the server has written to standard error, kept for tests that read its log.
    log: Arc<Mutex<Vec<String>>>,
    /// Reads standard error until the server exits.
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts the binary on 127.0.0.1:0, reads the bound address from its log, and waits until
    /// grpc.health.v1 says SERVING (never a sleep).
    pub(crate) async fn start(args: &[&str]) -> Server {
        Server::start_with(args, None).await
    }

    /// [`Server::start`] for a server on TLS: clients (the health check too) connect with `tls`.
    pub(crate) async fn start_with(
        args: &[&str],
        tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_palisade"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("PALISADE_CACHE_DIR", crate::util::BINARY_CACHE_DIR);
        Server::spawn(command, tls).await
    }

    /// [`Server::start`] for a command set up by the caller (arguments, environment); its log must show
    /// the addresses it listens on.
    pub(crate) async fn spawn(
        mut command: Command,
        tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> Server {
        // The caller may ask for another log level; the tests read `info` lines otherwise.
        if !command.get_envs().any(|(name, _)| name == "PALISADE_LOG") {
            command.env("PALISADE_LOG", "info");
        }
        let mut child = command
            .env_remove("PALISADE_BUNDLE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("palisade starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log_reader = std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line.clone());
                    let _ = tx.send(line);
                }
            }
        });
        // `key=ADDR` in a human log line, `"key":"ADDR"` in a JSON one.
        let address = |line: &str, key: &str| {
            let json_key = format!("\"{}\":\"", key.trim_end_matches('='));
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .or_else(|| {
                    let at = line.find(&json_key)? + json_key.len();
                    line[at..].split('"').next()
                })
                .map(|a| a.parse::<SocketAddr>().expect("a socket address"))
        };
        let (mut addr, mut metrics_addr, mut http_addr) = (None, None, None);
        while addr.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("palisade logs the address it listens on");
            metrics_addr = metrics_addr.or(address(&line, "metrics_addr="));
            http_addr = http_addr.or(address(&line, "http_addr="));
            addr = address(&line, "addr=");
        }
        let server = Server {
            child,
            addr: addr.unwrap(),
            tls,
            metrics_addr,
            http_addr,
            log,
            log_reader: Some(log_reader),
        };
        let mut health = HealthClient::new(server.channel().await);
        let started = Instant::now();
        loop {
            let status = health
                .check(HealthCheckRequest {
                    service: "palisade.v1.Guardrail".into(),
                })
                .await;
            if status.is_ok_and(|s| s.into_inner().status == ServingStatus::Serving as i32) {
                return server;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never became SERVING"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) async fn channel(&self) -> Channel {
        self.connect(self.tls.clone()).await.expect("connects")
    }

    /// A channel with these TLS settings (`None`: plaintext), or why it could not connect.
    pub(crate) async fn connect(
        &self,
        tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> Result<Channel, tonic::transport::Error> {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut endpoint = Channel::from_shared(format!("{scheme}://{}", self.addr)).unwrap();
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls)?;
        }
        endpoint.connect().await
    }

    /// The gRPC address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) async fn client(&self) -> GuardrailClient<Channel> {
        GuardrailClient::new(self.channel().await)
    }

    /// The Prometheus page, from a server started with `--metrics`.
    pub(crate) async fn metrics(&self) -> String {
        let addr = self.metrics_addr.expect("started with --metrics");
        let page = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        page.text().await.unwrap()
    }

    /// Sends SIGTERM and waits for a clean exit (status 0), which writes out what the audit log queued.
    pub(crate) fn terminate(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(self.child.wait().unwrap().code(), Some(0));
    }

    /// Everything the server wrote to standard error, once it has exited (after [`Server::terminate`]).
    pub(crate) fn log_after_exit(&mut self) -> Vec<String> {
        if let Some(reader) = self.log_reader.take() {
            reader.join().expect("the log reader ends with the server");
        }
        self.log.lock().unwrap().clone()
    }

    /// Which bundle answers a Check right now (`name@version`).
    pub(crate) async fn answering_bundle(&self) -> String {
        let r = self.client().await.check(text("a@b.co")).await.unwrap();
        r.into_inner().bundle
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the sample `series` (name and labels, exactly as exposed) on a Prometheus page. An
/// absent series fails the test rather than read as 0: a check that a counter stayed at 0 would otherwise
/// pass for a counter that is never exported.
pub(crate) fn sample(page: &str, series: &str) -> u64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {series} on the page:\n{page}"))
        .parse()
        .expect("a counter or a gauge of whole numbers")
}

/// Sends `messages` as one CheckStream: everything it released, and its last answer (the decision).
pub(crate) async fn stream_all(
    client: &mut GuardrailClient<Channel>,
    messages: Vec<CheckStreamRequest>,
) -> (Vec<u8>, CheckStreamResponse) {
    let mut answers = client
        .check_stream(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    let mut released = Vec::new();
    while let Some(answer) = answers.message().await.unwrap() {
        released.extend(answer.chunk.clone());
        if answer.done {
            assert!(
                answers.message().await.unwrap().is_none(),
                "nothing after the decision"
            );
            return (released, answer);
        }
    }
    panic!("the stream ended with no decision")
}

pub(crate) fn text(t: &str) -> CheckRequest {
    CheckRequest {
        content: Some(check_request::Content::Text(t.into())),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_reflection_work_with_no_proto_files() {
    let server = Server::start(&[]).await;
    let mut health = HealthClient::new(server.channel().await);
    let overall = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overall.status, ServingStatus::Serving as i32);

    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("{answer:?}")
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        "palisade.v1.Guardrail",
        "palisade.v1.Admin",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_redacts_an_email_with_offsets_into_the_request_text() {
    let server = Server::start(&[]).await;
    let mut client = server.client().await;
    let input = "Grüße, contact ana@example.com";
    let r = client.check(text(input)).await.unwrap().into_inner();
    assert_eq!(r.decision(), Decision::Modify);
    assert_eq!(
        r.content,
        Some(check_response::Content::Text(
            "Grüße, contact [EMAIL_ADDRESS]".into()
        ))
    );
    let f = &r.findings[0];
    assert_eq!(
        (f.plugin.as_str(), f.category.as_str(), f.action.as_str()),
        ("pii", "EMAIL_ADDRESS", "redact")
    );
    assert_eq!(&input[f.start as usize..f.end as usize], "ana@example.com");
    assert_eq!(r.bundle, "default@0.3.1");
    assert!(r.labels.contains(&"found:EMAIL_ADDRESS".to_string()));

    // A body comes back as a body; an allowed payload comes back with no content.
    let body = CheckRequest {
        content: Some(check_request::Content::Body(b"mail a@b.co".to_vec())),
        ..Default::default()
    };
    let r = client.check(body).await.unwrap().into_inner();
    assert_eq!(
        r.content,
        Some(check_response::Content::Body(
            b"mail [EMAIL_ADDRESS]".to_vec()
        ))
    );
    let r = client
        .check(text("nothing to see"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.decision(), r.content), (Decision::Allow, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_deny_answers_deny_with_a_reason_and_a_skipped_plugin_is_reported() {
    let manifest = format!(
        "{HEADER}SECRET = \"deny\"\n{}{}{PII}",
        testbed("broken", r#"{ mode = "panic" }"#, "on_error = \"skip\""),
        testbed(
            "secrets",
            r#"{ mode = "find", needle = "hunter2", category = "SECRET" }"#,
            ""
        ),
    );
    let dir = bundle_dir(&manifest);
    let server = Server::start(&["--bundle", dir.path().to_str().unwrap()]).await;
    let mut client = server.client().await;
    let r = client
        .check(text("my password is hunter2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.decision(), Decision::Deny);
    assert_eq!(
        r.reason,
        "plugin \"secrets\" found SECRET (rule testbed.find), which the policy denies"
    );
    assert_eq!(r.content, None);
    assert_eq!(r.failures.len(), 1);
    assert_eq!(
        (
            r.failures[0].plugin.as_str(),
            r.failures[0].on_error.as_str()
        ),
        ("broken", "skip")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_invalid_argument_or_resource_exhausted_with_what_was_wrong() {
    let server = Server::start(&["--max-payload", "1KiB"]).await;
    let mut client = server.client().await;

    let bad_utf8 = CheckRequest {
        content: Some(check_request::Content::Body(b"ok \xff\xfe".to_vec())),
        ..Default::default()
    };
    let e = client.check(bad_utf8).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("invalid byte at offset 3"),
        "{}",
        e.message()
    );

    let e = client.check(text(&"x".repeat(2048))).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(
        e.message()
            .contains("2048 bytes, over the limit of 1024 bytes"),
        "{}",
        e.message()
    );

    let e = client
        .check(CheckRequest {
            direction: 7,
            ..text("x")
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("direction 7"), "{}", e.message());

    let e = client.check(CheckRequest::default()).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (
            Code::InvalidArgument,
            "the request has no content; set `text` or `body`"
        )
    );

    let e = client
        .check(CheckRequest {
            content_type: "application/x-unknown".into(),
            ..text("x")
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_callers_deadline_bounds_the_chain() {
    let manifest = format!(
        "{HEADER}{}",
        testbed("slow", r#"{ mode = "loop" }"#, "budget = \"10s\"")
    );
    let dir = bundle_dir(&manifest);
    let server = Server::start(&["--bundle", dir.path().to_str().unwrap()]).await;
    let mut client = server.client().await;
    let mut request = tonic::Request::new(text("x"));
    request.set_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let e = client.check(request).await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    // Promptly: at the deadline, not after the plugin's 10 s budget. Loose bound for a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_clients_get_their_own_answers() {
    let server = Server::start(&[]).await;
    let mut tasks = Vec::new();
    for client_no in 0..50 {
        let channel = server.channel().await;
        tasks.push(tokio::spawn(async move {
            let mut client = GuardrailClient::new(channel);
            for i in 0..10 {
                let input = format!(
                    "client {client_no} call {i}: write to user{client_no}.{i}@example.com please"
                );
                let r = client
                    .check(text(&input))
                    .await
                    .expect("answered")
                    .into_inner();
                assert_eq!(r.decision(), Decision::Modify);
                let f = &r.findings[0];
                assert_eq!(
                    &input[f.start as usize..f.end as usize],
                    format!("user{client_no}.{i}@example.com")
                );
                let want = format!("client {client_no} call {i}: write to [EMAIL_ADDRESS] please");
                assert_eq!(r.content, Some(check_response::Content::Text(want)));
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_status_describes_the_bundle_and_reload_swaps_in_a_new_one() {
    let manifest = format!("{HEADER}{PII}");
    let dir = bundle_dir(&manifest);
    // No watcher: this test drives every reload itself.
    let server = Server::start(&["--bundle", dir.path().to_str().unwrap(), "--no-watch"]).await;
    let mut admin = AdminClient::new(server.channel().await);
    let s = admin.status(StatusRequest {}).await.unwrap().into_inner();
    assert_eq!(
        (
            s.bundle.as_str(),
            s.plugins.len(),
            s.last_reload_error.as_str()
        ),
        ("test@1", 1, "")
    );
    assert_eq!(s.plugins[0].directions, ["input", "output"]);

    let toml = dir.path().join("bundle.toml");
    let current = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, current.replace("version = \"1\"", "version = \"2\"")).unwrap();
    let r = admin.reload(ReloadRequest {}).await.unwrap().into_inner();
    assert_eq!(r.bundle, "test@2");

    assert_eq!(server.answering_bundle().await, "test@2");
    // Broken bundles of every kind are in reload.rs.
}

#[tokio::test(flavor = "multi_thread")]
async fn without_mtls_admin_answers_only_callers_on_this_host() {
    // This machine's address on its default route: not loopback, yet reachable from here.
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    probe
        .connect("10.255.255.255:9")
        .expect("a non-loopback route (any network interface) to reach this host by");
    let ip = probe.local_addr().unwrap().ip();
    assert!(!ip.is_loopback() && !ip.is_unspecified(), "{ip}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_palisade"));
    command
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env("PALISADE_CACHE_DIR", crate::util::BINARY_CACHE_DIR);
    let server = Server::spawn(command, None).await;
    let port = server.addr().port();
    let remote = Channel::from_shared(format!("http://{ip}:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let e = AdminClient::new(remote.clone())
        .reload(ReloadRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("loopback"), "{}", e.message());
    // The checks themselves are for every caller.
    let r = GuardrailClient::new(remote)
        .check(text("hi"))
        .await
        .unwrap();
    assert_eq!(r.into_inner().decision(), Decision::Allow);
    // From this host, Admin answers.
    let local = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = AdminClient::new(local)
        .status(StatusRequest {})
        .await
        .unwrap();
    assert_eq!(status.into_inner().source, "embedded");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_in_flight_calls_and_exits_0() {
    let manifest = format!(
        "{HEADER}{}",
        testbed(
            "slow",
            r#"{ mode = "loop" }"#,
            "budget = \"500ms\"\non_error = \"skip\""
        )
    );
    let dir = bundle_dir(&manifest);
    let mut server = Server::start(&["--bundle", dir.path().to_str().unwrap()]).await;
    let mut client = server.client().await;
    // A call that takes ~500 ms (the plugin runs out its budget), in flight when SIGTERM arrives.
    let in_flight = tokio::spawn(async move { client.check(text("x")).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let answer = in_flight
        .await
        .unwrap()
        .expect("the in-flight call is answered");
    assert_eq!(answer.into_inner().decision(), Decision::Allow);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_decisions_failures_and_the_bundle() {
    let manifest = format!(
        "{HEADER}{}{PII}",
        testbed("broken", r#"{ mode = "panic" }"#, "on_error = \"skip\"")
    );
    let dir = bundle_dir(&manifest);
    let server = Server::start(&[
        "--bundle",
        dir.path().to_str().unwrap(),
        "--metrics",
        "127.0.0.1:0",
    ])
    .await;
    let mut client = server.client().await;
    client.check(text("a@b.co")).await.unwrap();
    client.check(CheckRequest::default()).await.unwrap_err();

    let page = server.metrics().await;
    for want in [
        "palisade_checks_total{decision=\"modify\",direction=\"input\"} 1",
        "palisade_check_errors_total{code=\"InvalidArgument\"} 1",
        "palisade_plugin_failures_total{plugin=\"broken\",kind=\"trap\"} 1",
        // Latency per plugin (both ran once) and for the chain.
        "palisade_plugin_duration_seconds_count{plugin=\"broken\"} 1",
        "palisade_plugin_duration_seconds_count{plugin=\"pii\"} 1",
        "palisade_chain_duration_seconds_count 1",
        "palisade_bundle_info{bundle=\"test@1\",digest=\"",
        "palisade_check_duration_seconds_count 2",
        "palisade_findings_total{category=\"EMAIL_ADDRESS\",action=\"redact\",direction=\"input\"} 1",
        "palisade_build_info{version=\"",
        "\nprocess_resident_memory_bytes ",
    ] {
        assert!(page.contains(want), "{want} missing from:\n{page}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reads_a_json_chat_body_and_answers_with_the_same_shape() {
    let server = Server::start(&[]).await;
    let mut client = server.client().await;
    let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"mail ana@example.com"}],"n":1}"#;
    let request = CheckRequest {
        direction: palisade::server::proto::Direction::Output as i32,
        content: Some(check_request::Content::Body(body.to_vec())),
        content_type: "application/json; charset=utf-8".into(),
        ..Default::default()
    };
    let r = client.check(request).await.unwrap().into_inner();
    assert_eq!(r.decision(), Decision::Modify);
    assert_eq!(
        r.content,
        Some(check_response::Content::Body(
            br#"{"model":"gpt-4o","messages":[{"role":"user","content":"mail [EMAIL_ADDRESS]"}],"n":1}"#
                .to_vec()
        ))
    );
    let f = &r.findings[0];
    assert_eq!(
        (f.location.as_str(), f.start, f.end),
        ("/messages/0/content", 5, 20)
    );

    let e = client
        .check(CheckRequest {
            content: Some(check_request::Content::Text(
                "{\"messages\": [\n  1,\n}".into(),
            )),
            content_type: "application/json".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("line 3 column 1"), "{}", e.message());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_stream_answers_each_chunk_as_it_comes_and_ends_with_the_decision() {
    use palisade::server::proto::{CheckStreamRequest, Direction};
    let server = Server::start(&["--stream-hold-back", "32B"]).await;
    let mut client = server.client().await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut answers = client
        .check_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let text = format!(
        "{}the address is ana.silva@example.com, {}",
        "padding words ".repeat(5),
        "more words ".repeat(5)
    );
    let mut released = Vec::new();
    // Interactive: each chunk is answered before the next is sent, so nothing waits for the end.
    for (i, chunk) in text.as_bytes().chunks(9).enumerate() {
        let mut message = CheckStreamRequest {
            chunk: chunk.to_vec(),
            ..Default::default()
        };
        if i == 0 {
            message.content_type = "text/plain".into();
            message.request_id = "stream-1".into();
        }
        tx.send(message).await.unwrap();
        let answer = answers
            .message()
            .await
            .unwrap()
            .expect("one answer per chunk");
        assert!(!answer.done);
        released.extend(answer.chunk);
    }
    assert!(
        !released.is_empty(),
        "text beyond the hold-back is released before the end"
    );
    drop(tx);
    let last = answers.message().await.unwrap().expect("a last answer");
    assert!(last.done);
    released.extend(last.chunk.clone());
    assert_eq!(
        String::from_utf8(released).unwrap(),
        text.replace("ana.silva@example.com", "[EMAIL_ADDRESS]")
    );
    assert_eq!(last.decision(), Decision::Modify);
    assert_eq!(last.bundle, "default@0.3.1");
    let f = &last.findings[0];
    assert_eq!(
        &text[f.start as usize..f.end as usize],
        "ana.silva@example.com"
    );
    assert!(answers.message().await.unwrap().is_none());

    // A secret on the input path ends the stream with a deny; the secret is never released.
    let key = "AKIAZ7QW3RTY5UIO2PAS";
    let text = format!("{}{key} and more", "lorem ipsum ".repeat(8));
    let messages: Vec<CheckStreamRequest> = text
        .as_bytes()
        .chunks(4)
        .enumerate()
        .map(|(i, c)| CheckStreamRequest {
            direction: if i == 0 { Direction::Input as i32 } else { 0 },
            chunk: c.to_vec(),
            ..Default::default()
        })
        .collect();
    let (released, last) = stream_all(&mut client, messages).await;
    assert_eq!(last.decision(), Decision::Deny);
    assert!(last.reason.contains("SECRET"), "{}", last.reason);
    assert!(!String::from_utf8(released).unwrap().contains("AKIA"));

    // A bad content type is INVALID_ARGUMENT.
    let e = client
        .check_stream(tokio_stream::iter(vec![CheckStreamRequest {
            content_type: "image/png".into(),
            ..Default::default()
        }]))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("text/event-stream"), "{}", e.message());
}
