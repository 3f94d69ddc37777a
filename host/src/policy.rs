//! The bundle's policy: what each finding category becomes, and the text transforms that carry it out.
//!
//! Plugins detect; the policy enforces. `redact` → `[EMAIL_ADDRESS]`, `mask` keeps the last four letters or
//! digits, `hash` → a keyed, stable pseudonym (`[EMAIL_ADDRESS:9f2c41d0a7be]`), `deny` ends the exchange,
//! `report` only records the finding.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What the policy does with a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Record the finding; change nothing.
    Report,
    /// Keep the last four letters or digits, star the others; separators stay.
    Mask,
    /// Replace with `[CATEGORY:pseudonym]`, the same for the same value under the same key.
    Hash,
    /// Replace with `[CATEGORY]`.
    Redact,
    /// End the chain and deny the exchange.
    Deny,
}

impl Action {
    /// The name used in bundles and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Report => "report",
            Action::Mask => "mask",
            Action::Hash => "hash",
            Action::Redact => "redact",
            Action::Deny => "deny",
        }
    }

    /// Whether the action rewrites the text.
    pub fn modifies(self) -> bool {
        matches!(self, Action::Mask | Action::Hash | Action::Redact)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "report" => Action::Report,
            "mask" => Action::Mask,
            "hash" => Action::Hash,
            "redact" => Action::Redact,
            "deny" => Action::Deny,
            other => {
                return Err(format!(
                    "unknown action {other:?}; use one of redact, mask, hash, deny, report"
                ))
            }
        })
    }
}

/// Category → action, with a default for categories not named.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    default: Action,
    categories: BTreeMap<String, Action>,
}

impl Default for Policy {
    /// Report everything: a bundle with no `[policy]` changes no text.
    fn default() -> Self {
        Policy {
            default: Action::Report,
            categories: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// A policy from a `[policy]` table: `default` plus one key per category.
    pub fn from_table(table: &BTreeMap<String, String>) -> Result<Policy, String> {
        let mut policy = Policy::default();
        for (key, value) in table {
            let action: Action = value
                .parse()
                .map_err(|e| format!("{key} = {value:?}: {e}"))?;
            if key == "default" {
                policy.default = action;
            } else {
                policy.categories.insert(key.clone(), action);
            }
        }
        Ok(policy)
    }

    /// This policy with a plugin's overrides on top (its `default`, if given, replaces the bundle's).
    pub fn overridden_by(&self, overrides: &BTreeMap<String, String>) -> Result<Policy, String> {
        let layer = Policy::from_table(overrides)?;
        let mut merged = self.clone();
        if overrides.contains_key("default") {
            merged.default = layer.default;
        }
        merged.categories.extend(layer.categories);
        Ok(merged)
    }

    /// The action for a category.
    pub fn action(&self, category: &str) -> Action {
        self.categories
            .get(category)
            .copied()
            .unwrap_or(self.default)
    }
}

/// The key behind `hash` pseudonyms. The same value and key always give the same pseudonym, so logs and
/// answers stay joinable without revealing the value; without the key, pseudonyms can't be reversed by
/// guessing values.
#[derive(Clone)]
pub struct HashKey(Vec<u8>);

impl HashKey {
    /// A key from bytes (e.g. `PALISADE_HASH_KEY`).
    pub fn new(bytes: impl Into<Vec<u8>>) -> HashKey {
        HashKey(bytes.into())
    }

    /// A random key: pseudonyms are stable for this process only.
    pub fn random() -> Result<HashKey, String> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| format!("cannot read the OS random source for a hash key: {e}"))?;
        Ok(HashKey(key))
    }

    fn pseudonym(&self, category: &str, value: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(category.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..6])
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashKey(…)")
    }
}

/// The replacement text for `value` under a modifying action.
pub fn replacement(action: Action, category: &str, value: &str, key: &HashKey) -> String {
    match action {
        Action::Redact => format!("[{category}]"),
        Action::Hash => format!("[{category}:{}]", key.pseudonym(category, value)),
        Action::Mask => mask(value),
        Action::Report | Action::Deny => value.to_string(),
    }
}

/// Stars every letter and digit but the last four; separators and spacing stay, so the shape is readable.
fn mask(value: &str) -> String {
    let total = value.chars().filter(|c| c.is_alphanumeric()).count();
    let keep_from = total.saturating_sub(4);
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen > keep_from {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_last_four_and_separators() {
        assert_eq!(mask("4407-9337-9156-6857"), "****-****-****-6857");
        assert_eq!(mask("abc"), "abc");
    }

    #[test]
    fn hash_is_stable_per_key_and_differs_across_keys() {
        let k1 = HashKey::new(*b"one");
        let k2 = HashKey::new(*b"two");
        let a = replacement(Action::Hash, "EMAIL_ADDRESS", "a@b.co", &k1);
        assert_eq!(a, replacement(Action::Hash, "EMAIL_ADDRESS", "a@b.co", &k1));
        assert_ne!(a, replacement(Action::Hash, "EMAIL_ADDRESS", "a@b.co", &k2));
        assert!(a.starts_with("[EMAIL_ADDRESS:") && !a.contains("a@b.co"));
    }

    #[test]
    fn plugin_overrides_layer_on_bundle_policy() {
        let bundle = Policy::from_table(&BTreeMap::from([
            ("default".into(), "report".into()),
            ("EMAIL_ADDRESS".into(), "redact".into()),
        ]))
        .unwrap();
        let plugin = bundle
            .overridden_by(&BTreeMap::from([("EMAIL_ADDRESS".into(), "hash".into())]))
            .unwrap();
        assert_eq!(plugin.action("EMAIL_ADDRESS"), Action::Hash);
        assert_eq!(plugin.action("OTHER"), Action::Report);
        assert!(Policy::from_table(&BTreeMap::from([("X".into(), "explode".into())])).is_err());
    }
}
