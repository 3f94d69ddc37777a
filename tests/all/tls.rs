//! `serve --tls-cert/--tls-key/--client-ca`: TLS, and mutual TLS where the caller's SPIFFE ID is its
//! principal, with certificates made at test time.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
    SanType,
};
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
        // Names of its own: OpenSSL (curl) takes a leaf whose subject equals its issuer for self-signed.
        params.distinguished_name = named("Palisade test CA");
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
        self.issue_uris(names, spiffe.as_slice())
    }

    /// (certificate PEM, key PEM) for these DNS names and URI SANs.
    fn issue_uris(&self, names: &[&str], uris: &[&str]) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = named(names.first().or(uris.first()).unwrap_or(&"client"));
        for uri in uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().unwrap()));
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

    /// `serve` under mutual TLS with this CA, with `extra` arguments; its own calls (the health check)
    /// come as `client`.
    async fn start_mtls(&self, extra: &[&str], client: &str) -> Server {
        let (cert, key, ca) = (
            self.path("server.pem"),
            self.path("server.key"),
            self.path("ca.pem"),
        );
        let mut args = vec!["--tls-cert", &cert, "--tls-key", &key, "--client-ca", &ca];
        args.extend_from_slice(extra);
        Server::start_with(&args, Some(self.client(Some(client)))).await
    }

    /// Client TLS that trusts the CA, presenting a certificate for `spiffe` when given.
    fn client(&self, spiffe: Option<&str>) -> ClientTlsConfig {
        match spiffe {
            None => ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(self.ca.pem()))
                .domain_name("localhost"),
            Some(id) => self.client_with(&[id]),
        }
    }

    /// Client TLS that trusts the CA, presenting a certificate with these URI SANs.
    fn client_with(&self, uris: &[&str]) -> ClientTlsConfig {
        let (cert, key) = self.issue_uris(&[], uris);
        self.client(None).identity(Identity::from_pem(cert, key))
    }

    /// POSTs `body` to the HTTP API at `addr` over TLS with curl, presenting a certificate for `spiffe`
    /// when given: (HTTP status, JSON answer), or `None` when no answer came (a refused handshake).
    fn curl(
        &self,
        addr: std::net::SocketAddr,
        spiffe: Option<&str>,
        body: &str,
    ) -> Option<(u16, serde_json::Value)> {
        let url = format!("https://localhost:{}/v1/check", addr.port());
        let mut command = std::process::Command::new("curl");
        command.args([
            "-sS",
            "--cacert",
            &self.path("ca.pem"),
            "-H",
            "content-type: application/json",
        ]);
        if let Some(id) = spiffe {
            let (cert, key) = self.issue(&[], Some(id));
            let name = id.rsplit('/').next().unwrap();
            self.write(&format!("{name}.pem"), &cert);
            self.write(&format!("{name}.key"), &key);
            command.args(["--cert", &self.path(&format!("{name}.pem"))]);
            command.args(["--key", &self.path(&format!("{name}.key"))]);
        }
        let out = command
            .args(["--data", body, "-w", "\n%{http_code}", &url])
            .output()
            .expect("curl runs (apt-get install curl)");
        if !out.status.success() {
            eprintln!("curl: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        let out = String::from_utf8(out.stdout).unwrap();
        let (json, status) = out.rsplit_once('\n').unwrap();
        Some((status.parse().unwrap(), serde_json::from_str(json).unwrap()))
    }
}

fn named(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
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

/// A server on TLS with the PKI's server certificate, and a client that trusts its CA (no client certificate).
async fn tls_server(pki: &Pki) -> Server {
    Server::start_with(
        &[
            "--tls-cert",
            &pki.path("server.pem"),
            "--tls-key",
            &pki.path("server.key"),
        ],
        Some(pki.client(None)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_serves_clients_that_trust_its_ca_and_refuses_plaintext() {
    let pki = Pki::new();
    let server = tls_server(&pki).await;
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
    let mut server = pki
        .start_mtls(
            &[
                "--bundle",
                bundle.path().to_str().unwrap(),
                "--audit",
                audit.to_str().unwrap(),
                "--metrics",
                "127.0.0.1:0",
                "--trusted-gateway",
                "spiffe://example.org/ns/gateways/*",
                "--http",
                "127.0.0.1:0",
            ],
            GATEWAY,
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

    // The HTTP API is served over the same mutual TLS, with the same rules.
    let http = server.http_addr.unwrap();
    let claim = r#"{"text": "hello", "principal": "spiffe://example.org/ns/prod/sa/agent"}"#;
    let (status, error) = pki.curl(http, Some(AGENT), claim).unwrap();
    assert_eq!(status, 403, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("--trusted-gateway"),
        "{error}"
    );
    let (status, answer) = pki.curl(http, Some(GATEWAY), claim).unwrap();
    assert_eq!(
        (status, answer["decision"].as_str()),
        (200, Some("DECISION_ALLOW")),
        "{answer}"
    );
    let external =
        r#"{"text": "hello", "destination": "https://api.openai.com/v1/chat/completions"}"#;
    let (status, answer) = pki.curl(http, Some(AGENT), external).unwrap();
    assert_eq!(
        (status, answer["decision"].as_str()),
        (200, Some("DECISION_DENY")),
        "{answer}"
    );
    assert!(
        pki.curl(http, None, r#"{"text": "hello"}"#).is_none(),
        "an HTTP caller without a certificate was served"
    );

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

#[tokio::test(flavor = "multi_thread")]
async fn under_mtls_a_certificate_must_carry_exactly_one_spiffe_id() {
    let pki = Pki::new();
    let server = pki.start_mtls(&[], AGENT).await;
    let no_id = pki.client_with(&["https://example.org/not-a-spiffe-id"]);
    let two_ids = pki.client_with(&[AGENT, GATEWAY]);
    for (tls, why) in [
        (no_id, "no spiffe:// URI SAN"),
        (two_ids, "2 spiffe:// URI SANs"),
    ] {
        let channel = server.connect(Some(tls)).await.unwrap();
        let mut client = palisade::server::proto::guardrail_client::GuardrailClient::new(channel);
        // Claiming a principal does not stand in for the missing identity, nor does claiming nothing.
        for claim in ["spiffe://example.org/ns/billing/sa/billing-agent", ""] {
            let e = client.check(hello(claim)).await.unwrap_err();
            assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
            assert!(e.message().contains(why), "{}", e.message());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn under_mtls_admin_answers_only_the_admin_clients() {
    use palisade::server::proto::admin_client::AdminClient;
    use palisade::server::proto::StatusRequest;
    const OPERATOR: &str = "spiffe://example.org/ns/ops/sa/operator";
    let pki = Pki::new();
    let server = pki
        .start_mtls(&["--admin-client", "spiffe://example.org/ns/ops/*"], AGENT)
        .await;
    let (server, pki) = (&server, &pki);
    let admin_as = |id| async move {
        AdminClient::new(server.connect(Some(pki.client(Some(id)))).await.unwrap())
    };
    let e = admin_as(AGENT)
        .await
        .status(StatusRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(e.message().contains("--admin-client"), "{}", e.message());
    let status = admin_as(OPERATOR)
        .await
        .status(StatusRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.source, "embedded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_handshake_that_never_comes_is_dropped_after_10_seconds() {
    use tokio::io::AsyncReadExt;
    let pki = Pki::new();
    let server = tls_server(&pki).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tcp.read_to_end(&mut answer),
    )
    .await;
    let took = started.elapsed();
    assert!(read.is_ok(), "still open after {took:?}");
    // Not sooner than promised (a timer fires late, never early), and not much later.
    assert!(
        took >= std::time::Duration::from_millis(9_500)
            && took < std::time::Duration::from_secs(30),
        "closed after {took:?}"
    );
}
