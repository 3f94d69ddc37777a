//! The fuzz targets' properties, one module per target, each a `check(bytes)` that panics when the
//! property fails. The libFuzzer binaries in `fuzz_targets/` call them with what the fuzzer generates;
//! the host's test suite (`tests/all/fuzz_replay.rs`) calls them with every seed and corpus file, so CI
//! holds the properties on every run without an instrumented build.

pub mod detectors;
pub mod manifest;
pub mod payload_json;
pub mod spans;
pub mod stream;
