//! What Envoy's two filters (ext_proc and ext_authz) share: reading the exchange from its headers, and
//! the JSON error body and headers of an answer Palisade gives in the upstream's place.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::core::v3::{
    header_value_option::HeaderAppendAction, HeaderMap, HeaderValue, HeaderValueOption,
};
use envoy_types::pb::google::protobuf::{value::Kind, ListValue, Struct, Value};

use crate::chain::Findings;

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

/// The principal Envoy forwards: its `source.principal` attribute (the downstream certificate Envoy
/// verified) when it sent one; else, only when configured (`--principal-header`), a request header —
/// read as Envoy's `x-forwarded-client-cert` when that is the header named. A header a client can set is
/// never trusted unasked; the gateway must strip it from clients (docs/envoy.md).
pub(super) fn forwarded_principal(
    settings: &super::Settings,
    get: impl Fn(&str) -> Option<String>,
    attribute: Option<String>,
) -> Option<String> {
    if let Some(principal) = attribute.filter(|a| !a.is_empty()) {
        return Some(principal);
    }
    let name = settings.principal_header.as_deref()?;
    let value = get(name)?;
    if name == XFCC {
        xfcc_uri(&value)
    } else {
        Some(value)
    }
}

/// Envoy's header carrying the downstream client certificate's details.
const XFCC: &str = "x-forwarded-client-cert";

/// Where a request goes: `x-palisade-destination` (`explicit`, set by the gateway when it rewrites the
/// host) or the scheme and authority the client used; then the path, without its query or fragment. A
/// query often carries a credential (`?api_key=…`), and the destination is written to the audit trail
/// and handed to every plugin as an identifier; the path is what policies match on.
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
    let path = path.unwrap_or_default();
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let base = base.split(['?', '#']).next().unwrap_or_default();
    Some(format!("{}{path}", base.trim_end_matches('/')))
}

/// The `URI=` of the last element of an `x-forwarded-client-cert` header: the element the Envoy in
/// front of Palisade added, for the certificate it verified (earlier elements come from proxies before it).
/// Elements are separated by `,` and pairs by `;`, except inside double quotes, where `\"` escapes a
/// quote (a Subject such as `"CN=a,O=b;c"`).
fn xfcc_uri(header: &str) -> Option<String> {
    let elements = split_unquoted(header, ',');
    let last = elements.last()?;
    split_unquoted(last, ';').iter().find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("uri")
            .then(|| unquote(value.trim()))
            .filter(|uri| !uri.is_empty())
    })
}

/// `text` split at each `separator` outside double quotes.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A value without its surrounding quotes and with `\"` unescaped.
fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\""),
        None => value.to_string(),
    }
}

/// What Envoy's access log can carry: the decision and findings, never a matched value.
pub(super) fn metadata(
    decision: &str,
    bundle: &str,
    request_id: &str,
    reason: &str,
    findings: &Findings,
) -> Struct {
    let string = |s: &str| Value {
        kind: Some(Kind::StringValue(s.into())),
    };
    let dropped = findings.dropped();
    let findings = findings
        .iter()
        .map(|f| {
            let fields: HashMap<String, Value> = [
                ("plugin", string(&f.plugin)),
                ("rule", string(&f.rule)),
                ("category", string(&f.category)),
                ("action", string(f.action.as_str())),
                ("location", string(&f.location)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            Value {
                kind: Some(Kind::StructValue(Struct { fields })),
            }
        })
        .collect();
    let fields = [
        ("decision", string(decision)),
        ("bundle", string(bundle)),
        ("request_id", string(request_id)),
        ("reason", string(reason)),
        (
            "findings",
            Value {
                kind: Some(Kind::ListValue(ListValue { values: findings })),
            },
        ),
    ]
    .into_iter()
    .chain((dropped > 0).then(|| {
        let count = Value {
            kind: Some(Kind::NumberValue(dropped as f64)),
        };
        ("findings_dropped", count)
    }))
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Struct { fields }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_has_no_query_or_fragment() {
        let at = |explicit: Option<&str>, path: &str| {
            destination(
                explicit.map(str::to_string),
                None,
                Some("api.example.com".into()),
                Some(path.into()),
            )
        };
        assert_eq!(
            at(None, "/v1/search?api_key=ghp_x&q=1#top").as_deref(),
            Some("https://api.example.com/v1/search")
        );
        assert_eq!(
            at(Some("https://llm.internal/?token=x"), "/v1/chat").as_deref(),
            Some("https://llm.internal/v1/chat")
        );
    }

    #[test]
    fn xfcc_gives_the_uri_of_the_element_envoy_added() {
        let h = r#"By=spiffe://example.org/envoy;Hash=abc;Subject="CN=x";URI=spiffe://example.org/ns/a/sa/agent"#;
        assert_eq!(
            xfcc_uri(h).as_deref(),
            Some("spiffe://example.org/ns/a/sa/agent")
        );
        // Commas and semicolons inside a quoted Subject split nothing; the last element is Envoy's own.
        let h = r#"By=x;URI=spiffe://earlier,By=spiffe://example.org/envoy;Subject="CN=agent, O=Example; Inc, C=\"US\"";URI=spiffe://example.org/ns/b/sa/bot"#;
        assert_eq!(
            xfcc_uri(h).as_deref(),
            Some("spiffe://example.org/ns/b/sa/bot")
        );
        assert_eq!(xfcc_uri("By=x;Hash=y"), None);
        assert_eq!(xfcc_uri(r#"Subject="a;URI=spiffe://forged""#), None);
    }
}
