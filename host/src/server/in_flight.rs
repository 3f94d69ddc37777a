//! The in-flight byte budget: how many bytes of request bodies the server holds at once, over every
//! listener. A call's bytes count from the moment they arrive — before anything decodes them — until it is
//! answered; a body that would take the total over the budget is refused there and then with
//! RESOURCE_EXHAUSTED (HTTP 429), so a burst of large requests costs the server at most the budget, not
//! `--max-queued` decoded copies of the largest payload.
//!
//! A stream (CheckStream, ext_proc) keeps its bytes charged until it ends, since what its check keeps
//! grows with what it received (the text it released, for events that repeat it whole): however many
//! streams are open, and however they are fed, together they hold at most the budget.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use prometheus_client::metrics::gauge::Gauge;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Bytes held by all calls now (the `palisade_in_flight_bytes` gauge), and the most they may be.
#[derive(Debug)]
pub struct Budget {
    held: Gauge,
    max: usize,
}

impl Budget {
    /// A budget of `max` bytes, kept in `held`.
    pub fn new(max: usize, held: Gauge) -> Arc<Budget> {
        Arc::new(Budget { held, max })
    }

    /// Bytes held now.
    #[cfg(test)]
    fn held(&self) -> usize {
        usize::try_from(self.held.get()).unwrap_or(0)
    }

    /// Meters `request`'s body against the budget. What the body takes stays charged until both it and
    /// the returned [`Charge`] are dropped: hold the charge until the call is answered, and a stream's
    /// bytes stay charged for as long as its handler reads it.
    pub fn meter<B>(
        self: &Arc<Self>,
        request: http::Request<B>,
    ) -> (http::Request<Metered<B>>, Charge) {
        let charge = Charge(Arc::new(Held {
            budget: self.clone(),
            bytes: AtomicUsize::new(0),
            refused: AtomicBool::new(false),
        }));
        let metered = request.map(|inner| Metered {
            inner,
            charge: charge.clone(),
        });
        (metered, charge)
    }

    fn take(&self, n: usize) -> bool {
        // A frame is at most a few MiB: never near i64's range.
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let before = self.held.inc_by(n);
        if usize::try_from(before.saturating_add(n)).unwrap_or(usize::MAX) > self.max {
            self.held.dec_by(n);
            return false;
        }
        true
    }

    fn give_back(&self, n: usize) {
        self.held.dec_by(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// What one call holds of the budget.
#[derive(Debug)]
struct Held {
    budget: Arc<Budget>,
    bytes: AtomicUsize,
    /// A frame was refused for want of budget.
    refused: AtomicBool,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.give_back(*self.bytes.get_mut());
    }
}

/// A call's share of the budget, shared by its body and whoever answers it; released when the last is
/// dropped.
#[derive(Clone, Debug)]
pub struct Charge(Arc<Held>);

impl Charge {
    /// The body was cut short because the budget was spent.
    pub fn refused(&self) -> bool {
        self.0.refused.load(Ordering::Relaxed)
    }
}

/// The refusal a body over the budget ends with: a gRPC status, which tonic passes on as it is, and which
/// the HTTP API reads back ([`over_budget`]).
fn refusal(max: usize) -> BoxError {
    Box::new(tonic::Status::resource_exhausted(format!(
        "the server holds {max} bytes of requests in flight, the most it takes at once, and this one \
         would go over{REFUSAL_END}"
    )))
}

const REFUSAL_END: &str = "; retry shortly, or raise --max-in-flight";

/// Whether `status` is the refusal, as a stream's handler reads it from its inbound messages (where a
/// message over the size limit is RESOURCE_EXHAUSTED too).
pub fn is_refusal(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::ResourceExhausted && status.message().ends_with(REFUSAL_END)
}

/// The message of a body error that is [`Metered`]'s refusal, if it is one.
/// Bodies that wrap ours (axum's) carry it as a source, so the whole chain is read.
pub fn over_budget(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(status) = error.downcast_ref::<tonic::Status>() {
            return (status.code() == tonic::Code::ResourceExhausted)
                .then(|| status.message().to_string());
        }
        next = error.source();
    }
    None
}

/// A request body whose data frames are charged to the budget as they arrive.
#[derive(Debug)]
pub struct Metered<B> {
    inner: B,
    charge: Charge,
}

impl<B> Body for Metered<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let held = &self.charge.0;
        if held.refused.load(Ordering::Relaxed) {
            return Poll::Ready(None);
        }
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(data) = frame.data_ref() {
            let held = &self.charge.0;
            if !held.budget.take(data.len()) {
                held.refused.store(true, Ordering::Relaxed);
                return Poll::Ready(Some(Err(refusal(held.budget.max))));
            }
            held.bytes.fetch_add(data.len(), Ordering::Relaxed);
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.charge.refused() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    type Frames = std::vec::IntoIter<Result<Frame<Bytes>, std::convert::Infallible>>;

    fn body(chunks: &[usize]) -> http_body_util::StreamBody<tokio_stream::Iter<Frames>> {
        let frames: Vec<_> = chunks
            .iter()
            .map(|&n| Ok(Frame::data(Bytes::from(vec![b'x'; n]))))
            .collect();
        http_body_util::StreamBody::new(tokio_stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_holds_its_bytes_until_its_call_is_answered() {
        let budget = Budget::new(100, Gauge::default());
        let (request, charge) = budget.meter(http::Request::new(body(&[30, 30])));
        let collected = request.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(collected.len(), 60);
        assert_eq!(
            budget.held(),
            60,
            "the body is gone, the call not yet answered"
        );
        drop(charge);
        assert_eq!(budget.held(), 0, "answered, the call gives its bytes back");
    }

    #[tokio::test]
    async fn a_body_that_would_go_over_is_refused_and_takes_nothing() {
        let budget = Budget::new(100, Gauge::default());
        let (first, _answering) = budget.meter(http::Request::new(body(&[80])));
        first.into_body().collect().await.unwrap();
        let (second, charge) = budget.meter(http::Request::new(body(&[10, 30])));
        let error = second.into_body().collect().await.unwrap_err();
        assert!(
            over_budget(&*error).is_some_and(|m| m.contains("--max-in-flight")),
            "{error}"
        );
        assert!(charge.refused());
        drop(charge);
        assert_eq!(budget.held(), 80, "the refused call gave back what it took");
    }

    #[tokio::test]
    async fn a_stream_holds_every_frame_until_it_ends_and_is_refused_past_the_budget() {
        let budget = Budget::new(150, Gauge::default());
        let (request, charge) = budget.meter(http::Request::new(body(&[60, 60, 60])));
        drop(charge); // the answer's head has gone out; the stream is still being read
        let mut body = request.into_body();
        for held in [60, 120] {
            body.frame().await.unwrap().unwrap();
            assert_eq!(budget.held(), held);
        }
        let error = body.frame().await.unwrap().unwrap_err();
        assert!(over_budget(&*error).is_some(), "{error}");
        assert!(body.frame().await.is_none(), "a refused stream ends");
        drop(body);
        assert_eq!(budget.held(), 0, "an ended stream gives its bytes back");
    }
}
