//! Who is calling: with mutual TLS, the client certificate's SPIFFE ID (its `spiffe://` URI SAN).
//!
//! A call's principal is what the request claims, checked against the certificate: a caller without a
//! claim is its certificate's identity; a caller may claim only its own identity, unless it is a gateway
//! trusted (`--trusted-gateway`) to speak for the principals behind it. Without mutual TLS the claim is
//! taken as it is: the network is then the boundary.

use super::gate::Refused;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The SPIFFE ID of the client certificate this call came with, if any.
pub(super) fn peer_spiffe_id<T>(request: &tonic::Request<T>) -> Option<String> {
    let certs = request.peer_certs()?;
    let leaf = certs.first()?;
    spiffe_id(leaf.as_ref())
}

/// The first `spiffe://` URI SAN of a DER certificate.
pub(super) fn spiffe_id(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|name| match name {
        GeneralName::URI(uri) if uri.starts_with("spiffe://") => Some(uri.to_string()),
        _ => None,
    })
}

/// The principal a call runs as: `claimed` by the request, checked against the certificate's `peer` ID.
pub(super) fn principal(
    claimed: Option<String>,
    peer: Option<String>,
    trusted_gateways: &[String],
) -> Result<Option<String>, Refused> {
    match (claimed, peer) {
        (claimed, None) => Ok(claimed),
        (None, Some(peer)) => Ok(Some(peer)),
        (Some(claimed), Some(peer)) if claimed == peer => Ok(Some(claimed)),
        (Some(claimed), Some(peer)) => {
            if trusted_gateways.iter().any(|g| glob(g, &peer)) {
                Ok(Some(claimed))
            } else {
                Err(Refused::NotPermitted(format!(
                    "the request claims principal {claimed:?} but its client certificate is {peer:?}; \
                     a caller may only claim its own identity unless Palisade trusts it as a gateway \
                     (serve --trusted-gateway {peer})"
                )))
            }
        }
    }
}

/// `*` matches any run of characters (so `spiffe://example.org/ns/gateways/*` covers a namespace).
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_checked_against_the_certificate() {
        let me = || Some("spiffe://example.org/ns/a/sa/agent".to_string());
        let other = || Some("spiffe://example.org/ns/b/sa/other".to_string());
        assert_eq!(principal(None, me(), &[]).unwrap(), me());
        assert_eq!(principal(me(), me(), &[]).unwrap(), me());
        assert_eq!(principal(other(), None, &[]).unwrap(), other());
        let e = principal(other(), me(), &[]).unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(e.message().contains("--trusted-gateway"), "{}", e.message());
        let gateways = ["spiffe://example.org/ns/a/*".to_string()];
        assert_eq!(principal(other(), me(), &gateways).unwrap(), other());
    }
}
