//! `palisade serve`: the gRPC service gateways call (`palisade.v1.Guardrail`), the operators' `Admin`,
//! `grpc.health.v1`, and server reflection (v1 and v1alpha), so `grpcurl` works with no proto files.
//!
//! Wasm calls are synchronous CPU work. They run on tokio's blocking pool behind a semaphore with one permit
//! per worker (by default, one per core): the reactor never blocks, and a burst queues for a permit instead
//! of oversubscribing the cores. Why not wasmtime's async support with epoch yielding: a stock plugin call
//! takes microseconds, so fiber stacks and yields would cost more than they save, and every call is already
//! bounded by its budget, so a slow one cannot hold a worker for long.
//!
//! Deadlines: the caller's `grpc-timeout` bounds the whole call — the wait for a worker and the chain (each
//! plugin's budget is cut to what is left). Palisade answers DEADLINE_EXCEEDED slightly before the caller's
//! deadline (5% of it, at least 1 ms) so the answer arrives while the caller still listens; tonic itself
//! would answer CANCELLED at the deadline proper.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};

use crate::audit::{self, AuditLog};
use crate::bundle::{self, Bundle};
use crate::chain::{self, Dir, Outcome};
use crate::check;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::payload::ContentType;
use crate::policy::HashKey;
use crate::stream::{StreamCheck, StreamError, StreamSettings, StreamType};

/// The generated gRPC code for `palisade.v1`, clients included, for callers written in Rust.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("palisade.v1");
    include!(concat!(env!("OUT_DIR"), "/palisade.v1.serde.rs"));

    /// The encoded descriptor set of `palisade.v1`, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/palisade_descriptor.bin"));
}

mod ext_authz;
mod ext_proc;
pub mod http;
mod identity;

use envoy_types::ext_authz::v3::pb::AuthorizationServer;
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::ExternalProcessorServer;
use ext_authz::ExtAuthzService;
use ext_proc::ExtProcService;
use proto::admin_server::{Admin, AdminServer};
use proto::guardrail_server::{Guardrail, GuardrailServer};

/// Where the served bundle comes from, for Status and Reload.
#[derive(Clone, Debug)]
pub enum BundleOrigin {
    /// The stock bundle built into the binary.
    Embedded,
    /// A bundle directory.
    Dir(PathBuf),
}

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The largest text or body accepted, in bytes.
    pub max_payload: usize,
    /// Chains that may run at once; more wait for a free worker.
    pub workers: usize,
    /// With keys here, a reloaded bundle must be signed by one of them.
    pub trusted_keys: Vec<ed25519_dalek::VerifyingKey>,
    /// CheckStream's hold-back: unreleased bytes kept at the end of each stream of text.
    pub stream_hold_back: usize,
    /// ext_proc: the request header that names the principal (else the client certificate's URI, from
    /// Envoy's `x-forwarded-client-cert`).
    pub principal_header: Option<String>,
    /// Serve over TLS (with a client CA: mutual TLS, and callers are their certificates' SPIFFE IDs).
    pub tls: Option<tonic::transport::ServerTlsConfig>,
    /// `tls` requires client certificates: principals are then vouched for by certificates, which the
    /// plain HTTP API does not have.
    pub mutual_tls: bool,
    /// With mutual TLS: callers (SPIFFE IDs, `*` globs) that may claim principals other than their own.
    pub trusted_gateways: Vec<String>,
}

/// What the services share: the engine, the bundle now serving, and the limits.
pub struct Shared {
    engine: Arc<Engine>,
    origin: BundleOrigin,
    bundle: ArcSwap<Loaded>,
    last_reload_error: Mutex<Option<String>>,
    reloading: tokio::sync::Mutex<()>,
    hash_key: HashKey,
    workers: Arc<Semaphore>,
    settings: Settings,
    metrics: Arc<Metrics>,
    /// Flips to true once the service is going away: health and readiness say NOT_SERVING from then on,
    /// while calls are still served until the listeners close.
    draining: tokio::sync::watch::Sender<bool>,
    /// Where audit events go, when `--audit` is on.
    audit: Option<AuditLog>,
}

/// A bundle and when it was loaded.
struct Loaded {
    bundle: Arc<Bundle>,
    at: SystemTime,
}

impl Shared {
    /// State for a service that serves `bundle`, loaded from `origin`.
    pub fn new(
        engine: Arc<Engine>,
        origin: BundleOrigin,
        bundle: Bundle,
        hash_key: HashKey,
        settings: Settings,
        metrics: Arc<Metrics>,
        audit: Option<AuditLog>,
    ) -> Arc<Shared> {
        metrics.serving(&bundle.id(), &bundle.digest);
        Arc::new(Shared {
            engine,
            origin,
            bundle: ArcSwap::from_pointee(Loaded {
                bundle: Arc::new(bundle),
                at: SystemTime::now(),
            }),
            last_reload_error: Mutex::new(None),
            reloading: tokio::sync::Mutex::new(()),
            hash_key,
            workers: Arc::new(Semaphore::new(settings.workers.max(1))),
            settings,
            metrics,
            draining: tokio::sync::watch::Sender::new(false),
            audit,
        })
    }

    /// Starts the way out: gRPC health and `/readyz` answer NOT_SERVING from now on, so load balancers
    /// and Kubernetes stop sending calls, while the listeners stay open for the ones still coming.
    pub fn drain(&self) {
        self.draining.send_replace(true);
    }

    fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Resolves once [`Shared::drain`] has been called.
    async fn drained(&self) {
        let _ = self
            .draining
            .subscribe()
            .wait_for(|draining| *draining)
            .await;
    }

    /// The largest request message: room for the request's other fields (and JSON's escapes) on top of
    /// the payload limit, so an oversize payload reaches our own check and gets RESOURCE_EXHAUSTED with
    /// the limit in the message.
    fn max_message(&self) -> usize {
        self.settings
            .max_payload
            .saturating_mul(2)
            .saturating_add(1 << 20)
    }
}

/// What a reload that worked produced.
#[derive(Clone, Debug)]
pub struct Reloaded {
    /// `name@version` of the bundle now serving.
    pub bundle: String,
    /// sha256 of its bundle.toml.
    pub digest: String,
    /// How long building it took.
    pub elapsed: Duration,
}

/// What asked for a reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `Admin.Reload`.
    Admin,
    /// SIGHUP.
    Sighup,
    /// A change in the bundle directory.
    Watch,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Admin => "admin",
            Trigger::Sighup => "sighup",
            Trigger::Watch => "watch",
        }
    }
}

/// Why a reload did not happen; the running bundle keeps serving either way.
#[derive(Clone, Debug)]
pub enum ReloadError {
    /// Serving the built-in bundle: there is no directory to read.
    NoDirectory,
    /// The new bundle failed to load; the message names file, plugin and reason.
    Failed(String),
}

impl Shared {
    /// The bundle directory this service reloads from, if any.
    pub fn bundle_dir(&self) -> Option<&std::path::Path> {
        match &self.origin {
            BundleOrigin::Dir(dir) => Some(dir),
            BundleOrigin::Embedded => None,
        }
    }

    /// Builds the next bundle from the directory, entirely off the request path (digests, compile or
    /// cache, every `configure`), and swaps it in atomically: calls in flight finish on the bundle they
    /// started with. On failure the running bundle stays, and the error is logged, counted, and shown by
    /// Admin.Status. Reloads from any trigger run one at a time.
    pub async fn reload(self: &Arc<Self>, trigger: Trigger) -> Result<Reloaded, ReloadError> {
        let Some(dir) = self.bundle_dir().map(|d| d.to_path_buf()) else {
            return Err(ReloadError::NoDirectory);
        };
        let _one_at_a_time = self.reloading.lock().await;
        let started = Instant::now();
        let engine = self.engine.clone();
        let trusted = self.settings.trusted_keys.clone();
        // Loading compiles components: CPU work, kept off the reactor and off the request workers.
        let loaded =
            tokio::task::spawn_blocking(move || bundle::load_dir_trusted(&engine, &dir, &trusted))
                .await
                .unwrap_or_else(|e| {
                    Err(crate::Error::Engine(format!(
                        "the reload worker failed: {e}"
                    )))
                });
        let mut last_error = self
            .last_reload_error
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let trigger_name = trigger.as_str();
        match loaded {
            // A Kubernetes ConfigMap update is several directory events (a new timestamped directory, the
            // `..data` symlink swap, the old directory's removal); only the one that changed the bundle
            // counts as a reload: the running bundle (the same digest covers every file) stays.
            Ok(b) if trigger == Trigger::Watch && b.digest == self.bundle.load().bundle.digest => {
                tracing::debug!(digest = %b.digest, "bundle directory changed, bundle did not");
                *last_error = None;
                Ok(Reloaded {
                    bundle: b.id(),
                    digest: b.digest.clone(),
                    elapsed: started.elapsed(),
                })
            }
            Ok(b) => {
                let reloaded = Reloaded {
                    bundle: b.id(),
                    digest: b.digest.clone(),
                    elapsed: started.elapsed(),
                };
                tracing::info!(trigger = trigger_name, bundle = %reloaded.bundle, digest = %reloaded.digest, elapsed_ms = reloaded.elapsed.as_millis() as u64, "bundle reloaded");
                self.metrics.reloaded(true);
                self.metrics.serving(&b.id(), &b.digest);
                self.bundle.store(Arc::new(Loaded {
                    bundle: Arc::new(b),
                    at: SystemTime::now(),
                }));
                *last_error = None;
                Ok(reloaded)
            }
            Err(e) => {
                let message = format!(
                    "reload failed, still serving {}: {e}",
                    self.bundle.load().bundle.id()
                );
                tracing::error!(trigger = trigger_name, "{message}");
                self.metrics.reloaded(false);
                *last_error = Some(e.to_string());
                Err(ReloadError::Failed(message))
            }
        }
    }
}

impl Shared {
    /// Runs `work` (Wasm: synchronous CPU work) on the blocking pool once a worker is free; `deadline`
    /// bounds both the wait and the work.
    async fn on_worker<T: Send + 'static>(
        &self,
        deadline: Option<Instant>,
        received: Instant,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Status> {
        let permit = until(deadline, self.workers.clone().acquire_owned())
            .await
            .map_err(|_| {
                Status::deadline_exceeded(format!(
                    "deadline passed after {:?} waiting for a free worker",
                    received.elapsed()
                ))
            })?
            .map_err(|_| Status::unavailable("the server is shutting down"))?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        });
        until(deadline, task)
            .await
            .map_err(|_| {
                Status::deadline_exceeded(format!(
                    "deadline passed after {:?} in the chain",
                    received.elapsed()
                ))
            })?
            .map_err(|e| Status::internal(format!("a chain worker failed: {e}")))
    }
}

/// Serves on `listener` until `shutdown` resolves; in-flight calls finish before this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<GuardrailServer<GuardrailService>>()
        .await;
    health.set_serving::<AdminServer<AdminService>>().await;
    // Both reflection versions: grpcurl speaks v1, older tools only v1alpha.
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the built-in descriptor sets are valid");
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .expect("the built-in descriptor sets are valid");

    let max_message = shared.max_message();
    let guardrail = GuardrailServer::new(GuardrailService(shared.clone()))
        .max_decoding_message_size(max_message);
    let admin = AdminServer::new(AdminService(shared.clone()));
    let ext_proc = ExternalProcessorServer::new(ExtProcService(shared.clone()))
        .max_decoding_message_size(max_message);
    let ext_authz = AuthorizationServer::new(ExtAuthzService(shared.clone()))
        .max_decoding_message_size(max_message);

    // Health follows the drain: the overall status (what a Kubernetes gRPC probe asks by default) and the
    // Guardrail service go NOT_SERVING; Admin keeps answering, for Status during the drain.
    let draining = shared.clone();
    tokio::spawn(async move {
        draining.drained().await;
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        health
            .set_not_serving::<GuardrailServer<GuardrailService>>()
            .await;
    });
    let stopping = shared.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: no new calls; finishing the ones in flight");
        stopping.drain();
    };
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = shared.settings.tls.clone() {
        builder = builder.tls_config(tls)?;
    }
    let max_payload = shared.settings.max_payload;
    builder
        .layer(tower::util::MapResponseLayer::new(
            move |response: ::http::Response<tonic::body::Body>| {
                explain_oversize(response, max_payload)
            },
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(guardrail)
        .add_service(admin)
        .add_service(ext_proc)
        .add_service(ext_authz)
        .serve_with_incoming_shutdown(without_nagle(listener), shutdown)
        .await
}

/// Accepted connections with Nagle's algorithm off. A gRPC answer is several small writes (headers, the
/// message, trailers); with Nagle on, the later ones wait for the caller's delayed ACK, which at a modest
/// call rate adds milliseconds to every call. (tonic's own `tcp_nodelay` covers only listeners it binds.)
fn without_nagle(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        no_delay(&stream);
        Ok(stream)
    })
}

/// Turns Nagle's algorithm off on one connection (see [`without_nagle`]); a connection where that fails
/// is still served, only slower.
pub(crate) fn no_delay(stream: &tokio::net::TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not turn off Nagle's algorithm on a connection");
    }
}

/// tonic refuses a request message over its decoding limit before a handler sees it, with OUT_OF_RANGE in
/// its own words and a limit the operator never set (see [`Shared::max_message`]). The caller gets what an
/// oversize payload that fits in a message gets: RESOURCE_EXHAUSTED, the payload limit, and the flag.
/// (Only an answer that is an error from the start carries its status in the headers; a message too large
/// in the middle of a stream still ends that stream with tonic's own status.)
fn explain_oversize(
    mut response: ::http::Response<tonic::body::Body>,
    max_payload: usize,
) -> ::http::Response<tonic::body::Body> {
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    if status.code() != tonic::Code::OutOfRange
        || !status
            .message()
            .contains("decoded message length too large")
    {
        return response;
    }
    let explained = Status::resource_exhausted(format!(
        "the request is too large: {}; payloads may be up to {max_payload} bytes (raise it with --max-payload / PALISADE_MAX_PAYLOAD)",
        status.message().trim_start_matches("Error, ")
    ));
    // Both fields are plain ASCII after encoding, so the headers are always valid.
    let _ = explained.add_header(response.headers_mut());
    response
}

/// `palisade.v1.Guardrail`.
pub struct GuardrailService(Arc<Shared>);

#[tonic::async_trait]
impl Guardrail for GuardrailService {
    type CheckStreamStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<proto::CheckStreamResponse, Status>> + Send>,
    >;

    async fn check_stream(
        &self,
        request: Request<tonic::Streaming<proto::CheckStreamRequest>>,
    ) -> Result<Response<Self::CheckStreamStream>, Status> {
        use tracing::Instrument;
        let received = Instant::now();
        let deadline = caller_deadline(&request, received)?;
        let peer = identity::peer_spiffe_id(&request);
        let span = tracing::info_span!("check_stream");
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let shared = self.0.clone();
        tokio::spawn(
            async move {
                let outcome = run_stream(
                    shared.clone(),
                    request.into_inner(),
                    peer,
                    deadline,
                    received,
                    tx.clone(),
                )
                .await;
                // An answered stream was recorded where it was decided.
                if let Err(status) = outcome {
                    shared.refused("grpc-stream", "", &status, received);
                    let _ = tx.send(Err(status)).await;
                }
            }
            .instrument(span),
        );
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn check(
        &self,
        request: Request<proto::CheckRequest>,
    ) -> Result<Response<proto::CheckResponse>, Status> {
        let received = Instant::now();
        let caller = match caller_deadline(&request, received) {
            Ok(deadline) => Caller {
                transport: "grpc",
                peer: identity::peer_spiffe_id(&request),
                deadline,
                received,
            },
            Err(status) => {
                self.0
                    .refused("grpc", &request.get_ref().request_id, &status, received);
                return Err(status);
            }
        };
        self.0
            .check(request.into_inner(), caller)
            .await
            .map(Response::new)
    }
}

/// Who made a call and by when it must be answered, whatever transport carried it.
pub(crate) struct Caller {
    /// How the call arrived, for the log and the audit trail.
    pub transport: &'static str,
    /// The client certificate's SPIFFE ID, with mutual TLS.
    pub peer: Option<String>,
    /// The caller's deadline, less a margin.
    pub deadline: Option<Instant>,
    /// When the call arrived.
    pub received: Instant,
}

impl Shared {
    /// One Check, whichever transport carried it (gRPC, HTTP/JSON): the same limits, chain, policy, metrics,
    /// log line and audit event.
    pub(crate) async fn check(
        self: &Arc<Self>,
        request: proto::CheckRequest,
        caller: Caller,
    ) -> Result<proto::CheckResponse, Status> {
        use tracing::Instrument;
        let (received, transport) = (caller.received, caller.transport);
        let request_id = request.request_id.clone();
        let span = tracing::info_span!("check", %request_id);
        let answer = self.answer(request, caller).instrument(span.clone()).await;
        if let Err(status) = &answer {
            let _in_span = span.enter();
            self.refused(transport, &request_id, status, received);
        }
        answer
    }

    /// Counts, logs and audits an exchange that was decided — every transport ends here.
    pub(crate) fn record(&self, exchange: &audit::Exchange<'_>) {
        let decision = exchange.decision.as_str();
        let direction = exchange.request.direction.as_str();
        self.metrics.checked(decision, direction, exchange.elapsed);
        let plugins = &exchange.bundle.plugins;
        self.metrics.chain_ran(
            exchange.chain_time,
            exchange
                .plugin_time
                .iter()
                .filter_map(|&(i, took)| Some((plugins.get(i)?.name(), took))),
        );
        for failure in exchange.failures {
            self.metrics.plugin_failed(&failure.plugin, &failure.error);
        }
        tracing::info!(
            transport = exchange.transport,
            request_id = exchange.request_id,
            direction,
            bundle = %exchange.bundle.id(),
            decision,
            elapsed_us = u64::try_from(exchange.elapsed.as_micros()).unwrap_or(u64::MAX),
            findings = exchange.findings.len(),
            "checked"
        );
        if let Some(audit) = &self.audit {
            audit.record(exchange.to_line(SystemTime::now()));
        }
    }

    /// Counts, logs and audits a call answered with an error instead of a decision.
    pub(crate) fn refused(
        &self,
        transport: &'static str,
        request_id: &str,
        status: &Status,
        received: Instant,
    ) {
        self.metrics.check_error(status.code(), received.elapsed());
        tracing::info!(transport, request_id, code = ?status.code(), message = status.message(), "check refused");
        if let Some(audit) = &self.audit {
            audit.record(audit::refusal_line(
                transport,
                request_id,
                status.code(),
                status.message(),
                SystemTime::now(),
            ));
        }
    }

    /// Waits (briefly) until the audit events of answered calls are written out; for shutdown.
    pub fn flush_audit(&self) {
        if let Some(audit) = &self.audit {
            audit.flush(Duration::from_secs(5));
        }
    }

    async fn answer(
        self: &Arc<Self>,
        mut req: proto::CheckRequest,
        caller: Caller,
    ) -> Result<proto::CheckResponse, Status> {
        let Caller {
            transport,
            peer,
            deadline,
            received,
        } = caller;
        let (text, as_body) = payload(req.content.take(), self.settings.max_payload)?;
        let direction = match proto::Direction::try_from(req.direction) {
            Ok(proto::Direction::Output) => Dir::Output,
            Ok(proto::Direction::Input | proto::Direction::Unspecified) => Dir::Input,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                "direction {} is not a Direction; use DIRECTION_INPUT (1) or DIRECTION_OUTPUT (2)",
                req.direction
            )))
            }
        };
        let content_type = ContentType::parse(&req.content_type)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let exchange = chain::Request {
            direction,
            principal: identity::principal(
                non_empty(req.principal),
                peer,
                &self.settings.trusted_gateways,
            )?,
            destination: non_empty(req.destination),
            tool: non_empty(req.tool),
            labels: req.labels,
            metadata: req.metadata.into_iter().collect(),
            deadline,
            ..chain::Request::default()
        };

        // The bundle this call started with finishes it, whatever a reload swaps in meanwhile.
        let bundle = self.bundle.load().bundle.clone();
        let shared = self.clone();
        let run_bundle = bundle.clone();
        let (checked, exchange) = self
            .on_worker(deadline, received, move || {
                let checked =
                    check::run(&run_bundle, content_type, text, &exchange, &shared.hash_key);
                (checked, exchange)
            })
            .await?;
        let verdicts = checked.map_err(status_of)?;
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Err(Status::deadline_exceeded(format!(
                "deadline passed after {:?}",
                received.elapsed()
            )));
        }

        let elapsed = received.elapsed();
        self.record(&audit::Exchange {
            transport,
            request_id: &req.request_id,
            request: &exchange,
            bundle: &bundle,
            decision: verdicts.outcome,
            reason: verdicts.reason.as_deref(),
            findings: &verdicts.findings,
            labels: &verdicts.labels,
            failures: &verdicts.failures,
            would: verdicts.would.as_ref(),
            elapsed,
            chain_time: verdicts.elapsed,
            plugin_time: verdicts.plugin_time.as_slice(),
        });
        let elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let decision = decision_out(verdicts.outcome);
        // The payload can be megabytes: move it into the answer, never copy it.
        let content = match verdicts.outcome {
            Outcome::Modify if as_body => Some(proto::check_response::Content::Body(
                verdicts.content.into_bytes(),
            )),
            Outcome::Modify => Some(proto::check_response::Content::Text(verdicts.content)),
            Outcome::Allow | Outcome::Deny => None,
        };
        Ok(proto::CheckResponse {
            decision: decision.into(),
            content,
            reason: verdicts.reason.unwrap_or_default(),
            findings: verdicts.findings.into_iter().map(finding_out).collect(),
            labels: verdicts.labels,
            bundle: bundle.id(),
            elapsed_us,
            failures: verdicts.failures.into_iter().map(failure_out).collect(),
            would: verdicts.would.map(would_out),
        })
    }
}

fn would_out(would: chain::WouldHave) -> proto::WouldHave {
    proto::WouldHave {
        decision: decision_out(would.outcome).into(),
        reason: would.reason.unwrap_or_default(),
    }
}

fn finding_out(f: chain::ReportedFinding) -> proto::Finding {
    let span = f.span.unwrap_or(0..0);
    proto::Finding {
        plugin: f.plugin,
        rule: f.rule,
        category: f.category,
        start: u32::try_from(span.start).unwrap_or(u32::MAX),
        end: u32::try_from(span.end).unwrap_or(u32::MAX),
        location: f.location,
        confidence: f.confidence,
        message: f.message,
        action: f.action.as_str().into(),
        report_only: !f.enforced,
    }
}

fn failure_out(f: chain::PluginFailure) -> proto::PluginFailure {
    proto::PluginFailure {
        plugin: f.plugin,
        error: f.error.to_string(),
        on_error: f.on_error.as_str().into(),
    }
}

fn decision_out(outcome: Outcome) -> proto::Decision {
    match outcome {
        Outcome::Allow => proto::Decision::Allow,
        Outcome::Modify => proto::Decision::Modify,
        Outcome::Deny => proto::Decision::Deny,
    }
}

fn stream_status(e: StreamError) -> Status {
    match e {
        StreamError::Chain(e) => status_of(e),
        StreamError::TooLarge(_) => Status::resource_exhausted(e.to_string()),
        StreamError::UnsupportedType(_) | StreamError::InvalidUtf8(_) => {
            Status::invalid_argument(e.to_string())
        }
    }
}

/// Answers one CheckStream call: each inbound chunk through the hold-back, on the blocking pool like Check,
/// one answer per chunk, and a last one with the summary.
async fn run_stream(
    shared: Arc<Shared>,
    mut inbound: tonic::Streaming<proto::CheckStreamRequest>,
    peer: Option<String>,
    deadline: Option<Instant>,
    received: Instant,
    tx: tokio::sync::mpsc::Sender<Result<proto::CheckStreamResponse, Status>>,
) -> Result<(), Status> {
    let first = next_chunk(&mut inbound, deadline, received)
        .await?
        .unwrap_or_default();
    let direction = match proto::Direction::try_from(first.direction) {
        Ok(proto::Direction::Input) => Dir::Input,
        Ok(proto::Direction::Output | proto::Direction::Unspecified) => Dir::Output,
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "direction {} is not a Direction; use DIRECTION_INPUT (1) or DIRECTION_OUTPUT (2)",
                first.direction
            )))
        }
    };
    let kind = StreamType::parse(&first.content_type).map_err(stream_status)?;
    let request_id = first.request_id;
    let exchange = chain::Request {
        direction,
        principal: identity::principal(
            non_empty(first.principal),
            peer,
            &shared.settings.trusted_gateways,
        )?,
        destination: non_empty(first.destination),
        tool: non_empty(first.tool),
        labels: first.labels,
        metadata: first.metadata.into_iter().collect(),
        deadline,
        ..chain::Request::default()
    };
    // The bundle the stream started with decides all of it.
    let bundle = shared.bundle.load().bundle.clone();
    let bundle_id = bundle.id();
    let audited = exchange.clone();
    let settings = StreamSettings::new(
        shared.settings.stream_hold_back,
        shared.settings.max_payload,
    );
    let mut check = StreamCheck::new(bundle.clone(), exchange, kind, settings);
    let mut chunk = Some(first.chunk);
    loop {
        let last = chunk.is_none();
        let key = shared.hash_key.clone();
        let (returned, released) = shared
            .on_worker(deadline, received, move || {
                let released = match &chunk {
                    Some(bytes) => check.push(bytes, &key),
                    None => check.finish(&key),
                };
                (check, released)
            })
            .await?;
        check = returned;
        let released = released.map_err(stream_status)?;
        if last || check.denied() {
            let elapsed_us = u64::try_from(check.elapsed().as_micros()).unwrap_or(u64::MAX);
            let summary = check.summary();
            shared.record(&audit::Exchange {
                transport: "grpc-stream",
                request_id: &request_id,
                request: &audited,
                bundle: &bundle,
                decision: summary.outcome,
                reason: summary.reason.as_deref(),
                findings: &summary.findings,
                labels: &summary.labels,
                failures: &summary.failures,
                would: summary.would.as_ref(),
                elapsed: received.elapsed(),
                chain_time: summary.chain_time,
                plugin_time: summary.plugin_time.as_slice(),
            });
            let decision = decision_out(summary.outcome);
            let answer = proto::CheckStreamResponse {
                chunk: released,
                done: true,
                decision: decision.into(),
                reason: summary.reason.unwrap_or_default(),
                findings: summary.findings.into_iter().map(finding_out).collect(),
                labels: summary.labels,
                bundle: bundle_id,
                elapsed_us,
                failures: summary.failures.into_iter().map(failure_out).collect(),
                would: summary.would.map(would_out),
            };
            // A caller that has gone away needs no answer.
            let _ = tx.send(Ok(answer)).await;
            return Ok(());
        }
        let answer = proto::CheckStreamResponse {
            chunk: released,
            ..Default::default()
        };
        if tx.send(Ok(answer)).await.is_err() {
            return Err(Status::cancelled("the caller went away"));
        }
        chunk = next_chunk(&mut inbound, deadline, received)
            .await?
            .map(|m| m.chunk);
    }
}

/// The caller's next message; `None` once it has half-closed.
async fn next_chunk(
    inbound: &mut tonic::Streaming<proto::CheckStreamRequest>,
    deadline: Option<Instant>,
    received: Instant,
) -> Result<Option<proto::CheckStreamRequest>, Status> {
    until(deadline, inbound.message()).await.map_err(|_| {
        Status::deadline_exceeded(format!(
            "deadline passed after {:?} waiting for the next chunk",
            received.elapsed()
        ))
    })?
}

/// The status a failed check answers with.
fn status_of(e: crate::Error) -> Status {
    use crate::payload::PayloadError;
    match e {
        crate::Error::DeadlineExceeded { .. } => Status::deadline_exceeded(e.to_string()),
        crate::Error::Payload(PayloadError::TooManyTexts { .. }) => {
            Status::resource_exhausted(e.to_string())
        }
        crate::Error::Payload(_) => Status::invalid_argument(e.to_string()),
        other => Status::internal(other.to_string()),
    }
}

/// The text to inspect, and whether it came as `body` (so the answer goes back as `body`). Takes the
/// request's content by value so a body of megabytes is validated in place, not copied.
fn payload(
    content: Option<proto::check_request::Content>,
    max: usize,
) -> Result<(String, bool), Status> {
    use proto::check_request::Content;
    let within_limit = |len: usize| {
        if len > max {
            return Err(Status::resource_exhausted(format!(
                "payload is {len} bytes, over the limit of {max} bytes (raise it with --max-payload / PALISADE_MAX_PAYLOAD)"
            )));
        }
        Ok(())
    };
    match content {
        None => Err(Status::invalid_argument(
            "the request has no content; set `text` or `body`",
        )),
        Some(Content::Text(text)) => {
            within_limit(text.len())?;
            Ok((text, false))
        }
        Some(Content::Body(body)) => {
            within_limit(body.len())?;
            let text = String::from_utf8(body).map_err(|e| {
                Status::invalid_argument(format!(
                    "body is not valid UTF-8: invalid byte at offset {}",
                    e.utf8_error().valid_up_to()
                ))
            })?;
            Ok((text, true))
        }
    }
}

/// The caller's deadline from `grpc-timeout`, less a margin so the answer arrives in time.
fn caller_deadline<T>(request: &Request<T>, received: Instant) -> Result<Option<Instant>, Status> {
    let Some(value) = request.metadata().get("grpc-timeout") else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Status::invalid_argument("grpc-timeout is not ASCII"))?;
    let timeout = parse_grpc_timeout(value)
        .ok_or_else(|| Status::invalid_argument(format!("grpc-timeout {value:?} is malformed")))?;
    Ok(Some(answer_by(received, timeout)))
}

/// When to have answered a caller who allows `timeout` from `received`: 5% (at least 1 ms) early, so the
/// answer arrives while the caller still listens.
fn answer_by(received: Instant, timeout: Duration) -> Instant {
    let margin = (timeout / 20).max(Duration::from_millis(1));
    received + timeout.saturating_sub(margin)
}

/// `grpc-timeout` per the gRPC HTTP/2 spec: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Awaits `fut`, giving up at `deadline` (never, without one).
async fn until<F: std::future::Future>(
    deadline: Option<Instant>,
    fut: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d.into(), fut).await,
        None => Ok(fut.await),
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// `palisade.v1.Admin`.
pub struct AdminService(Arc<Shared>);

#[tonic::async_trait]
impl Admin for AdminService {
    async fn status(
        &self,
        _: Request<proto::StatusRequest>,
    ) -> Result<Response<proto::StatusResponse>, Status> {
        let loaded = self.0.bundle.load();
        let b = &loaded.bundle;
        let last_reload_error = self
            .0
            .last_reload_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(Response::new(proto::StatusResponse {
            bundle: b.id(),
            digest: b.digest.clone(),
            plugins: b
                .plugins
                .iter()
                .map(|p| proto::PluginStatus {
                    name: p.name().into(),
                    wasm: p.wasm.clone(),
                    directions: p
                        .directions
                        .iter()
                        .map(|d| d.as_str().to_string())
                        .collect(),
                    budget_us: u64::try_from(p.budget.as_micros()).unwrap_or(u64::MAX),
                    on_error: p.on_error.as_str().into(),
                })
                .collect(),
            source: match &self.0.origin {
                BundleOrigin::Embedded => "embedded".into(),
                BundleOrigin::Dir(d) => d.display().to_string(),
            },
            last_reload_error: last_reload_error.unwrap_or_default(),
            loaded_at_unix_ms: loaded
                .at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
        }))
    }

    async fn reload(
        &self,
        _: Request<proto::ReloadRequest>,
    ) -> Result<Response<proto::ReloadResponse>, Status> {
        match self.0.reload(Trigger::Admin).await {
            Ok(r) => Ok(Response::new(proto::ReloadResponse {
                bundle: r.bundle,
                digest: r.digest,
                elapsed_ms: u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
            })),
            Err(ReloadError::NoDirectory) => Err(Status::failed_precondition(
                "serving the bundle built into the binary; there is no directory to reload (start with --bundle DIR)",
            )),
            Err(ReloadError::Failed(message)) => Err(Status::failed_precondition(message)),

        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_per_the_spec() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_grpc_timeout("99999999u"),
            Some(Duration::from_micros(99_999_999))
        );
        assert_eq!(parse_grpc_timeout("123456789m"), None);
        assert_eq!(parse_grpc_timeout("m"), None);
        assert_eq!(parse_grpc_timeout("10x"), None);
    }
}
