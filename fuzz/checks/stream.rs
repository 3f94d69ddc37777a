//! A stream (raw text or server-sent events) pushed in pieces through a bundle with no plugins.
//! Holds: nothing panics; raw text comes out exactly as it went in; an event stream comes out the same
//! however it was cut into chunks.

use std::sync::Arc;

use palisade::bundle::Bundle;
use palisade::chain::Request;
use palisade::policy::HashKey;
use palisade::stream::{StreamCheck, StreamSettings, StreamType};

fn run(kind: StreamType, hold_back: usize, chunks: &[&[u8]]) -> Result<Vec<u8>, String> {
    let bundle = Arc::new(Bundle {
        name: "empty".into(),
        version: "0".into(),
        digest: String::new(),
        plugins: Vec::new(),
        pass_unread: Vec::new(),
        sequence: None,
        not_after: None,
        gates: Default::default(),
    });
    let key = HashKey::new(*b"fuzz");
    let mut check = StreamCheck::new(
        bundle,
        Request::default(),
        kind,
        StreamSettings::new(hold_back, 1 << 20),
    );
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(check.push(chunk, &key).map_err(|e| e.to_string())?);
    }
    out.extend(check.finish(&key).map_err(|e| e.to_string())?);
    Ok(out)
}

/// The input: a flags byte (bits 0–1: text, server-sent events, newline-delimited JSON or an AWS event
/// stream; the rest: the hold-back), a count of cuts, two bytes per cut, then the stream. Laid out by hand so seeds (fuzz/corpus/stream) are easy to write.
pub fn check(input: &[u8]) {
    let [flags, cut_count, rest @ ..] = input else {
        return;
    };
    let kind = match flags & 3 {
        0 => StreamType::Text,
        1 => StreamType::Sse,
        2 => StreamType::Ndjson,
        _ => StreamType::EventStream,
    };
    let hold_back = usize::from(flags >> 2) + 1;
    let (cut_bytes, data) = rest.split_at((usize::from(*cut_count) * 2).min(rest.len()));
    let mut cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (data.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([data.len()]) {
        chunks.push(&data[from..cut]);
        from = cut;
    }
    let whole = run(kind, hold_back, &[data]);
    let pieces = run(kind, hold_back, &chunks);
    match (&whole, &pieces) {
        (Ok(w), Ok(p)) => {
            assert_eq!(p, w, "output depends on chunking");
            if kind == StreamType::Text {
                assert_eq!(p.as_slice(), data, "raw text was changed by no plugins");
            }
        }
        // Invalid UTF-8, or a malformed event-stream message, is an error whichever piece it arrives in.
        (Err(_), Err(_)) => {}
        _ => panic!("whole: {whole:?}\npieces: {pieces:?}"),
    }
}
