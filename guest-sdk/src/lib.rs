//! `palisade-sdk`: what a Rust author needs to write a Palisade guardrail plugin.
//!
//! A plugin is a Wasm component exporting the `palisade:guardrail/gated-guardrail` world (see
//! `wit/guardrail.wit`): the `guardrail` world's `configure` and `inspect`, and a `gate`
//! ([`Plugin::gate`]) that is `none` unless the plugin declares one.
//! This crate generates the bindings, so a plugin implements [`Plugin`] and calls [`export_plugin!`]:
//!
//! ```ignore
//! use palisade_sdk::{export_plugin, Context, Finding, Plugin, Verdict};
//!
//! struct Shouting;
//!
//! impl Plugin for Shouting {
//!     fn configure(_config: &str) -> Result<Self, String> {
//!         Ok(Shouting)
//!     }
//!     fn inspect(&self, _ctx: &Context, text: &str) -> Verdict {
//!         let findings = text.match_indices("!!!").map(|(at, m)| {
//!             Finding::new("demo.shouting", "CLASSIFICATION", at..at + m.len(), 0.5, "shouting")
//!         });
//!         Verdict::allow(findings.collect())
//!     }
//! }
//!
//! export_plugin!(Shouting);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`; the `.wasm` in `target/wasm32-wasip2/release/`
//! is the component to name in a bundle. Plugins detect and decide; the host's policy redacts, masks, hashes
//! or denies what they find, so most plugins only return findings.
//!
//! What this crate does not do: it gives a plugin no files, network or environment (the host grants none).
//! Data a plugin needs arrives in `configure`'s JSON (the bundle's `config` table, and `files` under `"files"`).
#![deny(missing_docs)]

extern crate self as palisade_sdk;

#[cfg(feature = "keywords")]
pub mod keywords;
#[cfg(feature = "normalize")]
pub mod normalize;
pub mod tables;

/// Bindings generated from `wit/guardrail.wit`. Prefer the re-exports at the crate root.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "gated-guardrail",
        pub_export_macro: true,
        export_macro_name: "__export_guardrail",
        default_bindings_module: "::palisade_sdk::bindings",
        runtime_path: "::palisade_sdk::__private::wit_bindgen::rt",
    });
}

pub use bindings::palisade::guardrail::host::Level;
pub use bindings::palisade::guardrail::types::{Decision, Direction, Finding, Gate, Span};
pub use bindings::{Context, Verdict};

/// A guardrail plugin: configured once per instance, then asked about each text the chain routes to it.
///
/// The host may keep a configured instance and reuse it for many calls, so `inspect` must not depend on
/// having been called before; it may cache, but never carry one request's data into another's answer.
pub trait Plugin: Sized + 'static {
    /// Builds the plugin from the bundle's `config` table, as JSON (`{}` when the table is absent).
    /// An `Err` rejects the whole bundle and its message is shown to the operator: name what was wrong.
    fn configure(config: &str) -> Result<Self, String>;

    /// Inspects one text. Spans in findings are UTF-8 byte ranges into `text`, on character boundaries.
    fn inspect(&self, ctx: &Context, text: &str) -> Verdict;

    /// What a text must hold for [`Plugin::inspect`] to find anything in it, asked once after
    /// `configure`. The host then searches each text for every plugin's gate at once, natively, and
    /// calls this plugin only for the texts that open its gate; for the others its answer is taken to be
    /// `allow` with no findings and no labels. `None`, the default: every text.
    ///
    /// Declare a gate only when it holds for every text: a word missing from it is a value never seen.
    /// A plugin that normalises before matching (see `normalize`) must open on what normalising folds
    /// (`non_ascii`, and the bytes of `normalize::FOLD_BYTES`).
    fn gate(&self) -> Option<Gate> {
        None
    }
}

/// The exchange a text belongs to, borrowed from a [`Context`] (or built by hand in a native test or
/// benchmark): what a policy plugin decides on, when it does not read the text itself.
#[derive(Debug, Clone, Default)]
pub struct Exchange<'a> {
    /// Verified identity of the caller, if any.
    pub principal: Option<&'a str>,
    /// `"input"` or `"output"`.
    pub direction: &'a str,
    /// Where an input goes or an output came from, if known.
    pub destination: Option<&'a str>,
    /// The tool being called, for a tool call or its result.
    pub tool: Option<&'a str>,
    /// Labels so far: the gateway's, earlier plugins', and the host's `found:<CATEGORY>`.
    pub labels: &'a [String],
    /// Other pairs from the gateway.
    pub metadata: &'a [(String, String)],
}

impl<'a> From<&'a Context> for Exchange<'a> {
    fn from(ctx: &'a Context) -> Self {
        Exchange {
            principal: ctx.principal.as_deref(),
            direction: match ctx.direction {
                Direction::Input => "input",
                Direction::Output => "output",
            },
            destination: ctx.destination.as_deref(),
            tool: ctx.tool.as_deref(),
            labels: &ctx.labels,
            metadata: &ctx.metadata,
        }
    }
}

impl Verdict {
    /// Let the text pass; the bundle's policy decides what happens to each finding.
    pub fn allow(findings: Vec<Finding>) -> Self {
        Verdict {
            decision: Decision::Allow,
            findings,
            labels: Vec::new(),
        }
    }

    /// Stop the exchange. The reason reaches the caller: say what was wrong, never repeat sensitive values.
    pub fn deny(reason: impl Into<String>, findings: Vec<Finding>) -> Self {
        Verdict {
            decision: Decision::Deny(reason.into()),
            findings,
            labels: Vec::new(),
        }
    }

    /// Adds labels for later plugins and for the response.
    pub fn with_labels(mut self, labels: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.labels.extend(labels.into_iter().map(Into::into));
        self
    }
}

impl Finding {
    /// A finding over `span` (a byte range into the inspected text, e.g. a regex match's `range()`).
    pub fn new(
        rule: impl Into<String>,
        category: impl Into<String>,
        span: std::ops::Range<usize>,
        confidence: f32,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            rule: rule.into(),
            category: category.into(),
            span: Some(Span::from(span)),
            confidence,
            message: message.into(),
        }
    }
}

impl Finding {
    /// A finding about the text as a whole, with no span (a label derived from context, a destination).
    pub fn about_text(
        rule: impl Into<String>,
        category: impl Into<String>,
        confidence: f32,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            rule: rule.into(),
            category: category.into(),
            span: None,
            confidence,
            message: message.into(),
        }
    }
}

#[cfg(feature = "normalize")]
impl Finding {
    /// Marks a finding whose value was written to get past a filter (see [`normalize::Folds::EVASIVE`]):
    /// the rule id gains `.obfuscated` and the message says how. Obfuscation is itself worth auditing.
    /// A finding with no evasion is returned as it is.
    pub fn obfuscated(mut self, evasion: normalize::Folds) -> Finding {
        if !evasion.is_empty() {
            self.rule.push_str(".obfuscated");
            self.message = format!(
                "{}; written to evade detection ({})",
                self.message,
                evasion.describe()
            );
        }
        self
    }
}

/// The label a plugin adds when a value it found was obfuscated (see [`Finding::obfuscated`]).
#[cfg(feature = "normalize")]
pub const OBFUSCATED_LABEL: &str = "obfuscated";

impl From<std::ops::Range<usize>> for Span {
    /// Offsets past `u32::MAX` saturate; the host rejects such a span as out of bounds rather than
    /// silently pointing somewhere else.
    fn from(range: std::ops::Range<usize>) -> Self {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            start: clamp(range.start),
            end: clamp(range.end),
        }
    }
}

/// Of candidates whose spans overlap, keeps the most confident (then the longest, then the first), and
/// returns the survivors in text order. Detectors with several rules use it so that one value is reported
/// once, as what it most likely is (a Luhn-valid card rather than a phone number over the same digits).
pub fn keep_best_non_overlapping<T>(
    mut candidates: Vec<T>,
    span: impl Fn(&T) -> std::ops::Range<usize>,
    confidence: impl Fn(&T) -> f32,
) -> Vec<T> {
    let width = |r: std::ops::Range<usize>| r.end - r.start;
    candidates.sort_by(|a, b| {
        confidence(b)
            .total_cmp(&confidence(a))
            .then(width(span(b)).cmp(&width(span(a))))
            .then(span(a).start.cmp(&span(b).start))
    });
    // The spans kept so far, by start: non-empty ones never overlap each other, so the one that starts
    // last before a candidate ends is the only one that can reach into it. (A scan of every kept span per
    // candidate was quadratic: a 1 MiB log holds thousands of values.) An empty span overlaps a span
    // strictly around it; there are few, so they are kept aside and checked one by one.
    let mut starts: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    let mut empty: Vec<usize> = Vec::new();
    let mut kept: Vec<T> = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let r = span(&candidate);
        // An empty candidate at `p` is overlapped by a span that starts before `p` and ends after it.
        let before = if r.is_empty() { r.start } else { r.end };
        let overlaps = starts
            .range(..before)
            .next_back()
            .is_some_and(|(_, &end)| end > r.start)
            || (!r.is_empty() && empty.iter().any(|&p| r.start < p && p < r.end));
        if overlaps {
            continue;
        }
        if r.is_empty() {
            empty.push(r.start);
        } else {
            starts.insert(r.start, r.end);
        }
        kept.push(candidate);
    }
    kept.sort_by_key(|k| span(k).start);
    kept
}

/// Whether a URL's user-info with no password (`https://USERINFO@host/`) is itself a credential: a token
/// sent as the user name, as `git clone https://ghp_…@github.com/…` does. Twenty characters or more of
/// letters, digits, `_` and `-`, with both letters and digits; a user's name (`git`, `ann.lee`,
/// `deploy-bot`) is not one. `pii` leaves such a user-info to a secrets plugin and `secrets` reports it,
/// both by this test, so that what one leaves the other takes.
pub fn token_as_user(userinfo: &str) -> bool {
    (20..=255).contains(&userinfo.len())
        && userinfo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && userinfo.bytes().any(|b| b.is_ascii_digit())
        && userinfo.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Writes to the host's log, tagged with this plugin's name. The host bounds how much it keeps.
pub fn log(level: Level, message: &str) {
    bindings::palisade::guardrail::host::log(level, message)
}

/// Exports a [`Plugin`] implementation as the component's `configure`, `inspect` and `gate`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __PalisadeExport;

        impl $crate::bindings::Guest for __PalisadeExport {
            fn configure(
                config: ::std::string::String,
            ) -> ::std::result::Result<(), ::std::string::String> {
                $crate::__private::configure::<$plugin>(&config)
            }

            fn inspect(ctx: $crate::Context, text: ::std::string::String) -> $crate::Verdict {
                $crate::__private::inspect::<$plugin>(&ctx, &text)
            }

            fn gate() -> ::std::option::Option<$crate::Gate> {
                $crate::__private::gate::<$plugin>()
            }
        }

        $crate::bindings::__export_guardrail!(__PalisadeExport with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
pub mod __private {
    use std::any::Any;
    use std::cell::RefCell;

    pub use wit_bindgen;

    // A component instance is single-threaded, so one slot per instance is all the state there is.
    thread_local! {
        static PLUGIN: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    }

    pub fn configure<P: crate::Plugin>(config: &str) -> Result<(), String> {
        let plugin = P::configure(config)?;
        PLUGIN.with_borrow_mut(|slot| *slot = Some(Box::new(plugin)));
        Ok(())
    }

    pub fn gate<P: crate::Plugin>() -> Option<crate::Gate> {
        PLUGIN.with_borrow(|slot| {
            slot.as_ref()
                .and_then(|p| p.downcast_ref::<P>())
                .and_then(P::gate)
        })
    }

    pub fn inspect<P: crate::Plugin>(ctx: &crate::Context, text: &str) -> crate::Verdict {
        PLUGIN.with_borrow(
            |slot| match slot.as_ref().and_then(|p| p.downcast_ref::<P>()) {
                Some(plugin) => plugin.inspect(ctx, text),
                // The host always configures an instance before inspecting with it; a trap here is a host bug.
                None => panic!("inspect called before configure"),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::keep_best_non_overlapping;
    use proptest::prelude::*;
    use std::ops::Range;

    /// What it keeps, decided by comparing each candidate with every span kept so far.
    fn reference(candidates: Vec<(Range<usize>, f32)>) -> Vec<(Range<usize>, f32)> {
        let mut sorted = candidates;
        sorted.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then(b.0.len().cmp(&a.0.len()))
                .then(a.0.start.cmp(&b.0.start))
        });
        let mut kept: Vec<(Range<usize>, f32)> = Vec::new();
        for c in sorted {
            if !kept
                .iter()
                .any(|k| k.0.start < c.0.end && c.0.start < k.0.end)
            {
                kept.push(c);
            }
        }
        kept.sort_by_key(|k| k.0.start);
        kept
    }

    #[test]
    fn the_most_confident_then_the_longest_wins() {
        // The empty span at 6 is the most confident: it shuts out 5..12 (around it) but not 2..6 (which
        // ends at it); 2..6 then shuts out the less confident 0..10.
        let candidates = vec![
            (0..10, 0.5),
            (2..6, 0.9),
            (5..12, 0.9),
            (12..14, 0.1),
            (6..6, 1.0),
        ];
        let kept = keep_best_non_overlapping(candidates, |c| c.0.clone(), |c| c.1);
        assert_eq!(kept, vec![(2..6, 0.9), (6..6, 1.0), (12..14, 0.1)]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Empty spans, shared starts and equal confidences included: the same survivors as comparing
        /// with every kept span.
        #[test]
        fn keeps_what_comparing_with_every_kept_span_keeps(
            spans in proptest::collection::vec((0usize..40, 0usize..8, 0u8..4), 0..40)
        ) {
            let candidates: Vec<(Range<usize>, f32)> =
                spans.iter().map(|&(start, len, c)| (start..start + len, f32::from(c) / 4.0)).collect();
            let kept = keep_best_non_overlapping(candidates.clone(), |c| c.0.clone(), |c| c.1);
            prop_assert_eq!(kept, reference(candidates));
        }
    }
}
