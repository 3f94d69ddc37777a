//! Errors of the `palisade` library. Each message names the thing at fault (file, plugin, TOML line) and,
//! where there is one, what to do about it.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong loading a bundle or running the chain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The wasmtime engine could not be set up (a platform limit, usually address space for the pool).
    #[error("cannot start the Wasm engine: {0}")]
    Engine(String),

    /// A bundle file could not be read (or, exporting a bundle, written).
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// `bundle.toml` is not valid TOML or does not fit the manifest's shape.
    #[error("{file}: {message}")]
    Manifest {
        /// Where: `bundle.toml`, with the line when known (`bundle.toml:12`).
        file: String,
        /// What was wrong and how to fix it.
        message: String,
    },

    /// The bundle's signature is missing, wrong, or by a key that is not trusted.
    #[error(transparent)]
    Signature(#[from] crate::signing::SigningError),

    /// One plugin of the bundle could not be loaded.
    #[error("plugin {plugin:?} ({wasm}): {message}")]
    Plugin {
        /// The plugin's name in the manifest.
        plugin: String,
        /// Its wasm file.
        wasm: String,
        /// What failed.
        message: String,
    },

    /// The payload could not be read as its content type.
    #[error(transparent)]
    Payload(#[from] crate::payload::PayloadError),

    /// The caller's deadline passed before the chain finished.
    #[error("deadline exceeded after {elapsed:?}, before plugin {plugin:?} could run")]
    DeadlineExceeded {
        /// Time spent in the chain.
        elapsed: Duration,
        /// The plugin that was next.
        plugin: String,
    },
}

/// Result with [`Error`] by default.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How one plugin call failed. Not an error of the request: the plugin's `on_error` decides what happens.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PluginError {
    /// The call ran past its budget and was interrupted.
    #[error("timed out: still running after its {budget:?} budget")]
    Timeout {
        /// The budget it had.
        budget: Duration,
    },
    /// A linear memory tried to grow past the plugin's `memory` limit.
    #[error("hit its memory limit of {limit} bytes")]
    MemoryLimit {
        /// The limit.
        limit: usize,
    },
    /// The plugin trapped (a panic, an abort, an out-of-bounds access).
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin returned a verdict the host cannot use (a span out of range, too many findings, …).
    #[error("returned a bad verdict: {0}")]
    BadVerdict(String),
    /// A fresh instance could not be created (the instance pool is exhausted, or instantiation trapped).
    #[error("could not be instantiated: {0}")]
    Instantiate(String),
    /// `configure` rejected the plugin's config.
    #[error("configure rejected the config: {0}")]
    Configure(String),
    /// `configure` trapped or ran out of time or memory.
    #[error("configure failed: {0}")]
    ConfigureTrap(Box<PluginError>),
    /// The `gate` export failed, or declared a gate the host cannot use.
    #[error("its gate is unusable: {0}")]
    Gate(String),
}

impl PluginError {
    /// A short, fixed name for the kind of failure, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::Timeout { .. } => "timeout",
            PluginError::MemoryLimit { .. } => "memory_limit",
            PluginError::Trap(_) => "trap",
            PluginError::BadVerdict(_) => "bad_verdict",
            PluginError::Instantiate(_) => "instantiate",
            PluginError::Configure(_) | PluginError::ConfigureTrap(_) => "configure",
            PluginError::Gate(_) => "gate",
        }
    }
}
