//! libFuzzer's entry for `checks::payload_json` (what it holds is said there).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| palisade_fuzz::payload_json::check(bytes));
