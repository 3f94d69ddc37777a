//! Builds the guest crates in `guests/` and the example plugins in `examples/plugins/` for wasm32-wasip2,
//! so tests never rely on checked-in `.wasm`.

include!("../../host/build/guests.rs");

fn main() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=../../guest-sdk");
    println!("cargo:rerun-if-changed=../../host/build/guests.rs");
    println!("cargo:rerun-if-changed=../../wit");
    let built = build_guests(&here.join("guests"), &["testbed"]);
    println!(
        "cargo:rustc-env=TESTBED_WASM={}",
        built.join("testbed.wasm").display()
    );
    let built = build_guests(&here.join("../../examples/plugins"), &["codewords"]);
    println!(
        "cargo:rustc-env=CODEWORDS_WASM={}",
        built.join("codewords.wasm").display()
    );
}
