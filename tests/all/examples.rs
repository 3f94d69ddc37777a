//! The example plugins in `examples/plugins`, built from source and run in a bundle, and the README,
//! which shows one of them and must show it as it is.

use palisade::bundle;
use palisade::chain::Outcome;

use crate::util::{engine, run, sha256, HEADER};

#[test]
fn the_codewords_example_flags_codewords_and_labels_the_text() {
    let wasm =
        std::fs::read(palisade_test_plugins::CODEWORDS_WASM).expect("codewords.wasm was built");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("codewords.wasm"), &wasm).unwrap();
    let manifest = format!(
        "{HEADER}CLASSIFICATION = \"redact\"\n\n[[plugin]]\nname = \"codewords\"\nwasm = \"codewords.wasm\"\n\
         sha256 = \"{}\"\nconfig = {{ words = [\"Project Falcon\", \"bluebird\"] }}\n",
        sha256(&wasm)
    );
    std::fs::write(dir.path().join("bundle.toml"), manifest).unwrap();
    let bundle = bundle::load_dir(engine(), dir.path()).unwrap();
    let v = run(&bundle, "Status of PROJECT FALCON and Bluebird?");
    assert_eq!(v.outcome, Outcome::Modify);
    assert_eq!(v.text, "Status of [CLASSIFICATION] and [CLASSIFICATION]?");
    assert!(v.labels.contains(&"confidential".to_string()));
    assert_eq!(run(&bundle, "nothing secret").labels, Vec::<String>::new());
}

#[test]
fn the_readme_shows_the_codewords_example_as_it_is() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let source =
        std::fs::read_to_string(format!("{root}/examples/plugins/codewords/src/lib.rs")).unwrap();
    assert!(
        readme.contains(&source),
        "README.md must include examples/plugins/codewords/src/lib.rs verbatim"
    );
}

/// The README and the docs stand alone: every relative link names a file or directory of this repository,
/// and none leads out of it (a user's clone has nothing beside it).
#[test]
fn the_readme_and_docs_link_only_to_what_is_in_the_repository() {
    fn pages(dir: &std::path::Path, into: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let (path, name) = (
                entry.path(),
                entry.file_name().to_string_lossy().into_owned(),
            );
            if entry.file_type().unwrap().is_dir() {
                if !name.starts_with('.') && !["target", "node_modules"].contains(&name.as_str()) {
                    pages(&path, into);
                }
            } else if name.ends_with(".md") {
                into.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let mut found = Vec::new();
    pages(&root, &mut found);
    assert!(
        found.iter().any(|p| p.ends_with("docs/bundles.md")),
        "{found:?}"
    );
    // Inline links `[text](target)` and reference definitions `[name]: target`.
    let link = regex::Regex::new(r"(?m)\]\(([^)\s]+)\)|^\[[^\]]+\]:\s*(\S+)").unwrap();
    let mut broken = Vec::new();
    for page in &found {
        let text = std::fs::read_to_string(page).unwrap();
        let shown = page.strip_prefix(&root).unwrap().display();
        if text.contains("../shared") {
            broken.push(format!(
                "{shown}: mentions ../shared, which a clone does not have"
            ));
        }
        for captures in link.captures_iter(&text) {
            let target = captures.get(1).or(captures.get(2)).unwrap().as_str();
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let file = target.split('#').next().unwrap();
            match page.parent().unwrap().join(file).canonicalize() {
                Ok(resolved) if resolved.starts_with(&root) => {}
                Ok(_) => broken.push(format!("{shown}: {target} leads out of the repository")),
                Err(_) => broken.push(format!("{shown}: {target} names nothing")),
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Envoy's descriptors, as shipped by the envoy-types crate (found through `cargo metadata`).
fn envoy_descriptors() -> prost_reflect::DescriptorPool {
    let metadata = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        metadata.status.success(),
        "{}",
        String::from_utf8_lossy(&metadata.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "envoy-types")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("envoy-types is a dependency");
    let types = std::path::Path::new(manifest)
        .parent()
        .unwrap()
        .join("src/generated/types.bin");
    let bytes = std::fs::read(&types).unwrap_or_else(|e| panic!("{}: {e}", types.display()));
    prost_reflect::DescriptorPool::decode(bytes.as_slice()).expect("Envoy's descriptors decode")
}

/// `examples/envoy/NAME` read and checked as an Envoy bootstrap: every field and enum value, typed
/// extensions (`@type`) included, as Envoy's own protos define them.
fn envoy_bootstrap(name: &str) -> serde_json::Value {
    let path = format!("{}/../examples/envoy/{name}", env!("CARGO_MANIFEST_DIR"));
    let yaml = std::fs::read_to_string(&path).unwrap();
    let config: serde_json::Value = serde_yaml::from_str(&yaml).expect("YAML");
    let pool = envoy_descriptors();
    let bootstrap = pool
        .get_message_by_name("envoy.config.bootstrap.v3.Bootstrap")
        .unwrap();
    prost_reflect::DynamicMessage::deserialize(bootstrap, config.clone())
        .unwrap_or_else(|e| panic!("{path} is not a valid Envoy bootstrap: {e}"));
    config
}

/// The `typed_config` of the HTTP filter `name` on the first listener.
fn http_filter(config: &serde_json::Value, name: &str) -> serde_json::Value {
    config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        ["http_filters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} filter"))["typed_config"]
        .clone()
}

/// The cluster a filter's gRPC service points at is Palisade: the default port, over HTTP/2.
fn assert_grpc_cluster_is_palisade(config: &serde_json::Value, filter: &serde_json::Value) {
    let cluster = filter["grpc_service"]["envoy_grpc"]["cluster_name"]
        .as_str()
        .unwrap();
    let palisade = config["static_resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == cluster)
        .expect("the filter's cluster");
    assert_eq!(
        palisade["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
            ["socket_address"]["port_value"],
        50051,
        "palisade serve's default port"
    );
    assert!(
        palisade["typed_extension_protocol_options"]
            ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["explicit_http_config"]
            .get("http2_protocol_options")
            .is_some(),
        "gRPC needs HTTP/2"
    );
}

#[test]
fn the_envoy_example_is_a_valid_bootstrap_with_the_processing_mode_palisade_needs() {
    let config = envoy_bootstrap("envoy.yaml");
    let ext_proc = http_filter(&config, "envoy.filters.http.ext_proc");
    let mode = &ext_proc["processing_mode"];
    assert_eq!(mode["request_header_mode"], "SEND");
    assert_eq!(mode["response_header_mode"], "SEND");
    assert_eq!(mode["request_body_mode"], "BUFFERED");
    assert!(["BUFFERED", "STREAMED"].contains(&mode["response_body_mode"].as_str().unwrap()));
    assert_eq!(ext_proc["failure_mode_allow"], false, "fails closed");
    assert_grpc_cluster_is_palisade(&config, &ext_proc);
}

#[test]
fn the_ext_authz_example_sends_the_whole_body_and_logs_the_decision() {
    let config = envoy_bootstrap("ext_authz.yaml");
    let ext_authz = http_filter(&config, "envoy.filters.http.ext_authz");
    let body = &ext_authz["with_request_body"];
    assert_eq!(
        body["allow_partial_message"], false,
        "a cut body is never checked"
    );
    assert_eq!(body["pack_as_bytes"], true);
    assert_eq!(
        body["max_request_bytes"],
        4 << 20,
        "serve's default --max-payload"
    );
    assert_eq!(ext_authz["failure_mode_allow"], false, "fails closed");
    assert_grpc_cluster_is_palisade(&config, &ext_authz);
    let log = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["access_log"][0]["typed_config"]["log_format"]["json_format"]
        ["palisade_decision"]
        .as_str()
        .unwrap();
    assert_eq!(
        log,
        "%DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision)%"
    );
}
