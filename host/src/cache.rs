//! Compiled components on disk, so a restart or a reload of an unchanged plugin skips compilation.
//!
//! An entry is keyed by the wasm's sha256 and wasmtime's own compatibility hash (its version and every
//! setting that changes generated code), so another wasmtime or another engine configuration never reads an
//! entry it did not write. Each file starts with the sha256 of the rest: a torn or corrupted file fails
//! that check and is recompiled, never handed to wasmtime. Files are written to a temporary name and renamed
//! into place, readable by their owner only, in a directory only its owner can write; a directory others
//! can write (or swap: a link, or one inside a directory others can write) is not used at all, and an entry
//! is read only if it is this user's own regular file, never through a link, because deserialising a
//! component runs what the file says.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

/// Where compiled components are kept, and how often it was used.
#[derive(Debug)]
pub struct ComponentCache {
    dir: PathBuf,
    hits: AtomicU64,
    compiles: AtomicU64,
}

/// What the cache has done so far in this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Components loaded from disk without compiling.
    pub hits: u64,
    /// Components compiled (a miss, or an entry that failed its checks).
    pub compiles: u64,
}

/// Feeds wasmtime's `Hash` of its configuration into sha256, so the key is stable across processes
/// (std's hashers are seeded per process).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        unreachable!("only the sha256 is read")
    }
}

impl ComponentCache {
    /// A cache in `dir`, created (owner-only) if missing. Fails if the directory cannot be made or others
    /// may write to it.
    pub fn open(dir: &Path) -> Result<ComponentCache, String> {
        let shown = dir.display();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| format!("cannot create cache directory {shown}: {e}"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            safe_place(dir)?;
            let meta = fs::metadata(dir).map_err(|e| format!("cannot read {shown}: {e}"))?;
            if meta.uid() != rustix::process::geteuid().as_raw() {
                return Err(format!(
                    "cache directory {shown} belongs to another user; use one of your own (--cache-dir)"
                ));
            }
            if meta.mode() & 0o077 != 0 {
                fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| {
                    format!(
                        "cache directory {shown} is open to other users and cannot be closed: {e}"
                    )
                })?;
            }
        }
        Ok(ComponentCache {
            dir: dir.to_path_buf(),
            hits: AtomicU64::new(0),
            compiles: AtomicU64::new(0),
        })
    }

    /// The default place: `$XDG_CACHE_HOME/palisade`, else `$HOME/.cache/palisade`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("palisade"))
    }

    /// The directory in use.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Hits and compiles so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            compiles: self.compiles.load(Ordering::Relaxed),
        }
    }

    fn path_for(&self, engine: &wasmtime::Engine, wasm_sha256: &str) -> PathBuf {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hasher.0.update(wasm_sha256.as_bytes());
        let key = hex::encode(&hasher.0.finalize()[..20]);
        self.dir.join(format!("{key}.cwasm"))
    }

    /// The compiled component for `wasm` (whose sha256 is `wasm_sha256`): from disk when a sound entry
    /// exists, else compiled and stored. A cache that cannot be written only costs the next start a compile.
    pub fn load_or_compile(
        &self,
        engine: &wasmtime::Engine,
        wasm: &[u8],
        wasm_sha256: &str,
    ) -> wasmtime::Result<Component> {
        let path = self.path_for(engine, wasm_sha256);
        if let Some(component) = self.read(engine, &path) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(path = %path.display(), "component loaded from the cache");
            return Ok(component);
        }
        let component = Component::new(engine, wasm)?;
        self.compiles.fetch_add(1, Ordering::Relaxed);
        match component.serialize() {
            Ok(bytes) => {
                if let Err(e) = self.write(&path, &bytes) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write to the component cache");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot serialise a compiled component"),
        }
        Ok(component)
    }

    // The one place the host uses `unsafe` (the crate otherwise denies it): wasmtime's deserialisation.
    #[allow(unsafe_code)]
    fn read(&self, engine: &wasmtime::Engine, path: &Path) -> Option<Component> {
        let file = read_own_file(path)?;
        let (digest, payload) = file.split_at_checked(32)?;
        if Sha256::digest(payload).as_slice() != digest {
            tracing::warn!(path = %path.display(), "corrupt component cache entry; recompiling");
            return None;
        }
        // SAFETY: wasmtime requires that the bytes came from `serialize` by a compatible engine. This file is
        // in a directory only this user can write, its name is derived from the engine's compatibility hash,
        // and its checksum matches what `write` stored; wasmtime checks its own header and version too.
        match unsafe { Component::deserialize(engine, payload) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unusable component cache entry; recompiling");
                None
            }
        }
    }

    /// Writes beside `path` and renames into place: the rename replaces whatever entry `path` was (a
    /// link someone left included) and never writes through it.
    fn write(&self, path: &Path, payload: &[u8]) -> std::io::Result<()> {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        let written = file
            .write_all(&Sha256::digest(payload))
            .and_then(|()| file.write_all(payload))
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        fs::rename(&tmp, path)
    }
}

/// The bytes of a cache entry, if it is a regular file of this user's that no one else may write: never
/// through a symbolic link. Anything else is passed over (and recompiled), with a warning.
fn read_own_file(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        rustix::fs::OFlags::NOFOLLOW.bits() as i32,
    );
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unreadable component cache entry (a link?); recompiling");
            return None;
        }
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata().ok()?;
        if !meta.is_file()
            || meta.uid() != rustix::process::geteuid().as_raw()
            || meta.mode() & 0o022 != 0
        {
            tracing::warn!(path = %path.display(), "component cache entry not a file of this user's alone; recompiling");
            return None;
        }
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Refuses a cache directory someone else could swap: `dir` itself a symbolic link, or inside a directory
/// (after links are resolved) that another user owns or may write to without the sticky bit. A component
/// read from the cache is code wasmtime runs, so the way to it must be this user's (or root's) alone.
#[cfg(unix)]
fn safe_place(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let shown = dir.display();
    let link = fs::symlink_metadata(dir).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if link.file_type().is_symlink() {
        return Err(format!(
            "cache directory {shown} is a symbolic link; give the directory itself (--cache-dir)"
        ));
    }
    let me = rustix::process::geteuid().as_raw();
    let real = fs::canonicalize(dir).map_err(|e| format!("cannot resolve {shown}: {e}"))?;
    for ancestor in real.ancestors().skip(1) {
        let meta = fs::metadata(ancestor)
            .map_err(|e| format!("cannot read {}: {e}", ancestor.display()))?;
        let owned = meta.uid() == 0 || meta.uid() == me;
        let writable_by_others = meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0;
        if !owned || writable_by_others {
            return Err(format!(
                "cache directory {shown} is inside {}, which {}; use a directory of your own (--cache-dir)",
                ancestor.display(),
                if owned {
                    "other users may change"
                } else {
                    "belongs to another user"
                }
            ));
        }
    }
    Ok(())
}
