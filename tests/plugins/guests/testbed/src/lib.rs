//! A test plugin whose behaviour its config picks, so one component covers every hostile and probing
//! case the integration tests need. Never part of a real bundle.
//!
//! Modes: `find` (report each occurrence of `needle` and of each of `needles` as `category`), `whole` (one
//! finding of `category` with no span), `deny`, `rewrite` (to `text`, also reporting what `find` would),
//! `loop`, `sleep` (for `ms` milliseconds, a minute by default, through WASI's clocks),
//! `memory-bomb`, `stack-overflow`, `panic`, `bad-span`, `split-char`, `huge-verdict`, `huge-rewrite`,
//! `log-flood`, `escape` (tries files, environment, sockets and threads; denies if any works), and for
//! `configure`:
//! `configure-error`, `configure-panic`, `configure-loop`. Any mode also adds `labels` and denies when a
//! label in `deny_if_label` is already present. With `trigger` set, the mode runs only on texts that
//! contain it and every other text is allowed untouched: a plugin that misbehaves only on some inputs.
//! `gate` (`{ words, exact_words, bytes, non_ascii, labels }`) is the gate it declares; `gate_mode`
//! `loop`, `panic` or `none` makes its `gate` export loop, panic or declare none.

use palisade_sdk::{export_plugin, log, Context, Finding, Gate, Level, Plugin, Span, Verdict};
use serde::Deserialize;

#[derive(Deserialize)]
struct Testbed {
    mode: String,
    #[serde(default)]
    needle: String,
    #[serde(default)]
    needles: Vec<String>,
    #[serde(default = "default_category")]
    category: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    labels: Vec<String>,
    deny_if_label: Option<String>,
    trigger: Option<String>,
    #[serde(default = "a_minute")]
    ms: u64,
    gate: Option<GateConfig>,
    gate_mode: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GateConfig {
    words: Vec<String>,
    exact_words: Vec<String>,
    bytes: String,
    non_ascii: bool,
    labels: Vec<String>,
}

fn a_minute() -> u64 {
    60_000
}

fn default_category() -> String {
    "CLASSIFICATION".into()
}

impl Testbed {
    /// A finding for each occurrence of `needle` and of each of `needles`.
    fn needles_in(&self, text: &str) -> Vec<Finding> {
        std::iter::once(&self.needle)
            .chain(&self.needles)
            .filter(|n| !n.is_empty())
            .flat_map(|n| text.match_indices(n.as_str()))
            .map(|(at, m)| {
                Finding::new(
                    "testbed.find",
                    self.category.clone(),
                    at..at + m.len(),
                    0.9,
                    "needle",
                )
            })
            .collect()
    }
}

impl Plugin for Testbed {
    fn configure(config: &str) -> Result<Self, String> {
        let t: Testbed =
            serde_json::from_str(config).map_err(|e| format!("bad testbed config: {e}"))?;
        match t.mode.as_str() {
            "configure-error" => Err("configure-error mode: rejecting config on purpose".into()),
            "configure-panic" => panic!("configure-panic mode"),
            "configure-loop" => loop {
                std::hint::spin_loop();
            },
            _ => Ok(t),
        }
    }

    fn gate(&self) -> Option<Gate> {
        match self.gate_mode.as_deref() {
            Some("loop") => loop {
                std::hint::spin_loop();
            },
            Some("panic") => panic!("testbed's gate panics on purpose"),
            _ => {}
        }
        self.gate.as_ref().map(|g| Gate {
            words: g.words.clone(),
            exact_words: g.exact_words.clone(),
            bytes: g.bytes.clone(),
            non_ascii: g.non_ascii,
            labels: g.labels.clone(),
        })
    }

    fn inspect(&self, ctx: &Context, text: &str) -> Verdict {
        if let Some(label) = &self.deny_if_label {
            if ctx.labels.contains(label) {
                return Verdict::deny(format!("saw label {label}"), vec![]);
            }
        }
        let triggered = self
            .trigger
            .as_ref()
            .is_none_or(|t| text.contains(t.as_str()));
        let mode = if triggered {
            self.mode.as_str()
        } else {
            "quiet"
        };
        let verdict = match mode {
            "quiet" => Verdict::allow(vec![]),
            "find" => Verdict::allow(self.needles_in(text)),
            "whole" => Verdict::allow(vec![Finding::about_text(
                "testbed.whole",
                self.category.clone(),
                0.9,
                "the text as a whole",
            )]),
            "deny" => Verdict::deny("testbed denies on purpose", vec![]),
            "rewrite" => Verdict {
                decision: palisade_sdk::Decision::Rewrite(self.text.clone()),
                findings: self.needles_in(text),
                labels: vec![],
            },
            "loop" => loop {
                std::hint::spin_loop();
            },
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_millis(self.ms));
                Verdict::allow(vec![])
            }
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![0xA5; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "stack-overflow" => {
                // Recursion without end is the point: it must overflow the stack.
                #[allow(unconditional_recursion)]
                fn deeper(n: u64) -> u64 {
                    std::hint::black_box(deeper(std::hint::black_box(n) + 1)) + 1
                }
                Verdict::deny(format!("came back from {}", deeper(0)), vec![])
            }
            "huge-rewrite" => Verdict {
                decision: palisade_sdk::Decision::Rewrite("x".repeat(100 << 20)),
                findings: vec![],
                labels: vec![],
            },
            "escape" => {
                let mut escaped = Vec::new();
                for path in ["/etc/passwd", ".", "/"] {
                    if std::fs::read_dir(path).is_ok() || std::fs::read(path).is_ok() {
                        escaped.push(format!("read {path}"));
                    }
                }
                if std::fs::write("palisade-escape", b"x").is_ok() {
                    escaped.push("wrote a file".to_string());
                }
                if std::env::vars().next().is_some() || std::env::args().len() > 1 {
                    escaped.push("saw environment variables or arguments".to_string());
                }
                // The text may name a port the host has open.
                let target = text.trim().parse().unwrap_or(([127, 0, 0, 1], 1).into());
                if std::net::TcpStream::connect::<std::net::SocketAddr>(target).is_ok()
                    || std::net::TcpListener::bind("127.0.0.1:0").is_ok()
                {
                    escaped.push("opened a socket".to_string());
                }
                if std::thread::Builder::new().spawn(|| ()).is_ok() {
                    escaped.push("spawned a thread".to_string());
                }
                if escaped.is_empty() {
                    Verdict::allow(vec![]).with_labels(vec!["sandboxed".to_string()])
                } else {
                    Verdict::deny(format!("escaped: {}", escaped.join(", ")), vec![])
                }
            }
            "panic" => panic!("testbed panics on purpose"),
            "bad-span" => Verdict::allow(vec![Finding {
                rule: "testbed.bad-span".into(),
                category: self.category.clone(),
                span: Some(Span {
                    start: 0,
                    end: text.len() as u32 + 10,
                }),
                confidence: 0.5,
                message: "out of range".into(),
            }]),
            "split-char" => {
                let at = text
                    .char_indices()
                    .find(|(_, c)| c.len_utf8() > 1)
                    .map_or(0, |(i, _)| i + 1);
                Verdict::allow(vec![Finding::new(
                    "testbed.split",
                    self.category.clone(),
                    at..at,
                    0.5,
                    "splits",
                )])
            }
            "huge-verdict" => Verdict::allow(
                (0..20_000)
                    .map(|_| Finding::new("testbed.huge", self.category.clone(), 0..0, 0.5, ""))
                    .collect(),
            ),
            "log-flood" => {
                for i in 0..10_000 {
                    log(Level::Info, &format!("log line {i}"));
                    println!("stdout line {i}");
                }
                Verdict::allow(vec![])
            }
            other => Verdict::deny(format!("unknown testbed mode {other:?}"), vec![]),
        };
        verdict.with_labels(self.labels.clone())
    }
}

export_plugin!(Testbed);
