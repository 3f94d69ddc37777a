//! Signed bundles, with the real binary: `bundle keygen`, `sign` and `verify`, and `serve --trusted-key`
//! refusing unsigned, tampered and foreign-signed bundles at start and on reload.

use std::process::{Command, Output, Stdio};

use palisade::server::proto::admin_client::AdminClient;
use palisade::server::proto::{ReloadRequest, StatusRequest};
use tonic::Code;

use crate::serve::Server;
use crate::util::{bundle_dir, HEADER, PII};

fn palisade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(args)
        .env_remove("PALISADE_BUNDLE")
        .env("PALISADE_CACHE_DIR", crate::util::BINARY_CACHE_DIR)
        .stdin(Stdio::null())
        .output()
        .expect("palisade runs")
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn fails_with(o: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}

#[test]
fn keygen_sign_verify_and_every_way_to_fail() {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("release.key");
    let other = keys.path().join("other.key");
    let (k, o) = (key.to_str().unwrap(), other.to_str().unwrap());
    let (k_pub, o_pub) = (format!("{k}.pub"), format!("{o}.pub"));
    ok(&palisade(&["bundle", "keygen", k]));
    ok(&palisade(&["bundle", "keygen", o]));
    fails_with(&palisade(&["bundle", "keygen", k]), "never overwritten");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the signing key is owner-only");
    }

    let dir = bundle_dir(&format!("{HEADER}{PII}"));
    let d = dir.path().to_str().unwrap();
    fails_with(&palisade(&["bundle", "verify", d]), "is unsigned");
    ok(&palisade(&["bundle", "sign", "--key", k, d]));
    let verified = palisade(&["bundle", "verify", "--trusted-key", &k_pub, d]);
    ok(&verified);
    assert!(String::from_utf8_lossy(&verified.stdout).contains("test@1 signed by"));
    fails_with(
        &palisade(&["bundle", "verify", "--trusted-key", &o_pub, d]),
        "not one of the trusted keys",
    );
    // Any change to bundle.toml — here, a plugin's budget — breaks the signature.
    let toml = dir.path().join("bundle.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("budget = \"5s\"", "budget = \"6s\"")).unwrap();
    fails_with(
        &palisade(&["bundle", "verify", "--trusted-key", &k_pub, d]),
        "does not match bundle.toml",
    );
    // A bundle that does not load is never signed.
    std::fs::write(
        &toml,
        text.replace("version = \"1\"", "version = \"1\"\nbogus = 1"),
    )
    .unwrap();
    fails_with(
        &palisade(&["bundle", "sign", "--key", k, d]),
        "does not load",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_with_trusted_keys_refuses_unsigned_and_tampered_bundles() {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("k");
    let k = key.to_str().unwrap().to_string();
    let k_pub = format!("{k}.pub");
    ok(&palisade(&["bundle", "keygen", &k]));
    let dir = bundle_dir(&format!("{HEADER}{PII}"));
    let d = dir.path().to_str().unwrap().to_string();

    // Unsigned: the service does not start, and says why.
    let refused = palisade(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--bundle",
        &d,
        "--trusted-key",
        &k_pub,
    ]);
    fails_with(&refused, "is unsigned");

    ok(&palisade(&["bundle", "sign", "--key", &k, &d]));
    let server = Server::start(&["--bundle", &d, "--trusted-key", &k_pub, "--no-watch"]).await;
    let mut admin = AdminClient::new(server.channel().await);

    // Tampered after signing: the reload is refused and test@1 keeps serving.
    let toml = dir.path().join("bundle.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("version = \"1\"", "version = \"2\"")).unwrap();
    let e = admin.reload(ReloadRequest {}).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        e.message().contains("still serving test@1") && e.message().contains("signature"),
        "{}",
        e.message()
    );
    let s = admin.status(StatusRequest {}).await.unwrap().into_inner();
    assert_eq!(s.bundle, "test@1");
    assert!(
        s.last_reload_error.contains("signature"),
        "{}",
        s.last_reload_error
    );

    // Signed again, it loads.
    ok(&palisade(&["bundle", "sign", "--key", &k, &d]));
    let r = admin.reload(ReloadRequest {}).await.unwrap().into_inner();
    assert_eq!(r.bundle, "test@2");
}

/// Rewrites `dir`'s bundle.toml to this version and sequence, and signs it with `key`.
fn publish(dir: &std::path::Path, key: &str, version: u32, sequence: u32) {
    let toml = dir.join("bundle.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let header_end = text.find("\n\n[policy]").unwrap();
    let rest = &text[header_end..];
    let head =
        format!("\n[bundle]\nname = \"test\"\nversion = \"{version}\"\nsequence = {sequence}");
    std::fs::write(&toml, format!("{head}{rest}")).unwrap();
    ok(&palisade(&[
        "bundle",
        "sign",
        "--key",
        key,
        dir.to_str().unwrap(),
    ]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_never_goes_back_to_an_older_signed_bundle_unless_told_to() {
    let keys = tempfile::tempdir().unwrap();
    let k = keys.path().join("k").to_str().unwrap().to_string();
    let k_pub = format!("{k}.pub");
    ok(&palisade(&["bundle", "keygen", &k]));
    let dir = bundle_dir(&format!("{HEADER}{PII}"));
    let d = dir.path().to_str().unwrap().to_string();
    publish(dir.path(), &k, 2, 2);
    let old = std::fs::read(dir.path().join("bundle.toml")).unwrap();
    let old_sig = std::fs::read(dir.path().join("bundle.toml.sig")).unwrap();
    // The older bundle, validly signed, swapped back in.
    let swap_in_old = || {
        std::fs::write(dir.path().join("bundle.toml"), &old).unwrap();
        std::fs::write(dir.path().join("bundle.toml.sig"), &old_sig).unwrap();
    };
    let reloaded = |mut admin: AdminClient<tonic::transport::Channel>| async move {
        admin
            .reload(ReloadRequest {})
            .await
            .map(|r| r.into_inner().bundle)
    };

    let server = Server::start(&["--bundle", &d, "--trusted-key", &k_pub, "--no-watch"]).await;
    let mut admin = AdminClient::new(server.channel().await);
    // The same bundle again is no step back.
    admin.reload(ReloadRequest {}).await.unwrap();
    // A newer one loads.
    publish(dir.path(), &k, 3, 3);
    assert_eq!(reloaded(admin.clone()).await.unwrap(), "test@3");
    // The older one: refused, and test@3 keeps serving.
    swap_in_old();
    let e = reloaded(admin.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        e.message().contains("still serving test@3")
            && e.message()
                .contains("sequence (2) is not above the running one's (3)")
            && e.message().contains("--allow-downgrade"),
        "{}",
        e.message()
    );
    // So is one that drops its sequence.
    publish(dir.path(), &k, 4, 0);
    let unsequenced = std::fs::read_to_string(dir.path().join("bundle.toml"))
        .unwrap()
        .replace("sequence = 0\n", "");
    std::fs::write(dir.path().join("bundle.toml"), unsequenced).unwrap();
    ok(&palisade(&["bundle", "sign", "--key", &k, &d]));
    let e = admin.reload(ReloadRequest {}).await.unwrap_err();
    assert!(e.message().contains("sequence (none)"), "{}", e.message());
    drop(server);

    // An operator rolling back on purpose says so.
    publish(dir.path(), &k, 3, 3);
    let server = Server::start(&[
        "--bundle",
        &d,
        "--trusted-key",
        &k_pub,
        "--no-watch",
        "--allow-downgrade",
    ])
    .await;
    swap_in_old();
    let admin = AdminClient::new(server.channel().await);
    assert_eq!(reloaded(admin).await.unwrap(), "test@2");
}

#[test]
fn a_bundle_past_its_not_after_does_not_load() {
    let dir = bundle_dir(&format!("{HEADER}{PII}"));
    let toml = dir.path().join("bundle.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let expired = text.replace(
        "version = \"1\"",
        "version = \"1\"\nnot_after = \"2020-01-01T00:00:00Z\"",
    );
    std::fs::write(&toml, expired).unwrap();
    let d = dir.path().to_str().unwrap();
    let scanned = palisade(&["scan", "--bundle", d]);
    assert!(!scanned.status.success());
    let stderr = String::from_utf8_lossy(&scanned.stderr);
    assert!(
        stderr.contains("not_after") && stderr.contains("has expired"),
        "{stderr}"
    );
    let current = text.replace(
        "version = \"1\"",
        "version = \"1\"\nnot_after = \"2999-01-01T00:00:00Z\"",
    );
    std::fs::write(&toml, current).unwrap();
    ok(&palisade(&["scan", "--bundle", d]));
}
