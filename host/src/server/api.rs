//! The Check API's messages (`palisade.v1`), whichever transport carries them: gRPC (`grpc.rs`) or HTTP as
//! JSON (`http.rs`). A `CheckRequest` becomes the gate's call and body; the gate's decision becomes a
//! `CheckResponse`.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tracing::Instrument;

use super::gate::{Body, BodyKind, Bytes, Call, Decided, Refused};
use super::proto;
use super::{identity, non_empty, Shared};
use crate::chain::{self, Dir, Outcome};
use crate::payload::ContentType;
use crate::pseudonym::{self, Pseudonyms, VaultError};
use crate::telemetry::Parent;

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
    /// The caller's span, from its `traceparent`.
    pub trace: Option<Parent>,
}

/// One Check: read, decided by the gate, answered. A refusal is recorded, here or by the gate, before it
/// is returned.
pub(crate) async fn check(
    shared: &Arc<Shared>,
    mut request: proto::CheckRequest,
    caller: Caller,
) -> Result<proto::CheckResponse, Refused> {
    let request_id = std::mem::take(&mut request.request_id);
    let span = tracing::info_span!("check", %request_id);
    let (transport, received) = (caller.transport, caller.received);
    let (call, body, as_body, vault_error) = match read(shared, request, request_id.clone(), caller)
    {
        Ok(read) => read,
        Err(refused) => {
            let _in_span = span.enter();
            shared.refuse(transport, &request_id, received, &refused);
            return Err(refused);
        }
    };
    let decided = shared.decide(&call, body).instrument(span).await?;
    let mut answer = answer(shared, decided, &call, as_body);
    answer.vault_error = vault_error.map(|e| e.to_string()).unwrap_or_default();
    Ok(answer)
}

/// The gate's call and body for a CheckRequest, whether its content came as `body` (so the answer goes
/// back as `body`), and why its vault restores nothing, if it has one that does not open. Takes the
/// request by value so a body of megabytes is moved, never copied.
fn read(
    shared: &Shared,
    mut req: proto::CheckRequest,
    request_id: String,
    caller: Caller,
) -> Result<(Call, Body, bool, Option<VaultError>), Refused> {
    use proto::check_request::Content;
    let (bytes, as_body) = match req.content.take() {
        None => {
            return Err(Refused::Invalid(
                "the request has no content; set `text` or `body`".into(),
            ))
        }
        Some(Content::Text(text)) => (Bytes::Text(text), false),
        Some(Content::Body(body)) => (Bytes::Raw(body), true),
    };
    let direction = match proto::Direction::try_from(req.direction) {
        Ok(proto::Direction::Output) => Dir::Output,
        Ok(proto::Direction::Input | proto::Direction::Unspecified) => Dir::Input,
        Err(_) => return Err(unknown_direction(req.direction)),
    };
    let content_type =
        ContentType::parse(&req.content_type).map_err(|e| Refused::Invalid(e.to_string()))?;
    let principal = identity::principal(
        non_empty(req.principal),
        caller.peer,
        &shared.settings.trusted_gateways,
    )?;
    let (vault, vault_error) = open_vault(shared, req.vault, principal.as_deref(), &request_id);
    let exchange = chain::Request {
        direction,
        principal,
        destination: non_empty(req.destination),
        tool: non_empty(req.tool),
        labels: req.labels,
        metadata: req.metadata.into_iter().collect(),
        deadline: caller.deadline,
        vault,
        ..chain::Request::default()
    };
    let call = Call {
        transport: caller.transport,
        request_id,
        exchange: Arc::new(exchange),
        bundle: shared.bundle.load().bundle.clone(),
        rewrites: true,
        received: caller.received,
        trace: caller.trace,
    };
    let body = Body {
        bytes,
        kind: BodyKind::Payload(content_type),
        declared: req.content_type,
    };
    Ok((call, body, as_body, vault_error))
}

/// The table of the vault a request (or a stream's first message) carries — none when it carries none —
/// or why it restores nothing, which is logged here for every transport.
pub(super) fn open_vault(
    shared: &Shared,
    vault: String,
    principal: Option<&str>,
    request_id: &str,
) -> (Option<Arc<Pseudonyms>>, Option<VaultError>) {
    if vault.is_empty() {
        return (None, None);
    }
    match pseudonym::open(&vault, principal, SystemTime::now(), &shared.vault_key) {
        Ok(table) => (Some(Arc::new(table)), None),
        Err(error) => {
            tracing::info!(request_id, %error, "the request's vault restores nothing");
            (None, Some(error))
        }
    }
}

/// A direction that is not one of the enum's.
pub(super) fn unknown_direction(value: i32) -> Refused {
    Refused::Invalid(format!(
        "direction {value} is not a Direction; use DIRECTION_INPUT (1) or DIRECTION_OUTPUT (2)"
    ))
}

/// The CheckResponse for what the gate decided.
fn answer(shared: &Shared, decided: Decided, call: &Call, as_body: bool) -> proto::CheckResponse {
    let elapsed_us = u64::try_from(call.received.elapsed().as_micros()).unwrap_or(u64::MAX);
    let checked = match decided {
        Decided::Checked(checked) => *checked,
        // A Check names a content type the gate reads, so nothing passes unread; were it to, it is
        // an allow that says why.
        Decided::Unread { reason } => {
            return proto::CheckResponse {
                decision: proto::Decision::Allow.into(),
                reason,
                bundle: call.bundle.id(),
                elapsed_us,
                ..Default::default()
            }
        }
    };
    let (mut outcome, mut reason) = (checked.outcome, checked.reason);
    let vault = match vault_out(shared, call, checked.pseudonyms) {
        Ok(vault) if outcome != Outcome::Deny => vault,
        Ok(_) => String::new(),
        Err(refusal) => {
            (outcome, reason) = (Outcome::Deny, Some(refusal));
            String::new()
        }
    };
    // The payload can be megabytes: move it into the answer, never copy it.
    let content = match outcome {
        Outcome::Modify if as_body => Some(proto::check_response::Content::Body(
            checked.content.into_bytes(),
        )),
        Outcome::Modify => Some(proto::check_response::Content::Text(checked.content)),
        Outcome::Allow | Outcome::Deny => None,
    };
    proto::CheckResponse {
        decision: decision_out(outcome).into(),
        content,
        reason: reason.unwrap_or_default(),
        findings_dropped: dropped_out(&checked.findings),
        findings: checked.findings.into_iter().map(finding_out).collect(),
        labels: checked.labels,
        bundle: call.bundle.id(),
        elapsed_us,
        failures: checked.failures.into_iter().map(failure_out).collect(),
        would: checked.would.map(would_out),
        vault,
        restored: u32::try_from(checked.restored).unwrap_or(u32::MAX),
        vault_error: String::new(),
    }
}

/// The vault an answer carries: the values this check pseudonymized and those of the request's vault,
/// sealed for the call's principal; empty when there are none. `Err` says why the answer must be a
/// deny instead (the text holds stand-ins no vault could restore).
fn vault_out(
    shared: &Shared,
    call: &Call,
    mut table: pseudonym::Pseudonyms,
) -> Result<String, String> {
    if let Some(carried) = &call.exchange.vault {
        table
            .merge(carried.as_ref().clone())
            .map_err(|collision| collision.to_string())?;
    }
    if table.is_empty() {
        return Ok(String::new());
    }
    let expires = SystemTime::now() + shared.settings.vault_ttl;
    let principal = call.exchange.principal.as_deref();
    pseudonym::seal(&table, principal, expires, &shared.vault_key).map_err(|e| {
        format!("the values were pseudonymized, but no vault could be sealed to restore them: {e}")
    })
}

pub(super) fn would_out(would: chain::WouldHave) -> proto::WouldHave {
    proto::WouldHave {
        decision: decision_out(would.outcome).into(),
        reason: would.reason.unwrap_or_default(),
    }
}

/// How many findings an answer counts but does not list.
pub(super) fn dropped_out(findings: &chain::Findings) -> u32 {
    u32::try_from(findings.dropped()).unwrap_or(u32::MAX)
}

pub(super) fn finding_out(f: chain::ReportedFinding) -> proto::Finding {
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

pub(super) fn failure_out(f: chain::PluginFailure) -> proto::PluginFailure {
    proto::PluginFailure {
        plugin: f.plugin,
        error: f.error.to_string(),
        on_error: f.on_error.as_str().into(),
    }
}

pub(super) fn decision_out(outcome: Outcome) -> proto::Decision {
    match outcome {
        Outcome::Allow => proto::Decision::Allow,
        Outcome::Modify => proto::Decision::Modify,
        Outcome::Deny => proto::Decision::Deny,
    }
}
