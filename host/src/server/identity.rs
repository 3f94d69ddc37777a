//! Who is calling: with mutual TLS, the client certificate's SPIFFE ID (its `spiffe://` URI SAN).
//!
//! A call's principal is what the request claims, checked against the certificate: a caller without a
//! claim is its certificate's identity; a caller may claim only its own identity, unless it is a gateway
//! trusted (`--trusted-gateway`) to speak for the principals behind it. Without mutual TLS the claim is
//! taken as it is: the network is then the boundary.

use super::gate::Refused;
use super::listen::Peer;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The SPIFFE ID of the client certificate a gRPC call came with; see [`spiffe_id_of`].
pub(super) fn peer_spiffe_id<T>(request: &tonic::Request<T>) -> Result<Option<String>, Refused> {
    spiffe_id_of(request.extensions().get::<Peer>())
}

/// The SPIFFE ID of the client certificate a connection presented: `None` without one (no mutual TLS).
/// A certificate must carry exactly one `spiffe://` URI SAN: with none, a caller would fall back to
/// whatever principal it claims; with two, which one it is would be a guess.
pub(super) fn spiffe_id_of(peer: Option<&Peer>) -> Result<Option<String>, Refused> {
    let Some(leaf) = peer.and_then(|p| p.certs.as_deref()).and_then(<[_]>::first) else {
        return Ok(None);
    };
    let refused = |why: String| {
        Err(Refused::Unauthenticated(format!(
            "{why}; under mutual TLS a caller is its certificate's SPIFFE ID, so issue it with exactly \
             one spiffe:// URI SAN (e.g. spiffe://example.org/ns/team/sa/agent)"
        )))
    };
    let ids = match spiffe_ids(leaf.as_ref()) {
        Ok(ids) => ids,
        Err(e) => return refused(format!("the client certificate cannot be read ({e})")),
    };
    match <[String; 1]>::try_from(ids) {
        Ok([id]) => Ok(Some(id)),
        Err(ids) if ids.is_empty() => {
            refused("the client certificate has no spiffe:// URI SAN".into())
        }
        Err(ids) => refused(format!(
            "the client certificate has {} spiffe:// URI SANs ({})",
            ids.len(),
            ids.join(", ")
        )),
    }
}

/// The `spiffe://` URI SANs of a DER certificate.
fn spiffe_ids(der: &[u8]) -> Result<Vec<String>, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let Some(san) = cert.subject_alternative_name().map_err(|e| e.to_string())? else {
        return Ok(Vec::new());
    };
    Ok(san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::URI(uri) if uri.starts_with("spiffe://") => Some(uri.to_string()),
            _ => None,
        })
        .collect())
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
            if matches_any(trusted_gateways, &peer) {
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

/// Whether `id` matches one of `patterns` (see [`glob`]).
pub(super) fn matches_any(patterns: &[String], id: &str) -> bool {
    patterns.iter().any(|p| glob(p, id))
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
