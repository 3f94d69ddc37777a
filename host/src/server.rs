//! `palisade serve`: the gRPC service gateways call (`palisade.v1.Guardrail`), Envoy's ext_proc and
//! ext_authz, the operators' `Admin`, `grpc.health.v1`, and server reflection (v1 and v1alpha), so
//! `grpcurl` works with no proto files; the HTTP/JSON API beside it (`http`).
//!
//! Every call, whichever transport carried it, goes through one gate (`gate.rs`): a transport reads its
//! wire format into the gate's call and body and writes back what the gate decided or why it refused.
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

use crate::audit::AuditLog;
use crate::bundle::{self, Bundle};
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::policy::HashKey;
use crate::pseudonym::VaultKey;
use crate::telemetry::Telemetry;

/// The generated gRPC code for `palisade.v1`, clients included, for callers written in Rust.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("palisade.v1");
    include!(concat!(env!("OUT_DIR"), "/palisade.v1.serde.rs"));

    /// The encoded descriptor set of `palisade.v1`, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/palisade_descriptor.bin"));
}

mod api;
mod envoy;
mod ext_authz;
mod ext_proc;
mod gate;
mod grpc;
pub mod http;
mod identity;
mod in_flight;
pub mod listen;
mod litellm;

use envoy_types::ext_authz::v3::pb::AuthorizationServer;
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::ExternalProcessorServer;
use ext_authz::ExtAuthzService;
use ext_proc::ExtProcService;
use gate::Refused;
use grpc::GuardrailService;
use proto::admin_server::{Admin, AdminServer};
use proto::guardrail_server::GuardrailServer;

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
    /// A stream (CheckStream, ext_proc) that sends nothing for this long is ended.
    pub stream_idle: Duration,
    /// The longest a stream may last when its caller sets no deadline.
    pub stream_max_duration: Duration,
    /// Streams open at once; more are refused.
    pub max_streams: usize,
    /// Calls that may wait for a worker; more are refused at once.
    pub max_queued: usize,
    /// Bytes of request bodies held at once, from their first byte until their call is answered.
    pub max_in_flight: usize,
    /// ext_proc and ext_authz: the request header that names the principal when Envoy sends no
    /// `source.principal` attribute (`x-forwarded-client-cert` is read as Envoy's XFCC); none is read
    /// unless named.
    pub principal_header: Option<String>,
    /// Serve gRPC and HTTP over TLS (with a client CA: mutual TLS, and callers are their certificates'
    /// SPIFFE IDs).
    pub tls: Option<listen::Tls>,
    /// Per-connection limits of every listener.
    pub limits: listen::Limits,
    /// With mutual TLS: callers (SPIFFE IDs, `*` globs) that may claim principals other than their own.
    pub trusted_gateways: Vec<String>,
    /// Reloads may go back to a bundle of a lower `[bundle] sequence` (a deliberate rollback).
    pub allow_downgrade: bool,
    /// With mutual TLS: callers (SPIFFE IDs, `*` globs) that may call Admin. Without mutual TLS, Admin
    /// answers loopback callers only.
    pub admin_clients: Vec<String>,
    /// How long a vault of pseudonyms opens after the check that issued it.
    pub vault_ttl: Duration,
}

impl Settings {
    /// The largest request message: twice the payload limit (JSON's escapes), plus 1 MiB for the other
    /// fields.
    pub fn max_message(&self) -> usize {
        self.max_payload.saturating_mul(2).saturating_add(1 << 20)
    }
}

/// What the services share: the engine, the bundle now serving, and the limits.
pub struct Shared {
    engine: Arc<Engine>,
    origin: BundleOrigin,
    bundle: ArcSwap<Loaded>,
    last_reload_error: Mutex<Option<String>>,
    reloading: tokio::sync::Mutex<()>,
    hash_key: HashKey,
    /// Seals and opens the vaults of pseudonyms (derived from `hash_key`).
    vault_key: VaultKey,
    workers: Arc<Semaphore>,
    /// One permit per stream open, of [`Settings::max_streams`].
    streams: Arc<Semaphore>,
    /// Calls waiting for a worker now.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    /// Request bytes held now, of [`Settings::max_in_flight`].
    in_flight: Arc<in_flight::Budget>,
    settings: Settings,
    metrics: Arc<Metrics>,
    /// Flips to true once the service is going away: health and readiness say NOT_SERVING from then on,
    /// while calls are still served until the listeners close.
    draining: tokio::sync::watch::Sender<bool>,
    /// Where audit events go, when `--audit` is on.
    audit: Option<AuditLog>,
    /// Where traces go, when `--otlp-endpoint` is on.
    telemetry: Option<Telemetry>,
}

/// Where decided exchanges go beside the metrics, each when it is on: the audit trail (`--audit`) and
/// traces (`--otlp-endpoint`).
#[derive(Default)]
pub struct Records {
    /// Audit events.
    pub audit: Option<AuditLog>,
    /// OpenTelemetry spans.
    pub telemetry: Option<Telemetry>,
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
        records: Records,
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
            vault_key: VaultKey::derive(&hash_key),
            hash_key,
            workers: Arc::new(Semaphore::new(settings.workers.max(1))),
            streams: Arc::new(Semaphore::new(settings.max_streams)),
            waiting: Arc::default(),
            in_flight: in_flight::Budget::new(settings.max_in_flight, metrics.in_flight_bytes()),
            settings,
            metrics,
            draining: tokio::sync::watch::Sender::new(false),
            audit: records.audit,
            telemetry: records.telemetry,
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

    /// Waits until no chain is running. A call whose caller has gone (its deadline passed) still runs on a
    /// worker until its plugin's budget is up, and the engine's epoch ticker, which enforces that budget,
    /// stops when the engine is dropped: shutting down before this returns could leave a plugin that never
    /// yields running forever, and the process with it.
    pub async fn until_idle(&self) {
        let all = u32::try_from(self.settings.workers.max(1)).unwrap_or(u32::MAX);
        let _ = self.workers.acquire_many(all).await;
    }

    /// Waits (briefly) until the audit events of answered calls are written out; for shutdown.
    pub fn flush_audit(&self) {
        if let Some(audit) = &self.audit {
            audit.flush(Duration::from_secs(5));
        }
    }

    /// Waits (briefly) until the spans of answered calls are exported; for shutdown.
    pub async fn flush_telemetry(&self) {
        if let Some(telemetry) = &self.telemetry {
            telemetry.flush(Duration::from_secs(5)).await;
        }
    }

    /// Resolves once [`Shared::drain`] has been called.
    async fn drained(&self) {
        let _ = self
            .draining
            .subscribe()
            .wait_for(|draining| *draining)
            .await;
    }

    /// A place in the queue for a worker, held while the call waits; refused when
    /// [`Settings::max_queued`] calls already wait, so a burst is answered at once instead of piling up
    /// decoded requests behind the workers.
    fn wait_for_worker(&self) -> Result<Waiting, Refused> {
        use std::sync::atomic::Ordering;
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.settings.max_queued {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(Refused::Overloaded(format!(
                "{} calls are already waiting for a worker, the most this server queues; retry later, \
                 or raise --max-queued / --workers",
                self.settings.max_queued
            )));
        }
        Ok(Waiting(self.waiting.clone()))
    }

    /// A place for one more stream, held until it ends; refused when [`Settings::max_streams`] are open.
    fn open_stream(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Refused> {
        self.streams.clone().try_acquire_owned().map_err(|_| {
            Refused::Overloaded(format!(
                "{} streams are open, the most this server takes at once (raise it with --max-streams)",
                self.settings.max_streams
            ))
        })
    }

    /// When a stream received at `received` must be over: the caller's deadline, else
    /// [`Settings::stream_max_duration`].
    fn stream_deadline(&self, caller: Option<Instant>, received: Instant) -> Instant {
        caller.unwrap_or(received + self.settings.stream_max_duration)
    }

    /// The largest request message: room for the request's other fields (and JSON's escapes) on top of
    /// the payload limit, so an oversize payload reaches our own check and gets RESOURCE_EXHAUSTED with
    /// the limit in the message.
    fn max_message(&self) -> usize {
        self.settings.max_message()
    }
}

/// A call's place in the queue for a worker, given back when dropped.
struct Waiting(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
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
        let running = self.bundle.load().bundle.clone();
        match loaded {
            // A Kubernetes ConfigMap update is several directory events (a new timestamped directory, the
            // `..data` symlink swap, the old directory's removal); only the one that changed the bundle
            // counts as a reload: the running bundle (the same digest covers every file) stays.
            Ok(b) if trigger == Trigger::Watch && b.digest == running.digest => {
                tracing::debug!(digest = %b.digest, "bundle directory changed, bundle did not");
                *last_error = None;
                Ok(Reloaded {
                    bundle: b.id(),
                    digest: b.digest.clone(),
                    elapsed: started.elapsed(),
                })
            }
            Ok(b) if !self.settings.allow_downgrade && goes_back(&running, &b) => {
                let message = format!(
                    "reload refused, still serving {}: the new bundle's [bundle] sequence ({}) is not above \
                     the running one's ({}); publish it with a higher sequence, or restart with \
                     --allow-downgrade to roll back on purpose",
                    running.id(),
                    b.sequence.map_or_else(|| "none".to_string(), |s| s.to_string()),
                    running.sequence.unwrap_or_default(),
                );
                tracing::error!(trigger = trigger_name, "{message}");
                self.metrics.reloaded(false);
                *last_error = Some(message.clone());
                Err(ReloadError::Failed(message))
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
                let message = format!("reload failed, still serving {}: {e}", running.id());
                tracing::error!(trigger = trigger_name, "{message}");
                self.metrics.reloaded(false);
                *last_error = Some(e.to_string());
                Err(ReloadError::Failed(message))
            }
        }
    }
}

/// Whether `next` would take the service back: the running bundle has a sequence, and `next` has none or
/// one not above it. (The same bundle again is not going back.)
fn goes_back(running: &Bundle, next: &Bundle) -> bool {
    running.digest != next.digest
        && running
            .sequence
            .is_some_and(|current| next.sequence.is_none_or(|n| n <= current))
}

/// Serves on `listener` until `shutdown` resolves; in-flight calls finish before this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) {
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
    let routes = tonic::service::Routes::new(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(guardrail)
        .add_service(admin)
        .add_service(ext_proc)
        .add_service(ext_authz)
        .prepare();
    let max_payload = shared.settings.max_payload;
    let metered = shared.clone();
    let service = tower::service_fn(move |request: ::http::Request<hyper::body::Incoming>| {
        let received = Instant::now();
        let timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_grpc_timeout);
        let (request, charge) = metered.in_flight.meter(request);
        let call = tower::ServiceExt::oneshot(routes.clone(), request.map(tonic::body::Body::new));
        let shared = metered.clone();
        async move {
            let Ok(response) = within(timeout, call).await;
            // A unary call refused for want of budget never reached a handler to record it; a stream's
            // refusal comes later and is recorded by its handler.
            if charge.refused() {
                if let Some(status) = Status::from_header_map(response.headers()) {
                    let refused = Refused::Overloaded(status.message().to_string());
                    shared.refuse("grpc", "", received, &refused);
                }
            }
            Ok::<_, std::convert::Infallible>(explain_oversize(response, max_payload))
        }
    });
    let tls = shared.settings.tls.as_ref().map(|t| t.with_alpn(&[b"h2"]));
    listen::serve(
        listener,
        tls,
        true,
        shared.settings.limits,
        service,
        shutdown,
    )
    .await;
}

/// Answers `call`, or DEADLINE_EXCEEDED once the caller's `grpc-timeout` has passed. The handlers answer
/// a little before it (see [`answer_by`]) and record the refusal; this is for a call that never reached
/// one in time (its body still arriving, say), which the caller must see as a deadline too, not as
/// CANCELLED.
async fn within<E>(
    timeout: Option<Duration>,
    call: impl std::future::Future<Output = Result<::http::Response<tonic::body::Body>, E>>,
) -> Result<::http::Response<tonic::body::Body>, E> {
    let Some(timeout) = timeout else {
        return call.await;
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(answered) => answered,
        Err(_) => Ok(Status::deadline_exceeded(format!(
            "the call's grpc-timeout of {} passed before it was answered",
            humantime::format_duration(timeout)
        ))
        .into_http()),
    }
}

/// Turns Nagle's algorithm off on one connection: a gRPC answer is several small writes (headers, the
/// message, trailers), and with Nagle on the later ones wait for the caller's delayed ACK, which at a modest
/// call rate adds milliseconds to every call. A connection where that fails is still served, only slower.
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

/// The caller's deadline from `grpc-timeout`, less a margin so the answer arrives in time.
fn caller_deadline<T>(request: &Request<T>, received: Instant) -> Result<Option<Instant>, Refused> {
    let Some(value) = request.metadata().get("grpc-timeout") else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Refused::Invalid("grpc-timeout is not ASCII".into()))?;
    let timeout = parse_grpc_timeout(value)
        .ok_or_else(|| Refused::Invalid(format!("grpc-timeout {value:?} is malformed")))?;
    Ok(Some(answer_by(received, timeout)))
}

/// When to have answered a caller who allows `timeout` from `received`: 5% (at least 1 ms) early, so the
/// answer arrives while the caller still listens. A timeout beyond a day is a day: no call waits that
/// long, and `Instant` arithmetic on a caller's "400000000000y" would overflow.
fn answer_by(received: Instant, timeout: Duration) -> Instant {
    const LONGEST: Duration = Duration::from_secs(24 * 3600);
    let timeout = timeout.min(LONGEST);
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

/// Why a stream's next message did not come.
enum Silence {
    /// Nothing for `--stream-idle`.
    Idle,
    /// The stream's deadline passed.
    Deadline,
}

/// Awaits a stream's next message (`next`): for at most `idle`, and not past `deadline`.
async fn next_within<F: std::future::Future>(
    next: F,
    idle: Duration,
    deadline: Option<Instant>,
) -> Result<F::Output, Silence> {
    let idle_until = Instant::now() + idle;
    let wait = deadline.map_or(idle_until, |d| d.min(idle_until));
    until(Some(wait), next).await.map_err(|_| {
        if wait == idle_until {
            Silence::Idle
        } else {
            Silence::Deadline
        }
    })
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// `palisade.v1.Admin`.
pub struct AdminService(Arc<Shared>);

impl AdminService {
    /// Admin changes what every caller gets, so it is not for every caller: under mutual TLS, only the
    /// SPIFFE IDs of `--admin-client`; without it, only callers on this host.
    fn allow<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let peer = request.extensions().get::<listen::Peer>();
        let mutual = self.0.settings.tls.as_ref().is_some_and(|t| t.mutual);
        if mutual {
            let id = identity::peer_spiffe_id(request)?;
            return match id {
                Some(id) if identity::matches_any(&self.0.settings.admin_clients, &id) => Ok(()),
                Some(id) => Err(Status::permission_denied(format!(
                    "{id} may not call Admin; allow it with serve --admin-client {id}"
                ))),
                None => Err(Status::unauthenticated("Admin needs a client certificate")),
            };
        }
        if peer.is_some_and(|p| p.addr.ip().is_loopback()) {
            return Ok(());
        }
        Err(Status::permission_denied(
            "without mutual TLS, Admin answers only callers on this host (loopback): call it from the \
             host or pod (kubectl port-forward arrives there), reload with SIGHUP, or serve with \
             --client-ca and --admin-client SPIFFE_ID",
        ))
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn status(
        &self,
        request: Request<proto::StatusRequest>,
    ) -> Result<Response<proto::StatusResponse>, Status> {
        self.allow(&request)?;
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
        request: Request<proto::ReloadRequest>,
    ) -> Result<Response<proto::ReloadResponse>, Status> {
        self.allow(&request)?;
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
