// Builds a workspace of guest crates for wasm32-wasip2 from a build script, the way wasmtime's
// test-programs and Spin's test-components do: a nested cargo with its own target directory under
// OUT_DIR, so it never contends with the outer build's lock. Shared by `host/build.rs` (the stock plugins
// embedded in the binary) and `tests/plugins/build.rs` (the hostile plugins the tests load), via `include!`.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_TARGET: &str = "wasm32-wasip2";

/// Builds `packages` of the guest workspace at `workspace` in release mode and returns the directory
/// holding their `.wasm` files (crate names with `-` turned into `_`).
fn build_guests(workspace: &Path, packages: &[&str]) -> PathBuf {
    println!("cargo:rerun-if-changed={}", workspace.display());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    let target_dir = out_dir.join("guests");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(GUEST_TARGET)
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for p in packages {
        cmd.arg("-p").arg(p);
    }
    // The outer build's flags and wrappers are for the host target: a clippy or coverage wrapper, or
    // host RUSTFLAGS, would break or slow a wasm build, so the nested cargo starts clean.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    // Wasm SIMD, which wasmtime runs by default: memchr, and with it the regex crate's literal
    // prefilters, then scan 16 bytes at a time. The default chain over the corpus: −18% (BENCHMARKS.md).
    cmd.env("CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS", "-Ctarget-feature=+simd128");
    let output = cmd.output().unwrap_or_else(|e| panic!("could not run cargo to build the guest plugins: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("may not be installed") || stderr.contains("can't find crate for `std`") {
            format!("\nhint: the {GUEST_TARGET} target is missing; run `rustup target add {GUEST_TARGET}`")
        } else {
            String::new()
        };
        panic!(
            "building the guest plugins in {} for {GUEST_TARGET} failed:\n{stderr}{hint}",
            workspace.display()
        );
    }
    target_dir.join(GUEST_TARGET).join("release")
}
