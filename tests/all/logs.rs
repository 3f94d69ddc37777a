//! The server's log: one line per call and never a payload or a matched value — read whole, at the most
//! verbose level, in both formats, after planted values crossed every transport.

use std::process::Command;

use crate::audit::{planted_traffic, PLANTED};
use crate::serve::Server;

/// The whole log, at trace level, of a server that served [`planted_traffic`] and stopped.
async fn trace_log_of(format: &str) -> Vec<String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_palisade"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(["--log-format", format])
        .env("PALISADE_LOG", "trace")
        .env("PALISADE_CACHE_DIR", crate::util::BINARY_CACHE_DIR);
    let mut server = Server::spawn(command, None).await;
    planted_traffic(&server).await;
    server.terminate();
    server.log_after_exit()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_log_line_carries_a_payload_or_a_matched_value_in_either_format() {
    for format in ["human", "json"] {
        let log = trace_log_of(format).await;
        // The log is the real one: a line per decided exchange (six), in the format asked for.
        let checked = log.iter().filter(|l| l.contains("checked")).count();
        assert!(
            checked >= 6,
            "{format}: {checked} `checked` lines in\n{}",
            log.join("\n")
        );
        // … at the level asked for: the dependencies' (hyper, h2, tonic) trace lines are read too.
        let trace = log.iter().filter(|l| l.contains("TRACE")).count();
        assert!(trace > 100, "{format}: only {trace} TRACE lines");
        if format == "json" {
            for line in &log {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            }
        }
        for value in PLANTED {
            let carrying: Vec<&String> = log.iter().filter(|l| l.contains(value)).collect();
            assert!(
                carrying.is_empty(),
                "{format} log lines carry {value}:\n{carrying:#?}"
            );
        }
    }
}
