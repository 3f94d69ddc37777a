//! Prometheus metrics for `palisade serve --metrics ADDR`: what was decided, how long it took, which
//! plugins failed and how, and which bundle is serving. Served as text at `GET /metrics`.
//!
//! Labels are bounded: decisions, gRPC codes and failure kinds are fixed sets; plugin names come from the
//! operator's bundle, never from callers.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::PluginError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabel {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    plugin: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BundleLabels {
    bundle: String,
    digest: String,
}

/// The service's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    checks: Family<DecisionLabels, Counter>,
    chain_duration: Histogram,
    plugin_duration: Family<PluginLabel, Histogram, fn() -> Histogram>,
    errors: Family<CodeLabel, Counter>,
    duration: Histogram,
    plugin_failures: Family<FailureLabels, Counter>,
    reloads: Family<ResultLabel, Counter>,
    audit: Family<ResultLabel, Counter>,
    bundle: Family<BundleLabels, Gauge>,
    in_flight_bytes: Gauge,
    serving: Mutex<Option<BundleLabels>>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("palisade");
        let checks = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "checks",
            "Exchanges decided, by decision and direction (every transport)",
            checks.clone(),
        );
        let errors = Family::<CodeLabel, Counter>::default();
        registry.register(
            "check_errors",
            "Check calls answered with an error, by gRPC code",
            errors.clone(),
        );
        // 50 µs to ~1.6 s in doublings: stock plugins answer in microseconds, budgets cut off in milliseconds.
        let duration = Histogram::new(exponential_buckets(50e-6, 2.0, 16));
        registry.register(
            "check_duration_seconds",
            "Time from receiving a Check to answering it",
            duration.clone(),
        );
        // 10 µs to ~0.3 s in doublings: a stock plugin takes microseconds on a prompt, a budget runs out in
        // milliseconds.
        let chain_duration = Histogram::new(exponential_buckets(10e-6, 2.0, 16));
        registry.register(
            "chain_duration_seconds",
            "Time an exchange spent in the chain (payload adapter and plugins), without queueing",
            chain_duration.clone(),
        );
        let plugin_duration = Family::<PluginLabel, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(10e-6, 2.0, 16))) as fn() -> Histogram,
        );
        registry.register(
            "plugin_duration_seconds",
            "Time a plugin spent inspecting an exchange (all its texts), by plugin",
            plugin_duration.clone(),
        );
        let plugin_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "plugin_failures",
            "Plugin calls that failed, by plugin and kind",
            plugin_failures.clone(),
        );
        let reloads = Family::<ResultLabel, Counter>::default();
        registry.register("reloads", "Bundle reloads, by result", reloads.clone());
        let audit = Family::<ResultLabel, Counter>::default();
        // Exported at 0 from the start, so an alert on their increase sees the first one, and an absent
        // series never stands in for zero.
        for result in ["ok", "error"] {
            let _ = reloads.get_or_create(&ResultLabel { result });
        }
        for result in ["written", "dropped", "error"] {
            let _ = audit.get_or_create(&ResultLabel { result });
        }
        registry.register(
            "audit_events",
            "Audit events written, dropped because the sink fell behind, or failed to write",
            audit.clone(),
        );
        let in_flight_bytes = Gauge::default();
        registry.register(
            "in_flight_bytes",
            "Bytes of request bodies held now, of --max-in-flight",
            in_flight_bytes.clone(),
        );
        let bundle = Family::<BundleLabels, Gauge>::default();
        registry.register(
            "bundle_info",
            "The bundle serving (1) by name@version and digest",
            bundle.clone(),
        );
        Metrics {
            registry,
            checks,
            chain_duration,
            plugin_duration,
            errors,
            duration,
            plugin_failures,
            reloads,
            audit,
            bundle,
            in_flight_bytes,
            serving: Mutex::new(None),
        }
    }

    /// An exchange on `direction` decided `decision`, answered `elapsed` after it arrived.
    pub fn checked(&self, decision: &'static str, direction: &'static str, elapsed: Duration) {
        self.checks
            .get_or_create(&DecisionLabels {
                decision,
                direction,
            })
            .inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// Time an exchange spent in the chain, and in each plugin (by name).
    pub fn chain_ran<'a>(
        &self,
        took: Duration,
        plugins: impl Iterator<Item = (&'a str, Duration)>,
    ) {
        self.chain_duration.observe(took.as_secs_f64());
        for (plugin, took) in plugins {
            self.plugin_duration
                .get_or_create(&PluginLabel {
                    plugin: plugin.to_string(),
                })
                .observe(took.as_secs_f64());
        }
    }

    /// A Check answered with an error status.
    pub fn check_error(&self, code: tonic::Code, elapsed: Duration) {
        self.errors
            .get_or_create(&CodeLabel {
                code: format!("{code:?}"),
            })
            .inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// An audit event `written`, `dropped` or in `error`; returns how many have been, with this one.
    pub fn audit(&self, result: &'static str) -> u64 {
        self.audit.get_or_create(&ResultLabel { result }).inc() + 1
    }

    /// A plugin call that failed.
    pub fn plugin_failed(&self, plugin: &str, error: &PluginError) {
        self.plugin_failures
            .get_or_create(&FailureLabels {
                plugin: plugin.to_string(),
                kind: error.kind(),
            })
            .inc();
    }

    /// A reload that succeeded or failed.
    pub fn reloaded(&self, ok: bool) {
        self.reloads
            .get_or_create(&ResultLabel {
                result: if ok { "ok" } else { "error" },
            })
            .inc();
    }

    /// The gauge of request bytes held now, which the in-flight budget keeps.
    pub fn in_flight_bytes(&self) -> Gauge {
        self.in_flight_bytes.clone()
    }

    /// The bundle now serving; the previous one's series is removed.
    pub fn serving(&self, bundle: &str, digest: &str) {
        let labels = BundleLabels {
            bundle: bundle.to_string(),
            digest: digest.to_string(),
        };
        let mut serving = self.serving.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = serving.take() {
            self.bundle.remove(&old);
        }
        self.bundle.get_or_create(&labels).set(1);
        *serving = Some(labels);
    }

    /// The metrics in Prometheus / OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoding error would be a bug in a label type.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("encoding metrics failed: {e}");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: std::sync::Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
