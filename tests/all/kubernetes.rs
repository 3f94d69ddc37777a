//! What Kubernetes does to a Palisade pod, done to the real binary: the manifests in deploy/kubernetes
//! (their bundle loads, their flags and environment start the server, their probes find what they ask
//! for), a ConfigMap update (the kubelet's `..data` symlink swap) under load, and SIGTERM with a drain.
//! Schema validation of the same manifests is tests/kubernetes/validate.sh.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade::bundle;
use palisade::server::proto::admin_client::AdminClient;
use palisade::server::proto::{Decision, StatusRequest};
use serde::Deserialize;
use serde_yaml::Value;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::reload::wait_for_bundle;
use crate::serve::{sample, text, Server};
use crate::util::{engine, run};

const MANIFESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/kubernetes");

/// Every object in deploy/kubernetes/*.yaml.
fn objects() -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(MANIFESTS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut objects = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            objects.push(Value::deserialize(doc).unwrap_or_else(|e| panic!("{file:?}: {e}")));
        }
    }
    objects
}

fn object(kind: &str, name: &str) -> Value {
    objects()
        .into_iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/kubernetes"))
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

fn port_of(addr: &str) -> u64 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// The ConfigMap's bundle.toml.
fn configmap_bundle() -> String {
    str_of(&object("ConfigMap", "palisade-bundle")["data"]["bundle.toml"]).to_string()
}

#[test]
fn the_configmap_bundle_names_builtin_plugins_and_decides_like_the_stock_bundle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bundle.toml"), configmap_bundle()).unwrap();
    let cluster = bundle::load_dir(engine(), dir.path()).expect("the ConfigMap's bundle loads");
    let stock = crate::util::default_bundle();
    for text in [
        "mail jane.doe@example.com, card 4111 1111 1111 1111, from 10.1.2.3",
        "deploy with AKIAZ3MHQ4WRT7LUBX2N please",
        "CONFIDENTIAL: the roadmap",
        "nothing here",
    ] {
        let (a, b) = (run(&cluster, text), run(stock, text));
        assert_eq!(
            (a.outcome, &a.text, &a.labels),
            (b.outcome, &b.text, &b.labels),
            "{text}"
        );
    }
}

/// The Deployment's one container.
fn container() -> Value {
    object("Deployment", "palisade")["spec"]["template"]["spec"]["containers"][0].clone()
}

/// Each variable and its value; one taken from a Secret has `secret NAME/KEY` as its value (a key the
/// test server runs with).
fn env_of(container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| {
            let value = match e["valueFrom"]["secretKeyRef"].as_mapping() {
                Some(r) => format!("secret {}/{}", str_of(&r["name"]), str_of(&r["key"])),
                None => str_of(&e["value"]).into(),
            };
            (str_of(&e["name"]).into(), value)
        })
        .collect()
}

fn container_port(container: &Value, name: &str) -> u64 {
    container["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no container port {name}"))
}

fn mount_path(container: &Value, volume: &str) -> String {
    container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["name"] == volume)
        .map(|m| str_of(&m["mountPath"]).to_string())
        .unwrap_or_else(|| panic!("no mount of {volume}"))
}

#[test]
fn the_manifests_agree_with_each_other() {
    let deployment = object("Deployment", "palisade");
    let pod = &deployment["spec"]["template"]["spec"];
    let c = container();
    let env = env_of(&c);
    let var = |name: &str| {
        env.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in the Deployment"))
    };
    // Every replica has the same hash key, from the Secret the operations guide says to create.
    let secret = var("PALISADE_HASH_KEY");
    let (name, key) = secret
        .strip_prefix("secret ")
        .unwrap()
        .split_once('/')
        .unwrap();
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/operations.md"
    ))
    .unwrap();
    assert!(
        guide.contains(&format!(
            "kubectl create secret generic {name} --from-literal={key}="
        )),
        "docs/operations.md says how to create the Secret {name}"
    );
    // The ports Palisade listens on are the ports the container declares and the probes call.
    assert_eq!(port_of(&var("PALISADE_LISTEN")), container_port(&c, "grpc"));
    assert_eq!(port_of(&var("PALISADE_HTTP")), container_port(&c, "http"));
    assert_eq!(
        port_of(&var("PALISADE_METRICS")),
        container_port(&c, "metrics")
    );
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(
            c[probe]["grpc"]["port"].as_u64(),
            Some(container_port(&c, "grpc")),
            "{probe}"
        );
    }
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"],
        Value::from(container_port(&c, "metrics").to_string())
    );
    // The bundle Palisade reads is the ConfigMap's mount; the cache is on the writable volume.
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(str_of)
        .collect();
    let bundle_at = args.iter().position(|a| *a == "--bundle").unwrap() + 1;
    assert_eq!(args[bundle_at], mount_path(&c, "bundle"));
    assert_eq!(var("PALISADE_CACHE_DIR"), mount_path(&c, "cache"));
    let volumes = pod["volumes"].as_sequence().unwrap();
    let bundle_volume = volumes.iter().find(|v| v["name"] == "bundle").unwrap();
    assert_eq!(bundle_volume["configMap"]["name"], "palisade-bundle");
    // Hardening: non-root, read-only root, nothing to escalate to.
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    // The drain fits in the grace period, with room to finish calls in flight.
    let drain = humantime::parse_duration(&var("PALISADE_DRAIN")).unwrap();
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        drain.as_secs() * 2 <= grace,
        "drain {drain:?}, grace {grace}s"
    );
    // Services, the autoscaler, the disruption budget and the network policy select these pods.
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (kind, name, selector) in [
        ("Service", "palisade", &["spec", "selector"][..]),
        ("Service", "palisade-headless", &["spec", "selector"]),
        (
            "PodDisruptionBudget",
            "palisade",
            &["spec", "selector", "matchLabels"],
        ),
        (
            "NetworkPolicy",
            "palisade",
            &["spec", "podSelector", "matchLabels"],
        ),
    ] {
        let mut v = object(kind, name);
        for key in selector {
            v = v[*key].clone();
        }
        for (k, want) in v.as_mapping().unwrap() {
            assert_eq!(
                &labels[k.as_str().unwrap()],
                want,
                "{kind} {name} selects {k:?}"
            );
        }
    }
    for service in ["palisade", "palisade-headless"] {
        for port in object("Service", service)["spec"]["ports"]
            .as_sequence()
            .unwrap()
        {
            container_port(&c, str_of(&port["targetPort"]));
        }
    }
    assert_eq!(
        object("HorizontalPodAutoscaler", "palisade")["spec"]["scaleTargetRef"]["name"],
        "palisade"
    );
}

/// The container's arguments and environment, run by the real binary, with the addresses moved to free
/// local ports and the bundle to `bundle_dir`.
async fn start_as_deployed(bundle_dir: &Path, cache: &Path, drain: &str) -> Server {
    let c = container();
    let mut args: Vec<String> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| str_of(a).to_string())
        .collect();
    let mount = mount_path(&c, "bundle");
    for a in &mut args {
        if *a == mount {
            *a = bundle_dir.display().to_string();
        }
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_palisade"));
    command.args(&args);
    for (name, value) in env_of(&c) {
        let value = match name.as_str() {
            "PALISADE_LISTEN" | "PALISADE_HTTP" | "PALISADE_METRICS" => "127.0.0.1:0".to_string(),
            "PALISADE_CACHE_DIR" => cache.display().to_string(),
            "PALISADE_DRAIN" => drain.to_string(),
            _ => value,
        };
        command.env(name, value);
    }
    Server::spawn(command, None).await
}

async fn health(server: &Server, service: &str) -> i32 {
    let mut health = HealthClient::new(server.channel().await);
    health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

/// How a kubelet mounts a ConfigMap: the keys are symlinks through `..data`, itself a symlink to a
/// timestamped directory holding the files.
struct ConfigMapVolume {
    dir: tempfile::TempDir,
    generation: u32,
}

impl ConfigMapVolume {
    fn new(bundle_toml: &str) -> ConfigMapVolume {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("..2026_11_24_00_00_00.000000000");
        std::fs::create_dir(&first).unwrap();
        std::fs::write(first.join("bundle.toml"), bundle_toml).unwrap();
        std::os::unix::fs::symlink(first.file_name().unwrap(), dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/bundle.toml", dir.path().join("bundle.toml")).unwrap();
        ConfigMapVolume { dir, generation: 0 }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The kubelet's atomic update (AtomicWriter): write a new timestamped directory, point `..data_tmp`
    /// at it, rename that over `..data`, remove the old directory.
    fn update(&mut self, bundle_toml: &str) {
        let root = self.dir.path();
        let old = std::fs::read_link(root.join("..data")).unwrap();
        self.generation += 1;
        let next = format!("..2026_11_24_00_00_{:02}.000000000", self.generation);
        std::fs::create_dir(root.join(&next)).unwrap();
        std::fs::write(root.join(&next).join("bundle.toml"), bundle_toml).unwrap();
        std::os::unix::fs::symlink(&next, root.join("..data_tmp")).unwrap();
        std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
        std::fs::remove_dir_all(root.join(old)).unwrap();
    }
}

fn with_version(bundle_toml: &str, version: &str) -> String {
    let current = "version = \"2026.11.1\"";
    assert!(bundle_toml.contains(current));
    bundle_toml.replacen(current, &format!("version = \"{version}\""), 1)
}

fn reloads(metrics: &str, result: &str) -> u64 {
    sample(
        metrics,
        &format!("palisade_reloads_total{{result=\"{result}\"}}"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configmap_update_reloads_exactly_once_under_load_without_a_failed_call() {
    let manifest = configmap_bundle();
    let mut volume = ConfigMapVolume::new(&manifest);
    let cache = tempfile::tempdir().unwrap();
    let server = start_as_deployed(&volume.path(), cache.path(), "0s").await;
    let mut admin = AdminClient::new(server.channel().await);
    wait_for_bundle(&mut admin, "cluster@2026.11.1").await;

    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let mut callers = Vec::new();
    for _ in 0..4 {
        let mut client = server.client().await;
        let (stop, calls) = (stop.clone(), calls.clone());
        callers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .check(text("write to ana@example.com"))
                    .await
                    .expect("no call fails while the ConfigMap changes")
                    .into_inner();
                assert_eq!(r.decision(), Decision::Modify);
                calls.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let updates = ["2026.11.2", "2026.11.3", "2026.11.4"];
    for version in updates {
        volume.update(&with_version(&manifest, version));
        wait_for_bundle(&mut admin, &format!("cluster@{version}")).await;
    }
    // The swap is several directory events; give any late one time to (wrongly) cause a second reload.
    tokio::time::sleep(palisade::reload::DEBOUNCE * 4).await;
    stop.store(true, Ordering::Relaxed);
    for caller in callers {
        caller.await.expect("no caller panicked");
    }
    assert!(calls.load(Ordering::Relaxed) > 0);

    let metrics = server.metrics().await;
    assert_eq!(reloads(&metrics, "ok"), updates.len() as u64, "{metrics}");
    assert_eq!(reloads(&metrics, "error"), 0, "{metrics}");

    // A broken update is counted as an error (once per directory event batch that sees it: the swap's
    // events may fall into two debounce windows under load), and the running bundle keeps answering.
    volume.update(&manifest.replacen("[bundle]", "[bundle", 1));
    let started = Instant::now();
    while reloads(&server.metrics().await, "error") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the broken update was never counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(palisade::reload::DEBOUNCE * 4).await;
    let metrics = server.metrics().await;
    assert!(reloads(&metrics, "error") >= 1, "{metrics}");
    assert_eq!(reloads(&metrics, "ok"), updates.len() as u64, "{metrics}");
    let status = admin.status(StatusRequest {}).await.unwrap().into_inner();
    assert_eq!(status.bundle, "cluster@2026.11.4");
    assert!(
        status.last_reload_error.contains("bundle.toml"),
        "{:?}",
        status.last_reload_error
    );
    let r = server
        .client()
        .await
        .check(text("write to ana@example.com"))
        .await;
    assert_eq!(r.unwrap().into_inner().decision(), Decision::Modify);
}

fn signal(server: &Server, name: &str) {
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .unwrap()
        .success());
}

/// Waits (bounded) until the overall health status, what a readiness probe asks, is NOT_SERVING.
async fn wait_not_serving(server: &Server) {
    let started = Instant::now();
    while health(server, "").await != ServingStatus::NotServing as i32 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never NOT_SERVING"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (bounded) for the process to exit and returns its status and when it exited.
fn wait_exit(server: &mut Server, within: Duration) -> (std::process::ExitStatus, Instant) {
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return (status, Instant::now());
        }
        assert!(started.elapsed() < within, "did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_turns_health_not_serving_keeps_serving_through_the_drain_then_exits_0() {
    let volume = ConfigMapVolume::new(&configmap_bundle());
    let cache = tempfile::tempdir().unwrap();
    let drain = Duration::from_secs(3);
    let mut server = start_as_deployed(&volume.path(), cache.path(), "3s").await;
    assert_eq!(health(&server, "").await, ServingStatus::Serving as i32);
    let http = format!("http://{}/readyz", server.http_addr.unwrap());
    assert_eq!(reqwest::get(&http).await.unwrap().status(), 200);

    signal(&server, "TERM");
    let signalled = Instant::now();
    // What the readiness probe asks turns NOT_SERVING; what the liveness probe asks does not.
    wait_not_serving(&server).await;
    assert_eq!(
        health(&server, "palisade.v1.Guardrail").await,
        ServingStatus::NotServing as i32
    );
    assert_eq!(
        health(&server, "palisade.v1.Admin").await,
        ServingStatus::Serving as i32
    );
    assert_eq!(reqwest::get(&http).await.unwrap().status(), 503);
    // Callers that have not noticed yet are still served, on new connections too.
    let answer = server
        .client()
        .await
        .check(text("mail ana@example.com"))
        .await
        .expect("served during the drain")
        .into_inner();
    assert_eq!(answer.decision(), Decision::Modify);

    let (status, exited) = wait_exit(&mut server, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    assert!(
        exited - signalled >= drain,
        "exited {:?} after SIGTERM, before the {drain:?} drain ended",
        exited - signalled
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_ends_the_drain_at_once() {
    let volume = ConfigMapVolume::new(&configmap_bundle());
    let cache = tempfile::tempdir().unwrap();
    let mut server = start_as_deployed(&volume.path(), cache.path(), "10min").await;
    signal(&server, "TERM");
    wait_not_serving(&server).await;
    signal(&server, "INT");
    let (status, _) = wait_exit(&mut server, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
}
