//! The `palisade` command: `scan` runs a bundle's chain over local input; `bundle export` writes the
//! built-in stock bundle out as a directory to start a bundle of your own from.

use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use palisade::bundle::{self, Bundle};
use palisade::chain::Dir;
use palisade::engine::Engine;
use palisade::policy::HashKey;
use palisade::scan;

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Guardrails for AI traffic: sandboxed Wasm plugins over every prompt, tool call and answer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the chain over files, standard input or JSON lines, with no server.
    ///
    /// Exit status: 0 when every input was allowed or modified, 1 when any was denied, 2 on a usage, bundle
    /// or input error.
    Scan {
        /// Bundle directory (with bundle.toml); without it, the stock plugins built into this binary.
        #[arg(long, env = "PALISADE_BUNDLE", value_name = "DIR")]
        bundle: Option<PathBuf>,
        /// Which leg of the exchange the input travels on, unless a JSON line says otherwise.
        #[arg(long, default_value = "input", value_parser = parse_dir)]
        direction: Dir,
        /// Read JSON lines ({"id", "text", "direction"?, …}) and write one JSON answer per line.
        #[arg(long)]
        jsonl: bool,
        /// Files to scan; none, or `-`, reads standard input.
        files: Vec<PathBuf>,
    },
    /// Work with bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Write the built-in stock bundle (bundle.toml and its .wasm files) to DIR, to copy and edit.
    Export {
        /// Directory to write; created if missing.
        dir: PathBuf,
    },
}

fn parse_dir(s: &str) -> Result<Dir, String> {
    s.parse()
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("palisade: {e:#}");
            ExitCode::from(scan::EXIT_ERROR as u8)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Scan {
            bundle,
            direction,
            jsonl,
            files,
        } => {
            let engine = Engine::new()?;
            let bundle = load_bundle(&engine, bundle.as_deref())?;
            let key = hash_key()?;
            let mut tally = scan::Tally::default();
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let inputs = if files.is_empty() {
                vec![PathBuf::from("-")]
            } else {
                files
            };
            for path in inputs {
                let (name, reader): (String, Box<dyn Read>) = if path.as_os_str() == "-" {
                    ("<stdin>".into(), Box::new(std::io::stdin()))
                } else {
                    let file = std::fs::File::open(&path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    (path.display().to_string(), Box::new(file))
                };
                if jsonl {
                    scan::jsonl(
                        &bundle,
                        &key,
                        direction,
                        &name,
                        BufReader::new(reader),
                        &mut out,
                        &mut tally,
                    )?;
                } else {
                    let mut bytes = Vec::new();
                    BufReader::new(reader)
                        .read_to_end(&mut bytes)
                        .with_context(|| format!("cannot read {name}"))?;
                    let text = String::from_utf8(bytes).map_err(|e| {
                        anyhow::anyhow!(
                            "{name}: not UTF-8 text (invalid byte at offset {})",
                            e.utf8_error().valid_up_to()
                        )
                    })?;
                    scan::plain(&bundle, &key, direction, &name, text, &mut out, &mut tally)?;
                }
            }
            Ok(tally.exit_code())
        }
        Command::Bundle(BundleCommand::Export { dir }) => {
            bundle::embedded::export(&dir)?;
            eprintln!("wrote the stock bundle to {}", dir.display());
            Ok(0)
        }
    }
}

fn load_bundle(engine: &Engine, dir: Option<&std::path::Path>) -> anyhow::Result<Bundle> {
    let bundle = match dir {
        Some(dir) => bundle::load_dir(engine, dir)
            .with_context(|| format!("cannot load the bundle in {}", dir.display()))?,
        None => bundle::load_embedded(engine).context("cannot load the built-in stock bundle")?,
    };
    tracing::info!(bundle = %bundle.id(), digest = %bundle.digest, plugins = bundle.plugins.len(), "bundle loaded");
    Ok(bundle)
}

/// `PALISADE_HASH_KEY` keeps `hash` pseudonyms stable across restarts and replicas; without it they are
/// stable within one process only.
fn hash_key() -> anyhow::Result<HashKey> {
    match std::env::var("PALISADE_HASH_KEY") {
        Ok(key) if !key.is_empty() => Ok(HashKey::new(key.into_bytes())),
        _ => HashKey::random().map_err(anyhow::Error::msg),
    }
}
