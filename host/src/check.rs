//! One payload end to end: the adapter reads it into texts, the chain runs over each text (the strings no
//! shape names first joined into one, see [`run`]), and their answers become one — the first deny ends the
//! check, findings and labels gather, changed texts go back into the payload in place.

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::bundle::Bundle;
use crate::chain::{self, Findings, Outcome, PluginFailure, PluginTimes, Request, WouldHave};
use crate::payload::{self, ContentType, Payload, PayloadError, Shape};
use crate::policy::HashKey;
use crate::pseudonym::Pseudonyms;
use crate::Result;

/// The answer for one payload.
#[derive(Debug)]
pub struct Checked {
    /// Allow, modify or deny.
    pub outcome: Outcome,
    /// The payload after policy, in the request's own form (text, or a JSON body of the same shape); the
    /// original, unchanged, unless the outcome is modify.
    pub content: String,
    /// On deny: which plugin, which rule, why.
    pub reason: Option<String>,
    /// The findings, each with the location of its text (the first
    /// [`MAX_FINDINGS_REPORTED`](chain::MAX_FINDINGS_REPORTED), and a count of the rest).
    pub findings: Findings,
    /// Labels from the request, the plugins and `found:<CATEGORY>`, over all texts.
    pub labels: Vec<String>,
    /// Plugins that failed, on any text.
    pub failures: Vec<PluginFailure>,
    /// What plugins in report mode would have done, over all texts (the first deny, else a modify).
    pub would: Option<WouldHave>,
    /// How the payload was read.
    pub shape: Shape,
    /// Time spent in adapter and chain.
    pub elapsed: Duration,
    /// Time each plugin spent, over all texts.
    pub plugin_time: PluginTimes,
    /// The stand-ins the policy's `pseudonymize` wrote, over all texts, and their values.
    pub pseudonyms: Pseudonyms,
    /// How many stand-ins of the request's vault were restored, over all texts.
    pub restored: usize,
}

/// Checks `body`, read as `content_type`. `exchange` carries what the gateway told about the exchange;
/// its `text` and `location` are ignored, and its `tool` is the default for texts that name none.
pub fn run(
    bundle: &Bundle,
    content_type: ContentType,
    body: String,
    exchange: &Request,
    key: &HashKey,
) -> Result<Checked> {
    match content_type {
        ContentType::Ndjson => run_lines(bundle, body, exchange, key),
        _ => run_document(bundle, content_type, body, exchange, key, ""),
    }
}

/// Newline-delimited JSON: each line is a document, checked as [`ContentType::Json`] with its locations
/// under `/N` (the line's index among the documents, as if they were one array); blank lines and line
/// endings stay as they came. The first deny ends the check; changed lines are written back in place.
fn run_lines(bundle: &Bundle, body: String, exchange: &Request, key: &HashKey) -> Result<Checked> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (number, line) in body.split_inclusive('\n').enumerate() {
        let json = line.trim_end_matches(['\n', '\r']);
        if !json.trim().is_empty() {
            pieces.push(Piece {
                range: start..start + json.len(),
                read_as: ContentType::Json,
                location: format!("/{}", pieces.len()),
                rewritable: true,
                line: number + 1,
            });
        }
        start += line.len();
    }
    run_pieces(bundle, body, pieces, Shape::Lines, exchange, key)
}

/// A `multipart/form-data` body delimited by `boundary`: each part's content is checked — as JSON when
/// the part says it is and it parses, else as text — with its locations under `/N` (the part's index);
/// each part's header block (field and file names) and any text before the first part or after the last
/// are checked too. Changed contents are written back in place; a header block the policy would change
/// denies the body, since headers are not rewritten.
pub fn run_multipart(
    bundle: &Bundle,
    boundary: &str,
    body: String,
    exchange: &Request,
    key: &HashKey,
) -> Result<Checked> {
    let payload::Multipart {
        parts,
        preamble,
        epilogue,
    } = payload::multipart_parts(&body, boundary)?;
    let piece = |range, read_as, location, rewritable| Piece {
        range,
        read_as,
        location,
        rewritable,
        line: 0,
    };
    let mut pieces = Vec::with_capacity(parts.len() * 2 + 2);
    for (i, part) in parts.iter().enumerate() {
        pieces.push(piece(
            part.headers.clone(),
            ContentType::Text,
            format!("/{i}#headers"),
            false,
        ));
        let json = (part.content_type(&body)).and_then(|t| ContentType::parse(t).ok())
            == Some(ContentType::Json);
        let read_as = if json {
            ContentType::Json
        } else {
            ContentType::Text
        };
        pieces.push(piece(part.content.clone(), read_as, format!("/{i}"), true));
    }
    pieces.push(piece(preamble, ContentType::Text, "#preamble".into(), true));
    pieces.push(piece(epilogue, ContentType::Text, "#epilogue".into(), true));
    run_pieces(bundle, body, pieces, Shape::Multipart, exchange, key)
}

/// A stretch of a body checked as a document of its own.
struct Piece {
    range: Range<usize>,
    read_as: ContentType,
    /// Where its texts' locations go: a prefix such as `/3` or `/3#headers`.
    location: String,
    /// Whether a change the policy makes can be written back (a multipart header block cannot).
    rewritable: bool,
    /// Its line in the body, as a person counts them, for a JSON error in newline-delimited JSON.
    line: usize,
}

/// Checks each piece of `body` as a document, folding the answers into one: the first deny ends the
/// check, and changed pieces are spliced back in place.
fn run_pieces(
    bundle: &Bundle,
    body: String,
    pieces: Vec<Piece>,
    shape: Shape,
    exchange: &Request,
    key: &HashKey,
) -> Result<Checked> {
    let started = Instant::now();
    if pieces.len() > payload::MAX_TEXTS {
        return Err(PayloadError::TooManyTexts {
            count: pieces.len(),
            limit: payload::MAX_TEXTS,
        }
        .into());
    }
    let mut whole = empty(exchange, shape);
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for piece in pieces {
        let text = &body[piece.range.clone()];
        if text.trim().is_empty() {
            continue;
        }
        let run = |read_as| {
            run_document(
                bundle,
                read_as,
                text.to_string(),
                exchange,
                key,
                &piece.location,
            )
        };
        let checked = match run(piece.read_as) {
            // A line of newline-delimited JSON that is not JSON: say which line.
            Err(crate::Error::Payload(PayloadError::InvalidJson {
                message, column, ..
            })) if shape == Shape::Lines => {
                let line = piece.line;
                return Err(PayloadError::InvalidJson {
                    message,
                    line,
                    column,
                }
                .into());
            }
            // A part that says JSON but is not is still read, as text.
            Err(crate::Error::Payload(PayloadError::InvalidJson { .. })) => run(ContentType::Text)?,
            other => other?,
        };
        let changed = checked.outcome == Outcome::Modify;
        let content = match fold(&mut whole, checked) {
            Some(_) if changed && !piece.rewritable => {
                whole.outcome = Outcome::Deny;
                whole.reason = Some(format!(
                    "the policy's redactions cannot be applied: the headers of part {} hold what the \
                     policy would change, and headers are not rewritten",
                    piece.location.trim_end_matches("#headers")
                ));
                None
            }
            content => content,
        };
        let Some(content) = content else {
            whole.content = body;
            whole.elapsed = started.elapsed();
            return Ok(whole);
        };
        if changed {
            edits.push((piece.range, content));
        }
    }
    whole.content = splice(&body, edits);
    whole.elapsed = started.elapsed();
    Ok(whole)
}

/// `body` with each range replaced by its new text.
fn splice(body: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(body.len());
    let mut at = 0;
    for (range, content) in edits {
        out.push_str(&body[at..range.start]);
        out.push_str(&content);
        at = range.end;
    }
    out.push_str(&body[at..]);
    out
}

/// Folds the answer for one document of a body into the body's: its findings, labels, failures and
/// times; a modify makes the whole a modify. Returns the document's content as it goes on, or `None` on
/// a deny, which decides the whole (its outcome and reason set).
fn fold(whole: &mut Checked, checked: Checked) -> Option<String> {
    whole.findings.absorb(checked.findings);
    whole.failures.extend(checked.failures);
    whole.plugin_time.add_all(&checked.plugin_time);
    whole.restored += checked.restored;
    if let Err(collision) = whole.pseudonyms.merge(checked.pseudonyms) {
        whole.outcome = Outcome::Deny;
        whole.reason = Some(collision.to_string());
        return None;
    }
    if let Some(would) = checked.would {
        would.fold_into(&mut whole.would);
    }
    for label in checked.labels {
        chain::add_label(&mut whole.labels, label);
    }
    match checked.outcome {
        Outcome::Deny => {
            whole.outcome = Outcome::Deny;
            whole.reason = checked.reason;
            None
        }
        Outcome::Modify => {
            whole.outcome = Outcome::Modify;
            Some(checked.content)
        }
        Outcome::Allow => Some(checked.content),
    }
}

/// An answer with nothing decided yet: allow, the request's labels.
fn empty(exchange: &Request, shape: Shape) -> Checked {
    Checked {
        outcome: Outcome::Allow,
        content: String::new(),
        reason: None,
        findings: Findings::default(),
        labels: exchange.labels.clone(),
        failures: Vec::new(),
        would: None,
        shape,
        elapsed: Duration::ZERO,
        plugin_time: PluginTimes::default(),
        pseudonyms: Pseudonyms::default(),
        restored: 0,
    }
}

/// One document, its texts' locations under `prefix` (a JSON pointer; `""` for the body itself).
fn run_document(
    bundle: &Bundle,
    content_type: ContentType,
    body: String,
    exchange: &Request,
    key: &HashKey,
    prefix: &str,
) -> Result<Checked> {
    let started = Instant::now();
    let mut payload = Payload::read(content_type, body)?;
    let mut checked = empty(exchange, payload.shape);
    // The texts the body's shape names run one by one. The strings it does not name (ids, model names,
    // tool descriptions, fields it does not know) are many and almost always clean: they run as one text,
    // joined, and only if that finds anything do they run one by one, for their own locations and edits.
    let (named, unnamed): (Vec<usize>, Vec<usize>) =
        (0..payload.texts.len()).partition(|&i| payload.texts[i].named);
    let mut order = named;
    if unnamed.len() > 1 {
        let joined: Vec<&str> = unnamed
            .iter()
            .map(|&i| payload.texts[i].text.as_str())
            .collect();
        let request = text_request(exchange, joined.join("\n"), None, prefix.to_string());
        let verdicts = chain::run(bundle, &request, key)?;
        checked.plugin_time.add_all(&verdicts.plugin_time);
        // Findings without a span are about the exchange (its destination), not about a string.
        let clean = verdicts.outcome == Outcome::Allow
            && verdicts.findings.iter().all(|f| f.span.is_none())
            && verdicts.failures.is_empty()
            && verdicts.would.is_none();
        if clean {
            checked.findings.extend(verdicts.findings);
            for label in verdicts.labels {
                chain::add_label(&mut checked.labels, label);
            }
        } else {
            order.extend(unnamed);
        }
    } else {
        order.extend(unnamed);
    }

    let mut changed: Vec<(usize, String)> = Vec::new();
    for i in order {
        let text = &mut payload.texts[i];
        let request = text_request(
            exchange,
            std::mem::take(&mut text.text),
            text.tool.clone(),
            format!("{prefix}{}", text.location),
        );
        let verdicts = chain::run(bundle, &request, key)?;
        // The original goes back for the rebuild, which checks embedded JSON against it.
        text.text = request.text;
        checked.findings.extend(verdicts.findings);
        checked.failures.extend(verdicts.failures);
        checked.plugin_time.add_all(&verdicts.plugin_time);
        checked.restored += verdicts.restored.len();
        if let Err(collision) = checked.pseudonyms.merge(verdicts.pseudonyms) {
            checked.outcome = Outcome::Deny;
            checked.reason = Some(collision.to_string());
            checked.content = payload.into_original();
            checked.elapsed = started.elapsed();
            return Ok(checked);
        }
        if let Some(mut would) = verdicts.would {
            would.reason = would.reason.map(|r| located(r, &request.location));
            would.fold_into(&mut checked.would);
        }
        for label in verdicts.labels {
            chain::add_label(&mut checked.labels, label);
        }
        match verdicts.outcome {
            Outcome::Deny => {
                checked.outcome = Outcome::Deny;
                checked.reason = verdicts.reason.map(|r| located(r, &request.location));
                checked.content = payload.into_original();
                checked.elapsed = started.elapsed();
                return Ok(checked);
            }
            Outcome::Modify => changed.push((i, verdicts.text)),
            Outcome::Allow => {}
        }
    }
    if changed.is_empty() {
        checked.content = payload.into_original();
    } else {
        match payload.rebuild(changed) {
            Ok(content) => {
                checked.outcome = Outcome::Modify;
                checked.content = content;
            }
            // Never pass a body the policy wanted changed but could not change: deny instead.
            Err(
                e @ (PayloadError::WouldBreakJson { .. } | PayloadError::KeyNotRewritten { .. }),
            ) => {
                checked.outcome = Outcome::Deny;
                checked.reason = Some(format!("the policy's redactions cannot be applied: {e}"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    checked.elapsed = started.elapsed();
    Ok(checked)
}

/// The chain's request for one text of the exchange; a text's own tool wins over the exchange's.
pub(crate) fn text_request(
    exchange: &Request,
    text: String,
    tool: Option<String>,
    location: String,
) -> Request {
    Request {
        direction: exchange.direction,
        text,
        principal: exchange.principal.clone(),
        destination: exchange.destination.clone(),
        tool: tool.or_else(|| exchange.tool.clone()),
        labels: exchange.labels.clone(),
        metadata: exchange.metadata.clone(),
        location,
        deadline: exchange.deadline,
        vault: exchange.vault.clone(),
    }
}

/// A reason, with where in the body its text is.
fn located(reason: String, location: &str) -> String {
    match location {
        "" => reason,
        at => format!("{reason} (at {at})"),
    }
}
