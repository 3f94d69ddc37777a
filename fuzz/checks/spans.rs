//! Rounds of redactions over a text, as successive plugins make them, and spans mapped back.
//! Holds: a mapped span is a valid range of the original; a span of the current text outside every
//! replacement maps to the very same bytes in the original; a span over a replacement covers all of
//! what it replaced.

use std::ops::Range;

use arbitrary::{Arbitrary, Unstructured};
use palisade::spans::EditMap;

#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    rounds: Vec<Vec<(u16, u16, String)>>,
    probes: Vec<(u16, u16)>,
}

/// Sorted, non-overlapping ranges on character boundaries of `text`, from arbitrary numbers.
fn ranges(text: &str, raw: &[(u16, u16, String)]) -> Vec<(Range<usize>, String)> {
    let boundaries: Vec<usize> = (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .collect();
    let pick = |n: u16| boundaries[usize::from(n) % boundaries.len()];
    let mut out: Vec<(Range<usize>, String)> = raw
        .iter()
        .map(|(a, b, with)| {
            let (a, b) = (pick(*a), pick(*b));
            (a.min(b)..a.max(b), with.clone())
        })
        .collect();
    out.sort_by_key(|(r, _)| (r.start, r.end));
    let mut kept: Vec<(Range<usize>, String)> = Vec::new();
    for (r, with) in out {
        // Redactions replace something: no empty ranges.
        if !r.is_empty() && kept.last().is_none_or(|(last, _)| last.end <= r.start) {
            kept.push((r, with));
        }
    }
    kept
}

/// One input, as the fuzzer hands it over: the bytes read as `Input` the way `fuzz_target!` reads them.
pub fn check(bytes: &[u8]) {
    let Ok(input) = <Input as Arbitrary>::arbitrary_take_rest(Unstructured::new(bytes)) else {
        return;
    };
    let original = input.text.as_str();
    let mut map = EditMap::default();
    let mut current = original.to_string();
    // Original ranges replaced so far, to tell what a probe touches.
    let mut replaced: Vec<Range<usize>> = Vec::new();
    for round in input.rounds.iter().take(8) {
        let edits = ranges(&current, round);
        for (r, _) in &edits {
            replaced.push(map.to_original(r.clone()));
        }
        current = map.apply(&current, &edits);
    }
    let boundaries: Vec<usize> = (0..=current.len())
        .filter(|&i| current.is_char_boundary(i))
        .collect();
    for (a, b) in input.probes.iter().take(16) {
        let a = boundaries[usize::from(*a) % boundaries.len()];
        let b = boundaries[usize::from(*b) % boundaries.len()];
        let probe = a.min(b)..a.max(b);
        let mapped = map.to_original(probe.clone());
        assert!(
            mapped.start <= mapped.end && mapped.end <= original.len(),
            "{mapped:?}"
        );
        assert!(original.is_char_boundary(mapped.start) && original.is_char_boundary(mapped.end));
        let touches = |r: &Range<usize>| mapped.start < r.end && r.start < mapped.end;
        if !replaced.iter().any(touches) {
            assert_eq!(
                &original[mapped.clone()],
                &current[probe.clone()],
                "{probe:?} -> {mapped:?}"
            );
        }
        for r in replaced
            .iter()
            .filter(|r| mapped.start < r.end && r.start < mapped.end && !r.is_empty())
        {
            assert!(
                mapped.start <= r.start && r.end <= mapped.end,
                "{mapped:?} cuts into replaced {r:?}"
            );
        }
    }
}
