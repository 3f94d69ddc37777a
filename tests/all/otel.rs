//! serve --otlp-endpoint: the real server exports its spans to a test OTLP collector built from the
//! official OpenTelemetry protos (`opentelemetry-proto`'s generated TraceService server). Each exchange is
//! a span in the caller's trace (traceparent over gRPC metadata, an HTTP header, Envoy's forwarded request
//! headers), with a child span per plugin call; never a value.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use palisade::server::proto::{check_response, CheckResponse};
use prost::Message;
use tonic::{Request, Response, Status};

use crate::ext_proc::{body, request_headers, Envoy};
use crate::serve::{text, Server};

/// Every export request the collector received.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    async fn start() -> (Collector, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let collector = Collector::default();
        let service = TraceServiceServer::new(collector.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        (collector, addr)
    }

    fn spans(&self) -> Vec<Span> {
        let requests = self.0.lock().unwrap();
        requests
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| s.spans.clone())
            .collect()
    }

    /// Waits (up to 15 s: the exporter batches for a second) for the exchange span of `trace`.
    async fn exchange(&self, trace: &str) -> Span {
        let trace = hex::decode(trace).unwrap();
        let started = Instant::now();
        loop {
            let root = self
                .spans()
                .into_iter()
                .find(|s| s.trace_id == trace && s.name.starts_with("palisade check"));
            if let Some(root) = root {
                return root;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "no span of trace {} arrived; the collector has: {:?}",
                hex::encode(&trace),
                self.spans().iter().map(|s| &s.name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn children(&self, parent: &Span) -> Vec<Span> {
        self.spans()
            .into_iter()
            .filter(|s| s.trace_id == parent.trace_id && s.parent_span_id == parent.span_id)
            .collect()
    }

    fn all_bytes(&self) -> Vec<u8> {
        let requests = self.0.lock().unwrap();
        requests.iter().flat_map(|r| r.encode_to_vec()).collect()
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|KeyValue { key: k, .. }| k == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn string(span: &Span, key: &str) -> String {
    match attribute(span, key) {
        Some(Value::StringValue(s)) => s.clone(),
        other => panic!("{key} is {other:?} on {}", span.name),
    }
}

fn strings(span: &Span, key: &str) -> Vec<String> {
    match attribute(span, key) {
        Some(Value::ArrayValue(array)) => array
            .values
            .iter()
            .filter_map(|v| match &v.value {
                Some(Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        other => panic!("{key} is {other:?} on {}", span.name),
    }
}

fn text_of(answer: &CheckResponse) -> &str {
    match &answer.content {
        Some(check_response::Content::Text(text)) => text,
        other => panic!("no text in the answer: {other:?}"),
    }
}

fn traceparent(trace: &str, span: &str, sampled: bool) -> String {
    format!("00-{trace}-{span}-{}", if sampled { "01" } else { "00" })
}

const EMAIL: &str = "ana.silva@example.com";

#[tokio::test(flavor = "multi_thread")]
async fn each_exchange_is_a_span_in_the_callers_trace_with_a_span_per_plugin_call_and_no_value() {
    let (collector, addr) = Collector::start().await;
    let endpoint = format!("http://{addr}");
    let server = Server::start(&["--otlp-endpoint", &endpoint, "--http", "127.0.0.1:0"]).await;

    // gRPC: traceparent in the call's metadata.
    let grpc_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let mut request = tonic::Request::new(text(&format!("mail {EMAIL} please")));
    request.metadata_mut().insert(
        "traceparent",
        traceparent(grpc_trace, caller_span, true).parse().unwrap(),
    );
    request
        .metadata_mut()
        .insert("tracestate", "vendor=opaque".parse().unwrap());
    let answer = server
        .client()
        .await
        .check(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(text_of(&answer), "mail [EMAIL_ADDRESS] please");

    let root = collector.exchange(grpc_trace).await;
    assert_eq!(hex::encode(&root.parent_span_id), caller_span);
    assert_eq!(root.trace_state, "vendor=opaque");
    assert_eq!(root.name, "palisade check (grpc)");
    assert_eq!(string(&root, "palisade.decision"), "modify");
    assert_eq!(string(&root, "palisade.direction"), "input");
    assert!(string(&root, "palisade.bundle").starts_with("default@"));
    assert_eq!(strings(&root, "palisade.categories"), ["EMAIL_ADDRESS"]);
    assert!(root.end_time_unix_nano >= root.start_time_unix_nano);

    // One span per plugin call on the input path, inside the exchange's time. `secrets` is not called:
    // the text holds none of its gate's words (tests/all/plugin_gates.rs).
    let mut plugins = collector.children(&root);
    plugins.sort_by_key(|s| s.start_time_unix_nano);
    let names: Vec<_> = plugins.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["plugin pii", "plugin classification", "plugin destinations"]
    );
    for plugin in &plugins {
        assert_eq!(string(plugin, "palisade.outcome"), "ok");
        assert!(
            plugin.start_time_unix_nano >= root.start_time_unix_nano,
            "{}",
            plugin.name
        );
        assert!(
            plugin.end_time_unix_nano <= root.end_time_unix_nano,
            "{}",
            plugin.name
        );
        // The share of the budget the call used is its span's length over the budget. It is not asserted to
        // be below 1: the budget is enforced at epoch ticks, and on a loaded machine the ticker thread runs
        // late, so a call that was not cut may still have taken longer than its budget in wall time.
        let budget_ms = match attribute(plugin, "palisade.budget_ms") {
            Some(Value::DoubleValue(ms)) => *ms,
            other => panic!("budget_ms is {other:?}"),
        };
        assert!(budget_ms > 0.0, "{budget_ms}");
        let took_ms = (plugin.end_time_unix_nano - plugin.start_time_unix_nano) as f64 / 1e6;
        match attribute(plugin, "palisade.budget_used") {
            Some(Value::DoubleValue(used)) => assert!(
                (used - took_ms / budget_ms).abs() < 1e-3,
                "{}: used {used} of the budget, the span took {took_ms} ms",
                plugin.name
            ),
            other => panic!("budget_used is {other:?}"),
        }
    }
    let pii = &plugins[0];
    assert_eq!(
        attribute(pii, "palisade.findings"),
        Some(&Value::IntValue(1))
    );

    // HTTP: traceparent as a header.
    let http_trace = "0af7651916cd43dd8448eb211c80319c";
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/check", server.http_addr.unwrap()))
        .header("content-type", "application/json")
        .header(
            "traceparent",
            traceparent(http_trace, "b7ad6b7169203331", true),
        )
        .body(r#"{"text": "key AKIAZ7QW3RTY5UIO2PAS"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let root = collector.exchange(http_trace).await;
    assert_eq!(root.name, "palisade check (http)");
    assert_eq!(string(&root, "palisade.decision"), "deny");
    assert!(string(&root, "palisade.reason").contains("secrets"));

    // ext_proc: the traceparent of the request Envoy forwards.
    let envoy_trace = "11111111111111111111111111111111";
    let mut envoy = Envoy::connect(&server).await;
    envoy
        .send(request_headers(
            "application/json",
            &[(
                "traceparent",
                &traceparent(envoy_trace, "2222222222222222", true),
            )],
        ))
        .await;
    let chat = format!(r#"{{"messages":[{{"role":"user","content":"mail {EMAIL}"}}]}}"#);
    envoy
        .send(
            envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request::RequestBody(
                body(chat.as_bytes(), true),
            ),
        )
        .await;
    let root = collector.exchange(envoy_trace).await;
    assert_eq!(root.name, "palisade check (ext_proc)");
    assert_eq!(hex::encode(&root.parent_span_id), "2222222222222222");

    // A caller that did not sample its trace gets no span here; one without a traceparent starts one.
    let unsampled = "33333333333333333333333333333333";
    let mut request = tonic::Request::new(text("hello"));
    request.metadata_mut().insert(
        "traceparent",
        traceparent(unsampled, "4444444444444444", false)
            .parse()
            .unwrap(),
    );
    server.client().await.check(request).await.unwrap();
    let last = "55555555555555555555555555555555";
    let mut request = tonic::Request::new(text("hello again"));
    request.metadata_mut().insert(
        "traceparent",
        traceparent(last, "6666666666666666", true).parse().unwrap(),
    );
    server.client().await.check(request).await.unwrap();
    collector.exchange(last).await;
    let unsampled_id = hex::decode(unsampled).unwrap();
    assert!(!collector.spans().iter().any(|s| s.trace_id == unsampled_id));

    // The resource names the service; no exported byte carries a value that was checked.
    let requests = collector.0.lock().unwrap().clone();
    let resource = requests[0].resource_spans[0].resource.as_ref().unwrap();
    assert!(resource.attributes.iter().any(|kv| kv.key == "service.name"
        && kv.value.as_ref().and_then(|v| v.value.as_ref())
            == Some(&Value::StringValue("palisade".into()))));
    let exported = collector.all_bytes();
    for value in [EMAIL, "AKIAZ7QW3RTY5UIO2PAS"] {
        assert!(
            !exported.windows(value.len()).any(|w| w == value.as_bytes()),
            "{value} was exported"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_that_is_down_costs_no_call_and_a_bad_endpoint_is_refused_at_start() {
    // Nothing listens on this port: calls are answered all the same.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", unused.local_addr().unwrap());
    drop(unused);
    let server = Server::start(&["--otlp-endpoint", &endpoint]).await;
    let mut client = server.client().await;
    for _ in 0..20 {
        let answer = client.check(text(EMAIL)).await.unwrap().into_inner();
        assert_eq!(text_of(&answer), "[EMAIL_ADDRESS]");
    }

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--otlp-endpoint",
            "not a url",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--otlp-endpoint \"not a url\" is not a usable URL")
            && stderr.contains("http://127.0.0.1:4317"),
        "{stderr}"
    );
}
