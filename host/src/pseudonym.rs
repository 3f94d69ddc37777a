//! Reversible pseudonyms: the `pseudonymize` action's stand-ins, the table that turns them back into
//! values on the output path, and the sealed vault that carries that table from one check to the next.
//!
//! A stand-in is the category, an underscore and ten hex digits of an HMAC of the value under the
//! server's key (`EMAIL_ADDRESS_7f3a2c9e01`): the same value gets the same stand-in in every turn and on
//! every replica that shares `PALISADE_HASH_KEY`, so a conversation's history stays consistent with no
//! shared store. It is one word to a tokenizer's eyes, never occurs in natural text, and is found again
//! the way a model tends to copy it: in any letter case, with its underscores escaped for Markdown
//! (`EMAIL\_ADDRESS\_7f3a…`), inside quotes, links and JSON strings.
//!
//! The vault is the table sealed with XChaCha20-Poly1305 under a key derived from the same server key,
//! bound to the principal of the check that issued it and to an expiry: opaque to the caller, useless to
//! anyone else, and checked whole before a single value is restored.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use crate::policy::HashKey;

/// Hex digits in a stand-in's tag: 40 bits, so two values of one conversation share a tag about once in
/// 10^12 pairs — and when they would, the check that would issue them is denied, never answered with a
/// table that restores the wrong value.
const TAG_DIGITS: usize = 10;

/// The stand-in for `value` of `category` under `key`.
pub fn stand_in(key: &HashKey, category: &str, value: &str) -> String {
    let mac = key.mac(&[b"pseudonymize", category.as_bytes(), value.as_bytes()]);
    let tag = hex::encode(&mac[..TAG_DIGITS / 2]);
    format!("{category}_{tag}")
}

/// Two different values with the same stand-in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "two different values of {category} would share the stand-in tag {tag} (a one in 10^12 chance); \
     denied rather than risk restoring one in place of the other"
)]
pub struct Collision {
    /// The category of the value that came second.
    pub category: String,
    /// The tag they share.
    pub tag: String,
}

/// Stand-ins and the values they stand for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pseudonyms {
    /// Lower-case tag → (category, value).
    by_tag: BTreeMap<String, (String, String)>,
}

impl Pseudonyms {
    /// How many values the table holds.
    pub fn len(&self) -> usize {
        self.by_tag.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_tag.is_empty()
    }

    /// Records that `stand_in` (as [`stand_in`] made it) stands for `value` of `category`.
    pub fn insert(&mut self, stand_in: &str, category: &str, value: &str) -> Result<(), Collision> {
        let tag = stand_in
            .get(stand_in.len().saturating_sub(TAG_DIGITS)..)
            .unwrap_or_default()
            .to_ascii_lowercase();
        match self.by_tag.get(&tag) {
            Some((c, v)) if c == category && v == value => Ok(()),
            Some(_) => Err(Collision {
                category: category.to_string(),
                tag,
            }),
            None => {
                self.by_tag
                    .insert(tag, (category.to_string(), value.to_string()));
                Ok(())
            }
        }
    }

    /// Takes in every entry of `other`.
    pub fn merge(&mut self, other: Pseudonyms) -> Result<(), Collision> {
        for (tag, (category, value)) in other.by_tag {
            self.insert(&tag, &category, &value)?;
        }
        Ok(())
    }

    /// Every stand-in of this table in `text`, in order, as (its span, the value it stands for). A
    /// stand-in is found in any letter case and with `\_` for `_`, whatever comes before it (`\n` in
    /// JSON-escaped text ends in a letter); a hex digit right after its tag makes it part of a longer
    /// string, left alone, as is a tag this table does not hold.
    pub fn find(&self, text: &str) -> Vec<(Range<usize>, &str)> {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        if self.by_tag.is_empty() {
            return found;
        }
        let mut from = 0;
        while let Some(offset) = bytes[from..].iter().position(|&b| b == b'_') {
            let underscore = from + offset;
            from = underscore + 1;
            let tag_at = underscore + 1;
            let Some(tag) = bytes.get(tag_at..tag_at + TAG_DIGITS) else {
                break;
            };
            if !tag.iter().all(u8::is_ascii_hexdigit)
                || bytes
                    .get(tag_at + TAG_DIGITS)
                    .is_some_and(u8::is_ascii_hexdigit)
            {
                continue;
            }
            let tag = String::from_utf8_lossy(tag).to_ascii_lowercase();
            let Some((category, value)) = self.by_tag.get(&tag) else {
                continue;
            };
            let Some(start) = category_before(bytes, underscore, category) else {
                continue;
            };
            found.push((start..tag_at + TAG_DIGITS, value.as_str()));
            from = tag_at + TAG_DIGITS;
        }
        found
    }
}

/// Where `category` starts if it is written right before the `_` at `underscore` (`\_` may stand for
/// `_`, letters in any case).
fn category_before(bytes: &[u8], underscore: usize, category: &str) -> Option<usize> {
    let mut at = underscore;
    if at > 0 && bytes[at - 1] == b'\\' {
        at -= 1;
    }
    for &want in category.as_bytes().iter().rev() {
        let got = *bytes.get(at.checked_sub(1)?)?;
        at -= 1;
        if !got.eq_ignore_ascii_case(&want) {
            return None;
        }
        if want == b'_' && at > 0 && bytes[at - 1] == b'\\' {
            at -= 1;
        }
    }
    Some(at)
}

/// `text` with every stand-in of `table` replaced by its value, and the replaced spans of `text`.
pub fn restore(table: &Pseudonyms, text: &str) -> (String, Vec<Range<usize>>) {
    let found = table.find(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (span, value) in &found {
        out.push_str(&text[at..span.start]);
        out.push_str(value);
        at = span.end;
    }
    out.push_str(&text[at..]);
    (out, found.into_iter().map(|(span, _)| span).collect())
}

/// The key vaults are sealed with, derived from the server's key (`PALISADE_HASH_KEY`).
#[derive(Clone)]
pub struct VaultKey(chacha20poly1305::Key);

impl VaultKey {
    /// The vault key that goes with `key`: replicas that share the hash key open each other's vaults.
    pub fn derive(key: &HashKey) -> VaultKey {
        VaultKey(key.mac(&[b"palisade vault key v1"]).into())
    }
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(…)")
    }
}

/// What every vault begins with: its format's version.
const VAULT_PREFIX: &str = "pv1.";
/// Authenticated with every vault, so a ciphertext made for something else never opens as one.
const VAULT_CONTEXT: &[u8] = b"palisade vault v1";
const NONCE_LEN: usize = 24;

/// Why a vault restores nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Not a vault this server writes.
    #[error("the vault is not one Palisade issued: {0}; pass the `vault` of an earlier answer unchanged")]
    Malformed(String),
    /// Altered, or sealed under another key.
    #[error(
        "the vault does not verify: it was altered, or sealed under another key (replicas must share \
         PALISADE_HASH_KEY, and a server without it issues vaults only it can open until it restarts)"
    )]
    DoesNotVerify,
    /// Issued to a different caller (who, it does not say: that is the issuer's to know).
    #[error("the vault was issued to another principal, not to {caller}")]
    OtherPrincipal {
        /// Who presents it (`no principal` when none).
        caller: String,
    },
    /// Past its expiry.
    #[error(
        "the vault expired {ago:?} ago (vaults last --vault-ttl from the check that issued them); \
         pass the vault of the latest answer"
    )]
    Expired {
        /// How long ago.
        ago: Duration,
    },
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The principal of the issuing check, `None` when it had none.
    principal: Option<String>,
    /// Seconds since the Unix epoch after which the vault opens no more.
    expires: u64,
    /// (tag, category, value).
    values: Vec<(String, String, String)>,
}

/// Seals `table` for `principal` until `expires`.
pub fn seal(
    table: &Pseudonyms,
    principal: Option<&str>,
    expires: SystemTime,
    key: &VaultKey,
) -> Result<String, getrandom::Error> {
    let sealed = Sealed {
        principal: principal.map(str::to_string),
        expires: unix_seconds(expires),
        values: (table.by_tag.iter())
            .map(|(tag, (category, value))| (tag.clone(), category.clone(), value.clone()))
            .collect(),
    };
    let plaintext = serde_json::to_vec(&sealed).expect("strings and numbers always serialize");
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)?;
    let cipher = XChaCha20Poly1305::new(&key.0);
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: VAULT_CONTEXT,
            },
        )
        .expect("XChaCha20-Poly1305 seals any message under 256 GiB");
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&ciphertext);
    Ok(format!(
        "{VAULT_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(blob)
    ))
}

/// Opens a vault presented by `principal` at `now`: its table, or why it restores nothing.
pub fn open(
    vault: &str,
    principal: Option<&str>,
    now: SystemTime,
    key: &VaultKey,
) -> Result<Pseudonyms, VaultError> {
    let body = vault
        .trim()
        .strip_prefix(VAULT_PREFIX)
        .ok_or_else(|| VaultError::Malformed(format!("it does not begin with {VAULT_PREFIX:?}")))?;
    let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|e| VaultError::Malformed(format!("it is not URL-safe base64 ({e})")))?;
    if blob.len() < NONCE_LEN {
        return Err(VaultError::Malformed("it is too short".into()));
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
    let plaintext = XChaCha20Poly1305::new(&key.0)
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: VAULT_CONTEXT,
            },
        )
        .map_err(|_| VaultError::DoesNotVerify)?;
    // Sealed by this very key, so it is ours: a table that does not parse is a bug, not an attack.
    let sealed: Sealed =
        serde_json::from_slice(&plaintext).map_err(|_| VaultError::DoesNotVerify)?;
    if sealed.principal.as_deref() != principal {
        return Err(VaultError::OtherPrincipal {
            caller: principal.map_or("no principal".to_string(), |p| format!("{p:?}")),
        });
    }
    let now = unix_seconds(now);
    if now > sealed.expires {
        return Err(VaultError::Expired {
            ago: Duration::from_secs(now - sealed.expires),
        });
    }
    let mut table = Pseudonyms::default();
    for (tag, category, value) in sealed.values {
        table
            .insert(&tag, &category, &value)
            .map_err(|_| VaultError::DoesNotVerify)?;
    }
    Ok(table)
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> HashKey {
        HashKey::new(*b"test key")
    }

    fn table(values: &[(&str, &str)]) -> (Pseudonyms, Vec<String>) {
        let mut table = Pseudonyms::default();
        let stand_ins = values
            .iter()
            .map(|(category, value)| {
                let s = stand_in(&key(), category, value);
                table.insert(&s, category, value).unwrap();
                s
            })
            .collect();
        (table, stand_ins)
    }

    #[test]
    fn stand_ins_are_stable_per_key_value_and_category() {
        let a = stand_in(&key(), "EMAIL_ADDRESS", "ana@example.com");
        assert_eq!(a, stand_in(&key(), "EMAIL_ADDRESS", "ana@example.com"));
        assert!(a.starts_with("EMAIL_ADDRESS_") && a.len() == "EMAIL_ADDRESS_".len() + 10);
        assert_ne!(a, stand_in(&key(), "EMAIL_ADDRESS", "ana@example.org"));
        assert_ne!(
            a,
            stand_in(&HashKey::new(*b"other"), "EMAIL_ADDRESS", "ana@example.com")
        );
        // Not the `hash` action's digest: one can't be turned into the other.
        let hashed = crate::policy::replacement(
            crate::policy::Action::Hash,
            "EMAIL_ADDRESS",
            "ana@example.com",
            &key(),
        );
        assert!(!hashed.contains(&a[14..]));
    }

    #[test]
    fn finds_stand_ins_as_models_copy_them() {
        let (table, s) = table(&[
            ("EMAIL_ADDRESS", "ana@example.com"),
            ("PHONE_NUMBER", "+1 415 555 2671"),
        ]);
        let (email, phone) = (&s[0], &s[1]);
        let tag = &email[14..];
        for (written, expect) in [
            (email.clone(), "ana@example.com".to_string()),
            (email.to_uppercase(), "ana@example.com".into()),
            (email.to_lowercase(), "ana@example.com".into()),
            (format!("**{email}**"), "**ana@example.com**".into()),
            (
                format!("[{email}](mailto:{email})"),
                "[ana@example.com](mailto:ana@example.com)".into(),
            ),
            (format!("EMAIL\\_ADDRESS\\_{tag}"), "ana@example.com".into()),
            (
                format!("\"{email}\", {phone}."),
                "\"ana@example.com\", +1 415 555 2671.".into(),
            ),
            (format!("_{email}_"), "_ana@example.com_".into()),
            (format!("line\\n{email}s"), "line\\nana@example.coms".into()),
        ] {
            assert_eq!(restore(&table, &written).0, expect, "{written}");
        }
        // Part of a longer hex string, a tag the table does not hold, another category's name: left alone.
        for left in [
            format!("{email}9"),
            format!("{email}b"),
            format!("EMAIL_ADDRESS_{}", "0123456789"),
            format!("PHONE_NUMBER_{tag}"),
            format!("EMAIL_ADDRESS_{}", &tag[..9]),
        ] {
            assert_eq!(restore(&table, &left), (left.clone(), vec![]), "{left}");
        }
    }

    #[test]
    fn a_collision_is_an_error_not_an_overwrite() {
        let (mut table, s) = table(&[("EMAIL_ADDRESS", "ana@example.com")]);
        assert!(table
            .insert(&s[0], "EMAIL_ADDRESS", "ana@example.com")
            .is_ok());
        let err = table
            .insert(&s[0], "EMAIL_ADDRESS", "bob@example.com")
            .unwrap_err();
        assert_eq!(err.tag, s[0][14..]);
        assert_eq!(restore(&table, &s[0]).0, "ana@example.com");
    }

    #[test]
    fn a_vault_opens_for_its_principal_until_it_expires() {
        let (table, _) = table(&[
            ("EMAIL_ADDRESS", "ana@example.com"),
            ("US_SSN", "078-05-1120"),
        ]);
        let vault_key = VaultKey::derive(&key());
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        let vault = seal(&table, Some("spiffe://a"), now + hour, &vault_key).unwrap();
        // Whole values, not fragments: three letters turn up in random base64 about once in a thousand seals.
        assert!(!vault.contains("ana@example.com") && !vault.contains("078-05-1120"));
        assert_eq!(
            open(&vault, Some("spiffe://a"), now, &vault_key),
            Ok(table.clone())
        );

        let err =
            |v: &str, p: Option<&str>, at: SystemTime, k: &VaultKey| open(v, p, at, k).unwrap_err();
        assert!(matches!(
            err(&vault, Some("spiffe://b"), now, &vault_key),
            VaultError::OtherPrincipal { .. }
        ));
        assert!(matches!(
            err(&vault, None, now, &vault_key),
            VaultError::OtherPrincipal { .. }
        ));
        assert!(matches!(
            err(&vault, Some("spiffe://a"), now + 2 * hour, &vault_key),
            VaultError::Expired { .. }
        ));
        let foreign = VaultKey::derive(&HashKey::new(*b"another server"));
        assert_eq!(
            err(&vault, Some("spiffe://a"), now, &foreign),
            VaultError::DoesNotVerify
        );
        assert!(matches!(
            err("pv1.!!", Some("spiffe://a"), now, &vault_key),
            VaultError::Malformed(_)
        ));
        assert!(matches!(
            err("hello", None, now, &vault_key),
            VaultError::Malformed(_)
        ));
        // Every single-character change to the sealed part is caught.
        let b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for i in VAULT_PREFIX.len()..vault.len() {
            let mut tampered = vault.clone().into_bytes();
            let c = tampered[i];
            tampered[i] = b64.bytes().find(|&b| b != c).unwrap();
            let tampered = String::from_utf8(tampered).unwrap();
            assert!(
                open(&tampered, Some("spiffe://a"), now, &vault_key).is_err(),
                "{i}"
            );
        }
    }
}
