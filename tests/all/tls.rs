//! `serve --tls-cert/--tls-key/--client-ca`: TLS, and mutual TLS where the caller's SPIFFE ID is its
//! principal, with certificates made at test time.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};
use tonic::Code;

use palisade::server::proto::{check_request, CheckRequest, Decision};

use crate::serve::Server;
use crate::util::edited_default_bundle_dir;

const AGENT: &str = "spiffe://example.org/ns/sandbox/sa/agent";
const GATEWAY: &str = "spiffe://example.org/ns/gateways/sa/envoy";

/// A CA, a server certificate for localhost, and client certificates by SPIFFE ID, written as PEM files.
struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            ca,
        };
        pki.write("ca.pem", &pki.ca.pem());
        let (cert, key) = pki.issue(&["localhost"], None);
        pki.write("server.pem", &cert);
        pki.write("server.key", &key);
        pki
    }

    /// (certificate PEM, key PEM) for these DNS names and SPIFFE ID.
    fn issue(&self, names: &[&str], spiffe: Option<&str>) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        if let Some(id) = spiffe {
            params
                .subject_alt_names
                .push(SanType::URI(id.try_into().unwrap()));
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn write(&self, name: &str, pem: &str) {
        std::fs::write(self.dir.path().join(name), pem).unwrap();
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    /// Client TLS that trusts the CA, presenting a certificate for `spiffe` when given.
    fn client(&self, spiffe: Option<&str>) -> ClientTlsConfig {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.ca.pem()))
            .domain_name("localhost");
        if let Some(id) = spiffe {
            let (cert, key) = self.issue(&[], Some(id));
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        tls
    }
}

fn hello(principal: &str) -> CheckRequest {
    CheckRequest {
        content: Some(check_request::Content::Text("hello".into())),
        destination: "https://api.openai.com/v1/chat/completions".into(),
        principal: principal.into(),
        ..Default::default()
    }
}

/// The default bundle plus a rule that denies sandbox agents any external destination, so a check's
/// decision shows which principal it ran as.
pub(crate) fn bundle_denying_sandbox_agents() -> tempfile::TempDir {
    edited_default_bundle_dir(|manifest| {
        manifest
            + r#"
[[plugin.config.rules]]
name = "sandbox-stays-internal"
effect = "deny"
principals = ["spiffe://example.org/ns/sandbox/*"]
unless_tags = ["internal"]
"#
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_serves_clients_that_trust_its_ca_and_refuses_plaintext() {
    let pki = Pki::new();
    let server = Server::start_with(
        &[
            "--tls-cert",
            &pki.path("server.pem"),
            "--tls-key",
            &pki.path("server.key"),
        ],
        Some(pki.client(None)),
    )
    .await;
    let r = server
        .client()
        .await
        .check(hello(""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.decision(), Decision::Allow);

    // A plaintext client gets no answer.
    let plain = server.connect(None).await;
    if let Ok(channel) = plain {
        let mut client = palisade::server::proto::guardrail_client::GuardrailClient::new(channel);
        assert!(client.check(hello("")).await.is_err());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_mtls_the_certificate_is_the_principal_and_only_trusted_gateways_claim_others() {
    let pki = Pki::new();
    let bundle = bundle_denying_sandbox_agents();
    let audit = bundle.path().join("audit.jsonl");
    let mut server = Server::start_with(
        &[
            "--bundle",
            bundle.path().to_str().unwrap(),
            "--audit",
            audit.to_str().unwrap(),
            "--metrics",
            "127.0.0.1:0",
            "--tls-cert",
            &pki.path("server.pem"),
            "--tls-key",
            &pki.path("server.key"),
            "--client-ca",
            &pki.path("ca.pem"),
            "--trusted-gateway",
            "spiffe://example.org/ns/gateways/*",
            "--http",
            "127.0.0.1:0",
        ],
        Some(pki.client(Some(GATEWAY))),
    )
    .await;
    let client_as = |id: Option<&'static str>| {
        let tls = pki.client(id);
        let server = &server;
        async move {
            server
                .connect(Some(tls))
                .await
                .map(palisade::server::proto::guardrail_client::GuardrailClient::new)
        }
    };

    // The agent's own certificate makes it a sandbox agent: denied without claiming anything.
    let mut agent = client_as(Some(AGENT)).await.unwrap();
    let r = agent.check(hello("")).await.unwrap().into_inner();
    assert_eq!(r.decision(), Decision::Deny, "{}", r.reason);
    assert!(r.reason.contains("sandbox-stays-internal"), "{}", r.reason);
    // Claiming its own identity is the same; claiming another's is refused, saying why.
    let r = agent.check(hello(AGENT)).await.unwrap().into_inner();
    assert_eq!(r.decision(), Decision::Deny);
    let e = agent
        .check(hello("spiffe://example.org/ns/prod/sa/agent"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(
        e.message().contains(AGENT) && e.message().contains("--trusted-gateway"),
        "{}",
        e.message()
    );
    // So is a stream that claims another's.
    let claim = palisade::server::proto::CheckStreamRequest {
        principal: "spiffe://example.org/ns/prod/sa/agent".into(),
        chunk: b"hello".to_vec(),
        ..Default::default()
    };
    let e = match agent.check_stream(tokio_stream::iter([claim])).await {
        Err(e) => e,
        Ok(answers) => answers.into_inner().message().await.unwrap_err(),
    };
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    // A trusted gateway speaks for the users behind it.
    let mut gateway = client_as(Some(GATEWAY)).await.unwrap();
    let r = gateway
        .check(hello("spiffe://example.org/ns/prod/sa/agent"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.decision(), Decision::Allow, "{}", r.reason);
    let r = gateway.check(hello(AGENT)).await.unwrap().into_inner();
    assert_eq!(r.decision(), Decision::Deny);

    // Without a client certificate there is no call at all.
    let refused = match client_as(None).await {
        Err(_) => true,
        Ok(mut c) => c.check(hello("")).await.is_err(),
    };
    assert!(refused, "a client without a certificate was served");

    // Plain HTTP has no certificates to check a claim against: it serves only calls that claim nothing.
    let http = format!("http://{}/v1/check", server.http_addr.unwrap());
    let post = |body: &'static str| {
        reqwest::Client::new()
            .post(&http)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let answer = post(r#"{"text": "hello", "principal": "spiffe://example.org/ns/gateways/gw"}"#)
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    let error: serde_json::Value = answer.json().await.unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("mutual TLS"),
        "{error}"
    );
    let answer = post(r#"{"text": "hello"}"#).await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);

    // Each refusal was counted and audited once, on its transport.
    let page = server.metrics().await;
    let counted = "palisade_check_errors_total{code=\"PermissionDenied\"} 3";
    assert!(page.lines().any(|l| l == counted), "{page}");
    drop((agent, gateway));
    server.terminate();
    let refused: Vec<(String, String)> = (crate::audit::events(&audit).iter())
        .filter(|e| e["event"] == "refused")
        .map(|e| (e["transport"].to_string(), e["code"].to_string()))
        .collect();
    let want: Vec<(String, String)> = ["grpc", "grpc-stream", "http"]
        .iter()
        .map(|t| (format!("{t:?}"), "\"PermissionDenied\"".to_string()))
        .collect();
    assert_eq!(refused, want);
}
