//! The bundle's policy: what each finding category becomes, and the text transforms that carry it out.
//!
//! Plugins detect; the policy enforces. `redact` → `[EMAIL_ADDRESS]`, `mask` keeps the last four letters or
//! digits (of eight or more), `hash` → a keyed, stable pseudonym (`[EMAIL_ADDRESS:9f2c41d0a7be]`),
//! `pseudonymize` → a keyed stand-in the output path turns back into the value (`EMAIL_ADDRESS_7f3a2c9e01`,
//! see [`crate::pseudonym`]), `deny` ends the exchange, `report` only records the finding.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::direction::Dir;

/// What the policy does with a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Record the finding; change nothing.
    Report,
    /// Keep the last four letters or digits, star the others; separators stay.
    Mask,
    /// Replace with a stand-in (`CATEGORY_0123456789`) that the output path restores to the value.
    Pseudonymize,
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
            Action::Pseudonymize => "pseudonymize",
            Action::Hash => "hash",
            Action::Redact => "redact",
            Action::Deny => "deny",
        }
    }

    /// Whether the action rewrites the text.
    pub fn modifies(self) -> bool {
        matches!(
            self,
            Action::Mask | Action::Pseudonymize | Action::Hash | Action::Redact
        )
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
            "pseudonymize" => Action::Pseudonymize,
            "hash" => Action::Hash,
            "redact" => Action::Redact,
            "deny" => Action::Deny,
            other => {
                return Err(format!(
                    "unknown action {other:?}; use one of redact, mask, hash, pseudonymize, deny, report"
                ))
            }
        })
    }
}

/// One entry of a `[policy]` table: an action for both directions, or a table with one per direction
/// (`SECRET = { input = "deny", output = "redact" }`). A direction left out inherits what the layer below
/// says: the plugin's override inherits the bundle's entry, the bundle's entry inherits `default`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(
    untagged,
    expecting = "an action (redact, mask, hash, pseudonymize, deny, report) or a table like { input = \"deny\", output = \"redact\" }"
)]
pub enum Setting {
    /// The same action on input and output.
    Both(String),
    /// Keys `input` and/or `output`.
    PerDirection(BTreeMap<String, String>),
}

impl From<&str> for Setting {
    fn from(action: &str) -> Setting {
        Setting::Both(action.to_string())
    }
}

/// An action per direction, `None` where this layer does not say.
type ByDir = [Option<Action>; 2];

fn slot(direction: Dir) -> usize {
    match direction {
        Dir::Input => 0,
        Dir::Output => 1,
    }
}

impl Setting {
    fn parse(&self, key: &str) -> Result<ByDir, String> {
        let action = |value: &str| {
            value
                .parse::<Action>()
                .map_err(|e| format!("{key} = {value:?}: {e}"))
        };
        match self {
            Setting::Both(value) => {
                let a = action(value)?;
                Ok([Some(a), Some(a)])
            }
            Setting::PerDirection(table) => {
                let mut by_dir = [None, None];
                for (direction, value) in table {
                    let d: Dir = direction
                        .parse()
                        .map_err(|e| format!("{key}.{direction}: {e}"))?;
                    by_dir[slot(d)] = Some(action(value)?);
                }
                Ok(by_dir)
            }
        }
    }
}

/// Category → action per direction, with a default for categories not named.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    default: [Action; 2],
    categories: BTreeMap<String, ByDir>,
}

impl Default for Policy {
    /// Report everything: a bundle with no `[policy]` changes no text.
    fn default() -> Self {
        Policy {
            default: [Action::Report; 2],
            categories: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// A policy from a `[policy]` table: `default` plus one key per category.
    pub fn from_table(table: &BTreeMap<String, Setting>) -> Result<Policy, String> {
        Policy::default().overridden_by(table)
    }

    /// This policy with another layer on top (a plugin's overrides): what the layer names, per direction,
    /// replaces what this policy says.
    pub fn overridden_by(&self, layer: &BTreeMap<String, Setting>) -> Result<Policy, String> {
        let mut merged = self.clone();
        for (key, setting) in layer {
            let by_dir = setting.parse(key)?;
            if key == "default" {
                for (slot, action) in by_dir.iter().enumerate() {
                    if let Some(action) = action {
                        merged.default[slot] = *action;
                    }
                }
            } else {
                let entry = merged.categories.entry(key.clone()).or_default();
                for (slot, action) in by_dir.iter().enumerate() {
                    if action.is_some() {
                        entry[slot] = *action;
                    }
                }
            }
        }
        Ok(merged)
    }

    /// The action for a category on one leg of the exchange.
    pub fn action(&self, category: &str, direction: Dir) -> Action {
        let slot = slot(direction);
        self.categories
            .get(category)
            .and_then(|by_dir| by_dir[slot])
            .unwrap_or(self.default[slot])
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
        hex::encode(&self.mac(&[category.as_bytes(), value.as_bytes()])[..6])
    }

    /// HMAC-SHA256 under this key of `parts`, each ended by a zero byte.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                mac.update(&[0]);
            }
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
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
        Action::Pseudonymize => crate::pseudonym::stand_in(key, category, value),
        Action::Mask => mask(value),
        Action::Report | Action::Deny => value.to_string(),
    }
}

/// Stars every letter and digit but the last four; separators and spacing stay, so the shape is readable.
/// A value of fewer than eight letters and digits is starred entirely: its last four would be half of it
/// or more.
fn mask(value: &str) -> String {
    const KEEP: usize = 4;
    let total = value.chars().filter(|c| c.is_alphanumeric()).count();
    let keep_from = if total >= 2 * KEEP {
        total - KEEP
    } else {
        total
    };
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
        assert_eq!(mask("12-34-5678"), "**-**-5678");
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("1234"), "****");
        assert_eq!(mask("12-345"), "**-***");
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

    fn table(entries: &[(&str, Setting)]) -> BTreeMap<String, Setting> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn per_direction(entries: &[(&str, &str)]) -> Setting {
        Setting::PerDirection(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn plugin_overrides_layer_on_bundle_policy() {
        let bundle = Policy::from_table(&table(&[
            ("default", "report".into()),
            ("EMAIL_ADDRESS", "redact".into()),
        ]))
        .unwrap();
        let plugin = bundle
            .overridden_by(&table(&[("EMAIL_ADDRESS", "hash".into())]))
            .unwrap();
        assert_eq!(plugin.action("EMAIL_ADDRESS", Dir::Input), Action::Hash);
        assert_eq!(plugin.action("OTHER", Dir::Output), Action::Report);
        assert!(Policy::from_table(&table(&[("X", "explode".into())])).is_err());
    }

    #[test]
    fn per_direction_entries_inherit_the_direction_they_leave_out() {
        let bundle = Policy::from_table(&table(&[
            ("default", "redact".into()),
            (
                "SECRET",
                per_direction(&[("input", "deny"), ("output", "redact")]),
            ),
            ("URL", per_direction(&[("output", "report")])),
        ]))
        .unwrap();
        assert_eq!(bundle.action("SECRET", Dir::Input), Action::Deny);
        assert_eq!(bundle.action("SECRET", Dir::Output), Action::Redact);
        assert_eq!(bundle.action("URL", Dir::Input), Action::Redact); // from default
        assert_eq!(bundle.action("URL", Dir::Output), Action::Report);
        let plugin = bundle
            .overridden_by(&table(&[("SECRET", per_direction(&[("output", "mask")]))]))
            .unwrap();
        assert_eq!(plugin.action("SECRET", Dir::Input), Action::Deny); // from the bundle
        assert_eq!(plugin.action("SECRET", Dir::Output), Action::Mask);
        let err = Policy::from_table(&table(&[("SECRET", per_direction(&[("inbound", "deny")]))]))
            .unwrap_err();
        assert!(
            err.contains("SECRET.inbound") && err.contains("use input or output"),
            "{err}"
        );
    }
}
