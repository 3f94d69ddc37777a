//! bundle.toml as an operator (or an attacker with write access to a ConfigMap) might write it.
//! Holds: nothing panics, and every refusal says something. Every file the manifest names reads as the
//! same few bytes that are not a component, so a manifest that gets as far as compiling fails there.
//! `builtin:` plugins are skipped: compiling a real component takes a second, and the tests cover them.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use palisade::bundle::{self, BundleSource};
use palisade::engine::Engine;

struct Fake;

impl BundleSource for Fake {
    fn describe(&self, file: &str) -> String {
        format!("fuzz:{file}")
    }

    fn read(&self, _file: &str) -> palisade::Result<Vec<u8>> {
        Ok(b"not wasm".to_vec())
    }
}

/// One input, as the fuzzer hands it over: the bytes read as `&str` the way `fuzz_target!` reads them.
pub fn check(bytes: &[u8]) {
    let Ok(manifest) = <&str as Arbitrary>::arbitrary_take_rest(Unstructured::new(bytes)) else {
        return;
    };
    if manifest.contains("builtin:") {
        return;
    }
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| Engine::new().expect("engine starts"));
    match bundle::load(engine, manifest, &Fake) {
        Ok(b) => assert!(b.plugins.is_empty(), "only a bundle of no plugins can load"),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
