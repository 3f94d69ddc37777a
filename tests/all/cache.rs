//! The compiled-component cache: a second load compiles nothing, and a damaged entry is recompiled,
//! never trusted. Each test makes its own engines (one at a time: an engine reserves a large pool).

use std::os::unix::fs::PermissionsExt;

use palisade::bundle;
use palisade::cache::{CacheStats, ComponentCache};
use palisade::chain::{self, Request};
use palisade::engine::Engine;
use sha2::Digest;

use crate::util::{bundle_dir, key, HEADER, PII};

fn load_with_cache(cache_dir: &std::path::Path, bundle: &std::path::Path) -> CacheStats {
    let engine = Engine::with_cache(Some(ComponentCache::open(cache_dir).unwrap())).unwrap();
    let loaded = bundle::load_dir(&engine, bundle).expect("bundle loads");
    let request = Request {
        text: "mail ana@example.com".into(),
        ..Request::default()
    };
    let v = chain::run(&loaded, &request, &key()).unwrap();
    assert_eq!(
        v.text, "mail [EMAIL_ADDRESS]",
        "the plugin works, cached or not"
    );
    drop(loaded);
    engine.cache().unwrap().stats()
}

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect()
}

#[test]
fn a_second_load_compiles_nothing_and_damage_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().join("palisade");
    let bundle = bundle_dir(&format!("{HEADER}{PII}"));

    let cold = load_with_cache(&cache_dir, bundle.path());
    assert_eq!(
        cold,
        CacheStats {
            hits: 0,
            compiles: 1
        }
    );
    let warm = load_with_cache(&cache_dir, bundle.path());
    assert_eq!(
        warm,
        CacheStats {
            hits: 1,
            compiles: 0
        }
    );

    // Owner-only: the directory and every entry.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache_dir), 0o700);
    let files = entries(&cache_dir);
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600);

    // A flipped byte fails the checksum: recompiled, and the entry rewritten whole.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();
    assert_eq!(
        load_with_cache(&cache_dir, bundle.path()),
        CacheStats {
            hits: 0,
            compiles: 1
        }
    );
    assert_eq!(
        load_with_cache(&cache_dir, bundle.path()),
        CacheStats {
            hits: 1,
            compiles: 0
        }
    );

    // A well-formed entry that is not a compiled component (right checksum, wrong contents): wasmtime
    // refuses it, and it is recompiled.
    let junk = b"not a compiled component".to_vec();
    let mut forged = sha2::Sha256::digest(&junk).to_vec();
    forged.extend(&junk);
    std::fs::write(&files[0], forged).unwrap();
    assert_eq!(
        load_with_cache(&cache_dir, bundle.path()),
        CacheStats {
            hits: 0,
            compiles: 1
        }
    );

    // A truncated entry (a crash mid-write would leave only the temporary file, but be thorough).
    std::fs::write(&files[0], b"short").unwrap();
    assert_eq!(
        load_with_cache(&cache_dir, bundle.path()),
        CacheStats {
            hits: 0,
            compiles: 1
        }
    );
}

#[test]
fn a_cache_directory_others_can_write_is_closed_first() {
    let cache = tempfile::tempdir().unwrap();
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    ComponentCache::open(cache.path()).unwrap();
    let mode = std::fs::metadata(cache.path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
}

#[test]
fn a_cache_directory_someone_else_could_swap_is_refused() {
    let outer = tempfile::tempdir().unwrap();
    // Inside a directory others may write to (no sticky bit): they could replace the cache.
    let open = outer.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = ComponentCache::open(&open.join("cache")).unwrap_err();
    assert!(e.contains("other users may change"), "{e}");
    // A link as the cache directory: what it points to can change under us.
    let real = outer.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = outer.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let e = ComponentCache::open(&link).unwrap_err();
    assert!(e.contains("is a symbolic link"), "{e}");
    // The directory itself is fine, even under /tmp (sticky).
    ComponentCache::open(&real).unwrap();
}

#[test]
fn a_cache_entry_that_is_a_link_is_not_followed() {
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().join("c");
    let bundle = bundle_dir(&format!("{HEADER}{PII}"));
    load_with_cache(&cache_dir, bundle.path());
    let files = entries(&cache_dir);
    assert_eq!(files.len(), 1);
    // The entry replaced by a link to a (valid) copy elsewhere: not read, recompiled, and the link replaced.
    let elsewhere = cache.path().join("elsewhere.cwasm");
    std::fs::rename(&files[0], &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &files[0]).unwrap();
    assert_eq!(
        load_with_cache(&cache_dir, bundle.path()),
        CacheStats {
            hits: 0,
            compiles: 1
        }
    );
    assert!(!std::fs::symlink_metadata(&files[0])
        .unwrap()
        .file_type()
        .is_symlink());
}
