//! Builds the guest crates in `guests/` for wasm32-wasip2, so tests never rely on checked-in `.wasm`.

include!("../../host/build/guests.rs");

fn main() {
    let guests = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests");
    println!("cargo:rerun-if-changed=../../guest-sdk");
    println!("cargo:rerun-if-changed=../../wit");
    let built = build_guests(&guests, &["testbed"]);
    println!(
        "cargo:rustc-env=TESTBED_WASM={}",
        built.join("testbed.wasm").display()
    );
}
