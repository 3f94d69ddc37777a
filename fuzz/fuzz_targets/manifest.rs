//! libFuzzer's entry for `checks::manifest` (what it holds is said there).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| palisade_fuzz::manifest::check(bytes));
