//! The fuzz targets' properties (`fuzz/checks`) on every seed in `fuzz/seeds/TARGET`, every input earlier
//! fuzzing runs kept in `fuzz/corpus/TARGET`, and a fixed set of mutations of them: what `cargo fuzz` holds
//! for hours, held on every test run without an instrumented build. Timed fuzzing stays in
//! `fuzz/run.sh`. A failing input is written out, with the command that replays it under libFuzzer.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/checks/mod.rs"]
mod checks;

/// Mutations made of each seed and corpus input: enough to step off the seeds' exact bytes in every
/// direction (flips, cuts, insertions, splices), few enough to stay a fraction of a second per target.
const MUTATIONS_PER_INPUT: usize = 64;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The seed and corpus files of `target`, sorted by path so a run is the same every time.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = ["seeds", "corpus"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(fuzz_dir().join(kind).join(target)).ok())
        .flatten()
        .map(|entry| entry.expect("fuzz directory lists").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("fuzz input reads");
            (path.display().to_string(), bytes)
        })
        .collect()
}

/// xorshift64*: a fixed sequence, so a mutation that fails fails on every run.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One of libFuzzer's simpler mutations of `input`, with `other` to splice from.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    match rng.below(6) {
        0 if !out.is_empty() => {
            let i = rng.below(out.len());
            out[i] ^= 1 << rng.below(8);
        }
        1 if !out.is_empty() => {
            let i = rng.below(out.len());
            out[i] = rng.next_u64() as u8;
        }
        2 => {
            // Bytes that matter to the parsers and detectors: quotes, braces, separators, multi-byte
            // UTF-8 leads, the digits and letters values are made of.
            const INTERESTING: &[u8] =
                b"\"{}[]:,\\\n\r -_.@/0123456789AZaz\xc3\xa9\xe2\x80\x8b\xff";
            let i = rng.below(out.len() + 1);
            out.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
        }
        3 if !out.is_empty() => {
            let from = rng.below(out.len());
            let to = (from + 1 + rng.below(16)).min(out.len());
            out.drain(from..to);
        }
        4 if !out.is_empty() => out.truncate(rng.below(out.len())),
        _ if !other.is_empty() => {
            let i = rng.below(out.len() + 1);
            let from = rng.below(other.len());
            let to = (from + 1 + rng.below(64)).min(other.len());
            let tail = out.split_off(i);
            out.extend_from_slice(&other[from..to]);
            out.extend(tail);
        }
        _ => out.push(rng.next_u64() as u8),
    }
    out
}

/// Runs `check` on every input of `target` and its mutations; panics naming the first that fails.
fn replay(target: &str, check: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no seeds in fuzz/seeds/{target}");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases = 0;
    for (i, (name, bytes)) in inputs.iter().enumerate() {
        run(target, check, name, bytes);
        let other = &inputs[(i + 1) % inputs.len()].1;
        let mut current = bytes.clone();
        for m in 0..MUTATIONS_PER_INPUT {
            // Stack mutations a few deep, then start again from the input.
            current = if m % 4 == 0 {
                mutate(&mut rng, bytes, other)
            } else {
                mutate(&mut rng, &current, other)
            };
            run(target, check, &format!("{name} (mutation {m})"), &current);
        }
        cases += 1 + MUTATIONS_PER_INPUT;
    }
    eprintln!("fuzz replay {target}: {cases} inputs held");
}

fn run(target: &str, check: fn(&[u8]), name: &str, bytes: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| check(bytes))).is_ok() {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-replay");
    std::fs::create_dir_all(&dir).expect("target tmp dir is writable");
    let saved = dir.join(format!("{target}-failing-input"));
    std::fs::write(&saved, bytes).expect("target tmp dir is writable");
    panic!(
        "fuzz property {target} fails on {name}; the input is saved as {}\n\
         replay it under libFuzzer: cd fuzz && cargo fuzz run -s none {target} {}",
        saved.display(),
        saved.display()
    );
}

#[test]
fn payload_json_holds_on_seeds_and_mutations() {
    replay("payload_json", checks::payload_json::check);
}

#[test]
fn stream_holds_on_seeds_and_mutations() {
    replay("stream", checks::stream::check);
}

#[test]
fn manifest_holds_on_seeds_and_mutations() {
    replay("manifest", checks::manifest::check);
}

#[test]
fn spans_holds_on_seeds_and_mutations() {
    replay("spans", checks::spans::check);
}

#[test]
fn detectors_holds_on_seeds_and_mutations() {
    replay("detectors", checks::detectors::check);
}
