// Builds a workspace of guest crates for wasm32-wasip2 from a build script, the way wasmtime's
// test-programs artifacts are built: a nested cargo, its own target directory, and `rerun-if-changed` for
// the source files the nested build's dep-info names. Shared by `host/build.rs` (the stock plugins
// embedded in the binary) and `tests/plugins/build.rs` (the plugins the tests load), via `include!`.
//
// The target directory is one per outer target directory (`target/guests`), not one per OUT_DIR: the
// tests, the static build, clippy and a debug build all run these build scripts with different OUT_DIRs,
// and each used to compile cedar-policy and regorus for wasm with LTO again. Nested builds that run at
// once wait for each other on cargo's lock; they never contend with the outer build, whose lock is on
// its own profile directory.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_TARGET: &str = "wasm32-wasip2";

/// Builds `packages` of the guest workspace at `workspace` in release mode and returns the directory
/// holding their `.wasm` files (crate names with `-` turned into `_`).
fn build_guests(workspace: &Path, packages: &[&str]) -> PathBuf {
    let target_dir = guest_target_dir();
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
    rerun_if_sources_change(workspace, &target_dir, packages);
    target_dir.join(GUEST_TARGET).join("release")
}

/// `target/guests` beside the outer build's profile directories, found from where cargo puts OUT_DIR:
/// `<target>/[<triple>/]<profile>/build/<package>-<hash>/out`, the triple's directory there only with
/// `--target` (and named as `TARGET`). So one guest build serves a host build and a cross build (the
/// static musl one) alike, and `CARGO_TARGET_DIR` and `--target-dir` are followed. (Not cargo's
/// `CACHEDIR.TAG`: it is written only into a target directory cargo itself created, and CI creates
/// `target/` first.) OUT_DIR itself when the layout is another.
fn guest_target_dir() -> PathBuf {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    let mut up = out_dir.ancestors();
    let (build, profile) = (up.nth(2), up.next());
    let Some(profile) = profile.filter(|_| build.and_then(Path::file_name) == Some("build".as_ref())) else {
        return out_dir.join("guests");
    };
    let target = std::env::var_os("TARGET");
    let root = match profile.parent() {
        Some(triple) if triple.file_name() == target.as_deref() => triple.parent(),
        parent => parent,
    };
    root.map_or_else(|| out_dir.join("guests"), |root| root.join("guests"))
}

/// Asks cargo to run the build script again when a file the guests were compiled from changes: every
/// source file in the dep-info (`NAME.d`) of each package that lies outside cargo's registry (the
/// workspace's own crates, the guest SDK, the WIT files), and the workspace's manifests and lock file.
/// Not the workspace directory: it holds a `target/` of its own once someone builds there, and any
/// change under it would re-embed the plugins and relink `palisade`.
fn rerun_if_sources_change(workspace: &Path, target_dir: &Path, packages: &[&str]) {
    let cargo_home = std::env::var_os("CARGO_HOME").map(PathBuf::from);
    let from_registry = |p: &Path| {
        cargo_home.as_deref().is_some_and(|home| p.starts_with(home))
            || p.components().any(|c| c.as_os_str() == ".cargo" || c.as_os_str() == ".rustup")
    };
    // Files the nested build generated (a dependency's build-script output) are written after this
    // build script started, so cargo would count them as changed and run it again on every build.
    let generated = |p: &Path| p.starts_with(target_dir);
    let mut files = vec![workspace.join("Cargo.toml"), workspace.join("Cargo.lock")];
    for package in packages {
        let name = format!("{}.d", package.replace('-', "_"));
        let dep_info = target_dir.join(GUEST_TARGET).join("release").join(name);
        let text = std::fs::read_to_string(&dep_info)
            .unwrap_or_else(|e| panic!("{}: {e} (the guest build wrote no dep-info)", dep_info.display()));
        files.extend(dep_info_sources(&text).into_iter().filter(|p| !from_registry(p) && !generated(p)));
        files.push(workspace.join(package).join("Cargo.toml"));
    }
    files.sort();
    files.dedup();
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

/// The prerequisites of a Makefile-style dep-info file as cargo writes it (`out: src1 src2 …`, one rule
/// per output, spaces in paths escaped with `\`).
fn dep_info_sources(text: &str) -> Vec<PathBuf> {
    let mut sources = Vec::new();
    for line in text.lines() {
        let Some((_, prerequisites)) = line.split_once(": ") else {
            continue;
        };
        let mut current = String::new();
        let mut chars = prerequisites.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                ' ' => {
                    if !current.is_empty() {
                        sources.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            sources.push(PathBuf::from(current));
        }
    }
    sources
}
