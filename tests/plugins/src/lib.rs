//! Paths to test-only plugins, built from source in `guests/` by this crate's build script.
//!
//! `testbed` is one component whose behaviour its config picks (`{"mode": "loop"}`, `"memory-bomb"`,
//! `"panic"`, `"bad-span"`, `"find"`, `"deny"`, `"rewrite"`, …): the hostile plugins and the chain probes
//! that the integration tests in `tests/all` load into bundles.

/// The `testbed` component.
pub const TESTBED_WASM: &str = env!("TESTBED_WASM");

/// The `codewords` example plugin (`examples/plugins/codewords`), the one the README shows.
pub const CODEWORDS_WASM: &str = env!("CODEWORDS_WASM");
