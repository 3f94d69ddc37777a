//! Prometheus metrics for `palisade serve --metrics ADDR`: what was decided, what was found, how long it
//! took, which plugins failed and how, which bundle and build are serving, and the process itself. Served
//! as text at `GET /metrics`.
//!
//! Labels are bounded: decisions, actions, gRPC codes and failure kinds are fixed sets; plugin names come
//! from the operator's bundle, never from callers; categories come from the bundle's plugins, and past
//! [`MAX_CATEGORIES`] of them the rest count as `other`.

#[cfg(target_os = "linux")]
mod process;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::chain::ReportedFinding;
use crate::PluginError;

/// The most finding categories labelled by name. The stock plugins use about 40; a plugin that makes up
/// categories per input must not grow the metrics page without bound.
pub const MAX_CATEGORIES: usize = 100;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    decision: &'static str,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    category: String,
    action: &'static str,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    wasmtime: &'static str,
    target: &'static str,
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
    /// Unprefixed: `process_*` are the names every Prometheus client library exports.
    process: Registry,
    checks: Family<DecisionLabels, Counter>,
    findings: Family<FindingLabels, Counter>,
    categories: Mutex<HashSet<String>>,
    chain_duration: Histogram,
    plugin_duration: Family<PluginLabel, Histogram, fn() -> Histogram>,
    errors: Family<CodeLabel, Counter>,
    duration: Histogram,
    plugin_failures: Family<FailureLabels, Counter>,
    gates_shut: Family<PluginLabel, Counter>,
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
        let findings = Family::<FindingLabels, Counter>::default();
        registry.register(
            "findings",
            "Findings reported, by category, the action taken (`report` for a plugin in report mode) and \
             direction; an exchange's findings past the 1,000 it reports are not counted",
            findings.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                wasmtime: env!("PALISADE_WASMTIME_VERSION"),
                target: env!("PALISADE_TARGET"),
            })
            .set(1);
        registry.register(
            "build_info",
            "The build serving (1): Palisade's version, the wasmtime it runs plugins with, its target",
            build,
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
        let gates_shut = Family::<PluginLabel, Counter>::default();
        registry.register(
            "plugin_gate_shut",
            "Texts a plugin was not called for because its gate stayed shut (they held none of what it \
             looks for), by plugin",
            gates_shut.clone(),
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
        // The codes deploy/monitoring/alerts.yaml alerts on.
        for code in [
            tonic::Code::DeadlineExceeded,
            tonic::Code::ResourceExhausted,
        ] {
            let _ = errors.get_or_create(&CodeLabel {
                code: format!("{code:?}"),
            });
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
        #[allow(unused_mut)]
        let mut process = Registry::default();
        #[cfg(target_os = "linux")]
        process.register_collector(Box::new(process::ProcessCollector));
        Metrics {
            registry,
            process,
            checks,
            findings,
            categories: Mutex::new(HashSet::new()),
            chain_duration,
            plugin_duration,
            errors,
            duration,
            plugin_failures,
            gates_shut,
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

    /// The findings an exchange on `direction` reported.
    pub fn found(&self, findings: &[ReportedFinding], direction: &'static str) {
        if findings.is_empty() {
            return;
        }
        let mut categories = self.categories.lock().unwrap_or_else(|p| p.into_inner());
        for f in findings {
            let known = categories.contains(&f.category)
                || (categories.len() < MAX_CATEGORIES && categories.insert(f.category.clone()));
            let action = if f.enforced {
                f.action.as_str()
            } else {
                "report"
            };
            self.findings
                .get_or_create(&FindingLabels {
                    category: if known {
                        f.category.clone()
                    } else {
                        "other".into()
                    },
                    action,
                    direction,
                })
                .inc();
        }
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

    /// Texts plugins were not called for, their gates shut: (plugin, texts).
    pub fn gates_shut<'a>(&self, shut: impl Iterator<Item = (&'a str, u64)>) {
        for (plugin, texts) in shut {
            self.gates_shut
                .get_or_create(&PluginLabel {
                    plugin: plugin.to_string(),
                })
                .inc_by(texts);
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
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        // Writing into a String cannot fail; an encoding error would be a bug in a label type.
        let encoded = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &self.process))
            .and_then(|()| encode_eof(&mut out));
        if let Err(e) = encoded {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Action;

    fn finding(category: &str, action: Action, enforced: bool) -> ReportedFinding {
        ReportedFinding {
            plugin: "p".into(),
            rule: "p.rule".into(),
            category: category.into(),
            span: None,
            location: String::new(),
            confidence: 1.0,
            message: String::new(),
            action,
            enforced,
        }
    }

    #[test]
    fn findings_count_by_category_and_action_and_unknown_categories_past_the_cap_are_other() {
        let metrics = Metrics::new();
        metrics.found(
            &[
                finding("EMAIL_ADDRESS", Action::Redact, true),
                finding("EMAIL_ADDRESS", Action::Redact, true),
                finding("SECRET", Action::Deny, false),
            ],
            "input",
        );
        let many: Vec<_> = (0..MAX_CATEGORIES + 5)
            .map(|i| finding(&format!("MADE_UP_{i}"), Action::Report, true))
            .collect();
        metrics.found(&many, "output");
        let page = metrics.render();
        for want in [
            r#"palisade_findings_total{category="EMAIL_ADDRESS",action="redact",direction="input"} 2"#,
            // A plugin in report mode: counted as reported, whatever it would have done.
            r#"palisade_findings_total{category="SECRET",action="report",direction="input"} 1"#,
            r#"palisade_findings_total{category="MADE_UP_0",action="report",direction="output"} 1"#,
            // Two of the cap were taken by the first exchange's categories.
            r#"palisade_findings_total{category="other",action="report",direction="output"} 7"#,
        ] {
            assert!(page.contains(want), "{want} missing from:\n{page}");
        }
        assert_eq!(
            page.matches("category=\"MADE_UP_").count(),
            MAX_CATEGORIES - 2
        );
        // A category seen before keeps its name after the cap is reached.
        metrics.found(&[finding("SECRET", Action::Deny, true)], "input");
        assert!(metrics.render().contains(
            r#"palisade_findings_total{category="SECRET",action="deny",direction="input"} 1"#
        ));
    }

    #[test]
    fn the_page_carries_the_build_and_the_process_and_ends_once() {
        let page = Metrics::new().render();
        let build = format!(
            r#"palisade_build_info{{version="{}",wasmtime="48."#,
            env!("CARGO_PKG_VERSION")
        );
        assert!(page.contains(&build), "{build} missing from:\n{page}");
        #[cfg(target_os = "linux")]
        for want in [
            "\nprocess_cpu_seconds_total ",
            "\nprocess_resident_memory_bytes ",
            "\nprocess_open_fds ",
        ] {
            assert!(page.contains(want), "{want} missing from:\n{page}");
        }
        assert_eq!(page.matches("# EOF").count(), 1);
        assert!(page.ends_with("# EOF\n"));
    }
}
