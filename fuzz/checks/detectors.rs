//! The stock detectors (`pii`, `secrets`) natively, on any text. Holds: no panic (in the component a
//! panic is a trap, and the exchange is denied), every range is non-empty, inside the text and on
//! character boundaries, and the secrets keyword prefilter finds exactly what every rule would.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};

/// One input, as the fuzzer hands it over: the bytes read as `&str` the way `fuzz_target!` reads them.
pub fn check(bytes: &[u8]) {
    let Ok(text) = <&str as Arbitrary>::arbitrary_take_rest(Unstructured::new(bytes)) else {
        return;
    };
    static PII: OnceLock<pii::Detector> = OnceLock::new();
    static SECRETS: OnceLock<secrets::Detector> = OnceLock::new();
    let pii = PII.get_or_init(|| pii::Detector::new(pii::Entity::ALL));
    let secrets = SECRETS.get_or_init(secrets::Detector::new);
    let ranges = pii.detect(text).into_iter().map(|h| h.range);
    let found = secrets.detect(text);
    for range in ranges.chain(found.iter().map(|h| h.range.clone())) {
        assert!(
            range.start < range.end
                && range.end <= text.len()
                && text.is_char_boundary(range.start)
                && text.is_char_boundary(range.end),
            "{range:?} in {text:?}"
        );
    }
    let every_rule = secrets.detect_without_prefilter(text);
    let key = |h: &secrets::Hit| (h.rule.to_string(), h.range.clone());
    assert_eq!(
        found.iter().map(key).collect::<Vec<_>>(),
        every_rule.iter().map(key).collect::<Vec<_>>(),
        "prefilter changed the answer for {text:?}"
    );
}
