//! Hot reload against the real server: the watcher and SIGHUP pick up a changed bundle directory, and a
//! steady stream of concurrent calls rides through twenty-plus reloads between two bundles that decide
//! differently without one failed call.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade::server::proto::admin_client::AdminClient;
use palisade::server::proto::{check_response, ReloadRequest, StatusRequest};
use tonic::transport::Channel;

use crate::serve::{text, Server};
use crate::util::{bundle_dir, HEADER, PII};

/// Waits (bounded) until Admin.Status reports `bundle`.
pub(crate) async fn wait_for_bundle(admin: &mut AdminClient<Channel>, bundle: &str) {
    let started = Instant::now();
    loop {
        let s = admin.status(StatusRequest {}).await.unwrap().into_inner();
        if s.bundle == bundle {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still serving {} (last reload error: {:?}), expected {bundle}",
            s.bundle,
            s.last_reload_error
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn bump_version(dir: &std::path::Path, to: &str) {
    let toml = dir.join("bundle.toml");
    let current = std::fs::read_to_string(&toml).unwrap();
    let next = current
        .lines()
        .map(|l| {
            if l.starts_with("version = ") {
                format!("version = \"{to}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&toml, next).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watcher_reloads_a_changed_bundle_and_keeps_serving_through_a_broken_one() {
    let dir = bundle_dir(&format!("{HEADER}{PII}"));
    let server = Server::start(&["--bundle", dir.path().to_str().unwrap()]).await;
    let mut admin = AdminClient::new(server.channel().await);
    wait_for_bundle(&mut admin, "test@1").await;
    bump_version(dir.path(), "2");
    wait_for_bundle(&mut admin, "test@2").await;

    // A broken bundle.toml: reported, and test@2 keeps answering.
    std::fs::write(
        dir.path().join("bundle.toml"),
        "[bundle]\nname = \"test\"\nversion = \"3\"\nbogus = 1\n",
    )
    .unwrap();
    let started = Instant::now();
    loop {
        let s = admin.status(StatusRequest {}).await.unwrap().into_inner();
        if s.last_reload_error.contains("bogus") {
            assert_eq!(s.bundle, "test@2");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the failed reload was never reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.answering_bundle().await, "test@2");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_the_bundle_directory() {
    let dir = bundle_dir(&format!("{HEADER}{PII}"));
    let server = Server::start(&["--bundle", dir.path().to_str().unwrap(), "--no-watch"]).await;
    let mut admin = AdminClient::new(server.channel().await);
    bump_version(dir.path(), "7");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_bundle(&mut admin, "test@7").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_calls_ride_through_twenty_reloads_without_a_failure() {
    // Two bundles that decide differently: A redacts emails, B masks them.
    let a = format!("{HEADER}{PII}");
    let b = a
        .replace("version = \"1\"", "version = \"2\"")
        .replace("EMAIL_ADDRESS = \"redact\"", "EMAIL_ADDRESS = \"mask\"");
    let dir = bundle_dir(&a);
    let manifest_of = |text: &str| {
        let digest = crate::util::sha256(crate::util::pii_wasm());
        text.replace("@pii", &digest)
    };
    let server = Server::start(&["--bundle", dir.path().to_str().unwrap(), "--no-watch"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut callers = Vec::new();
    for _ in 0..4 {
        let mut client = server.client().await;
        let stop = stop.clone();
        callers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut calls = 0u32;
            while !stop.load(Ordering::Relaxed) && calls < 5_000 {
                let r = client
                    .check(text("write to ana@example.com"))
                    .await
                    .expect("no call fails during reloads")
                    .into_inner();
                let Some(check_response::Content::Text(out)) = r.content else {
                    panic!("a modified text comes back");
                };
                // Every answer is wholly one bundle's: its id and its decision agree.
                match r.bundle.as_str() {
                    "test@1" => assert_eq!(out, "write to [EMAIL_ADDRESS]"),
                    "test@2" => assert_eq!(out, "write to ***@******e.com"),
                    other => panic!("an answer from an unknown bundle {other}"),
                }
                seen.push(r.bundle);
                calls += 1;
            }
            seen
        }));
    }
    let mut admin = AdminClient::new(server.channel().await);
    let reloads = 22;
    for i in 0..reloads {
        let (manifest, expect) = if i % 2 == 0 {
            (&b, "test@2")
        } else {
            (&a, "test@1")
        };
        std::fs::write(dir.path().join("bundle.toml"), manifest_of(manifest)).unwrap();
        let r = admin
            .reload(ReloadRequest {})
            .await
            .expect("reload works")
            .into_inner();
        assert_eq!(r.bundle, expect);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut order = Vec::new();
    for caller in callers {
        order.extend(caller.await.expect("no caller panicked"));
    }
    let distinct: BTreeSet<&str> = order.iter().map(String::as_str).collect();
    assert_eq!(
        distinct,
        BTreeSet::from(["test@1", "test@2"]),
        "the switch is visible"
    );
    let switches = order.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        order.len() > reloads && switches > 0,
        "{} calls, {switches} switches",
        order.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_of_broken_bundle_leaves_the_old_one_serving_and_says_why() {
    let good = format!("{HEADER}{PII}");
    let dir = bundle_dir(&good);
    let server = Server::start(&["--bundle", dir.path().to_str().unwrap(), "--no-watch"]).await;
    let mut admin = AdminClient::new(server.channel().await);
    let toml = dir.path().join("bundle.toml");
    let good_text = std::fs::read_to_string(&toml).unwrap();
    let pii_digest = crate::util::sha256(crate::util::pii_wasm());
    let traps = format!(
        "{}{}",
        good_text,
        crate::util::testbed("trapper", "{ mode = \"configure-panic\" }", "")
    )
    .replace(
        "@testbed",
        &crate::util::sha256(&crate::util::testbed_wasm()),
    );
    // Files a bundle.toml below may name instead of pii.wasm: each is wrong in its own way.
    let pii = crate::util::pii_wasm();
    let impostors: [(&str, &[u8]); 3] = [
        ("core.wasm", b"\0asm\x01\0\0\0"),
        ("truncated.wasm", &pii[..pii.len() / 2]),
        ("elsewhere.wasm", b"\0asm\x0d\0\x01\0"),
    ];
    for (name, bytes) in impostors {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    std::fs::create_dir(dir.path().join("folder.wasm")).unwrap();
    let pointing_at = |file: &str, bytes: &[u8]| {
        good_text
            .replace("pii.wasm", file)
            .replace(&pii_digest, &crate::util::sha256(bytes))
            .into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad TOML", "[bundle\nname = ".into(), "TOML parse error"),
        ("an empty bundle.toml", Vec::new(), "missing field `bundle`"),
        (
            "bundle.toml not UTF-8",
            b"[bundle]\nname = \"\xff\"\n".to_vec(),
            "bundle.toml: not UTF-8",
        ),
        (
            "a core module, not a component",
            pointing_at("core.wasm", impostors[0].1),
            "(core.wasm): not a valid component",
        ),
        (
            "a truncated component",
            pointing_at("truncated.wasm", impostors[1].1),
            "(truncated.wasm): not a valid component",
        ),
        (
            "a component of another world",
            pointing_at("elsewhere.wasm", impostors[2].1),
            "(elsewhere.wasm): does not fit the palisade:guardrail",
        ),
        (
            "a directory where the wasm should be",
            pointing_at("folder.wasm", b""),
            "folder.wasm: not a regular file",
        ),
        (
            "wrong digest",
            good_text.replace(&pii_digest, &"0".repeat(64)).into_bytes(),
            "sha256 mismatch",
        ),
        (
            "a plugin that traps in configure",
            traps.into_bytes(),
            "trapper",
        ),
        (
            "a missing file",
            good_text
                .replace("wasm = \"pii.wasm\"", "wasm = \"gone.wasm\"")
                .into_bytes(),
            "gone.wasm",
        ),
    ];
    for (what, manifest, reason) in cases {
        std::fs::write(&toml, manifest).unwrap();
        let e = admin.reload(ReloadRequest {}).await.unwrap_err();
        assert!(
            e.message().contains("still serving test@1"),
            "{what}: {}",
            e.message()
        );
        let s = admin.status(StatusRequest {}).await.unwrap().into_inner();
        assert_eq!(s.bundle, "test@1", "{what}");
        assert!(
            s.last_reload_error.contains(reason),
            "{what}: {}",
            s.last_reload_error
        );
        assert_eq!(
            server.answering_bundle().await,
            "test@1",
            "{what}: still answering"
        );
    }
    std::fs::write(&toml, &good_text).unwrap();
    admin
        .reload(ReloadRequest {})
        .await
        .expect("the good bundle loads again");
    let s = admin.status(StatusRequest {}).await.unwrap().into_inner();
    assert_eq!(s.last_reload_error, "", "a good reload clears the error");
}
