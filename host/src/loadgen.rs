//! `palisade bench`: a load generator for a running `palisade serve`, over loopback gRPC.
//!
//! - Open loop (`--rate N`): request *i* is due at `start + i/N` whatever happened to the ones before, and
//!   its latency is measured from that intended time, not from when it was actually sent. A server (or a
//!   generator) that falls behind therefore shows up in the percentiles instead of quietly slowing the
//!   offered load — no coordinated omission.
//! - Closed loop (`--concurrency C`, no rate): C callers each send the next request as soon as the last
//!   is answered; this finds the maximum throughput, and its latencies are service times.
//!
//! Bounded in time (`--duration`) and count (`--requests`). Latencies go into an HDR histogram (µs, three
//! significant digits); the report gives p50/p90/p99/p99.9/max, throughput, decisions and errors by code.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tonic::transport::Channel;

use crate::server::proto::guardrail_client::GuardrailClient;
use crate::server::proto::{check_request, CheckRequest, Decision};

/// What to send, how, and for how long.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Requests per second for an open loop; `None` runs closed loop.
    pub rate: Option<u32>,
    /// Closed loop: callers at once. Open loop: ignored (every due request is sent).
    pub concurrency: usize,
    /// HTTP/2 connections the requests are spread over.
    pub connections: usize,
    /// How long to send for.
    pub duration: Duration,
    /// The most requests to send.
    pub requests: u64,
    /// Sent first, not measured: connections made, caches warm.
    pub warmup: u64,
    /// The request sent every time.
    pub request: CheckRequest,
}

/// What a run measured.
#[derive(Debug)]
pub struct Report {
    /// Requests answered (any way) and measured.
    pub completed: u64,
    /// Answers by decision (`allow`, `modify`, `deny`) and errors by gRPC code (`error:Unavailable`).
    pub outcomes: BTreeMap<String, u64>,
    /// Latencies of successful calls, in µs.
    pub latency: Histogram<u64>,
    /// From the first intended send to the last answer.
    pub elapsed: Duration,
}

impl Report {
    /// Calls answered with an error.
    pub fn errors(&self) -> u64 {
        self.outcomes
            .iter()
            .filter(|(k, _)| k.starts_with("error:"))
            .map(|(_, n)| n)
            .sum()
    }

    /// Completed calls per second.
    pub fn throughput(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The report as the command prints it.
    pub fn render(&self, plan: &Plan) -> String {
        let q = |p: f64| self.latency.value_at_quantile(p);
        let mode = match plan.rate {
            Some(rate) => format!("open loop at {rate} req/s"),
            None => format!("closed loop, {} callers", plan.concurrency),
        };
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        format!(
            "{mode}, {connections} connections: {completed} calls in {secs:.2} s = {tput:.0} req/s\n\
             latency µs{from}: p50 {p50}  p90 {p90}  p99 {p99}  p99.9 {p999}  max {max}\n\
             outcomes: {outcomes}\n",
            connections = plan.connections,
            completed = self.completed,
            secs = self.elapsed.as_secs_f64(),
            tput = self.throughput(),
            from = if plan.rate.is_some() {
                " (from intended send time)"
            } else {
                ""
            },
            p50 = q(0.5),
            p90 = q(0.9),
            p99 = q(0.99),
            p999 = q(0.999),
            max = self.latency.max(),
            outcomes = outcomes.join(", "),
        )
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a `host:port`.
    #[error("{0:?} is not an address; give host:port, e.g. 127.0.0.1:50051")]
    Address(String),
    /// No connection to the server.
    #[error("cannot connect to {addr}: {source} (is `palisade serve` listening there?)")]
    Connect {
        /// Where.
        addr: String,
        /// Why.
        source: tonic::transport::Error,
    },
    /// The warm-up calls failed: the run would measure only errors.
    #[error("the warm-up call failed: {0}")]
    Warmup(tonic::Status),
}

/// A text of `size` bytes of ordinary prose, with one email address in it when `with_finding`.
pub fn prompt(size: usize, with_finding: bool) -> String {
    const PROSE: &str =
        "Summarise the quarterly report for the board, keeping the tone neutral and the \
        figures exact. Mention the regional results, the hiring plan and the risks we discussed. ";
    let mut text = String::with_capacity(size + PROSE.len());
    if with_finding {
        text.push_str("Send the summary to ana.silva@example.com afterwards. ");
    }
    while text.len() < size {
        text.push_str(PROSE);
    }
    // Prose is ASCII, so any byte offset is a character boundary.
    text.truncate(size);
    text
}

/// A plain-text Check of `text`.
pub fn text_request(text: String) -> CheckRequest {
    CheckRequest {
        content: Some(check_request::Content::Text(text)),
        ..Default::default()
    }
}

/// Runs `plan` against the server at `addr` (`host:port`).
pub async fn run(addr: &str, plan: &Plan) -> Result<Report, LoadError> {
    let mut clients = Vec::with_capacity(plan.connections.max(1));
    for _ in 0..plan.connections.max(1) {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .map_err(|_| LoadError::Address(addr.into()))?
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(|source| LoadError::Connect {
                addr: addr.into(),
                source,
            })?;
        clients.push(GuardrailClient::new(channel));
    }
    for i in 0..plan.warmup {
        let mut client = clients[i as usize % clients.len()].clone();
        client
            .check(plan.request.clone())
            .await
            .map_err(LoadError::Warmup)?;
    }
    let tally = Arc::new(Mutex::new(Tally::new()));
    let started = Instant::now();
    match plan.rate {
        Some(rate) => open_loop(&clients, plan, rate, &tally, started).await,
        None => closed_loop(&clients, plan, &tally, started).await,
    }
    let elapsed = started.elapsed();
    let tally = std::mem::replace(
        &mut *tally.lock().unwrap_or_else(|p| p.into_inner()),
        Tally::new(),
    );
    Ok(Report {
        completed: tally.completed,
        outcomes: tally.outcomes,
        latency: tally.latency,
        elapsed,
    })
}

struct Tally {
    completed: u64,
    outcomes: BTreeMap<String, u64>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            completed: 0,
            outcomes: BTreeMap::new(),
            // 1 µs to 1 h at three significant digits: cannot fail for these bounds.
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("valid histogram bounds"),
        }
    }

    fn record(
        &mut self,
        answer: &Result<tonic::Response<crate::server::proto::CheckResponse>, tonic::Status>,
        latency: Duration,
    ) {
        self.completed += 1;
        let outcome = match answer {
            Ok(r) => {
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                self.latency.saturating_record(us.max(1));
                match r.get_ref().decision() {
                    Decision::Allow => "allow".to_string(),
                    Decision::Modify => "modify".to_string(),
                    Decision::Deny => "deny".to_string(),
                    Decision::Unspecified => "unspecified".to_string(),
                }
            }
            Err(status) => format!("error:{:?}", status.code()),
        };
        *self.outcomes.entry(outcome).or_default() += 1;
    }
}

/// Sends each request at its intended time from a thread of its own: tokio's timer ticks in whole
/// milliseconds, which would send requests up to 1 ms late and add that to every latency, while a thread's
/// sleep (with its timer slack set to 1 ns) wakes within a few µs. Lateness still counts, from intended time.
async fn open_loop(
    clients: &[GuardrailClient<Channel>],
    plan: &Plan,
    rate: u32,
    tally: &Arc<Mutex<Tally>>,
    started: Instant,
) {
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let clients = clients.to_vec();
    let plan = plan.clone();
    let tally = tally.clone();
    let runtime = tokio::runtime::Handle::current();
    let pacer = tokio::task::spawn_blocking(move || {
        // 1 ns of slack instead of the default 50 µs: wake when asked. Best effort.
        #[cfg(target_os = "linux")]
        let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
        let mut calls = Vec::new();
        for i in 0..plan.requests {
            let intended = started + period.mul_f64(i as f64);
            if intended.duration_since(started) >= plan.duration {
                break;
            }
            if let Some(early) = intended.checked_duration_since(Instant::now()) {
                std::thread::sleep(early);
            }
            let mut client = clients[i as usize % clients.len()].clone();
            let request = plan.request.clone();
            let tally = tally.clone();
            calls.push(runtime.spawn(async move {
                let answer = client.check(request).await;
                let latency = intended.elapsed();
                tally
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .record(&answer, latency);
            }));
        }
        calls
    });
    // A pacer or call that panicked has nothing to record; the count shows what completed.
    for call in pacer.await.unwrap_or_default() {
        let _ = call.await;
    }
}

async fn closed_loop(
    clients: &[GuardrailClient<Channel>],
    plan: &Plan,
    tally: &Arc<Mutex<Tally>>,
    started: Instant,
) {
    let remaining = Arc::new(std::sync::atomic::AtomicU64::new(plan.requests));
    let mut callers = tokio::task::JoinSet::new();
    for c in 0..plan.concurrency.max(1) {
        let mut client = clients[c % clients.len()].clone();
        let request = plan.request.clone();
        let tally = tally.clone();
        let remaining = remaining.clone();
        let deadline = started + plan.duration;
        callers.spawn(async move {
            use std::sync::atomic::Ordering;
            while Instant::now() < deadline
                && remaining
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
            {
                let sent = Instant::now();
                let answer = client.check(request.clone()).await;
                let latency = sent.elapsed();
                tally
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .record(&answer, latency);
            }
        });
    }
    while callers.join_next().await.is_some() {}
}
