//! Plugins that misbehave: each is cut off or rejected, mapped to its `on_error`, and the chain (and the
//! plugin, with a fresh instance) keeps working afterwards.

use std::time::{Duration, Instant};

use palisade::chain::Outcome;
use palisade::PluginError;

use palisade::server::proto::{check_response, Decision};

use crate::serve::{sample, text, Server};
use crate::util::{bundle_dir, load, run, testbed, HEADER, PII};

/// A bundle: the hostile testbed (with `on_error`) and then pii, so we can see whether the chain went on.
fn hostile(mode: &str, on_error: &str, extra: &str) -> palisade::bundle::Bundle {
    let plugin = testbed(
        "hostile",
        &format!(r#"{{ mode = "{mode}" }}"#),
        &format!("on_error = \"{on_error}\"\n{extra}"),
    );
    load(&format!("{HEADER}{plugin}{PII}")).expect("bundle loads")
}

fn failure(v: &palisade::chain::Verdicts) -> &PluginError {
    &v.failures
        .first()
        .expect("the hostile plugin's failure is reported")
        .error
}

/// Three calls in a row to `bundle`, each denied as a timeout of `budget` in less than `within`.
fn cut_off_each_time(bundle: &palisade::bundle::Bundle, budget: Duration, within: Duration) {
    for _ in 0..3 {
        let started = Instant::now();
        let v = run(bundle, "a@b.co");
        let took = started.elapsed();
        assert_eq!(v.outcome, Outcome::Deny);
        assert!(
            matches!(failure(&v), PluginError::Timeout { budget: b } if *b == budget),
            "{:?}",
            failure(&v)
        );
        assert!(
            v.reason.as_deref().unwrap().contains("timed out"),
            "{:?}",
            v.reason
        );
        assert!(took < within, "a {budget:?} budget took {took:?}");
    }
}

#[test]
fn an_infinite_loop_is_cut_off_within_its_budget_and_the_next_call_works() {
    let bundle = hostile("loop", "deny", r#"budget = "2ms""#);
    // "A few milliseconds, not a hang": the bound is loose so a loaded CI machine can't flake it; the
    // benchmark measures the real figure.
    cut_off_each_time(
        &bundle,
        Duration::from_millis(2),
        Duration::from_millis(500),
    );
}

#[test]
fn a_sleep_is_cut_off_at_its_budget_not_when_it_wakes() {
    // A WASI timer (here a minute's) is waited on in host code, where epoch interruption does not reach.
    let bundle = hostile("sleep", "deny", r#"budget = "50ms""#);
    cut_off_each_time(&bundle, Duration::from_millis(50), Duration::from_secs(2));
}

#[test]
fn on_error_skip_carries_on_without_the_failed_plugin() {
    let bundle = hostile("loop", "skip", r#"budget = "2ms""#);
    let v = run(&bundle, "mail a@b.co");
    assert_eq!(
        v.outcome,
        Outcome::Modify,
        "pii still ran after the skipped plugin"
    );
    assert_eq!(v.text, "mail [EMAIL_ADDRESS]");
    assert_eq!(v.failures.len(), 1);
    assert_eq!(v.failures[0].on_error.as_str(), "skip");
}

#[test]
fn a_memory_bomb_hits_its_limit() {
    let bundle = hostile("memory-bomb", "deny", "memory = \"16MiB\"\nbudget = \"5s\"");
    let v = run(&bundle, "x");
    assert!(
        matches!(failure(&v), PluginError::MemoryLimit { limit } if *limit == 16 << 20),
        "{:?}",
        v.failures
    );
    assert_eq!(v.outcome, Outcome::Deny);
}

#[test]
fn a_stack_overflow_is_a_trap_and_the_plugin_recovers() {
    let bundle = hostile("stack-overflow", "skip", "budget = \"5s\"");
    for _ in 0..2 {
        let v = run(&bundle, "mail a@b.co");
        assert!(
            matches!(failure(&v), PluginError::Trap(_)),
            "{:?}",
            v.failures
        );
        assert_eq!(v.text, "mail [EMAIL_ADDRESS]", "the chain went on");
    }
}

#[test]
fn a_rewrite_of_100_mib_is_refused_with_the_limit() {
    let bundle = hostile(
        "huge-rewrite",
        "deny",
        "memory = \"512MiB\"\nbudget = \"10s\"",
    );
    let v = run(&bundle, "a short prompt");
    assert_eq!(v.outcome, Outcome::Deny);
    assert_eq!(v.text, "a short prompt", "nothing of the rewrite is kept");
    assert!(
        matches!(failure(&v), PluginError::BadVerdict(m)
            if m.contains("104857600 bytes") && m.contains(&palisade::chain::max_rewrite(14).to_string())),
        "{:?}",
        v.failures
    );
}

#[test]
fn a_plugin_can_reach_no_file_environment_socket_or_thread() {
    // The host has files, environment variables and, here, an open port for the plugin to try.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bundle = hostile("escape", "deny", "");
    let v = run(&bundle, &listener.local_addr().unwrap().to_string());
    assert_eq!(v.failures.len(), 0, "{:?}", v.failures);
    assert_ne!(v.outcome, Outcome::Deny, "{:?}", v.reason);
    assert!(
        v.labels.contains(&"sandboxed".to_string()),
        "{:?}",
        v.labels
    );
}

/// The escape probe's positive control: the same component, run by a host that *grants* what Palisade
/// withholds (a preopened directory, the environment, arguments, the network), reports each escape — so
/// the probe above answering "sandboxed" means the sandbox held, not that the probe cannot tell. Threads
/// have no control: wasm32-wasip2 has no way to spawn one, whatever a host grants.
#[test]
fn the_escape_probe_reports_every_capability_a_host_grants() {
    use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
    use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

    mod granted {
        wasmtime::component::bindgen!({ world: "guardrail", path: "../wit" });
    }
    use granted::palisade::guardrail::types::{Context, Direction};

    struct Generous {
        wasi: WasiCtx,
        table: ResourceTable,
    }
    impl WasiView for Generous {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }
    impl granted::palisade::guardrail::types::Host for Generous {}
    impl granted::palisade::guardrail::host::Host for Generous {
        fn log(&mut self, _: granted::palisade::guardrail::host::Level, _: String) {}
    }

    let engine = wasmtime::Engine::default();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    granted::Guardrail::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).unwrap();
    let component = Component::new(&engine, crate::util::testbed_wasm()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let writable = tempfile::tempdir().unwrap();
    let wasi = WasiCtxBuilder::new()
        .preopened_dir(writable.path(), ".", FsPerms::ReadWrite)
        .unwrap()
        .preopened_dir("/etc", "/etc", FsPerms::ReadOnly)
        .unwrap()
        .env("GRANTED", "yes")
        .inherit_network()
        .allow_tcp(true)
        .build();
    let mut store = wasmtime::Store::new(
        &engine,
        Generous {
            wasi,
            table: ResourceTable::new(),
        },
    );
    let plugin = granted::Guardrail::instantiate(&mut store, &component, &linker).unwrap();
    plugin
        .call_configure(&mut store, r#"{"mode": "escape"}"#)
        .unwrap()
        .unwrap();
    let context = Context {
        direction: Direction::Input,
        principal: None,
        destination: None,
        tool: None,
        labels: vec![],
        metadata: vec![],
        location: String::new(),
    };
    let verdict = plugin
        .call_inspect(
            &mut store,
            &context,
            &listener.local_addr().unwrap().to_string(),
        )
        .unwrap();
    let granted::palisade::guardrail::types::Decision::Deny(reason) = verdict.decision else {
        panic!(
            "the probe escaped nowhere under a generous host: {:?}",
            verdict.labels
        );
    };
    for escape in [
        "read /etc/passwd",
        "read .",
        "wrote a file",
        "saw environment variables",
        "opened a socket",
    ] {
        assert!(reason.contains(escape), "{escape:?} not in {reason:?}");
    }
    assert!(writable.path().join("palisade-escape").exists());
}

#[test]
fn a_panic_is_a_trap_and_the_plugin_recovers_with_a_fresh_instance() {
    let bundle = hostile("panic", "skip", "");
    for _ in 0..3 {
        let v = run(&bundle, "x");
        assert!(
            matches!(failure(&v), PluginError::Trap(m) if m.contains("panicked")),
            "{:?}",
            v.failures
        );
        assert_eq!(v.outcome, Outcome::Allow);
    }
}

#[test]
fn spans_out_of_range_or_inside_a_character_are_bad_verdicts() {
    let v = run(&hostile("bad-span", "deny", ""), "abc");
    assert!(
        matches!(failure(&v), PluginError::BadVerdict(m) if m.contains("outside the text")),
        "{:?}",
        v.failures
    );
    assert_eq!(v.outcome, Outcome::Deny);
    let v = run(&hostile("split-char", "deny", ""), "añb");
    assert!(
        matches!(failure(&v), PluginError::BadVerdict(m) if m.contains("splits a UTF-8 character")),
        "{:?}",
        v.failures
    );
}

#[test]
fn a_huge_verdict_is_rejected() {
    let v = run(&hostile("huge-verdict", "deny", ""), "x");
    assert!(
        matches!(failure(&v), PluginError::BadVerdict(m) if m.contains("more than the limit")),
        "{:?}",
        v.failures
    );
}

#[test]
fn a_log_flood_is_bounded_and_does_not_fail_the_call() {
    // 20,000 lines take longer than the default budget to write; the budget here is not what is tested.
    let v = run(&hostile("log-flood", "deny", r#"budget = "5s""#), "x");
    assert!(v.failures.is_empty(), "{:?}", v.failures);
    assert_eq!(v.outcome, Outcome::Allow);
}

#[test]
fn a_plugin_whose_configure_fails_rejects_the_bundle() {
    let msg = configure_fails("picky", "configure-error");
    assert!(
        msg.contains(r#"plugin "picky" (testbed.wasm)"#)
            && msg.contains("rejecting config on purpose"),
        "{msg}"
    );
    let msg = configure_fails("crashy", "configure-panic");
    assert!(msg.contains("configure failed: trapped"), "{msg}");
}

/// Why a bundle of one testbed plugin in a `configure-*` `mode` fails to load.
fn configure_fails(name: &str, mode: &str) -> String {
    let manifest = format!(
        "{HEADER}{}",
        testbed(name, &format!(r#"{{ mode = "{mode}" }}"#), "")
    );
    match load(&manifest) {
        Ok(_) => panic!("plugin {name} in mode {mode} should fail the bundle"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn an_infinite_loop_in_configure_rejects_the_bundle_after_the_configure_budget() {
    let started = Instant::now();
    let msg = configure_fails("stuck", "configure-loop");
    assert!(
        msg.contains(r#"plugin "stuck""#)
            && msg.contains("configure failed: timed out: still running after its 5s budget"),
        "{msg}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_plugin_slow_only_on_some_inputs_fails_those_and_serves_the_rest() {
    let plugin = testbed(
        "hostile",
        r#"{ mode = "loop", trigger = "LOOP" }"#,
        "on_error = \"deny\"\nbudget = \"5ms\"",
    );
    let selective = load(&format!("{HEADER}{plugin}{PII}")).expect("bundle loads");
    for round in 0..3 {
        let v = run(&selective, "mail a@b.co");
        assert_eq!(
            v.outcome,
            Outcome::Modify,
            "round {round}: {:?}",
            v.failures
        );
        assert_eq!(v.text, "mail [EMAIL_ADDRESS]");
        let v = run(&selective, "mail a@b.co, then LOOP");
        assert_eq!(v.outcome, Outcome::Deny, "round {round}");
        assert!(matches!(failure(&v), PluginError::Timeout { .. }));
    }
}

/// A bundle of four plugins that each misbehave only on their own trigger word, in front of pii.
const TRIGGERED: [(&str, &str, &str, &str); 5] = [
    ("looper", "loop", "LOOP", "timeout"),
    ("sleeper", "sleep", "SLEEP", "timeout"),
    ("hoarder", "memory-bomb", "HOARD", "memory_limit"),
    ("crasher", "panic", "CRASH", "trap"),
    ("recurser", "stack-overflow", "RECURSE", "trap"),
];

#[tokio::test(flavor = "multi_thread")]
async fn hostile_calls_leave_other_callers_their_answers_and_each_failure_is_counted() {
    let mut manifest = HEADER.to_string();
    for (name, mode, trigger, _) in TRIGGERED {
        // Only the loop and the sleep are cut off by time; the others get a budget they can't run out of
        // first.
        let budget = if matches!(mode, "loop" | "sleep") {
            "20ms"
        } else {
            "10s"
        };
        manifest += &testbed(
            name,
            &format!(r#"{{ mode = "{mode}", trigger = "{trigger}" }}"#),
            &format!("on_error = \"deny\"\nbudget = \"{budget}\"\nmemory = \"32MiB\""),
        );
    }
    manifest += PII;
    let dir = bundle_dir(&manifest);
    let server = Server::start(&[
        "--bundle",
        dir.path().to_str().unwrap(),
        "--metrics",
        "127.0.0.1:0",
    ])
    .await;
    const CALLS: usize = 40;

    let mut hostile = Vec::new();
    for (name, _, trigger, _) in TRIGGERED {
        let mut client = server.client().await;
        hostile.push(tokio::spawn(async move {
            for _ in 0..CALLS {
                let r = client
                    .check(text(&format!("{trigger}: mail a@b.co")))
                    .await
                    .expect("a hostile plugin's failure is a decision, not an error")
                    .into_inner();
                assert_eq!(r.decision, Decision::Deny as i32, "{r:?}");
                assert!(
                    r.reason.contains(&format!("plugin \"{name}\" failed")),
                    "{}",
                    r.reason
                );
            }
        }));
    }
    let mut ordinary = Vec::new();
    for _ in 0..4 {
        let mut client = server.client().await;
        ordinary.push(tokio::spawn(async move {
            let mut took = Vec::with_capacity(CALLS);
            for _ in 0..CALLS {
                let started = Instant::now();
                let r = client
                    .check(text("mail a@b.co please"))
                    .await
                    .expect("an ordinary call succeeds")
                    .into_inner();
                took.push(started.elapsed());
                assert_eq!(r.decision, Decision::Modify as i32, "{r:?}");
                let Some(check_response::Content::Text(t)) = r.content else {
                    panic!("{r:?}")
                };
                assert_eq!(t, "mail [EMAIL_ADDRESS] please");
            }
            took
        }));
    }
    for task in hostile {
        task.await.expect("no hostile caller saw a wrong answer");
    }
    let mut took: Vec<Duration> = Vec::new();
    for task in ordinary {
        took.extend(task.await.expect("no ordinary caller saw a wrong answer"));
    }
    took.sort();
    // Reported, not asserted (timings flake on shared machines); the soak run in BENCHMARKS.md measures it.
    eprintln!(
        "ordinary calls beside hostile ones: p50 {:?}, max {:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    );

    let page = server.metrics().await;
    for (name, _, _, kind) in TRIGGERED {
        let series = format!("palisade_plugin_failures_total{{plugin=\"{name}\",kind=\"{kind}\"}}");
        assert_eq!(sample(&page, &series), CALLS as u64, "{series} in\n{page}");
    }
    assert_eq!(
        sample(
            &page,
            "palisade_checks_total{decision=\"modify\",direction=\"input\"}"
        ),
        4 * CALLS as u64
    );
}
