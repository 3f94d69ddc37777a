//! Accepting connections, for the gRPC listener and the HTTP/JSON one alike: TLS (and mutual TLS) on both,
//! HTTP/2 limits set explicitly rather than left to library defaults, the caller's `grpc-timeout` enforced
//! outside the handlers, and a graceful shutdown that lets calls in flight finish.
//!
//! Why not tonic's own server: it answers an expired `grpc-timeout` with CANCELLED ("Timeout expired")
//! from a layer outside anything a service can wrap, and it has no TLS for the HTTP API. Serving tonic's
//! routes on hyper here keeps one accept loop, one TLS setup and one set of limits for every listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Limits for each connection. They are sent in HTTP/2 SETTINGS, so well-behaved clients never exceed
/// them; hyper refuses the streams of those that do.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Streams (calls) open at once on one connection.
    pub max_concurrent_streams: u32,
    /// Bytes of request headers (HTTP/2's header list, HTTP/1's header block).
    pub max_header_list_size: u32,
    /// Connections open at once on the listener; more wait in the kernel's backlog.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrent_streams: 256,
            max_header_list_size: 64 << 10,
            max_connections: 4096,
        }
    }
}

/// A TLS acceptor: the server's certificate and, for mutual TLS, the CA client certificates must chain to.
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ServerConfig>,
    /// Client certificates are required.
    pub mutual: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("mutual", &self.mutual).finish()
    }
}

/// Why a TLS setting is not usable, naming which file.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {why}")]
pub struct TlsError {
    what: &'static str,
    why: String,
}

impl Tls {
    /// From PEM: the certificate chain, its private key and, for mutual TLS, the client CA. It offers no
    /// protocols until a listener says which it serves ([`Tls::with_alpn`]).
    pub fn from_pem(cert: &[u8], key: &[u8], client_ca: Option<&[u8]>) -> Result<Tls, TlsError> {
        let error = |what, why: String| TlsError { what, why };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<_, _>>()
            .map_err(|e| error("--tls-cert", format!("not a PEM certificate chain: {e}")))?;
        if chain.is_empty() {
            return Err(error("--tls-cert", "holds no certificate".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| error("--tls-key", format!("not a PEM private key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| error("TLS", e.to_string()))?;
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(ca) {
                    let cert = cert
                        .map_err(|e| error("--client-ca", format!("not a PEM certificate: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| error("--client-ca", e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(error("--client-ca", "holds no certificate".into()));
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    roots.into(),
                    provider,
                )
                .build()
                .map_err(|e| error("--client-ca", e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(|e| error("--tls-cert / --tls-key", e.to_string()))?;
        Ok(Tls {
            config: Arc::new(config),
            mutual: client_ca.is_some(),
        })
    }

    /// The same certificates, offering `alpn`, most preferred first (`h2` for gRPC).
    pub fn with_alpn(&self, alpn: &[&[u8]]) -> Tls {
        let mut config = (*self.config).clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Tls {
            config: Arc::new(config),
            mutual: self.mutual,
        }
    }
}

/// Who is at the other end of a connection; in every request's extensions.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The remote address.
    pub addr: SocketAddr,
    /// The client's certificate chain, leaf first, when it presented one (mutual TLS).
    pub certs: Option<Arc<[CertificateDer<'static>]>>,
}

/// Serves `service` on `listener` until `shutdown` resolves, then waits for the connections' calls in
/// flight to finish. `http2_only` is for gRPC; otherwise HTTP/1.1 is served too.
pub async fn serve<S, B>(
    listener: TcpListener,
    tls: Option<Tls>,
    http2_only: bool,
    limits: Limits,
    service: S,
    shutdown: impl Future<Output = ()>,
) where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = std::convert::Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if http2_only {
        builder = builder.http2_only();
    }
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(limits.max_header_list_size)
        // A client that opens and resets streams in a loop (CVE-2023-44487) is cut off.
        .max_pending_accept_reset_streams(Some(64))
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
        .http1()
        .timer(TokioTimer::new())
        .max_buf_size((limits.max_header_list_size as usize).max(8192))
        .header_read_timeout(Duration::from_secs(30));
    let builder = Arc::new(builder);
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Shutdown is heard while every connection slot is taken, too.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (tcp, addr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        super::no_delay(&tcp);
        let builder = builder.clone();
        let service = service.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let serve = |io, certs| {
                let peer = Peer { addr, certs };
                let service = TowerToHyperService::new(service.map_request(
                    move |mut request: Request<Incoming>| {
                        request.extensions_mut().insert(peer.clone());
                        request
                    },
                ));
                let connection = builder.serve_connection(io, service).into_owned();
                watcher.watch(connection)
            };
            let served = match acceptor {
                None => serve(TokioIo::new(Box::new(tcp) as Io), None).await,
                Some(acceptor) => {
                    let tls =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(e)) => {
                                tracing::debug!(%addr, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%addr, "TLS handshake timed out");
                                return;
                            }
                        };
                    let certs = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect());
                    serve(TokioIo::new(Box::new(tls) as Io), certs).await
                }
            };
            if let Err(e) = served {
                tracing::debug!(%addr, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A plaintext or TLS stream, boxed so both take one path through hyper.
type Io = Box<dyn AsyncIo>;
trait AsyncIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> AsyncIo for T {}
