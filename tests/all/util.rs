//! Helpers: one engine for the whole test binary, and bundle directories written on the fly from the
//! embedded stock plugins and the test-only `testbed` plugin.

use std::path::Path;
use std::sync::OnceLock;

use palisade::bundle::{self, Bundle};
use palisade::cache::ComponentCache;
use palisade::chain::{self, Dir, Request, Verdicts};
use palisade::engine::Engine;
use palisade::policy::HashKey;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One engine (and epoch ticker) for every test, as the service has one per process. It keeps compiled
/// components in the cache the spawned binary uses: many tests load bundles of the same plugins (the policy
/// plugins take seconds each to compile), and a cache entry is the same component, checked by its hash.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let cache = ComponentCache::open(Path::new(BINARY_CACHE_DIR)).expect("cache directory");
        Engine::with_cache(Some(cache)).expect("engine starts")
    })
}

/// The embedded default bundle, loaded once for the whole test binary (loading compiles components).
pub fn default_bundle() -> &'static Bundle {
    static BUNDLE: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get_or_init(|| bundle::load_embedded(engine()).expect("default bundle loads"))
}

/// A bundle of the pii plugin alone, loaded once: its rules without other plugins in the way.
pub fn pii_bundle() -> &'static Bundle {
    static BUNDLE: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get_or_init(|| load(&format!("{HEADER}{PII}")).expect("pii bundle loads"))
}

/// The component cache the spawned `palisade` binary uses in tests: under target/, never the user's home.
pub const BINARY_CACHE_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/component-cache");

pub fn key() -> HashKey {
    HashKey::new(*b"test key")
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn pii_wasm() -> &'static [u8] {
    bundle::embedded::FILES
        .iter()
        .find(|(n, _)| *n == "pii.wasm")
        .expect("pii is embedded")
        .1
}

pub fn testbed_wasm() -> Vec<u8> {
    std::fs::read(palisade_test_plugins::TESTBED_WASM).expect("testbed.wasm was built")
}

/// A bundle directory holding `pii.wasm` and `testbed.wasm`, with `manifest` as its bundle.toml. In the
/// manifest, `@pii` and `@testbed` stand for the files' sha256.
pub fn bundle_dir(manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write_bundle(dir.path(), manifest);
    dir
}

pub fn write_bundle(dir: &Path, manifest: &str) {
    let testbed = testbed_wasm();
    std::fs::write(dir.join("pii.wasm"), pii_wasm()).unwrap();
    std::fs::write(dir.join("testbed.wasm"), &testbed).unwrap();
    let manifest = manifest
        .replace("@pii", &sha256(pii_wasm()))
        .replace("@testbed", &sha256(&testbed));
    std::fs::write(dir.join("bundle.toml"), manifest).unwrap();
}

/// The default bundle exported to a directory, its bundle.toml passed through `edit`, and loaded: the stock
/// plugins under a policy or config a test sets.
pub fn edited_default_bundle(edit: impl FnOnce(String) -> String) -> Bundle {
    try_edited_default_bundle(edit).expect("edited default bundle loads")
}

/// [`edited_default_bundle`], for edits that may not load.
pub fn try_edited_default_bundle(edit: impl FnOnce(String) -> String) -> palisade::Result<Bundle> {
    let dir = edited_default_bundle_dir(edit);
    bundle::load_dir(engine(), dir.path())
}

/// The default bundle exported to a directory with its bundle.toml passed through `edit`, for a server
/// started with `--bundle`.
pub fn edited_default_bundle_dir(edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    bundle::embedded::export(dir.path()).expect("default bundle exports");
    let manifest = std::fs::read_to_string(dir.path().join("bundle.toml")).unwrap();
    std::fs::write(dir.path().join("bundle.toml"), edit(manifest)).unwrap();
    dir
}

/// Adds `config = <inline table>` to the stock plugin `name` in a default bundle manifest, or its keys to
/// the `config = { … }` the plugin has.
pub fn with_plugin_config(manifest: String, name: &str, config: &str) -> String {
    let anchor = format!("name = \"{name}\"\n");
    assert!(
        manifest.contains(&anchor),
        "no plugin {name} in the default bundle"
    );
    let at = manifest.find(&anchor).unwrap() + anchor.len();
    // The plugin's table ends at the next `[[plugin]]`; a `config = { … }` already in it gains these keys.
    let end = manifest[at..]
        .find("[[plugin]]")
        .map_or(manifest.len(), |i| at + i);
    let keys = config
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim();
    match manifest[at..end].find("\nconfig = { ") {
        Some(i) => {
            let open = at + i + "\nconfig = { ".len();
            format!("{}{keys}, {}", &manifest[..open], &manifest[open..])
        }
        None => manifest.replacen(&anchor, &format!("{anchor}config = {config}\n"), 1),
    }
}

/// Loads a bundle from a manifest (see [`bundle_dir`]).
pub fn load(manifest: &str) -> palisade::Result<Bundle> {
    let dir = bundle_dir(manifest);
    bundle::load_dir(engine(), dir.path())
}

/// The header every test manifest starts with.
pub const HEADER: &str = r#"
[bundle]
name = "test"
version = "1"

[policy]
default = "report"
EMAIL_ADDRESS = "redact"
CREDIT_CARD = "mask"
"#;

/// A `[[plugin]]` table for testbed with the given name and config (inline TOML), plus extra keys.
///
/// Budgets are wall time, so a test that is not about time gets a generous one (unless `extra` sets its
/// own): on a loaded CI machine a 10 ms budget can run out in the scheduler.
pub fn testbed(name: &str, config: &str, extra: &str) -> String {
    let budget = if extra.contains("budget") {
        ""
    } else {
        "budget = \"5s\"\n"
    };
    format!(
        "\n[[plugin]]\nname = \"{name}\"\nwasm = \"testbed.wasm\"\nsha256 = \"@testbed\"\nconfig = {config}\n{budget}{extra}\n"
    )
}

/// The pii plugin with no optional keys, for tests that add their own.
pub const PII_BARE: &str = "\n[[plugin]]\nname = \"pii\"\nwasm = \"pii.wasm\"\nsha256 = \"@pii\"\n";

/// The pii plugin with a generous budget (see [`testbed`]).
pub const PII: &str =
    "\n[[plugin]]\nname = \"pii\"\nwasm = \"pii.wasm\"\nsha256 = \"@pii\"\nbudget = \"5s\"\n";

pub fn run(bundle: &Bundle, text: &str) -> Verdicts {
    run_dir(bundle, text, Dir::Input)
}

pub fn run_dir(bundle: &Bundle, text: &str, direction: Dir) -> Verdicts {
    let request = Request {
        direction,
        text: text.into(),
        ..Request::default()
    };
    chain::run(bundle, &request, &key()).expect("no deadline, so no error")
}

/// The JSON pointer of every value in `v` that is not an object or an array, below `at`.
pub fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                leaves(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, item) in o {
                leaves(
                    item,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => out.push(at),
    }
}

/// The texts of the shared development corpus (`../shared/corpus/dev.jsonl`), for tests that want varied
/// real-looking text beside their own. Absent, it is an empty list and the test says so — or, with
/// `PALISADE_CORPUS=required` (CI sets it), a failure.
pub fn dev_corpus_texts() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/dev.jsonl");
    let Ok(jsonl) = std::fs::read_to_string(path) else {
        assert!(
            std::env::var("PALISADE_CORPUS").as_deref() != Ok("required"),
            "no corpus at {path}, and PALISADE_CORPUS=required"
        );
        eprintln!("no corpus at {path}: this test runs on its own texts only");
        return Vec::new();
    };
    jsonl
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let doc: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            doc["text"].as_str().expect("a text").to_string()
        })
        .collect()
}
