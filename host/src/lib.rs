//! `palisade`: a guardrail service for AI traffic.
//!
//! A gateway hands Palisade each prompt, tool call and model answer; Palisade runs a bundle's chain of
//! sandboxed WebAssembly plugins over the text and answers allow, modify (redacted) or deny, with findings
//! and labels for the audit trail. This crate is the host: the wasmtime engine ([`engine`]), bundles
//! ([`bundle`]), the chain and its policy ([`chain`], [`policy`]), the `scan` command ([`scan`]) and the gRPC service ([`server`]).
//!
//! Data flows one way: request → payload adapter ([`payload`]: the texts of a plain or JSON body, labelled
//! by the provider formats in [`shapes`]) → chain
//! (each plugin, in order, under its budget) → policy → response ([`check`] runs the whole of it).
//!
//! ```no_run
//! let engine = palisade::engine::Engine::new()?;
//! let bundle = palisade::bundle::load_embedded(&engine)?;
//! let request = palisade::chain::Request { text: "mail me at ana@example.com".into(), ..Default::default() };
//! let verdicts = palisade::chain::run(&bundle, &request, &palisade::policy::HashKey::new(*b"key"))?;
//! assert_eq!(verdicts.text, "mail me at [EMAIL_ADDRESS]");
//! # Ok::<(), palisade::Error>(())
//! ```
#![deny(missing_docs, rust_2018_idioms)]
// Denied, not forbidden: loading a cached compiled component is unsafe by wasmtime's design (see cache.rs).
#![deny(unsafe_code)]

pub mod audit;
pub mod bundle;
pub mod cache;
pub mod chain;
pub mod check;
pub mod direction;
pub mod engine;
mod error;
pub mod gates;
pub mod loadgen;
pub mod metrics;
pub mod payload;
pub mod policy;
pub mod pseudonym;
pub mod reload;
pub mod scaffold;
pub mod scan;
pub mod server;
pub mod shapes;
pub mod signing;
pub mod spans;
pub mod stream;
pub mod telemetry;

pub use error::{Error, PluginError, Result};
