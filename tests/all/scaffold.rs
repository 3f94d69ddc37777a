//! `palisade plugin new` in each language: the project it writes builds with its own build.sh and its
//! component runs under `palisade scan --plugin`, with spans in UTF-8 bytes.
//!
//! Rust needs only cargo and runs always. Python, JavaScript and C install toolchains from PyPI, npm and
//! Debian, so they run when `PALISADE_LANGUAGE_EXAMPLES=required` (as CI sets it, after
//! `bash examples/plugins/build.sh` has installed them) and are skipped, saying so, otherwise.

use std::path::Path;
use std::process::Command;

use crate::cli::palisade;

/// Writes a project named `t-LANG`, builds it, and scans a text with two words the plugin flags.
fn scaffold_builds_and_scans(lang: &str, cargo_target_dir: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("t-{lang}");
    let project = dir.path().join(&name);
    let project_arg = project.to_str().unwrap();
    let o = palisade(
        &["plugin", "new", &name, "--lang", lang, "--dir", project_arg],
        "",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let build = Command::new("bash")
        .arg(project.join("build.sh"))
        .env("CARGO_TARGET_DIR", cargo_target_dir)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{lang}: build.sh failed:\n{}{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );

    let text = "Grüße 😀 example — ☃ example";
    let wasm = project.join(format!("build/{name}.wasm"));
    let line = serde_json::json!({"id": 1, "text": text}).to_string() + "\n";
    let o = palisade(
        &["scan", "--plugin", wasm.to_str().unwrap(), "--jsonl"],
        &line,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let spans: Vec<(u64, u64)> = (answer["findings"].as_array().unwrap().iter())
        .map(|f| (f["start"].as_u64().unwrap(), f["end"].as_u64().unwrap()))
        .collect();
    let first = text.find("example").unwrap() as u64;
    let second = text.rfind("example").unwrap() as u64;
    assert_eq!(
        spans,
        vec![(first, first + 7), (second, second + 7)],
        "{lang}"
    );
    assert_eq!(answer["findings"][0]["rule"], format!("{name}.word"));
}

/// True when the language toolchains may be installed and used (CI); otherwise says what is skipped.
fn languages_wanted(lang: &str) -> bool {
    let wanted = std::env::var("PALISADE_LANGUAGE_EXAMPLES").as_deref() == Ok("required");
    if !wanted {
        eprintln!(
            "skipped: `plugin new --lang {lang}` installs its toolchain; \
             run with PALISADE_LANGUAGE_EXAMPLES=required to test it"
        );
    }
    wanted
}

#[test]
fn plugin_new_rust_builds_and_runs() {
    // Shared between runs, so wit-bindgen is compiled once.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-rust");
    scaffold_builds_and_scans("rust", &target);
}

#[test]
fn plugin_new_python_builds_and_runs() {
    if languages_wanted("python") {
        scaffold_builds_and_scans("python", Path::new(env!("CARGO_TARGET_TMPDIR")));
    }
}

#[test]
fn plugin_new_js_builds_and_runs() {
    if languages_wanted("js") {
        scaffold_builds_and_scans("js", Path::new(env!("CARGO_TARGET_TMPDIR")));
    }
}

#[test]
fn plugin_new_c_builds_and_runs() {
    if languages_wanted("c") {
        // The project's componentize tool is the C example's: its dependencies are compiled already.
        let target = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/plugins/componentize/target"
        );
        scaffold_builds_and_scans("c", Path::new(target));
    }
}
