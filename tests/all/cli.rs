//! The real `palisade` binary: `scan` in plain and JSON-lines modes, its exit statuses and messages.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::util::{bundle_dir, testbed, HEADER, PII};

pub(crate) fn palisade(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .env_remove("PALISADE_BUNDLE")
        .env("PALISADE_CACHE_DIR", crate::util::BINARY_CACHE_DIR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("palisade starts");
    // Written from a thread while the output is read: an input larger than the pipes would otherwise
    // leave both sides waiting on each other.
    let mut input = child.stdin.take().unwrap();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // A palisade that rejects its arguments exits without reading; that is its answer, not a
            // test failure.
            if let Err(e) = input.write_all(stdin.as_bytes()) {
                assert_eq!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe,
                    "writing to palisade's stdin: {e}"
                );
            }
        });
        child.wait_with_output().unwrap()
    })
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn scan_redacts_stdin_with_the_embedded_bundle() {
    let o = palisade(&["scan"], "write to ana@example.com");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "write to [EMAIL_ADDRESS]");
    assert!(
        stderr(&o).contains("EMAIL_ADDRESS pii.email at 9..24 (pii, redact)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn scan_jsonl_answers_each_line_with_offsets_into_the_input() {
    let input = concat!(
        r#"{"id": "a", "text": "né à Zürich, mail zoé@example.fr? no: zoe@example.fr", "entities": []}"#,
        "\n",
        r#"{"id": 7, "text": "nothing here", "direction": "output"}"#,
        "\n"
    );
    let o = palisade(&["scan", "--jsonl"], input);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["decision"], "modify");
    let text = "né à Zürich, mail zoé@example.fr? no: zoe@example.fr";
    // Both addresses (the first has a non-ASCII local part, RFC 6531), at byte offsets past `é` and `ü`.
    let found: Vec<&str> = (lines[0]["findings"].as_array().unwrap().iter())
        .map(|f| &text[f["start"].as_u64().unwrap() as usize..f["end"].as_u64().unwrap() as usize])
        .collect();
    assert_eq!(
        found,
        ["zoé@example.fr", "zoe@example.fr"],
        "UTF-8 byte offsets into the input"
    );
    let f = &lines[0]["findings"][0];
    assert_eq!(f["plugin"], "pii");
    assert_eq!(f["category"], "EMAIL_ADDRESS");
    assert!(lines[0]["elapsed_us"].is_u64());
    assert_eq!(lines[1]["id"], 7);
    assert_eq!(lines[1]["decision"], "allow");
    assert_eq!(lines[1]["text"], "nothing here");
}

#[test]
fn scan_lists_a_thousand_findings_and_counts_the_rest() {
    let text: String = (0..1_200).map(|i| format!("u{i}@example.com ")).collect();
    let plain = palisade(&["scan"], &text);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(!stdout(&plain).contains("@example.com"));
    assert_eq!(stderr(&plain).matches("pii.email").count(), 1_000);
    assert!(
        stderr(&plain).contains("… and 200 more findings, not listed"),
        "{}",
        stderr(&plain)
    );

    let line = serde_json::json!({ "id": 1, "text": text }).to_string();
    let o = palisade(&["scan", "--jsonl"], &format!("{line}\n"));
    let answer: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(answer["findings"].as_array().unwrap().len(), 1_000);
    assert_eq!(answer["findings_dropped"], 200);
}

#[test]
fn scan_reads_json_chat_bodies_with_content_type() {
    let body = r#"{"messages": [{"role": "user", "content": "write to ana@example.com"}]}"#;
    let o = palisade(&["scan", "--content-type", "application/json"], body);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        r#"{"messages": [{"role": "user", "content": "write to [EMAIL_ADDRESS]"}]}"#
    );
    assert!(
        stderr(&o).contains("at 9..24 of /messages/0/content"),
        "{}",
        stderr(&o)
    );

    // In JSON-lines mode a line says its own content type, and findings carry their location.
    let line = serde_json::json!({"id": 1, "text": body, "content_type": "application/json"});
    let o = palisade(&["scan", "--jsonl"], &format!("{line}\n"));
    let answer: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(answer["findings"][0]["location"], "/messages/0/content");

    let o = palisade(
        &["scan", "--content-type", "application/json"],
        "{\"messages\": [}",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("body is not valid JSON") && stderr(&o).contains("line 1 column"),
        "{}",
        stderr(&o)
    );
    let o = palisade(&["scan", "--content-type", "image/png"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("image/png"), "{}", stderr(&o));
}

#[test]
fn scan_exits_1_when_something_is_denied() {
    let dir = bundle_dir(&format!(
        "{HEADER}{}",
        testbed("no", r#"{ mode = "deny" }"#, "")
    ));
    let o = palisade(&["scan", "--bundle", dir.path().to_str().unwrap()], "hello");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "", "a denied text is not written out");
    assert!(
        stderr(&o).contains("deny: plugin \"no\" denied"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn scan_reports_bad_lines_with_their_number_and_still_answers_the_rest() {
    let input = "{\"id\": 1, \"text\": \"ok\"}\nnot json\n{\"id\": 3, \"text\": \"x\", \"direction\": \"sideways\"}\n{\"id\": 4, \"text\": \"ok\"}\n";
    let o = palisade(&["scan", "--jsonl"], input);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o).lines().count(), 2);
    let err = stderr(&o);
    assert!(err.contains("<stdin>:2: not a scan input line"), "{err}");
    assert!(
        err.contains("<stdin>:3: unknown direction \"sideways\""),
        "{err}"
    );
}

#[test]
fn scan_jsonl_on_several_threads_answers_in_input_order_as_one_thread_does() {
    // Lines of very different cost (a long one first), bad lines among them, more than one batch.
    let mut input = format!(
        "{}\n",
        serde_json::json!({"id": 0, "text": "mail ana@example.com ".repeat(2_000)})
    );
    for i in 1..3000 {
        let line = match i % 500 {
            7 => "not json".to_string(),
            9 => serde_json::json!({"id": i, "text": "x", "direction": "sideways"}).to_string(),
            _ => serde_json::json!({"id": i, "text": format!("turn {i}: card 4111 1111 1111 1111, key AKIAZ7QW3RTY5UIO2PAS, call +44 20 7946 0{i:03}")}).to_string(),
        };
        input.push_str(&line);
        input.push('\n');
    }
    let without_times = |o: &Output| -> Vec<serde_json::Value> {
        (stdout(o).lines())
            .map(|l| {
                let mut answer: serde_json::Value = serde_json::from_str(l).unwrap();
                answer.as_object_mut().unwrap().remove("elapsed_us");
                answer
            })
            .collect()
    };
    let one = palisade(&["scan", "--jsonl", "--jobs", "1"], &input);
    let four = palisade(&["scan", "--jsonl", "--jobs", "4"], &input);
    assert_eq!(one.status.code(), Some(2));
    assert_eq!(four.status.code(), Some(2));
    let answers = without_times(&four);
    assert_eq!(answers.len(), 3000 - 12);
    assert_eq!(answers, without_times(&one));
    let ids: Vec<u64> = answers.iter().map(|a| a["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "answers out of order");
    // Errors are reported in order too, each with its line number.
    assert_eq!(stderr(&four), stderr(&one));
    assert!(stderr(&four).contains("<stdin>:2508: not a scan input line"));
    assert_eq!(
        palisade(&["scan", "--jsonl", "--jobs", "0"], "")
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn scan_with_a_broken_bundle_exits_2_and_says_why() {
    let dir = bundle_dir(&format!("{HEADER}{}", PII.replace("@pii", &"0".repeat(64))));
    let o = palisade(&["scan", "--bundle", dir.path().to_str().unwrap()], "x");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("cannot load the bundle in") && err.contains("sha256 mismatch"),
        "{err}"
    );
    let o = palisade(&["scan", "--direction", "up"], "x");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown direction \"up\""),
        "{}",
        stderr(&o)
    );
}

/// A plugin author's loop: one component, its config on the command line, no bundle written.
#[test]
fn scan_runs_one_plugin_alone_with_its_config() {
    let wasm = palisade_test_plugins::CODEWORDS_WASM;
    let text = "Zoë's note: Falcon ships Friday.";
    let o = palisade(
        &[
            "scan",
            "--plugin",
            wasm,
            "--config",
            r#"{"words": ["falcon"]}"#,
            "--jsonl",
        ],
        &format!("{}\n", serde_json::json!({"id": 1, "text": text})),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let answer: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    // The default policy reports: the text comes back as it was, the finding at its byte offsets.
    assert_eq!(answer["decision"], "allow");
    assert_eq!(answer["text"], text);
    let finding = &answer["findings"][0];
    assert_eq!(finding["plugin"], "codewords");
    let (start, end) = (
        finding["start"].as_u64().unwrap() as usize,
        finding["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[start..end], "Falcon");

    // Each mistake is named: no such file, a config that is not an object, one the plugin refuses,
    // a config without a plugin.
    for (args, says) in [
        (
            vec!["--plugin", "/nonexistent/x.wasm"],
            "/nonexistent/x.wasm: No such file",
        ),
        (
            vec!["--plugin", wasm, "--config", "[1]"],
            "--config must be a JSON object",
        ),
        (
            vec!["--plugin", wasm, "--config", "{"],
            "--config is not valid JSON",
        ),
        (vec!["--plugin", wasm], "configure rejected the config"),
        (vec!["--config", "{}"], "--plugin"),
    ] {
        let o = palisade(&[&["scan"], &args[..]].concat(), "x");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn bundle_export_writes_a_bundle_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mine");
    let o = palisade(&["bundle", "export", out.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The manifest and the four plugins it names; not the policy plugins it does not run.
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "bundle.toml",
            "classification.wasm",
            "destinations.wasm",
            "pii.wasm",
            "secrets.wasm"
        ]
    );
    let o = palisade(&["scan", "--bundle", out.to_str().unwrap()], "a@b.co");
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "[EMAIL_ADDRESS]")
    );
}

#[test]
fn the_second_run_takes_compiled_plugins_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["scan", "--cache-dir"])
            .arg(cache.path())
            .env_remove("PALISADE_BUNDLE")
            .env("PALISADE_LOG", "palisade=info")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let cold = run();
    assert!(cold.contains("hits=0 compiles=4"), "{cold}");
    let warm = run();
    assert!(warm.contains("hits=4 compiles=0"), "{warm}");
    let off = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "--no-cache"])
        .env("PALISADE_LOG", "palisade=info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&off.stderr).contains("no component cache"));
    // Switches set from the environment take the usual spellings (PALISADE_NO_CACHE=1 in a container).
    // A bundle of one small plugin: each run compiles it afresh.
    let small = bundle_dir(&format!(
        "{HEADER}{}",
        testbed("t", r#"{ mode = "find", needle = "Zebra" }"#, "")
    ));
    for value in ["1", "yes", "true", "on"] {
        let off = Command::new(env!("CARGO_BIN_EXE_palisade"))
            .args(["scan", "--bundle"])
            .arg(small.path())
            .arg("--cache-dir")
            .arg(cache.path())
            .env("PALISADE_NO_CACHE", value)
            .env("PALISADE_LOG", "palisade=info")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&off.stderr);
        assert!(
            off.status.success() && log.contains("no component cache"),
            "{value}: {log}"
        );
    }
}

/// The README's table of `serve` flags is the `--help` the binary prints: every flag in one is in the
/// other, with the same environment variable and a default the row shows.
#[test]
fn the_readmes_flags_table_matches_serve_help() {
    let help = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = stdout(&help);
    // One option per block: its flag, then `[env: NAME=]` and `[default: VALUE]` lines if it has them.
    let flag = regex::Regex::new(r"(?m)^\s{2,}(?:-\w, )?(--[a-z-]+)").unwrap();
    let starts: Vec<(usize, String)> = (flag.captures_iter(&help))
        .map(|c| (c.get(0).unwrap().start(), c[1].to_string()))
        .filter(|(_, name)| name != "--help")
        .collect();
    let env = regex::Regex::new(r"\[env: ([A-Z_]+)=").unwrap();
    let default = regex::Regex::new(r"\[default: ([^\]]+)\]").unwrap();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `--")).collect();
    let mut wrong = Vec::new();
    for (i, (start, name)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(help.len(), |(next, _)| *next);
        let block = &help[*start..end];
        let names = |row: &str| {
            let first = row.split(" | ").next().unwrap_or("");
            first.contains(&format!("`{name} ")) || first.contains(&format!("`{name}`"))
        };
        let Some(row) = rows.iter().find(|row| names(row)) else {
            wrong.push(format!(
                "{name} is in `serve --help` but not in the README's table"
            ));
            continue;
        };
        let cells: Vec<&str> = row.split(" | ").collect();
        if let Some(var) = env.captures(block) {
            if !cells[1].contains(&format!("`{}`", &var[1])) {
                wrong.push(format!(
                    "{name}: --help says env {}, the README {:?}",
                    &var[1], cells[1]
                ));
            }
        }
        if let Some(value) = default.captures(block) {
            if !cells[2].contains(&value[1]) {
                wrong.push(format!(
                    "{name}: --help says default {}, the README {:?}",
                    &value[1], cells[2]
                ));
            }
        }
    }
    let named = regex::Regex::new(r"`(--[a-z-]+)").unwrap();
    for row in &rows {
        let first = row.split(" | ").next().unwrap_or("");
        for c in named.captures_iter(first) {
            if !starts.iter().any(|(_, name)| *name == c[1]) {
                wrong.push(format!(
                    "{} is in the README's table but not in `serve --help`",
                    &c[1]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
