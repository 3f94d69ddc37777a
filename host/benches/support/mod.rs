//! Bundles made on the spot for the benches (`#[path]`-included by each): one directory, one manifest.

use palisade::bundle::{self, Bundle};
use palisade::engine::{Context, Direction, Engine};

/// A bundle loaded from a temporary directory holding `wasm` files and a `bundle.toml` of `[bundle]`
/// named `name` followed by `rest`, in which `{sha256:FILE}` stands for that file's digest.
pub fn bundle_of(
    engine: &Engine,
    name: &str,
    wasm: &[(&str, Vec<u8>)],
    rest: &str,
) -> (tempfile::TempDir, Bundle) {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = format!("[bundle]\nname = \"{name}\"\nversion = \"1\"\n\n{rest}");
    for (file, bytes) in wasm {
        use sha2::Digest;
        std::fs::write(dir.path().join(file), bytes).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(bytes));
        manifest = manifest.replace(&format!("{{sha256:{file}}}"), &digest);
    }
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    let bundle = bundle::load_dir(engine, dir.path()).unwrap();
    (dir, bundle)
}

/// A bundle with no plugin: the chain's own bookkeeping, policy and answer.
pub fn empty(engine: &Engine) -> (tempfile::TempDir, Bundle) {
    bundle_of(engine, "empty", &[], "")
}

/// The context of an input text with nothing else known: no principal, destination, tool or labels.
pub fn input_context() -> Context {
    Context {
        direction: Direction::Input,
        principal: None,
        destination: None,
        tool: None,
        labels: Vec::new(),
        metadata: Vec::new(),
        location: String::new(),
    }
}
