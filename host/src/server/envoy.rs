//! What Envoy's two filters (ext_proc and ext_authz) share: reading the exchange from its headers, and
//! the JSON error body and headers of an answer Palisade gives in the upstream's place.

use envoy_types::pb::envoy::config::core::v3::{
    header_value_option::HeaderAppendAction, HeaderMap, HeaderValue, HeaderValueOption,
};

pub(super) fn set_header(key: &str, value: &str) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.into(),
            raw_value: value.as_bytes().to_vec(),
            ..Default::default()
        }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
        ..Default::default()
    }
}

/// The JSON body of an answer Palisade gives in the upstream's place, in the shape OpenAI's and Anthropic's
/// clients read (`error.message`, `error.type`), naming the plugin and rule when known.
pub(super) fn error_body(reason: &str, rule: Option<(&str, &str)>) -> String {
    let mut error = serde_json::json!({
        "type": "palisade_denied",
        "message": format!("Palisade: {reason}"),
    });
    if let Some((plugin, rule)) = rule {
        error["plugin"] = plugin.into();
        error["rule"] = rule.into();
    }
    serde_json::json!({ "error": error }).to_string()
}

/// A header's value (Envoy sends `raw_value`; older versions `value`).
pub(super) fn header(headers: Option<&HeaderMap>, name: &str) -> Option<String> {
    let h = headers?.headers.iter().find(|h| h.key == name)?;
    if h.raw_value.is_empty() {
        Some(h.value.clone())
    } else {
        String::from_utf8(h.raw_value.clone()).ok()
    }
}

/// The principal Envoy forwards: the configured header (`--principal-header`), else the client
/// certificate's URI from `x-forwarded-client-cert`, else what Envoy's attributes say.
pub(super) fn forwarded_principal(
    settings: &super::Settings,
    get: impl Fn(&str) -> Option<String>,
    attribute: Option<String>,
) -> Option<String> {
    settings
        .principal_header
        .as_deref()
        .and_then(&get)
        .or_else(|| get("x-forwarded-client-cert").and_then(|x| xfcc_uri(&x)))
        .or(attribute)
}

/// Where a request goes: `x-palisade-destination` (`explicit`, set by the gateway when it rewrites the
/// host) or the scheme and authority the client used; then the path.
pub(super) fn destination(
    explicit: Option<String>,
    scheme: Option<String>,
    authority: Option<String>,
    path: Option<String>,
) -> Option<String> {
    let base = explicit.or_else(|| {
        let scheme = scheme.unwrap_or_else(|| "https".into());
        authority.map(|authority| format!("{scheme}://{authority}"))
    })?;
    Some(format!(
        "{}{}",
        base.trim_end_matches('/'),
        path.unwrap_or_default()
    ))
}

/// The `URI=` of the first element of an `x-forwarded-client-cert` header: the client certificate's
/// URI SAN, which is its SPIFFE ID.
fn xfcc_uri(header: &str) -> Option<String> {
    let first = header.split(',').next()?;
    first.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("uri")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xfcc_gives_the_first_certificates_uri() {
        let h = r#"By=spiffe://example.org/envoy;Hash=abc;Subject="CN=x";URI=spiffe://example.org/ns/a/sa/agent,By=x;URI=spiffe://other"#;
        assert_eq!(
            xfcc_uri(h).as_deref(),
            Some("spiffe://example.org/ns/a/sa/agent")
        );
        assert_eq!(xfcc_uri("By=x;Hash=y"), None);
    }
}
