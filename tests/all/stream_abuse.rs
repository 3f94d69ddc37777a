//! Streams that abuse the server beside ordinary callers: slow drips, answers spread over every channel
//! a stream may have, and streams that hoard bytes. Each abuser gets what the limits allow and no more,
//! the ordinary calls beside them are all answered, and the server's memory stays within its budget.
//!
//! The test prints what it measured (ordinary-call latency alone and beside the abuse, the server's CPU
//! and resident memory); BENCHMARKS.md keeps a run of it. Only the limits are asserted, never a time.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade::server::proto::guardrail_client::GuardrailClient;
use palisade::server::proto::{CheckStreamRequest, Decision};
use serde_json::json;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;
use tonic::Code;

use crate::serve::{text, Server};

type Client = GuardrailClient<tonic::transport::Channel>;

/// Sends `chunk` on a stream; false once the stream has ended.
async fn send(tx: &Sender<CheckStreamRequest>, chunk: Vec<u8>) -> bool {
    let message = CheckStreamRequest {
        chunk,
        ..Default::default()
    };
    tx.send(message).await.is_ok()
}

/// A CheckStream whose answers are read in a task of its own (the server waits for a reader).
struct Fed {
    tx: Sender<CheckStreamRequest>,
    answers: Arc<AtomicUsize>,
    /// Whether the last answer said done, or the status the stream ended with.
    ended: JoinHandle<Result<bool, tonic::Status>>,
}

impl Fed {
    /// Opens a stream of `content_type` (its first chunk empty).
    async fn open(mut client: Client, content_type: &str) -> Fed {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tx.send(CheckStreamRequest {
            content_type: content_type.into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let answers = Arc::new(AtomicUsize::new(0));
        let counted = answers.clone();
        let ended = tokio::spawn(async move {
            let mut inbound = client
                .check_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await?
                .into_inner();
            let mut done = false;
            while let Some(answer) = inbound.message().await? {
                counted.fetch_add(1, Ordering::Relaxed);
                done |= answer.done;
            }
            Ok(done)
        });
        Fed { tx, answers, ended }
    }

    /// Half-closes the stream and waits for how it ended.
    async fn end(self) -> Result<bool, tonic::Status> {
        drop(self.tx);
        self.ended.await.unwrap()
    }
}

/// One event of an OpenAI chat stream: `content` for choice `index`.
fn choice(index: usize, content: &str) -> Vec<u8> {
    let event = json!({"choices": [{"index": index, "delta": {"content": content}}]});
    format!("data: {event}\n\n").into_bytes()
}

/// The server's CPU time so far (user and system), from /proc.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// The server's resident memory now and at its peak, in MiB, from /proc.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        (status.lines())
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap()
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `n` ordinary calls one after another, each a 4 KiB prompt with an address that must come back
/// redacted: their latencies (sorted), and the server CPU they took per second.
async fn ordinary_calls(server: &Server, n: usize) -> (Vec<Duration>, f64) {
    let prompt = format!(
        "{} write to maria.lopez@example.com",
        "Please summarise the thread and draft a reply. ".repeat(85)
    );
    let mut client = server.client().await;
    let (started, cpu_before) = (Instant::now(), cpu(server.child.id()));
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = Instant::now();
        let answer = client.check(text(&prompt)).await.unwrap().into_inner();
        times.push(sent.elapsed());
        assert_eq!(answer.decision(), Decision::Modify, "{}", answer.reason);
    }
    let busy =
        (cpu(server.child.id()) - cpu_before).as_secs_f64() / started.elapsed().as_secs_f64();
    times.sort();
    (times, busy)
}

/// Ends `fed`, which must end with its decision or, full, at --max-payload: the chunks it answered.
async fn ends_at_most_full(fed: Fed) -> usize {
    let answers = fed.answers.clone();
    match fed.end().await {
        Ok(done) => assert!(done, "a stream served to its end has its decision"),
        Err(status) => assert!(status.message().contains("--max-payload"), "{status:?}"),
    }
    answers.load(Ordering::Relaxed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread")]
async fn drips_hoarders_and_many_channels_beside_ordinary_calls_stay_within_the_limits() {
    const BUDGET: usize = 8 << 20;
    let server = Server::start(&[
        "--max-payload",
        "1MiB",
        "--max-in-flight",
        "8MiB",
        "--metrics",
        "127.0.0.1:0",
    ])
    .await;
    let pid = server.child.id();
    let in_flight =
        || async { crate::serve::sample(&server.metrics().await, "palisade_in_flight_bytes") };
    let (alone, cpu_alone) = ordinary_calls(&server, 1000).await;

    // Slow drips: 32 streams, a byte every 50 ms each, for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let mut drips = Vec::new();
    for _ in 0..32 {
        let fed = Fed::open(server.client().await, "text/plain").await;
        let stop = stop.clone();
        drips.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) && send(&fed.tx, b"a".to_vec()).await {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            fed.end().await
        }));
    }

    // Hoarders: 12 streams each send 256 events of 3 KiB, one per channel, and stay open. Together that
    // is more than the budget: each stream's bytes stay charged until it ends, so some are refused.
    let filler =
        "the quarterly numbers look fine and nothing here is sensitive at all. ".repeat(44);
    let mut hoarders = Vec::new();
    for _ in 0..12 {
        let fed = Fed::open(server.client().await, "text/event-stream").await;
        let (feeding, filler) = (fed.tx.clone(), filler.clone());
        tokio::spawn(async move {
            for index in 0..palisade::stream::MAX_CHANNELS {
                if !send(&feeding, choice(index, &filler)).await {
                    break;
                }
            }
        });
        hoarders.push(fed);
    }
    let all_read = palisade::stream::MAX_CHANNELS + 1;
    let settled = Instant::now();
    while !hoarders
        .iter()
        .all(|h| h.answers.load(Ordering::Relaxed) == all_read || h.ended.is_finished())
    {
        assert!(
            settled.elapsed() < Duration::from_secs(120),
            "hoarders still being read"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held = in_flight().await;
    let (mut served, mut refused) = (0, 0);
    for fed in hoarders {
        match fed.end().await {
            Ok(done) => {
                assert!(done, "a hoarder that was served has its decision");
                served += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(status.message().contains("--max-in-flight"), "{status:?}");
                refused += 1;
            }
        }
    }
    let event_bytes = choice(0, &filler).len() as u64;
    assert!(refused > 0, "12 hoarders fit a budget of 8 MiB");
    assert!(
        held <= BUDGET as u64 && held >= served * event_bytes * 256,
        "the {served} streams served held {held} bytes, all they sent and within the budget"
    );
    let (_, hoarded_peak) = memory(pid);

    // Many channels: a stream spreads small events over all 256 channels, as fast as it is read and
    // anew each time it reaches --max-payload, while the ordinary calls run again.
    let spreading = {
        let (stop, client) = (stop.clone(), server.client().await);
        tokio::spawn(async move {
            let (mut sent, mut answered, mut streams) = (0usize, 0, 1);
            let mut fed = Fed::open(client.clone(), "text/event-stream").await;
            while !stop.load(Ordering::Relaxed) {
                let full = fed.ended.is_finished(); // its last sends may be in buffers on the way
                if full || !send(&fed.tx, choice(sent % 256, "a few more words, ")).await {
                    answered += ends_at_most_full(fed).await;
                    fed = Fed::open(client.clone(), "text/event-stream").await;
                    streams += 1;
                }
                sent += 1;
            }
            answered += ends_at_most_full(fed).await;
            (answered, streams)
        })
    };
    let (beside, cpu_beside) = ordinary_calls(&server, 1000).await;
    stop.store(true, Ordering::Relaxed);
    let (events, streams) = spreading.await.unwrap();
    for drip in drips {
        assert!(drip.await.unwrap().unwrap(), "a drip is served to its end");
    }
    let (rss, peak) = memory(pid);
    eprintln!(
        "ordinary calls, 4 KiB, one at a time: alone p50 {:?} p99 {:?} (server CPU {:.0}%); beside 32 \
         drips and 256-channel streams ({events} events read, {streams} streams) p50 {:?} p99 {:?} (server CPU {:.0}%); \
         {served} hoarders served, {refused} refused, {held} bytes held; server RSS {rss} MiB, peak \
         {hoarded_peak} MiB while hoarded, {peak} MiB in all",
        percentile(&alone, 0.5),
        percentile(&alone, 0.99),
        cpu_alone * 100.0,
        percentile(&beside, 0.5),
        percentile(&beside, 0.99),
        cpu_beside * 100.0,
    );
    // Generous: the default bundle serves in ~50 MiB, and the budget bounds what streams keep.
    assert!(
        peak < 256,
        "the server peaked at {peak} MiB with 8 MiB of requests"
    );
}
