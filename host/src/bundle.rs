//! Bundles: a directory with `bundle.toml` and the `.wasm` (and data) files it names.
//!
//! A bundle loads whole or not at all: the manifest is parsed and checked, every digest verified before
//! anything is compiled, every component compiled and type-checked against the `guardrail` world, and every
//! plugin's `configure` called. The first failure is returned, naming the file, the plugin and (where it
//! applies) the manifest line; nothing of a failed load is kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::direction::Dir;
use crate::engine::{Engine, Limits, PluginRuntime, MAX_PLUGIN_MEMORY};
use crate::gates::Gates;
use crate::payload;
use crate::policy::{Policy, Setting};
use crate::signing;
use crate::{Error, Result};
use ed25519_dalek::VerifyingKey;

/// A plugin's budget when the manifest gives none. Regex scanners answer in tens of microseconds; 10 ms
/// leaves room for a slow plugin without letting one stall a request.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(10);

/// A plugin's memory cap when the manifest gives none: enough for a regex-heavy plugin's tables.
pub const DEFAULT_MEMORY: usize = 64 << 20;

/// What to do when a plugin traps, times out, hits its memory limit or returns a bad verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Deny the exchange (fail closed). The default: a guardrail that fails open is not one.
    Deny,
    /// Carry on without this plugin's verdict (fail open), and say so in the response.
    Skip,
}

/// Whether a plugin's denies and redactions happen, or are only reported as what would have happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Denies deny and redactions redact. The default.
    #[default]
    Enforce,
    /// Everything is computed, reported and audited as what would have happened, and the payload passes
    /// unchanged: how a team trials a plugin or a policy on live traffic.
    Report,
}

impl OnError {
    /// The name used in bundles and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::Deny => "deny",
            OnError::Skip => "skip",
        }
    }
}

/// A loaded bundle: its identity, its policy, and its plugins in chain order.
pub struct Bundle {
    /// `[bundle] name`.
    pub name: String,
    /// `[bundle] version`.
    pub version: String,
    /// sha256 of `bundle.toml`, hex. It covers every plugin's digest, so it identifies the whole bundle.
    pub digest: String,
    /// The plugins, in manifest order.
    pub plugins: Vec<Arc<LoadedPlugin>>,
    /// `[bundle] pass_unread`: media types (`type/subtype` or `type/*`) of request bodies that may pass
    /// the gateways unread (audio uploads, say). Any other body Palisade cannot read is refused.
    pub pass_unread: Vec<String>,
    /// `[bundle] sequence`: bundles are published in increasing order; a reload must not go back.
    pub sequence: Option<u64>,
    /// `[bundle] not_after`: past this time the bundle no longer loads.
    pub not_after: Option<std::time::SystemTime>,
    /// The gates the plugins declared: which of them a text can concern.
    pub gates: Gates,
}

impl Bundle {
    /// Calls every plugin for every text, whatever gates they declared: for checking that a gate loses
    /// nothing (`palisade scan --no-gates`).
    pub fn ignore_gates(&mut self) {
        self.gates = Gates::default();
    }

    /// `name@version`, as responses and logs name the bundle that decided.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The `pass_unread` entry that lets a body of `content_type` pass unread, if one does.
    pub fn passes_unread(&self, content_type: &str) -> Option<&str> {
        let media = payload::media_type(content_type);
        let (kind, _) = media.split_once('/')?;
        self.pass_unread
            .iter()
            .map(String::as_str)
            .find(|entry| *entry == media || entry.strip_suffix("/*") == Some(kind))
    }
}

/// One plugin of a loaded bundle: its runtime and what the manifest says about it.
pub struct LoadedPlugin {
    /// Runs the component.
    pub runtime: PluginRuntime,
    /// The `wasm` file, for messages.
    pub wasm: String,
    /// Directions it is called on.
    pub directions: Vec<Dir>,
    /// Its per-call budget.
    pub budget: Duration,
    /// What its failure does.
    pub on_error: OnError,
    /// Enforce, or only report what it would have done (its own `mode`, else the bundle's).
    pub mode: Mode,
    /// The bundle's policy with this plugin's overrides on top.
    pub policy: Policy,
}

impl LoadedPlugin {
    /// The plugin's name in the bundle.
    pub fn name(&self) -> &str {
        self.runtime.name()
    }

    /// Whether the chain routes payloads of `direction` to it.
    pub fn handles(&self, direction: Dir) -> bool {
        self.directions.contains(&direction)
    }
}

/// Where a bundle's files come from: a directory, or the stock bundle built into the binary.
pub trait BundleSource {
    /// How to name a file of the bundle in messages (a path, or `embedded:NAME`).
    fn describe(&self, file: &str) -> String;
    /// The bytes of a file the manifest names.
    fn read(&self, file: &str) -> Result<Vec<u8>>;
}

/// A bundle directory on disk.
pub struct DirSource {
    dir: PathBuf,
}

impl DirSource {
    /// The bundle in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> DirSource {
        DirSource { dir: dir.into() }
    }
}

impl BundleSource for DirSource {
    fn describe(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// Regular files only, and at most [`MAX_FILE`] bytes: a name linked to `/dev/zero` would otherwise
    /// be read until memory ran out, and a FIFO would hang the load. Symbolic links are followed (a
    /// Kubernetes ConfigMap is a directory of them), to a regular file.
    fn read(&self, file: &str) -> Result<Vec<u8>> {
        use std::io::Read;
        let path = self.dir.join(file);
        let refuse = |why: String| {
            Err(Error::File {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why),
            })
        };
        let io = |source| Error::File {
            path: path.clone(),
            source,
        };
        // Checked before opening: opening a FIFO blocks until something writes to it.
        let metadata = std::fs::metadata(&path).map_err(io)?;
        if !metadata.is_file() {
            return refuse(
                "not a regular file (a bundle holds files, not devices, pipes or directories)"
                    .into(),
            );
        }
        let opened = std::fs::File::open(&path).map_err(io)?;
        if !opened.metadata().map_err(io)?.is_file() {
            return refuse(
                "replaced by something other than a regular file while being read".into(),
            );
        }
        let mut bytes =
            Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0).min(MAX_FILE));
        opened
            .take(MAX_FILE as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() > MAX_FILE {
            return refuse(format!(
                "over the limit of {} MiB for a bundle file",
                MAX_FILE >> 20
            ));
        }
        Ok(bytes)
    }
}

/// The largest file a bundle may hold: far above any plugin (an interpreter compiled in, as Python
/// plugins have, is tens of MiB), far below what would hurt the host.
pub const MAX_FILE: usize = 256 << 20;

/// The stock bundle built into the binary by `build.rs`.
pub mod embedded {
    use super::*;

    /// The default manifest, with the stock plugins' digests filled in at build time.
    pub const MANIFEST: &str = include_str!(concat!(env!("OUT_DIR"), "/bundle.toml"));

    /// (file name, bytes) of every plugin built in: the default bundle's, and the policy plugins.
    pub const FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/embedded_files.rs"));

    /// Reads the embedded files.
    pub struct EmbeddedSource;

    impl BundleSource for EmbeddedSource {
        fn describe(&self, file: &str) -> String {
            format!("embedded:{file}")
        }

        fn read(&self, file: &str) -> Result<Vec<u8>> {
            FILES
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, bytes)| bytes.to_vec())
                .ok_or_else(|| Error::File {
                    path: PathBuf::from(format!("embedded:{file}")),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "not built into this binary",
                    ),
                })
        }
    }

    /// The bytes of the stock plugin `name` (`pii` for `pii.wasm`), or why there is none.
    pub fn plugin(name: &str) -> std::result::Result<&'static [u8], String> {
        FILES
            .iter()
            .find(|(file, _)| file.strip_suffix(".wasm") == Some(name))
            .map(|(_, bytes)| *bytes)
            .ok_or_else(|| {
                let names: Vec<_> = FILES
                    .iter()
                    .filter_map(|(file, _)| file.strip_suffix(".wasm"))
                    .collect();
                format!(
                    "no plugin {name:?} is built into this binary; built in: {}",
                    names.join(", ")
                )
            })
    }

    /// Writes the embedded bundle to `dir` as an ordinary bundle directory, to copy and edit.
    pub fn export(dir: &Path) -> Result<()> {
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|source| Error::File { path, source })
        };
        std::fs::create_dir_all(dir).map_err(|source| Error::File {
            path: dir.to_path_buf(),
            source,
        })?;
        write("bundle.toml", MANIFEST.as_bytes())?;
        // The plugins the default bundle runs; the others built in (the policy plugins) stay
        // reachable as `builtin:NAME`.
        FILES
            .iter()
            .filter(|(name, _)| MANIFEST.contains(&format!("wasm = \"{name}\"")))
            .try_for_each(|(name, bytes)| write(name, bytes))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    bundle: BundleMeta,
    #[serde(default)]
    policy: BTreeMap<String, Setting>,
    #[serde(default, rename = "plugin")]
    plugins: Vec<Spanned<PluginEntry>>,
    #[serde(default)]
    digests: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleMeta {
    name: String,
    version: String,
    mode: Option<Mode>,
    #[serde(default)]
    pass_unread: Vec<String>,
    sequence: Option<u64>,
    not_after: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginEntry {
    name: String,
    wasm: String,
    sha256: Option<String>,
    directions: Option<Vec<Dir>>,
    budget: Option<String>,
    memory: Option<String>,
    on_error: Option<OnError>,
    mode: Option<Mode>,
    config: Option<toml::Table>,
    #[serde(default)]
    policy: BTreeMap<String, Setting>,
    #[serde(default)]
    files: BTreeMap<String, String>,
}

/// Loads the bundle in directory `dir`.
pub fn load_dir(engine: &Engine, dir: &Path) -> Result<Bundle> {
    load_dir_trusted(engine, dir, &[])
}

/// Loads the bundle in `dir`; with `trusted` keys, only if `bundle.toml.sig` is a valid signature over
/// `bundle.toml` by one of them. The manifest is read once: the bytes verified are the bytes loaded.
pub fn load_dir_trusted(engine: &Engine, dir: &Path, trusted: &[VerifyingKey]) -> Result<Bundle> {
    let source = DirSource::new(dir);
    let manifest = source.read("bundle.toml")?;
    if !trusted.is_empty() {
        signer(dir, &manifest, trusted)?;
    }
    let manifest = String::from_utf8(manifest).map_err(|e| Error::Manifest {
        file: source.describe("bundle.toml"),
        message: format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
    })?;
    load(engine, &manifest, &source)
}

/// Who signed `manifest` (the bytes of `dir/bundle.toml`), checked against `dir/bundle.toml.sig` and, when
/// `trusted` is not empty, required to be one of those keys. A missing signature file is `Unsigned`.
pub fn signer(dir: &Path, manifest: &[u8], trusted: &[VerifyingKey]) -> Result<VerifyingKey> {
    let sig_path = DirSource::new(dir).describe(signing::SIGNATURE_FILE);
    let signature = match std::fs::read_to_string(dir.join(signing::SIGNATURE_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(signing::SigningError::Unsigned(dir.display().to_string()).into())
        }
        Err(e) => {
            return Err(signing::SigningError::File {
                path: sig_path,
                message: e.to_string(),
            }
            .into())
        }
    };
    Ok(signing::verify(manifest, &signature, &sig_path, trusted)?)
}

/// Loads the stock bundle built into the binary.
pub fn load_embedded(engine: &Engine) -> Result<Bundle> {
    load(engine, embedded::MANIFEST, &embedded::EmbeddedSource)
}

/// A bundle of the one component at `wasm`, configured with `config_json` (a JSON object; none: `{}`),
/// under the default policy (every finding reported, nothing redacted): `palisade scan --plugin`, for
/// trying a plugin without writing a bundle. The plugin is named after the file.
pub fn single_plugin(engine: &Engine, wasm: &Path, config_json: Option<&str>) -> Result<Bundle> {
    // Named on the command line: the file is trusted as it is, so its digest goes in the manifest.
    let bytes = std::fs::read(wasm).map_err(|source| Error::File {
        path: wasm.to_path_buf(),
        source,
    })?;
    let origin = format!("--plugin {}", wasm.display());
    let refuse = |message: String| Error::Manifest {
        file: origin.clone(),
        message,
    };
    let file = wasm
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| refuse("give the path of a .wasm file".into()))?;
    let name = wasm
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(file)
        .to_string();
    let mut plugin = toml::Table::new();
    plugin.insert("name".into(), name.clone().into());
    plugin.insert("wasm".into(), file.into());
    plugin.insert("sha256".into(), hex::encode(Sha256::digest(&bytes)).into());
    if let Some(json) = config_json {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| refuse(format!("--config is not valid JSON: {e}")))?;
        let config = match toml::Value::try_from(&value) {
            Ok(toml::Value::Table(table)) => table,
            Ok(_) => {
                return Err(refuse(
                    "--config must be a JSON object, like {\"words\": [\"x\"]}".into(),
                ))
            }
            Err(e) => return Err(refuse(format!("--config cannot be a plugin config: {e}"))),
        };
        plugin.insert("config".into(), config.into());
    }
    let mut bundle = toml::Table::new();
    bundle.insert("name".into(), name.into());
    bundle.insert("version".into(), "0".into());
    let mut manifest = toml::Table::new();
    manifest.insert("bundle".into(), bundle.into());
    manifest.insert("plugin".into(), vec![toml::Value::Table(plugin)].into());
    let manifest = toml::to_string(&manifest).map_err(|e| refuse(e.to_string()))?;
    let source = MadeUpManifest {
        origin,
        file: file.to_string(),
        path: wasm.to_path_buf(),
        wasm: bytes,
    };
    load(engine, &manifest, &source)
}

/// The files of a bundle made up for one component: the component, read once (the bytes digested are
/// the bytes compiled), and a manifest that is nowhere on disk, named in messages after the flag that
/// asked for it.
struct MadeUpManifest {
    origin: String,
    file: String,
    path: PathBuf,
    wasm: Vec<u8>,
}

impl BundleSource for MadeUpManifest {
    fn describe(&self, file: &str) -> String {
        if file == "bundle.toml" {
            self.origin.clone()
        } else {
            self.path.display().to_string()
        }
    }

    fn read(&self, file: &str) -> Result<Vec<u8>> {
        if file == self.file {
            return Ok(self.wasm.clone());
        }
        Err(Error::File {
            path: PathBuf::from(file),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "a bundle made up with --plugin has no file but the component",
            ),
        })
    }
}

/// Loads a bundle from its manifest text and a source for the files it names.
pub fn load(engine: &Engine, manifest_text: &str, source: &dyn BundleSource) -> Result<Bundle> {
    let file = source.describe("bundle.toml");
    let manifest: Manifest = toml::from_str(manifest_text).map_err(|e| Error::Manifest {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let at_line =
        |span: std::ops::Range<usize>| format!("{file}:{}", line_of(manifest_text, span.start));

    if manifest.bundle.name.trim().is_empty() || manifest.bundle.version.trim().is_empty() {
        return Err(Error::Manifest {
            file,
            message: "[bundle] needs a non-empty name and version".into(),
        });
    }
    let policy = Policy::from_table(&manifest.policy).map_err(|message| Error::Manifest {
        file: file.clone(),
        message: format!("[policy] {message}"),
    })?;
    let pass_unread =
        pass_unread(&manifest.bundle.pass_unread).map_err(|message| Error::Manifest {
            file: file.clone(),
            message: format!("[bundle] pass_unread: {message}"),
        })?;

    let not_after = manifest
        .bundle
        .not_after
        .as_deref()
        .map(|text| {
            let when = humantime::parse_rfc3339_weak(text).map_err(|e| Error::Manifest {
                file: file.clone(),
                message: format!(
                    "[bundle] not_after = {text:?}: {e}; write a UTC time like \"2027-01-31T00:00:00Z\""
                ),
            })?;
            if when < std::time::SystemTime::now() {
                return Err(Error::Manifest {
                    file: file.clone(),
                    message: format!(
                        "[bundle] not_after = {text:?}: the bundle has expired; publish a new one"
                    ),
                });
            }
            Ok(when)
        })
        .transpose()?;

    // Check everything that needs no compiling first, so a typo fails in microseconds, not after a compile.
    let mut seen = std::collections::HashSet::new();
    let mut checked = Vec::with_capacity(manifest.plugins.len());
    for entry in &manifest.plugins {
        let span = entry.span();
        let entry = entry.get_ref();
        let fail = |message: String| Error::Manifest {
            file: at_line(span.clone()),
            message: format!("plugin {:?}: {message}", entry.name),
        };
        if entry.name.trim().is_empty() {
            return Err(fail("`name` is empty".into()));
        }
        if !seen.insert(entry.name.clone()) {
            return Err(fail(
                "a plugin of this name is already in the bundle; names must be unique".into(),
            ));
        }
        match builtin_name(&entry.wasm) {
            Some(name) => embedded::plugin(name).map(drop),
            None => check_relative(&entry.wasm),
        }
        .map_err(|m| fail(format!("wasm = {:?}: {m}", entry.wasm)))?;
        let budget = match &entry.budget {
            None => DEFAULT_BUDGET,
            Some(b) => parse_budget(b).map_err(|m| fail(format!("budget = {b:?}: {m}")))?,
        };
        let memory = match &entry.memory {
            None => DEFAULT_MEMORY,
            Some(m) => parse_memory(m).map_err(|msg| fail(format!("memory = {m:?}: {msg}")))?,
        };
        let directions = match &entry.directions {
            None => vec![Dir::Input, Dir::Output],
            Some(d) if d.is_empty() => return Err(fail(
                "`directions` is empty, so the plugin would never run; list input, output or both"
                    .into(),
            )),
            Some(d) => d.clone(),
        };
        let plugin_policy = policy
            .overridden_by(&entry.policy)
            .map_err(|m| fail(format!("policy: {m}")))?;
        let config = plugin_config(entry, &manifest.digests, source).map_err(|e| match e {
            Error::Manifest { message, .. } => fail(message),
            other => other,
        })?;
        checked.push((
            entry,
            span,
            budget,
            memory,
            directions,
            plugin_policy,
            config,
        ));
    }

    // Digests before compiling: an unverified component is never handed to the compiler.
    let mut wasm_bytes = Vec::with_capacity(checked.len());
    for (entry, span, ..) in &checked {
        let builtin = builtin_name(&entry.wasm).and_then(|name| embedded::plugin(name).ok());
        let bytes = match builtin {
            Some(bytes) => bytes.to_vec(),
            None => source.read(&entry.wasm)?,
        };
        let actual = hex::encode(Sha256::digest(&bytes));
        match &entry.sha256 {
            // A plugin built into the binary is trusted like the binary; a sha256, if given, pins its build.
            None if builtin.is_some() => wasm_bytes.push((bytes, actual)),
            None => {
                return Err(Error::Manifest {
                    file: at_line(span.clone()),
                    message: format!(
                        "plugin {:?}: no sha256 for {}; if you trust this file, add its digest \
                         (`sha256sum {}`) as `sha256 = \"…\"`",
                        entry.name, entry.wasm, entry.wasm
                    ),
                })
            }
            Some(expected) if !expected.eq_ignore_ascii_case(&actual) => {
                return Err(Error::Plugin {
                    plugin: entry.name.clone(),
                    wasm: match builtin {
                        Some(_) => entry.wasm.clone(),
                        None => source.describe(&entry.wasm),
                    },
                    message: format!(
                        "sha256 mismatch: the file is not the one bundle.toml (line {}) names by \
                         {expected}; rebuild the bundle or fix the digest",
                        line_of(manifest_text, span.start)
                    ),
                })
            }
            Some(_) => wasm_bytes.push((bytes, actual)),
        }
    }

    let mut plugins = Vec::with_capacity(checked.len());
    for ((entry, _, budget, memory, directions, policy, config), (bytes, sha256)) in
        checked.into_iter().zip(wasm_bytes)
    {
        let plugin_error = |message: String| Error::Plugin {
            plugin: entry.name.clone(),
            wasm: entry.wasm.clone(),
            message,
        };
        let compiled = engine.compile(&bytes, &sha256).map_err(plugin_error)?;
        let limits = Limits { budget, memory };
        let runtime = PluginRuntime::new(&entry.name, compiled, config, limits)
            .map_err(|e| plugin_error(e.to_string()))?;
        plugins.push(Arc::new(LoadedPlugin {
            runtime,
            wasm: entry.wasm.clone(),
            directions,
            budget,
            on_error: entry.on_error.unwrap_or(OnError::Deny),
            mode: entry.mode.or(manifest.bundle.mode).unwrap_or_default(),
            policy,
        }));
    }

    let gates = Gates::new(plugins.iter().map(|p| p.runtime.gate()));
    Ok(Bundle {
        name: manifest.bundle.name,
        version: manifest.bundle.version,
        digest: hex::encode(Sha256::digest(manifest_text.as_bytes())),
        plugins,
        pass_unread,
        sequence: manifest.bundle.sequence,
        not_after,
        gates,
    })
}

/// `[bundle] pass_unread`, each entry a media type (`audio/mpeg`) or a whole kind (`audio/*`), lower-cased.
fn pass_unread(entries: &[String]) -> std::result::Result<Vec<String>, String> {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    entries
        .iter()
        .map(|entry| {
            let media = entry.trim().to_ascii_lowercase();
            match media.split_once('/') {
                Some(("*", _)) => Err(format!(
                    "{entry:?} would let every body pass unread; list the media types that may, \
                     e.g. \"audio/*\" or \"application/octet-stream\""
                )),
                Some((kind, sub)) if token(kind) && (sub == "*" || token(sub)) => Ok(media),
                _ => Err(format!(
                    "{entry:?} is not a media type; write \"type/subtype\" or \"type/*\", e.g. \"audio/*\""
                )),
            }
        })
        .collect()
}

/// The JSON handed to `configure`: the plugin's `config` table, plus `"files"` with each named data file's
/// contents once its digest (from `[digests]`) checks out.
fn plugin_config(
    entry: &PluginEntry,
    digests: &BTreeMap<String, String>,
    source: &dyn BundleSource,
) -> Result<String> {
    let manifest_error = |message: String| Error::Manifest {
        file: String::new(),
        message,
    };
    let mut config = serde_json::to_value(entry.config.clone().unwrap_or_default())
        .map_err(|e| manifest_error(format!("config: {e}")))?;
    if !entry.files.is_empty() {
        let mut files = serde_json::Map::new();
        let mut names = serde_json::Map::new();
        for (key, file) in &entry.files {
            check_relative(file)
                .map_err(|m| manifest_error(format!("files.{key} = {file:?}: {m}")))?;
            let expected = digests.get(file).ok_or_else(|| {
                manifest_error(format!(
                    "files.{key} = {file:?} has no entry in [digests]; add its sha256 there"
                ))
            })?;
            let bytes = source.read(file)?;
            let actual = hex::encode(Sha256::digest(&bytes));
            if !expected.eq_ignore_ascii_case(&actual) {
                return Err(manifest_error(format!(
                    "files.{key}: sha256 mismatch for {file}: it is not the file [digests] names by {expected}"
                )));
            }
            let text = String::from_utf8(bytes)
                .map_err(|_| manifest_error(format!("files.{key}: {file} is not UTF-8 text")))?;
            files.insert(key.clone(), serde_json::Value::String(text));
            names.insert(key.clone(), serde_json::Value::String(file.clone()));
        }
        if let serde_json::Value::Object(map) = &mut config {
            map.insert("files".into(), serde_json::Value::Object(files));
            // The names too, so a plugin's error can point at `authz.cedar:3:14`.
            map.insert("file_names".into(), serde_json::Value::Object(names));
        }
    }
    Ok(config.to_string())
}

/// The stock plugin a `wasm = "builtin:NAME"` entry names, if it is one.
fn builtin_name(wasm: &str) -> Option<&str> {
    wasm.strip_prefix(BUILTIN)
}

/// How a manifest names a plugin built into the binary instead of a file: `wasm = "builtin:pii"`. A bundle
/// that only configures the stock plugins is then one small text file (a Kubernetes ConfigMap holds at
/// most 1 MiB; each stock plugin is about 1 MB).
pub const BUILTIN: &str = "builtin:";

/// A bundle is self-contained: its files are named relative to it and never escape it.
fn check_relative(file: &str) -> std::result::Result<(), String> {
    let path = Path::new(file);
    if file.is_empty()
        || path.is_absolute()
        || path
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(
            "must be a file name inside the bundle directory (no absolute paths, no `..`)".into(),
        );
    }
    Ok(())
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses a budget such as `2ms`, `500us` or `1s`.
pub fn parse_budget(s: &str) -> std::result::Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e}; write e.g. \"2ms\", \"500us\" or \"1s\""))?;
    if d.is_zero() || d > Duration::from_secs(60) {
        return Err("must be more than 0 and at most 60s".into());
    }
    Ok(d)
}

/// Parses a size such as `32MiB`, `512KiB`, `4MiB` or `1GiB` (binary units; `MB` is read as MiB).
pub fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: usize = number
        .parse()
        .map_err(|_| "expected a number and a unit, e.g. \"32MiB\"".to_string())?;
    let scale = match unit.trim() {
        "B" | "" => 1,
        "KiB" | "KB" | "K" => 1 << 10,
        "MiB" | "MB" | "M" => 1 << 20,
        "GiB" | "GB" | "G" => 1 << 30,
        other => return Err(format!("unknown unit {other:?}; use KiB, MiB or GiB")),
    };
    n.checked_mul(scale).ok_or_else(|| "too large".to_string())
}

/// Parses a plugin's memory cap: a size between 1 MiB and [`MAX_PLUGIN_MEMORY`].
pub fn parse_memory(s: &str) -> std::result::Result<usize, String> {
    let bytes = parse_size(s)?;
    if !((1 << 20)..=MAX_PLUGIN_MEMORY).contains(&bytes) {
        return Err(format!(
            "must be between 1MiB and {}MiB",
            MAX_PLUGIN_MEMORY >> 20
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_budgets_parse_with_helpful_errors() {
        assert_eq!(parse_memory("32MiB"), Ok(32 << 20));
        assert_eq!(parse_memory("1GiB"), Ok(1 << 30));
        assert!(parse_memory("32 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_memory("4GiB").is_err());
        assert_eq!(parse_budget("2ms"), Ok(Duration::from_millis(2)));
        assert!(parse_budget("2 fortnights").is_err());
        assert!(parse_budget("0ms").is_err());
    }

    #[test]
    fn bundle_files_stay_inside_the_bundle() {
        assert!(check_relative("pii.wasm").is_ok());
        assert!(check_relative("sub/pii.wasm").is_ok());
        assert!(check_relative("../pii.wasm").is_err());
        assert!(check_relative("/etc/passwd").is_err());
    }
}
