//! The `palisade` command: `serve` runs the gRPC service, `scan` runs a bundle's chain over local input,
//! `bundle export` writes the built-in stock bundle out as a directory to start a bundle of your own from.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand};
use palisade::audit;
use palisade::bundle::{self, Bundle};
use palisade::cache::ComponentCache;
use palisade::chain::Dir;
use palisade::engine::Engine;
use palisade::metrics::Metrics;
use palisade::payload::ContentType;
use palisade::policy::HashKey;
use palisade::pseudonym::{self, Pseudonyms, VaultKey};
use palisade::server::{self, BundleOrigin, Settings, Shared};
use palisade::signing;
use palisade::telemetry::Telemetry;
use palisade::{scaffold, scan};
use std::sync::Arc;
use std::time::SystemTime;

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Guardrails for AI traffic: sandboxed Wasm plugins over every prompt, tool call and answer"
)]
struct Cli {
    /// Log format: human-readable lines, or one JSON object per line for log pipelines.
    #[arg(long, global = true, env = "PALISADE_LOG_FORMAT", default_value = "human", value_parser = ["human", "json"])]
    log_format: String,
    /// Where compiled plugins are kept, so a restart or a reload of an unchanged plugin skips compiling
    /// (default: $XDG_CACHE_HOME/palisade or ~/.cache/palisade).
    #[arg(long, global = true, env = "PALISADE_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile every plugin afresh and keep nothing on disk.
    #[arg(long, global = true, env = "PALISADE_NO_CACHE", value_parser = BoolishValueParser::new())]
    no_cache: bool,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve palisade.v1 (Guardrail, Admin), grpc.health.v1 and server reflection over gRPC.
    ///
    /// Logs go to standard error (filter with PALISADE_LOG, e.g. `info` or `palisade=debug`); payloads and
    /// matched values are never logged. SIGTERM or Ctrl-C turns health and readiness to NOT_SERVING, keeps
    /// serving for the --drain period, then stops accepting calls, finishes the ones in flight, and exits 0.
    Serve {
        /// Bundle directory (with bundle.toml); without it, the stock plugins built into this binary.
        #[arg(long, env = "PALISADE_BUNDLE", value_name = "DIR")]
        bundle: Option<PathBuf>,
        /// Address to listen on. The default takes only local connections; use 0.0.0.0:50051 (or
        /// [::]:50051) to listen on all interfaces, and port 0 for any free port.
        #[arg(
            long,
            env = "PALISADE_LISTEN",
            default_value = "127.0.0.1:50051",
            value_name = "ADDR"
        )]
        listen: std::net::SocketAddr,
        /// Largest text or body accepted; larger payloads get RESOURCE_EXHAUSTED.
        #[arg(long, env = "PALISADE_MAX_PAYLOAD", default_value = "4MiB", value_parser = parse_size, value_name = "SIZE")]
        max_payload: usize,
        /// CheckStream holds back this much of each stream's text until more arrives, so a value split
        /// across chunks is caught whole; values longer than this may be released in part.
        #[arg(long, env = "PALISADE_STREAM_HOLD_BACK", default_value = "512B", value_parser = parse_size, value_name = "SIZE")]
        stream_hold_back: usize,
        /// A stream (CheckStream, ext_proc) that sends nothing for this long is ended with
        /// DEADLINE_EXCEEDED. Above the longest an upstream model takes to start answering.
        #[arg(long, env = "PALISADE_STREAM_IDLE", default_value = "5m", value_parser = humantime::parse_duration, value_name = "DURATION")]
        stream_idle: std::time::Duration,
        /// The longest a stream may last when its caller sets no deadline (grpc-timeout).
        #[arg(long, env = "PALISADE_STREAM_MAX_DURATION", default_value = "30m", value_parser = humantime::parse_duration, value_name = "DURATION")]
        stream_max_duration: std::time::Duration,
        /// Streams (CheckStream and ext_proc) open at once; more are refused with RESOURCE_EXHAUSTED.
        #[arg(
            long,
            env = "PALISADE_MAX_STREAMS",
            default_value_t = 4096,
            value_name = "N"
        )]
        max_streams: usize,
        /// Calls that may wait for a free worker; more are refused at once with RESOURCE_EXHAUSTED (HTTP
        /// 429) rather than queued.
        #[arg(
            long,
            env = "PALISADE_MAX_QUEUED",
            default_value_t = 1024,
            value_name = "N"
        )]
        max_queued: usize,
        /// Bytes of request bodies held at once, over every listener, from their first byte until their
        /// call is answered; a request that would go over is refused with RESOURCE_EXHAUSTED (HTTP 429)
        /// before it is decoded. At least twice --max-payload plus 1 MiB (the largest request).
        #[arg(long, env = "PALISADE_MAX_IN_FLIGHT", default_value = "256MiB", value_parser = parse_size, value_name = "SIZE")]
        max_in_flight: usize,
        /// Envoy ext_proc and ext_authz: when Envoy sends no source.principal attribute, take the
        /// principal from this request header (x-forwarded-client-cert is read as Envoy's XFCC). Strip it
        /// from clients at the gateway.
        #[arg(long, env = "PALISADE_PRINCIPAL_HEADER", value_name = "NAME")]
        principal_header: Option<String>,
        /// Serve the HTTP/JSON API on ADDR (e.g. 127.0.0.1:8080): POST /v1/check takes and answers the
        /// CheckRequest / CheckResponse in proto3 JSON; POST /beta/litellm_basic_guardrail_api is LiteLLM's
        /// generic guardrail API (api_base: http://ADDR); GET /healthz and /readyz. Off unless given.
        #[arg(long, env = "PALISADE_HTTP", value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
        /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9090); off unless given.
        #[arg(long, env = "PALISADE_METRICS", value_name = "ADDR")]
        metrics: Option<std::net::SocketAddr>,
        /// Chains that may run at once (default: one per core); more calls wait for a free worker.
        #[arg(long, env = "PALISADE_WORKERS", value_name = "N")]
        workers: Option<usize>,
        /// Do not reload when files in the bundle directory change (SIGHUP and Admin/Reload still do).
        #[arg(long, env = "PALISADE_NO_WATCH", value_parser = BoolishValueParser::new())]
        no_watch: bool,
        /// Write an audit event per exchange (one JSON line: who, what kind, where, the decision, the
        /// findings by plugin and rule, never a matched value) to this file, or `-` for standard output.
        /// Writing never holds up a call: when the sink falls behind, events are dropped and counted.
        #[arg(long, env = "PALISADE_AUDIT", value_name = "PATH|-")]
        audit: Option<String>,
        /// Export OpenTelemetry traces to this OTLP/gRPC collector (e.g. http://127.0.0.1:4317): a span
        /// per exchange (decision, bundle, categories found — never a value) and one per plugin call
        /// (outcome, budget used), children of the caller's span when it sends W3C `traceparent`.
        #[arg(long, env = "PALISADE_OTLP_ENDPOINT", value_name = "URL")]
        otlp_endpoint: Option<String>,
        /// After SIGTERM, keep serving this long while health checks say NOT_SERVING, so load balancers
        /// and Kubernetes endpoints stop routing here before the listeners close (e.g. 5s behind a
        /// Kubernetes Service). A second signal ends the drain at once.
        #[arg(long, env = "PALISADE_DRAIN", default_value = "0s", value_parser = humantime::parse_duration, value_name = "DURATION")]
        drain: std::time::Duration,
        /// How long the vault an answer carries (the values `pseudonymize` replaced, sealed) can restore
        /// them after the check that issued it. Each check that is passed a vault issues a fresh one.
        #[arg(long, env = "PALISADE_VAULT_TTL", default_value = "1h", value_parser = humantime::parse_duration, value_name = "DURATION")]
        vault_ttl: std::time::Duration,
        /// Serve only bundles signed by this key (a `.pub` file from `bundle keygen`); repeat for more
        /// keys. Checked at start and on every reload; the built-in bundle is part of the binary and needs
        /// no signature.
        #[arg(long = "trusted-key", value_name = "PUB")]
        trusted_keys: Vec<PathBuf>,
        /// Let a reload go back to a bundle whose [bundle] sequence is not above the running one's: a
        /// deliberate rollback. Without it such a reload is refused (a replayed older bundle).
        #[arg(long, env = "PALISADE_ALLOW_DOWNGRADE")]
        allow_downgrade: bool,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Run the chain over files, standard input or JSON lines, with no server.
    ///
    /// Exit status: 0 when every input was allowed or modified, 1 when any was denied, 2 on a usage, bundle
    /// or input error.
    Scan {
        /// Bundle directory (with bundle.toml); without it, the stock plugins built into this binary.
        #[arg(
            long,
            env = "PALISADE_BUNDLE",
            value_name = "DIR",
            conflicts_with = "plugin"
        )]
        bundle: Option<PathBuf>,
        /// Run this one component alone instead of a bundle: for trying a plugin you are writing. Its
        /// findings are reported and nothing is redacted (the default policy); its own deny still denies.
        #[arg(long, value_name = "FILE.wasm")]
        plugin: Option<PathBuf>,
        /// With --plugin: its config, as a JSON object (what `config = {…}` would be in a bundle).
        #[arg(long, value_name = "JSON", requires = "plugin")]
        config: Option<String>,
        /// Which leg of the exchange the input travels on, unless a JSON line says otherwise.
        #[arg(long, default_value = "input", value_parser = parse_dir)]
        direction: Dir,
        /// Read JSON lines ({"id", "text", "direction"?, …}) and write one JSON answer per line.
        #[arg(long)]
        jsonl: bool,
        /// How to read each input: text/plain, or application/json (every string of the body is
        /// inspected, OpenAI / Anthropic chat bodies with their roles and tools; redactions keep the JSON's
        /// shape), or application/x-ndjson (each line a JSON document). With --jsonl, the default for
        /// lines without a "content_type".
        #[arg(long, default_value = "text/plain", value_parser = parse_content_type)]
        content_type: ContentType,
        /// With --jsonl: lines scanned at once, on as many threads; answers keep the input's order.
        /// Default: the cores this process may use.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
        /// Call every plugin for every input, ignoring the gates plugins declare (what a text must hold
        /// for them to find anything): to check that a plugin's gate loses nothing, the answers with and
        /// without this flag must be the same.
        #[arg(long)]
        no_gates: bool,
        /// A vault file for `pseudonymize` offline: the stand-ins of the output path are restored from it,
        /// and the values this scan pseudonymizes are added to it (it is created if missing). Sealed
        /// under PALISADE_HASH_KEY, which must be set so that a later scan can open it.
        #[arg(long, value_name = "FILE")]
        vault: Option<PathBuf>,
        /// How long the --vault file written opens after this scan.
        #[arg(long, default_value = "7d", value_parser = humantime::parse_duration, value_name = "DURATION", requires = "vault")]
        vault_ttl: std::time::Duration,
        /// Files to scan; none, or `-`, reads standard input.
        files: Vec<PathBuf>,
    },
    /// Work with bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Write plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Load a running `palisade serve` over gRPC and report latency percentiles and throughput.
    ///
    /// With --rate, an open loop: each request is due at its own time and its latency counts from then,
    /// so a server that falls behind shows in the percentiles. Without it, a closed loop of --concurrency
    /// callers finds the maximum throughput. Exit status 1 if any call failed.
    Bench {
        /// The server to load (host:port).
        #[arg(long, default_value = "127.0.0.1:50051", value_name = "ADDR")]
        addr: String,
        /// Requests per second, open loop; without it, closed loop.
        #[arg(long, value_name = "N")]
        rate: Option<u32>,
        /// Closed loop: callers at once, each sending its next request when the last is answered.
        #[arg(long, default_value_t = 32, value_name = "N")]
        concurrency: usize,
        /// HTTP/2 connections to spread the calls over.
        #[arg(long, default_value_t = 4, value_name = "N")]
        connections: usize,
        /// How long to send for.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
        /// The most requests to send.
        #[arg(long, default_value_t = 1_000_000, value_name = "N")]
        requests: u64,
        /// Calls sent first and not measured.
        #[arg(long, default_value_t = 200, value_name = "N")]
        warmup: u64,
        /// Size of the generated prompt (ordinary prose).
        #[arg(long, default_value = "4KiB", value_parser = parse_size, value_name = "SIZE")]
        size: usize,
        /// Put one email address in the generated prompt, so every call is redacted.
        #[arg(long)]
        with_finding: bool,
        /// Send this file's text instead of a generated prompt.
        #[arg(long, value_name = "FILE")]
        text: Option<PathBuf>,
    },
}

/// Transport security for `serve`.
#[derive(clap::Args)]
struct TlsArgs {
    /// Serve gRPC over TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        env = "PALISADE_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(
        long,
        env = "PALISADE_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// Mutual TLS: require client certificates issued by this CA (PEM). A caller's principal is then
    /// its certificate's SPIFFE ID (its spiffe:// URI SAN); it may claim no other.
    #[arg(
        long,
        env = "PALISADE_CLIENT_CA",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    client_ca: Option<PathBuf>,
    /// With --client-ca: a caller that may claim principals other than its own — a gateway speaking
    /// for its users (a SPIFFE ID; `*` matches any run of characters). Repeat for more.
    #[arg(
        long = "trusted-gateway",
        value_name = "SPIFFE_ID",
        requires = "client_ca"
    )]
    trusted_gateways: Vec<String>,
    /// With --client-ca: a caller that may call palisade.v1.Admin (Status, Reload), by SPIFFE ID (`*`
    /// globs). Repeat for more. Without mutual TLS, Admin answers callers on this host only.
    #[arg(
        long = "admin-client",
        value_name = "SPIFFE_ID",
        requires = "client_ca"
    )]
    admin_clients: Vec<String>,
}

impl TlsArgs {
    fn config(&self) -> anyhow::Result<Option<server::listen::Tls>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let read = |path: &PathBuf, flag: &str| {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read {flag} {}", path.display()))?;
            anyhow::ensure!(
                pem.windows(11).any(|w| w == b"-----BEGIN "),
                "{flag} {} is not PEM (expected a -----BEGIN ...----- block)",
                path.display()
            );
            Ok(pem)
        };
        let client_ca = self
            .client_ca
            .as_ref()
            .map(|ca| read(ca, "--client-ca"))
            .transpose()?;
        // Parsed now, so a bad certificate or key stops the start with the flag to fix.
        let tls = server::listen::Tls::from_pem(
            &read(cert, "--tls-cert")?,
            &read(key, "--tls-key")?,
            client_ca.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("TLS is not usable: {e}"))?;
        Ok(Some(tls))
    }
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Write the built-in stock bundle (bundle.toml and its .wasm files) to DIR, to copy and edit.
    Export {
        /// Directory to write; created if missing.
        dir: PathBuf,
    },
    /// Make a signing key pair: KEY (secret, owner-only) and KEY.pub (for `serve --trusted-key`).
    Keygen {
        /// Where to write the signing key; KEY.pub is written beside it. Existing files are kept.
        key: PathBuf,
    },
    /// Sign DIR/bundle.toml (which carries every file's sha256) into DIR/bundle.toml.sig. The bundle must
    /// load first: a bundle that cannot run is never signed.
    Sign {
        /// The signing key from `bundle keygen`.
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// The bundle directory.
        dir: PathBuf,
    },
    /// Check DIR's signature (against the trusted keys, if given) and that the bundle loads.
    Verify {
        /// A public key to require; repeat for more. Without one, any valid signature is reported.
        #[arg(long = "trusted-key", value_name = "PUB")]
        trusted_keys: Vec<PathBuf>,
        /// The bundle directory.
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Start a plugin project that builds as it is: sources, the WIT world, a build.sh that installs what
    /// the language needs, and a README. The plugin flags the words in its config (default "example");
    /// make it yours from there. Try it with `palisade scan --plugin DIR/build/NAME.wasm`.
    New {
        /// The plugin's name: lowercase letters, digits and '-' (it names the crate or package, the
        /// component file and the plugin in a bundle).
        name: String,
        /// The language: rust, python, js or c.
        #[arg(long, value_name = "LANG")]
        lang: scaffold::Language,
        /// Where to write the project (created; must be empty). Default: ./NAME.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

fn parse_dir(s: &str) -> Result<Dir, String> {
    s.parse()
}

fn parse_content_type(s: &str) -> Result<ContentType, String> {
    ContentType::parse(s).map_err(|e| e.to_string())
}

fn parse_size(s: &str) -> Result<usize, String> {
    bundle::parse_size(s)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A service logs what it does; a command-line scan only what went wrong.
    let default_filter = match cli.command {
        Command::Serve { .. } => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter);
    if cli.log_format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("palisade: {}", explain(&e));
            ExitCode::from(scan::EXIT_ERROR as u8)
        }
    }
}

/// The error and its causes, each once: the library's errors already end with their cause
/// (`bundle.toml: No such file or directory`), which `{:#}` would print a second time.
fn explain(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !message.ends_with(&cause) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&cause);
        }
    }
    message
}

/// The `--cache-dir` / `--no-cache` choice, kept for the commands that need an engine.
struct CacheChoice {
    dir: Option<PathBuf>,
    off: bool,
}

/// The engine, with the component cache unless it is turned off. A cache that cannot be used is logged
/// and skipped: it only saves time, so it never stops the service.
fn engine(cache: &CacheChoice) -> anyhow::Result<Engine> {
    let dir = match (&cache.dir, cache.off) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => ComponentCache::default_dir(),
    };
    let cache = dir.and_then(|dir| match ComponentCache::open(&dir) {
        Ok(cache) => Some(cache),
        Err(e) => {
            tracing::warn!(error = %e, "compiling without a component cache");
            None
        }
    });
    Ok(Engine::with_cache(cache)?)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    // Only the commands that load a bundle build an engine (and open the cache directory).
    let cache = CacheChoice {
        dir: cli.cache_dir,
        off: cli.no_cache,
    };
    match cli.command {
        Command::Serve {
            bundle,
            listen,
            max_payload,
            stream_hold_back,
            stream_idle,
            stream_max_duration,
            max_streams,
            max_queued,
            max_in_flight,
            principal_header,
            http,
            metrics,
            workers,
            no_watch,
            drain,
            vault_ttl,
            audit,
            otlp_endpoint,
            trusted_keys,
            allow_downgrade,
            tls,
        } => {
            let tls_config = tls.config()?;
            let engine = Arc::new(engine(&cache)?);
            let trusted_keys = read_trusted_keys(&trusted_keys)?;
            let loaded = load_bundle(&engine, bundle.as_deref(), &trusted_keys)?;
            let origin = match bundle {
                Some(dir) => BundleOrigin::Dir(dir),
                None => BundleOrigin::Embedded,
            };
            let workers = workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            let settings = Settings {
                max_payload,
                workers,
                trusted_keys,
                stream_hold_back,
                stream_idle,
                stream_max_duration,
                max_streams,
                max_queued,
                max_in_flight,
                principal_header: principal_header.map(|h| h.to_ascii_lowercase()),
                tls: tls_config,
                limits: server::listen::Limits::default(),
                trusted_gateways: tls.trusted_gateways.clone(),
                admin_clients: tls.admin_clients.clone(),
                allow_downgrade,
                vault_ttl,
            };
            if settings.max_in_flight < settings.max_message() {
                anyhow::bail!(
                    "--max-in-flight {} is below the largest request this server takes ({} bytes: twice \
                     --max-payload, plus 1 MiB), so such a request could never be served; raise \
                     --max-in-flight or lower --max-payload",
                    settings.max_in_flight,
                    settings.max_message()
                );
            }
            let transport = match (&tls.tls_cert, &tls.client_ca) {
                (None, _) => "plaintext",
                (Some(_), None) => "tls",
                (Some(_), Some(_)) => "mtls",
            };
            let bundle_id = loaded.id();
            let registry = Arc::new(Metrics::new());
            let audit = match audit.as_deref().map(audit::Sink::parse) {
                None => None,
                Some(sink) => {
                    tracing::info!(?sink, "writing audit events");
                    Some(
                        audit::AuditLog::open(&sink, registry.clone())
                            .context("--audit / PALISADE_AUDIT")?,
                    )
                }
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let telemetry = match &otlp_endpoint {
                None => None,
                Some(endpoint) => {
                    // The exporter's task runs on the service's runtime.
                    let _runtime = runtime.enter();
                    let telemetry = Telemetry::start(endpoint)?;
                    tracing::info!(endpoint, "exporting traces (OTLP/gRPC)");
                    Some(telemetry)
                }
            };
            let shared = Shared::new(
                engine,
                origin,
                loaded,
                hash_key()?,
                settings,
                registry.clone(),
                server::Records { audit, telemetry },
            );
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen} (--listen / PALISADE_LISTEN)"))?;
                let addr = listener.local_addr()?;
                // One signal, every server (gRPC, HTTP, metrics): each waits for the flag to flip.
                let (stop, stopped) = tokio::sync::watch::channel(false);
                let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                };
                let metrics_server = match metrics {
                    None => None,
                    Some(metrics_addr) => {
                        let listener = bind(metrics_addr, "metrics (--metrics / PALISADE_METRICS)").await?;
                        tracing::info!(metrics_addr = %listener.local_addr()?, "serving metrics at /metrics");
                        let done = until_stopped(stopped.clone());
                        Some(tokio::spawn(palisade::metrics::serve(listener, registry, done)))
                    }
                };
                let http_server = match http {
                    None => None,
                    Some(http_addr) => {
                        let listener = bind(http_addr, "the HTTP API (--http / PALISADE_HTTP)").await?;
                        tracing::info!(http_addr = %listener.local_addr()?, "serving the HTTP/JSON API at /v1/check");
                        let done = until_stopped(stopped.clone());
                        Some(tokio::spawn(server::http::serve(listener, shared.clone(), done)))
                    }
                };
                let draining = shared.clone();
                let mut signals = stop_signals();
                tokio::spawn(async move {
                    let Some(signal) = signals.recv().await else {
                        return;
                    };
                    draining.drain();
                    if !drain.is_zero() {
                        tracing::info!(
                            signal,
                            drain = %humantime::format_duration(drain),
                            "draining: health says NOT_SERVING, calls are still served until the drain ends"
                        );
                        tokio::select! {
                            _ = tokio::time::sleep(drain) => {}
                            Some(signal) = signals.recv() => tracing::info!(signal, "ending the drain now"),
                        }
                    }
                    let _ = stop.send(true);
                });
                // Reload triggers beside Admin/Reload: SIGHUP, and for a bundle directory the watcher.
                #[cfg(unix)]
                if let Err(e) = palisade::reload::on_sighup(shared.clone()) {
                    tracing::warn!("cannot watch SIGHUP ({e}); reload with Admin/Reload instead");
                }
                let mut _watcher = None;
                if let Some(dir) = shared.bundle_dir().map(|d| d.to_path_buf()) {
                    if !no_watch {
                        match palisade::reload::watch(shared.clone(), dir.clone()) {
                            Ok(w) => {
                                tracing::info!(dir = %dir.display(), "watching the bundle directory for changes");
                                _watcher = Some(w);
                            }
                            Err(e) => tracing::warn!("{e}; reload with SIGHUP or Admin/Reload instead"),
                        }
                    }
                }
                tracing::info!(%addr, transport, bundle = %bundle_id, workers, max_payload, "listening");
                server::serve(listener, shared.clone(), until_stopped(stopped)).await;
                if let Some(task) = http_server {
                    task.await?;
                }
                if let Some(task) = metrics_server {
                    task.await??;
                }
                shared.until_idle().await;
                shared.flush_audit();
                shared.flush_telemetry().await;
                tracing::info!("stopped");
                anyhow::Ok(0)
            })
        }
        Command::Scan {
            bundle,
            plugin,
            config,
            direction,
            jsonl,
            content_type,
            jobs,
            no_gates,
            vault,
            vault_ttl,
            files,
        } => {
            let jobs = jobs.map_or_else(
                || std::thread::available_parallelism().map_or(1, usize::from),
                usize::from,
            );
            let engine = engine(&cache)?;
            let mut bundle = match plugin {
                Some(wasm) => bundle::single_plugin(&engine, &wasm, config.as_deref())
                    .context("cannot run the plugin")?,
                None => load_bundle(&engine, bundle.as_deref(), &[])?,
            };
            if no_gates {
                bundle.ignore_gates();
            }
            let key = hash_key()?;
            let carried = match &vault {
                Some(path) => read_vault(path, &key)?,
                None => None,
            };
            let mut tally = scan::Tally::default();
            let defaults = scan::Defaults {
                direction,
                content_type,
                vault: carried.clone().map(Arc::new),
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let inputs = if files.is_empty() {
                vec![PathBuf::from("-")]
            } else {
                files
            };
            for path in inputs {
                let (name, reader): (String, Box<dyn Read>) = if path.as_os_str() == "-" {
                    ("<stdin>".into(), Box::new(std::io::stdin()))
                } else {
                    let file = std::fs::File::open(&path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    (path.display().to_string(), Box::new(file))
                };
                if jsonl {
                    scan::jsonl(
                        &bundle,
                        &key,
                        &defaults,
                        &name,
                        BufReader::new(reader),
                        jobs,
                        &mut out,
                        &mut tally,
                    )?;
                } else {
                    let mut bytes = Vec::new();
                    BufReader::new(reader)
                        .read_to_end(&mut bytes)
                        .with_context(|| format!("cannot read {name}"))?;
                    let text = String::from_utf8(bytes).map_err(|e| {
                        anyhow::anyhow!(
                            "{name}: not UTF-8 text (invalid byte at offset {})",
                            e.utf8_error().valid_up_to()
                        )
                    })?;
                    scan::plain(&bundle, &key, &defaults, &name, text, &mut out, &mut tally)?;
                }
            }
            if let Some(path) = &vault {
                let mut table = std::mem::take(&mut tally.pseudonyms);
                if let Some(carried) = carried {
                    table.merge(carried)?;
                }
                write_vault(path, &table, &key, vault_ttl)?;
            }
            Ok(tally.exit_code())
        }
        Command::Bench {
            addr,
            rate,
            concurrency,
            connections,
            duration,
            requests,
            warmup,
            size,
            with_finding,
            text,
        } => {
            use palisade::loadgen;
            anyhow::ensure!(
                rate != Some(0),
                "--rate must be at least 1 request per second"
            );
            let text = match text {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read --text {}", path.display()))?,
                None => loadgen::prompt(size, with_finding),
            };
            let plan = loadgen::Plan {
                rate,
                concurrency,
                connections,
                duration,
                requests,
                warmup,
                request: loadgen::text_request(text),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = runtime.block_on(loadgen::run(&addr, &plan))?;
            print!("{}", report.render(&plan));
            Ok(i32::from(report.errors() > 0))
        }
        Command::Plugin(PluginCommand::New { name, lang, dir }) => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let files = scaffold::new_plugin(&dir, &name, lang)?;
            eprintln!(
                "wrote {} files to {}; next:\n  bash {}/build.sh\n  echo 'an example' | palisade scan --plugin {}/build/{name}.wasm",
                files.len(),
                dir.display(),
                dir.display(),
                dir.display()
            );
            Ok(0)
        }
        Command::Bundle(BundleCommand::Export { dir }) => {
            bundle::embedded::export(&dir)?;
            eprintln!("wrote the stock bundle to {}", dir.display());
            Ok(0)
        }
        Command::Bundle(BundleCommand::Keygen { key }) => {
            let public = signing::write_keypair(&key)?;
            eprintln!(
                "wrote {} (secret) and its .pub; public key {}",
                key.display(),
                signing::show(&public)
            );
            Ok(0)
        }
        Command::Bundle(BundleCommand::Sign { key, dir }) => {
            let signing_key = signing::read_signing_key(&key)?;
            let engine = engine(&cache)?;
            let loaded = bundle::load_dir(&engine, &dir)
                .with_context(|| format!("not signing {}: it does not load", dir.display()))?;
            let manifest_path = dir.join("bundle.toml");
            let manifest = std::fs::read(&manifest_path)
                .with_context(|| format!("cannot read {}", manifest_path.display()))?;
            let sig_path = dir.join(signing::SIGNATURE_FILE);
            std::fs::write(&sig_path, signing::sign(&manifest, &signing_key))
                .with_context(|| format!("cannot write {}", sig_path.display()))?;
            eprintln!(
                "signed {} ({} plugins) with key {}",
                loaded.id(),
                loaded.plugins.len(),
                signing::show(&signing_key.verifying_key())
            );
            Ok(0)
        }
        Command::Bundle(BundleCommand::Verify { trusted_keys, dir }) => {
            let engine = engine(&cache)?;
            let trusted = read_trusted_keys(&trusted_keys)?;
            let manifest_path = dir.join("bundle.toml");
            let manifest = std::fs::read(&manifest_path)
                .with_context(|| format!("cannot read {}", manifest_path.display()))?;
            let signer = bundle::signer(&dir, &manifest, &trusted)?;
            // The bytes just verified are the bytes loaded.
            let manifest = String::from_utf8(manifest)
                .with_context(|| format!("{} is not UTF-8", manifest_path.display()))?;
            let loaded = bundle::load(&engine, &manifest, &bundle::DirSource::new(&dir))?;
            let trust = if trusted.is_empty() {
                "not checked against a trusted key; --trusted-key requires one"
            } else {
                "a trusted key"
            };
            println!(
                "{}: {} signed by {} ({trust}); all digests match and every plugin loads",
                dir.display(),
                loaded.id(),
                signing::show(&signer)
            );
            Ok(0)
        }
    }
}

/// A listener for a side server; the error names what it was for and the flag to change.
async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for {what}"))
}

/// Each SIGTERM (how orchestrators stop a service) or Ctrl-C, named, as it arrives. Listening starts
/// here, once, so a second signal during the drain is never missed.
fn stop_signals() -> tokio::sync::mpsc::UnboundedReceiver<&'static str> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        for (kind, name) in [
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::interrupt(), "SIGINT"),
        ] {
            match signal(kind) {
                Ok(mut signals) => {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while signals.recv().await.is_some() && tx.send(name).is_ok() {}
                    });
                }
                Err(e) => tracing::warn!(
                    "cannot watch {name} ({e}); it will not stop the server gracefully"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() && tx.send("Ctrl-C").is_ok() {}
    });
    rx
}

fn read_trusted_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<ed25519_dalek::VerifyingKey>> {
    paths
        .iter()
        .map(|p| signing::read_verifying_key(p).context("cannot read a --trusted-key"))
        .collect()
}

fn load_bundle(
    engine: &Engine,
    dir: Option<&std::path::Path>,
    trusted_keys: &[ed25519_dalek::VerifyingKey],
) -> anyhow::Result<Bundle> {
    let bundle = match dir {
        Some(dir) => bundle::load_dir_trusted(engine, dir, trusted_keys)
            .with_context(|| format!("cannot load the bundle in {}", dir.display()))?,
        None => bundle::load_embedded(engine).context("cannot load the built-in stock bundle")?,
    };
    tracing::info!(bundle = %bundle.id(), digest = %bundle.digest, plugins = bundle.plugins.len(), "bundle loaded");
    match engine.cache() {
        Some(cache) => {
            let stats = cache.stats();
            tracing::info!(dir = %cache.dir().display(), hits = stats.hits, compiles = stats.compiles, "component cache");
        }
        None => tracing::info!("no component cache: every start compiles every plugin"),
    }
    Ok(bundle)
}

/// The table of a `scan --vault` file; `None` when there is no file yet. The key must be one a later scan
/// has too.
fn read_vault(path: &Path, key: &HashKey) -> anyhow::Result<Option<Pseudonyms>> {
    anyhow::ensure!(
        std::env::var_os("PALISADE_HASH_KEY").is_some_and(|k| !k.is_empty()),
        "--vault needs PALISADE_HASH_KEY set: the vault is sealed under it, and without it each scan \
         would use a new random key that no later scan could open the vault with"
    );
    let sealed = match std::fs::read_to_string(path) {
        Ok(sealed) => sealed,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the vault {}", path.display()))
        }
    };
    let table = pseudonym::open(&sealed, None, SystemTime::now(), &VaultKey::derive(key))
        .with_context(|| format!("the vault {} restores nothing", path.display()))?;
    Ok(Some(table))
}

/// Writes `table` to `path` sealed for `ttl`, whole or not at all (a new file, then renamed over it).
fn write_vault(
    path: &Path,
    table: &Pseudonyms,
    key: &HashKey,
    ttl: std::time::Duration,
) -> anyhow::Result<()> {
    let sealed = pseudonym::seal(table, None, SystemTime::now() + ttl, &VaultKey::derive(key))
        .map_err(|e| anyhow::anyhow!("cannot seal the vault: {e}"))?;
    let partial = path.with_extension("partial");
    std::fs::write(&partial, sealed + "\n")
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("cannot write the vault {}", path.display()))?;
    let n = table.len();
    let s = if n == 1 { "" } else { "s" };
    eprintln!("{}: the vault holds {n} value{s}", path.display());
    Ok(())
}

/// `PALISADE_HASH_KEY` keeps `hash` pseudonyms stable across restarts and replicas; without it they are
/// stable within one process only.
fn hash_key() -> anyhow::Result<HashKey> {
    match std::env::var("PALISADE_HASH_KEY") {
        Ok(key) if !key.is_empty() => Ok(HashKey::new(key.into_bytes())),
        _ => HashKey::random().map_err(anyhow::Error::msg),
    }
}
