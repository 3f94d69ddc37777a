//! `palisade.v1.Guardrail` over gRPC: `Check` (one payload) and `CheckStream` (a stream of chunks through
//! the hold-back). Both read the call, hand it to the gate, and answer what it decided.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tonic::{Request, Response, Status};

use super::api::{self, decision_out, dropped_out, failure_out, finding_out, would_out, Caller};
use super::gate::{Call, Refused, Streamed};
use super::proto::{self, guardrail_server::Guardrail};
use super::{caller_deadline, identity, next_within, non_empty, Shared, Silence};
use crate::chain::{self, Dir};
use crate::pseudonym::VaultError;
use crate::stream::StreamType;
use crate::telemetry::Parent;

/// `palisade.v1.Guardrail`.
pub struct GuardrailService(pub(super) Arc<Shared>);

type Answers = tokio::sync::mpsc::Sender<Result<proto::CheckStreamResponse, Status>>;

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
        let span = tracing::info_span!("check_stream");
        let permit = self.0.open_stream().map_err(|refused| {
            self.0.refuse("grpc-stream", "", received, &refused);
            Status::from(refused)
        })?;
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let shared = self.0.clone();
        tokio::spawn(
            async move {
                let _open = permit;
                let idle = shared.settings.stream_idle;
                // Every refusal is recorded where it is made: here before the stream has begun, by the
                // gate once it has.
                let streamed = match open_stream(&shared, request, received).await {
                    Ok((streamed, inbound, first, vault_error)) => {
                        run_stream(streamed, inbound, first, vault_error, idle, &tx).await
                    }
                    Err((request_id, refused)) => {
                        shared.refuse("grpc-stream", &request_id, received, &refused);
                        Err(refused)
                    }
                };
                if let Err(refused) = streamed {
                    let _ = tx.send(Err(refused.into())).await;
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
        let read = caller_deadline(&request, received)
            .and_then(|deadline| Ok((deadline, identity::peer_spiffe_id(&request)?)));
        let (deadline, peer) = match read {
            Ok(read) => read,
            Err(refused) => {
                let request_id = &request.get_ref().request_id;
                self.0.refuse("grpc", request_id, received, &refused);
                return Err(refused.into());
            }
        };
        let caller = Caller {
            transport: "grpc",
            peer,
            deadline,
            received,
            trace: Parent::from_http(request.metadata().as_ref()),
        };
        api::check(&self.0, request.into_inner(), caller)
            .await
            .map(Response::new)
            .map_err(Status::from)
    }
}

/// Reads a CheckStream's first message into the stream the gate checks, with the first chunk pushed. A
/// refusal comes with the request id it names, if it came that far.
async fn open_stream(
    shared: &Arc<Shared>,
    request: Request<tonic::Streaming<proto::CheckStreamRequest>>,
    received: Instant,
) -> Result<
    (
        Streamed,
        tonic::Streaming<proto::CheckStreamRequest>,
        Vec<u8>,
        Option<VaultError>,
    ),
    (String, Refused),
> {
    let deadline = caller_deadline(&request, received).map_err(|r| (String::new(), r))?;
    let deadline = Some(shared.stream_deadline(deadline, received));
    let peer = identity::peer_spiffe_id(&request).map_err(|r| (String::new(), r))?;
    let trace = Parent::from_http(request.metadata().as_ref());
    let mut inbound = request.into_inner();
    let first = next_chunk(
        &mut inbound,
        deadline,
        shared.settings.stream_idle,
        received,
    )
    .await
    .map_err(|r| (String::new(), r))?
    .unwrap_or_default();
    let request_id = first.request_id;
    let read = || -> Result<(chain::Request, StreamType, Option<VaultError>), Refused> {
        let direction = match proto::Direction::try_from(first.direction) {
            Ok(proto::Direction::Input) => Dir::Input,
            Ok(proto::Direction::Output | proto::Direction::Unspecified) => Dir::Output,
            Err(_) => return Err(api::unknown_direction(first.direction)),
        };
        let kind = StreamType::parse(&first.content_type)?;
        let principal = identity::principal(
            non_empty(first.principal),
            peer,
            &shared.settings.trusted_gateways,
        )?;
        let (vault, vault_error) =
            api::open_vault(shared, first.vault, principal.as_deref(), &request_id);
        let exchange = chain::Request {
            direction,
            principal,
            destination: non_empty(first.destination),
            tool: non_empty(first.tool),
            labels: first.labels,
            metadata: first.metadata.into_iter().collect(),
            deadline,
            vault,
            ..chain::Request::default()
        };
        Ok((exchange, kind, vault_error))
    };
    let (exchange, kind, vault_error) = match read() {
        Ok(read) => read,
        Err(refused) => return Err((request_id, refused)),
    };
    // The bundle the stream started with decides all of it.
    let call = Call {
        transport: "grpc-stream",
        request_id,
        exchange: Arc::new(exchange),
        bundle: shared.bundle.load().bundle.clone(),
        rewrites: true,
        received,
        trace,
    };
    Ok((shared.stream(call, kind), inbound, first.chunk, vault_error))
}

/// Answers a CheckStream: each inbound chunk through the gate, one answer per chunk, and a last one with
/// the decision once the stream ends or is denied.
async fn run_stream(
    mut streamed: Streamed,
    mut inbound: tonic::Streaming<proto::CheckStreamRequest>,
    first: Vec<u8>,
    vault_error: Option<VaultError>,
    idle: Duration,
    tx: &Answers,
) -> Result<(), Refused> {
    let (deadline, received) = (streamed.call().exchange.deadline, streamed.call().received);
    let mut chunk = Some(first);
    loop {
        let last = chunk.is_none();
        let pushed = streamed.push(chunk.unwrap_or_default(), last).await?;
        let Some(summary) = pushed.decided else {
            let answer = proto::CheckStreamResponse {
                chunk: pushed.released,
                ..Default::default()
            };
            if tx.send(Ok(answer)).await.is_err() {
                return Err(streamed.refused(Refused::Cancelled("the caller went away".into())));
            }
            chunk = match next_chunk(&mut inbound, deadline, idle, received).await {
                Ok(next) => next.map(|m| m.chunk),
                Err(refused) => return Err(streamed.refused(refused)),
            };
            continue;
        };
        let elapsed_us = u64::try_from(received.elapsed().as_micros()).unwrap_or(u64::MAX);
        let answer = proto::CheckStreamResponse {
            chunk: pushed.released,
            done: true,
            decision: decision_out(summary.outcome).into(),
            reason: summary.reason.unwrap_or_default(),
            findings_dropped: dropped_out(&summary.findings),
            findings: summary.findings.into_iter().map(finding_out).collect(),
            labels: summary.labels,
            bundle: streamed.call().bundle.id(),
            elapsed_us,
            failures: summary.failures.into_iter().map(failure_out).collect(),
            would: summary.would.map(would_out),
            restored: u32::try_from(summary.restored).unwrap_or(u32::MAX),
            vault_error: vault_error.map(|e| e.to_string()).unwrap_or_default(),
        };
        // A caller that has gone away needs no answer.
        let _ = tx.send(Ok(answer)).await;
        return Ok(());
    }
}

/// The caller's next message; `None` once it has half-closed. Waits until `deadline`, and at most `idle`.
async fn next_chunk(
    inbound: &mut tonic::Streaming<proto::CheckStreamRequest>,
    deadline: Option<Instant>,
    idle: Duration,
    received: Instant,
) -> Result<Option<proto::CheckStreamRequest>, Refused> {
    match next_within(inbound.message(), idle, deadline).await {
        Err(Silence::Idle) => Err(Refused::Late(format!(
            "no chunk came for {} (--stream-idle), so the stream was ended",
            humantime::format_duration(idle)
        ))),
        Err(Silence::Deadline) => Err(Refused::Late(format!(
            "deadline passed after {:?} waiting for the next chunk",
            received.elapsed()
        ))),
        Ok(Ok(message)) => Ok(message),
        Ok(Err(status)) => {
            let message = format!("reading the stream failed: {}", status.message());
            // The in-flight budget refuses a frame as ResourceExhausted, as tonic does a message over the
            // size limit; tonic says Internal for a message that does not decode; any other error is the
            // connection's (reset, closed, cancelled): the caller left.
            Err(match status.code() {
                _ if super::in_flight::is_refusal(&status) => Refused::Overloaded(message),
                tonic::Code::Internal => Refused::Invalid(message),
                tonic::Code::ResourceExhausted => Refused::TooLarge(message),
                _ => Refused::Cancelled(message),
            })
        }
    }
}
