//! The example plugins in `examples/plugins`, built from source and run in a bundle, and the README,
//! which shows one of them and must show it as it is.

use palisade::bundle;
use palisade::chain::Outcome;

use crate::util::{engine, run, sha256, HEADER};

#[test]
fn the_codewords_example_flags_codewords_and_labels_the_text() {
    let wasm =
        std::fs::read(palisade_test_plugins::CODEWORDS_WASM).expect("codewords.wasm was built");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("codewords.wasm"), &wasm).unwrap();
    let manifest = format!(
        "{HEADER}CLASSIFICATION = \"redact\"\n\n[[plugin]]\nname = \"codewords\"\nwasm = \"codewords.wasm\"\n\
         sha256 = \"{}\"\nconfig = {{ words = [\"Project Falcon\", \"bluebird\"] }}\n",
        sha256(&wasm)
    );
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    let bundle = bundle::load_dir(engine(), dir.path()).unwrap();
    let v = run(&bundle, "Status of PROJECT FALCON and Bluebird?");
    assert_eq!(v.outcome, Outcome::Modify);
    assert_eq!(v.text, "Status of [CLASSIFICATION] and [CLASSIFICATION]?");
    assert!(v.labels.contains(&"confidential".to_string()));
    assert_eq!(run(&bundle, "nothing secret").labels, Vec::<String>::new());
}

#[test]
fn the_readme_shows_the_codewords_example_as_it_is() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let source =
        std::fs::read_to_string(format!("{root}/examples/plugins/codewords/src/lib.rs")).unwrap();
    assert!(
        readme.contains(&source),
        "README.md must include examples/plugins/codewords/src/lib.rs verbatim"
    );
}
