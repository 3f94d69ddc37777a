//! Loading bundles: every problem is reported with the file, the plugin and the line, and nothing of a
//! failed load is kept.

use palisade::bundle;

use crate::util::{bundle_dir, engine, load, sha256, testbed, HEADER, PII, PII_BARE};

fn load_err(manifest: &str) -> String {
    match load(manifest) {
        Ok(_) => panic!("bundle should not load:\n{manifest}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_embedded_default_bundle_loads() {
    let b = bundle::load_embedded(engine()).unwrap();
    assert_eq!(b.id(), "default@0.3.1");
    assert_eq!(
        b.plugins.iter().map(|p| p.name()).collect::<Vec<_>>(),
        ["pii", "secrets", "classification", "destinations"]
    );
    assert_eq!(b.digest, sha256(bundle::embedded::MANIFEST.as_bytes()));
}

#[test]
fn a_wrong_digest_is_rejected_before_compiling() {
    let wrong = "0".repeat(64);
    let msg = load_err(&format!("{HEADER}{}", PII.replace("@pii", &wrong)));
    assert!(
        msg.contains(r#"plugin "pii""#) && msg.contains("sha256 mismatch") && msg.contains(&wrong),
        "{msg}"
    );
    // The file's own digest is not echoed: reload errors reach Admin callers.
    assert!(
        !msg.contains(&sha256(crate::util::pii_wasm())),
        "the message gives the actual digest: {msg}"
    );
}

#[cfg(unix)]
#[test]
fn bundle_files_are_regular_files_not_devices_or_pipes() {
    let manifest = format!("{HEADER}{PII}");
    for (what, make) in [
        ("a link to /dev/zero", "link"),
        ("a FIFO", "fifo"),
        ("a directory", "dir"),
    ] {
        let dir = crate::util::bundle_dir(&manifest);
        let wasm = dir.path().join("pii.wasm");
        std::fs::remove_file(&wasm).unwrap();
        match make {
            "link" => std::os::unix::fs::symlink("/dev/zero", &wasm).unwrap(),
            "fifo" => assert!(std::process::Command::new("mkfifo")
                .arg(&wasm)
                .status()
                .unwrap()
                .success()),
            _ => std::fs::create_dir(&wasm).unwrap(),
        }
        let started = std::time::Instant::now();
        let msg = match bundle::load_dir(engine(), dir.path()) {
            Ok(_) => panic!("{what} loaded"),
            Err(e) => e.to_string(),
        };
        assert!(msg.contains("not a regular file"), "{what}: {msg}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{what} took {:?}",
            started.elapsed()
        );
    }
    // A link to a regular file (a Kubernetes ConfigMap is a directory of links) still loads.
    let dir = crate::util::bundle_dir(&manifest);
    let wasm = dir.path().join("pii.wasm");
    let real = dir.path().join("..pii.wasm.real");
    std::fs::rename(&wasm, &real).unwrap();
    std::os::unix::fs::symlink(&real, &wasm).unwrap();
    bundle::load_dir(engine(), dir.path()).unwrap();
}

#[test]
fn a_missing_digest_says_which_to_add() {
    let msg = load_err(&format!(
        "{HEADER}{}",
        PII.replace("sha256 = \"@pii\"\n", "")
    ));
    assert!(
        msg.contains("no sha256 for pii.wasm") && msg.contains("sha256sum pii.wasm"),
        "{msg}"
    );
    assert!(msg.contains("bundle.toml:"), "names the line: {msg}");
}

#[test]
fn manifest_errors_name_the_line_and_the_fix() {
    let msg = load_err(&format!("{HEADER}{PII_BARE}budget = \"2 fortnights\"\n"));
    assert!(
        msg.contains("bundle.toml:11") && msg.contains("budget") && msg.contains("2ms"),
        "{msg}"
    );
    let msg = load_err(&format!("{HEADER}{PII_BARE}memory = \"8GiB\"\n"));
    assert!(
        msg.contains("memory") && msg.contains("between 1MiB"),
        "{msg}"
    );
    let msg = load_err(&format!("{HEADER}{PII_BARE}colour = \"blue\"\n"));
    assert!(
        msg.contains("unknown field `colour`") && msg.contains("line"),
        "{msg}"
    );
    let msg = load_err(&format!("{HEADER}{PII_BARE}{PII_BARE}"));
    assert!(msg.contains("already in the bundle"), "{msg}");
    let msg = load_err(&format!(
        "{HEADER}{}",
        PII.replace("pii.wasm", "../pii.wasm")
    ));
    assert!(msg.contains("inside the bundle directory"), "{msg}");
    let msg = load_err(&HEADER.replace("default = \"report\"", "default = \"explode\""));
    assert!(
        msg.contains("[policy]") && msg.contains("redact, mask, hash, pseudonymize, deny, report"),
        "{msg}"
    );
    let msg = load_err(&format!("{HEADER}{PII_BARE}directions = []\n"));
    assert!(msg.contains("never run"), "{msg}");
}

#[test]
fn pass_unread_takes_media_types_and_whole_kinds_only() {
    let with = |list: &str| {
        HEADER.replacen(
            "[bundle]\n",
            &format!("[bundle]\npass_unread = {list}\n"),
            1,
        ) + PII
    };
    let bundle = crate::util::load(&with(r#"["Audio/*", "application/octet-stream"]"#)).unwrap();
    assert_eq!(
        bundle.passes_unread("audio/mpeg; rate=44100"),
        Some("audio/*")
    );
    assert_eq!(
        bundle.passes_unread("APPLICATION/OCTET-STREAM"),
        Some("application/octet-stream")
    );
    assert_eq!(bundle.passes_unread("image/png"), None);
    assert_eq!(bundle.passes_unread(""), None);
    for (list, says) in [
        (r#"["*/*"]"#, "would let every body pass unread"),
        (r#"["audio"]"#, "is not a media type"),
        (r#"["audio/mp eg"]"#, "is not a media type"),
    ] {
        let msg = load_err(&with(list));
        assert!(
            msg.contains("[bundle] pass_unread") && msg.contains(says),
            "{msg}"
        );
    }
}

#[test]
fn a_file_that_is_not_a_component_is_rejected() {
    let dir = bundle_dir(&format!("{HEADER}{PII}"));
    std::fs::write(dir.path().join("pii.wasm"), b"not wasm").unwrap();
    let manifest = std::fs::read_to_string(dir.path().join("bundle.toml")).unwrap();
    let fixed = manifest.replace(&sha256(crate::util::pii_wasm()), &sha256(b"not wasm"));
    std::fs::write(dir.path().join("bundle.toml"), fixed).unwrap();
    let msg = bundle::load_dir(engine(), dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains(r#"plugin "pii" (pii.wasm): not a valid component"#),
        "{msg}"
    );
}

#[test]
fn data_files_are_digest_checked_and_handed_to_configure() {
    let manifest = format!(
        "{HEADER}{}\n[digests]\n\"words.txt\" = \"{}\"\n",
        testbed(
            "reader",
            r#"{ mode = "find", needle = "x" }"#,
            r#"files = { words = "words.txt" }"#
        ),
        sha256(b"alpha beta")
    );
    let dir = bundle_dir(&manifest);
    std::fs::write(dir.path().join("words.txt"), b"alpha beta").unwrap();
    assert!(bundle::load_dir(engine(), dir.path()).is_ok());
    std::fs::write(dir.path().join("words.txt"), b"tampered").unwrap();
    let msg = bundle::load_dir(engine(), dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("files.words: sha256 mismatch for words.txt"),
        "{msg}"
    );
}

/// The default manifest with every plugin named `builtin:NAME` and no file or digest beside it.
fn builtin_manifest() -> String {
    let re = regex::Regex::new(r#"wasm = "(\w+)\.wasm"\nsha256 = "[0-9a-f]{64}"\n"#).unwrap();
    let manifest = re.replace_all(bundle::embedded::MANIFEST, "wasm = \"builtin:$1\"\n");
    assert_eq!(manifest.matches("builtin:").count(), 4, "{manifest}");
    manifest.into_owned()
}

#[test]
fn a_bundle_of_one_file_can_name_the_plugins_built_into_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bundle.toml"), builtin_manifest()).unwrap();
    let from_file = bundle::load_dir(engine(), dir.path()).unwrap();
    let stock = crate::util::default_bundle();
    assert_eq!(
        from_file
            .plugins
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>(),
        ["pii", "secrets", "classification", "destinations"]
    );
    for text in [
        "mail jane.doe@example.com or call +1 415 555 0100",
        "key AKIAZ3MHQ4WRT7LUBX2N for the CONFIDENTIAL report",
        "nothing to see",
    ] {
        let (a, b) = (
            crate::util::run(&from_file, text),
            crate::util::run(stock, text),
        );
        assert_eq!(
            (a.outcome, &a.text, &a.labels),
            (b.outcome, &b.text, &b.labels)
        );
    }
}

#[test]
fn a_builtin_plugin_can_be_pinned_and_a_wrong_name_or_pin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let load = |manifest: &str| {
        std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
        bundle::load_dir(engine(), dir.path())
    };
    let pii_digest = sha256(bundle::embedded::plugin("pii").unwrap());
    let pinned = builtin_manifest().replacen(
        "wasm = \"builtin:pii\"\n",
        &format!("wasm = \"builtin:pii\"\nsha256 = \"{pii_digest}\"\n"),
        1,
    );
    load(&pinned).expect("a correct pin loads");

    let msg = load(&pinned.replacen(&pii_digest, &"0".repeat(64), 1))
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("builtin:pii") && msg.contains("sha256 mismatch"),
        "{msg}"
    );

    let msg = load(&builtin_manifest().replacen("builtin:pii", "builtin:pi", 1))
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("bundle.toml:")
            && msg.contains(r#"no plugin "pi" is built into this binary"#)
            && msg.contains("pii, secrets"),
        "{msg}"
    );
}
