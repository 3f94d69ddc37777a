//! `componentize bindings-c WIT_DIR OUT_DIR` and `componentize bindings-go WIT_DIR OUT_DIR`: the C or Go
//! bindings for the `guardrail` world (what `wit-bindgen c` / `wit-bindgen go` write), without
//! installing wit-bindgen's command line.
//!
//! `componentize new CORE.wasm OUT.wasm [WIT_DIR]`: wraps a core module that imports WASI preview 1 (what
//! wasi-libc, Zig and Go produce) as a component, with the preview-1-to-preview-2 adapter of the host's
//! wasmtime release (what `wasm-tools component new --adapt` does). The module must carry the world's
//! type information (the C bindings' object file puts it there); given WIT_DIR, it is added first (what
//! `wasm-tools component embed` does), for Go, whose bindings carry none.
use std::path::Path;

use anyhow::{bail, Context, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::{ComponentEncoder, StringEncoding};

const USAGE: &str = "usage: componentize bindings-c WIT_DIR OUT_DIR
       componentize bindings-go WIT_DIR OUT_DIR
       componentize new CORE.wasm OUT.wasm [WIT_DIR]";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["bindings-c", wit, out] => bindings_c(Path::new(wit), Path::new(out)),
        ["bindings-go", wit, out] => bindings_go(Path::new(wit), Path::new(out)),
        ["new", core, out] => new(Path::new(core), Path::new(out), None),
        ["new", core, out, wit] => new(Path::new(core), Path::new(out), Some(Path::new(wit))),
        _ => bail!("{USAGE}"),
    }
}

/// Writes each generated file under `out`.
fn write_files<'a>(out: &Path, files: impl Iterator<Item = (&'a str, &'a [u8])>) -> Result<()> {
    for (name, contents) in files {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn bindings_c(wit: &Path, out: &Path) -> Result<()> {
    use wit_bindgen_core::wit_parser::Resolve;
    let mut resolve = Resolve::default();
    let (package, _) = (resolve.push_path(wit))
        .with_context(|| format!("cannot read the WIT package in {}", wit.display()))?;
    let world = resolve.select_world(&[package], Some("guardrail"))?;
    let mut files = wit_bindgen_core::Files::default();
    (wit_bindgen_c::Opts::default().build()).generate(&mut resolve, world, &mut files)?;
    write_files(out, files.iter())
}

fn bindings_go(wit: &Path, out: &Path) -> Result<()> {
    use wit_bindgen_core_go::wit_parser::Resolve;
    let mut resolve = Resolve::default();
    let (package, _) = (resolve.push_path(wit))
        .with_context(|| format!("cannot read the WIT package in {}", wit.display()))?;
    let world = resolve.select_world(&[package], Some("guardrail"))?;
    let mut files = wit_bindgen_core_go::Files::default();
    (wit_bindgen_go::Opts::default().build()).generate(&mut resolve, world, &mut files)?;
    write_files(out, files.iter())
}

fn new(core: &Path, out: &Path, wit: Option<&Path>) -> Result<()> {
    let mut module =
        std::fs::read(core).with_context(|| format!("cannot read {}", core.display()))?;
    if let Some(wit) = wit {
        use wit_bindgen_core::wit_parser::Resolve;
        let mut resolve = Resolve::default();
        let (package, _) = (resolve.push_path(wit))
            .with_context(|| format!("cannot read the WIT package in {}", wit.display()))?;
        let world = resolve.select_world(&[package], Some("guardrail"))?;
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            StringEncoding::UTF8,
        )?;
    }
    let component = ComponentEncoder::default()
        .module(&module)
        .with_context(|| format!("{} is not a core module with the world's type information (link the C bindings' *_component_type.o into it, or name the WIT directory)", core.display()))?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .validate(true)
        .encode()
        .with_context(|| format!("cannot make a component of {}", core.display()))?;
    std::fs::write(out, component).with_context(|| format!("cannot write {}", out.display()))
}
