//! `componentize bindings-c WIT_DIR OUT_DIR`: the C bindings for the `guardrail` world (what
//! `wit-bindgen c` writes), without installing wit-bindgen's command line.
//!
//! `componentize new CORE.wasm OUT.wasm`: wraps a core module that imports WASI preview 1 (what
//! wasi-libc, Zig and Go produce) and carries the world's type information (the bindings' object file
//! puts it there) as a component, with the preview-1-to-preview-2 adapter of the host's wasmtime
//! release (what `wasm-tools component new --adapt` does).
use std::path::Path;

use anyhow::{bail, Context, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_bindgen_core::wit_parser::Resolve;
use wit_bindgen_core::Files;
use wit_component::ComponentEncoder;

const USAGE: &str =
    "usage: componentize bindings-c WIT_DIR OUT_DIR\n       componentize new CORE.wasm OUT.wasm";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["bindings-c", wit, out] => bindings_c(Path::new(wit), Path::new(out)),
        ["new", core, out] => new(Path::new(core), Path::new(out)),
        _ => bail!("{USAGE}"),
    }
}

fn bindings_c(wit: &Path, out: &Path) -> Result<()> {
    let mut resolve = Resolve::default();
    let (package, _) = (resolve.push_path(wit))
        .with_context(|| format!("cannot read the WIT package in {}", wit.display()))?;
    let world = resolve.select_world(&[package], Some("guardrail"))?;
    let mut files = Files::default();
    (wit_bindgen_c::Opts::default().build()).generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (name, contents) in files.iter() {
        let path = out.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn new(core: &Path, out: &Path) -> Result<()> {
    let module = std::fs::read(core).with_context(|| format!("cannot read {}", core.display()))?;
    let component = ComponentEncoder::default()
        .module(&module)
        .with_context(|| format!("{} is not a core module with the world's type information (link the bindings' *_component_type.o into it)", core.display()))?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .validate(true)
        .encode()
        .with_context(|| format!("cannot make a component of {}", core.display()))?;
    std::fs::write(out, component).with_context(|| format!("cannot write {}", out.display()))
}
