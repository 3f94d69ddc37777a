//! A JSON body through the payload adapter: read it, write every text back changed, read the result.
//! Holds: nothing panics; a rebuilt body is valid JSON with the same texts at the same places (changed
//! `logprobs` become null); writing back nothing gives the body back byte for byte.

use arbitrary::{Arbitrary, Unstructured};
use palisade::payload::{ContentType, Payload};

/// One input, as the fuzzer hands it over: the bytes read as `&str` the way `fuzz_target!` reads them.
pub fn check(bytes: &[u8]) {
    let Ok(body) = <&str as Arbitrary>::arbitrary_take_rest(Unstructured::new(bytes)) else {
        return;
    };
    let Ok(payload) = Payload::read(ContentType::Json, body.to_string()) else {
        return;
    };
    let before: Vec<(String, String)> = payload
        .texts
        .iter()
        .map(|t| (t.location.clone(), t.text.clone()))
        .collect();
    assert_eq!(payload.rebuild(Vec::new()).unwrap(), body);

    let payload = Payload::read(ContentType::Json, body.to_string()).unwrap();
    // Each text wrapped in quotes and a marker: for a text that is itself JSON (tool-call arguments,
    // Anthropic tool input) that is a JSON string still, so the write-back must keep the body valid.
    let changed: Vec<(usize, String)> = before
        .iter()
        .enumerate()
        .map(|(i, (_, text))| (i, serde_json::to_string(&format!("[R]{text}")).unwrap()))
        .collect();
    let Ok(rebuilt) = payload.rebuild(changed.clone()) else {
        return;
    };
    let again = Payload::read(ContentType::Json, rebuilt.clone())
        .unwrap_or_else(|e| panic!("rebuilt body does not read: {e}\n{rebuilt}"));
    let after: Vec<(String, String)> = again
        .texts
        .iter()
        .map(|t| (t.location.clone(), t.text.clone()))
        .collect();
    // `logprobs` read as their tokens are written back as null once changed, and are no text any more.
    let rebuilt_value: serde_json::Value = serde_json::from_str(&rebuilt).expect("read above");
    let dropped = |location: &str| {
        location.ends_with("/logprobs")
            && rebuilt_value.pointer(location).is_some_and(|v| v.is_null())
    };
    let wanted: Vec<(String, String)> = before
        .iter()
        .zip(&changed)
        .filter(|((location, _), _)| !dropped(location))
        .map(|((location, _), (_, text))| (location.clone(), text.clone()))
        .collect();
    assert_eq!(after, wanted, "rebuilt: {rebuilt}");
}
