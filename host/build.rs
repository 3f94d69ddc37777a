//! Compiles the gRPC contract (`proto/`), builds the stock plugins (`plugins/`) for wasm32-wasip2, and
//! writes the embedded default bundle to OUT_DIR: `host/default-bundle.toml` with each plugin's sha256
//! filled in, next to the `.wasm` files. `palisade::bundle::embedded` includes them, so
//! `cargo build -p palisade` alone yields a binary that serves the stock plugins with no flags.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;

include!("build/guests.rs");

/// (crate in `plugins/`, wasm file name the default bundle names).
const STOCK: &[(&str, &str)] = &[
    ("pii", "pii.wasm"),
    ("secrets", "secrets.wasm"),
    ("classification", "classification.wasm"),
    ("destinations", "destinations.wasm"),
];

/// Built in too, for bundles to name as `builtin:NAME`, but not in the default bundle: the policy
/// plugins need the bundle's own policy files, and `ner` costs milliseconds per KB (BENCHMARKS.md).
const BUILTIN_ONLY: &[(&str, &str)] = &[
    ("policy-cedar", "policy-cedar.wasm"),
    ("policy-rego", "policy-rego.wasm"),
    ("ner", "ner.wasm"),
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    compile_proto(&root);
    build_info(&root);
    println!("cargo:rerun-if-changed=default-bundle.toml");
    println!("cargo:rerun-if-changed=build/guests.rs");
    println!("cargo:rerun-if-changed=../guest-sdk");
    println!("cargo:rerun-if-changed=../wit");
    let packages: Vec<&str> = STOCK
        .iter()
        .chain(BUILTIN_ONLY)
        .map(|(krate, _)| *krate)
        .collect();
    let built = build_guests(&root.join("plugins"), &packages);
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let template = std::fs::read_to_string("default-bundle.toml")
        .expect("host/default-bundle.toml is readable");
    let mut manifest = template.clone();
    let mut embedded = String::from("&[\n");
    for (krate, file) in STOCK.iter().chain(BUILTIN_ONLY) {
        let wasm_path = built.join(format!("{}.wasm", krate.replace('-', "_")));
        let bytes =
            std::fs::read(&wasm_path).unwrap_or_else(|e| panic!("{}: {e}", wasm_path.display()));
        if STOCK.contains(&(krate, file)) {
            let digest = hex::encode(Sha256::digest(&bytes));
            let placeholder = format!("sha256 = \"@{file}\"");
            assert!(
                manifest.contains(&placeholder),
                "default-bundle.toml must carry `{placeholder}` for {file}"
            );
            manifest = manifest.replace(&placeholder, &format!("sha256 = \"{digest}\""));
        }
        let dest = out_dir.join(file);
        std::fs::write(&dest, &bytes).expect("OUT_DIR is writable");
        writeln!(
            embedded,
            "    ({file:?}, include_bytes!({:?}) as &[u8]),",
            dest.display()
        )
        .unwrap();
    }
    embedded.push(']');
    std::fs::write(out_dir.join("bundle.toml"), manifest).expect("OUT_DIR is writable");
    std::fs::write(out_dir.join("embedded_files.rs"), embedded).expect("OUT_DIR is writable");
}

/// Compiles `proto/palisade/v1/guardrail.proto` with protox (pure Rust, so no protoc to install) and writes
/// the encoded descriptor set next to the generated code, for server reflection, and the messages' proto3
/// JSON mapping (serde, by pbjson).
fn compile_proto(root: &Path) {
    let proto_dir = root.join("proto");
    println!("cargo:rerun-if-changed={}", proto_dir.display());
    let fds = protox::compile(
        [proto_dir.join("palisade/v1/guardrail.proto")],
        [&proto_dir],
    )
    .unwrap_or_else(|e| panic!("proto/palisade/v1/guardrail.proto does not compile: {e}"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let descriptors = prost::Message::encode_to_vec(&fds);
    std::fs::write(out_dir.join("palisade_descriptor.bin"), &descriptors)
        .expect("OUT_DIR is writable");
    tonic_prost_build::configure()
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("generating gRPC code failed: {e}"));
    // The proto3 JSON mapping of the same messages, for the HTTP/JSON API: one contract, two encodings.
    // Default values are written out (`"start": 0`, `"findings": []`) for callers in JavaScript or Lua
    // that read fields without knowing proto3's defaults.
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)
        .and_then(|b| b.emit_fields().build(&[".palisade.v1"]))
        .unwrap_or_else(|e| panic!("generating the JSON mapping failed: {e}"));
}

/// What `palisade_build_info` reports: the target, and the wasmtime version Cargo.lock resolved.
fn build_info(root: &Path) {
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=PALISADE_TARGET={target}");
    let lock_path = root.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    let wasmtime = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wasmtime\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PALISADE_WASMTIME_VERSION={wasmtime}");
}
