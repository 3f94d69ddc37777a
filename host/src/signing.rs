//! Bundle signatures: ed25519 over the exact bytes of `bundle.toml`, which carries the sha256 of every
//! wasm and data file, so one signature covers the code and the data.
//!
//! Key files are text: `#` comment lines, then the key in base64 (the 32-byte seed for a signing key, the
//! 32-byte public key for a verifying key). `bundle.toml.sig` is text too: a comment, the signer's public
//! key, and the signature, each in base64 on its own line, so `verify` can say *which* key signed.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// The signature file next to `bundle.toml`.
pub const SIGNATURE_FILE: &str = "bundle.toml.sig";

/// Why a signature or key was refused; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// A key or signature file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The bundle has no `bundle.toml.sig`.
    #[error("{0} is unsigned: sign it with `palisade bundle sign --key KEY DIR`")]
    Unsigned(String),
    /// The signature does not verify against the key in the signature file.
    #[error(
        "{0}: the signature does not match bundle.toml (changed after signing?); sign it again"
    )]
    BadSignature(String),
    /// The signature is valid, but by a key that is not trusted.
    #[error("{path}: signed by key {key}, which is not one of the trusted keys (--trusted-key)")]
    UntrustedKey {
        /// The signature file.
        path: String,
        /// The signer's public key, base64.
        key: String,
    },
}

fn read_base64(path: &Path, what: &str) -> Result<Vec<Vec<u8>>, SigningError> {
    let fail = |message: String| SigningError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            B64.decode(l)
                .map_err(|e| fail(format!("not a {what} (bad base64: {e})")))
        })
        .collect()
}

fn exactly<const N: usize>(bytes: &[u8], path: &Path, what: &str) -> Result<[u8; N], SigningError> {
    bytes.try_into().map_err(|_| SigningError::File {
        path: path.display().to_string(),
        message: format!("not a {what}: {} bytes, expected {N}", bytes.len()),
    })
}

/// Reads a signing key written by [`write_keypair`].
pub fn read_signing_key(path: &Path) -> Result<SigningKey, SigningError> {
    let lines = read_base64(path, "palisade signing key")?;
    let [seed] = lines.as_slice() else {
        return Err(SigningError::File {
            path: path.display().to_string(),
            message: "expected one base64 line with the key".into(),
        });
    };
    Ok(SigningKey::from_bytes(&exactly::<32>(
        seed,
        path,
        "signing key",
    )?))
}

/// Reads a public key written by [`write_keypair`] (`KEY.pub`).
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, SigningError> {
    let lines = read_base64(path, "palisade public key")?;
    let bad = |message: String| SigningError::File {
        path: path.display().to_string(),
        message,
    };
    let [key] = lines.as_slice() else {
        return Err(bad("expected one base64 line with the public key".into()));
    };
    VerifyingKey::from_bytes(&exactly::<32>(key, path, "public key")?)
        .map_err(|e| bad(format!("not a valid ed25519 public key: {e}")))
}

/// Writes a new key pair: `path` (the signing key, owner-only) and `path.pub`. Refuses to overwrite.
pub fn write_keypair(path: &Path) -> Result<VerifyingKey, SigningError> {
    let fail = |p: &Path, message: String| SigningError::File {
        path: p.display().to_string(),
        message,
    };
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| fail(path, format!("no OS randomness: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let public = key.verifying_key();
    let pub_path = path.with_extension(match path.extension() {
        Some(ext) => format!("{}.pub", ext.to_string_lossy()),
        None => "pub".to_string(),
    });
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let secret = format!(
        "# palisade bundle signing key (ed25519). Keep it secret; `palisade bundle sign --key` uses it.\n{}\n",
        B64.encode(seed)
    );
    use std::io::Write as _;
    options
        .open(path)
        .and_then(|mut f| f.write_all(secret.as_bytes()))
        .map_err(|e| fail(path, format!("{e} (an existing key is never overwritten)")))?;
    let public_text = format!(
        "# palisade bundle public key (ed25519): give it to `palisade serve --trusted-key`.\n{}\n",
        B64.encode(public.as_bytes())
    );
    std::fs::write(&pub_path, public_text).map_err(|e| fail(&pub_path, e.to_string()))?;
    Ok(public)
}

/// The signature file's text for `manifest`, signed with `key`.
pub fn sign(manifest: &[u8], key: &SigningKey) -> String {
    let signature = key.sign(manifest);
    format!(
        "# palisade bundle signature (ed25519) over bundle.toml: signer's public key, then the signature\n{}\n{}\n",
        B64.encode(key.verifying_key().as_bytes()),
        B64.encode(signature.to_bytes())
    )
}

/// Checks `signature_text` (the contents of `bundle.toml.sig`, read from `sig_path`) over `manifest`, and
/// that the signer is one of `trusted` (when `trusted` is empty, any valid signature passes). Returns the
/// signer's key.
pub fn verify(
    manifest: &[u8],
    signature_text: &str,
    sig_path: &str,
    trusted: &[VerifyingKey],
) -> Result<VerifyingKey, SigningError> {
    let bad = |message: &str| SigningError::File {
        path: sig_path.to_string(),
        message: format!("not a palisade signature file: {message}"),
    };
    let lines: Vec<&str> = signature_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let [key, signature] = lines.as_slice() else {
        return Err(bad(
            "expected two base64 lines, the public key and the signature",
        ));
    };
    let key: [u8; 32] = B64
        .decode(key)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| bad("the public key line is not 32 bytes of base64"))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("the public key is not valid"))?;
    let signature: [u8; 64] = B64
        .decode(signature)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("the signature line is not 64 bytes of base64"))?;
    key.verify(manifest, &Signature::from_bytes(&signature))
        .map_err(|_| SigningError::BadSignature(sig_path.to_string()))?;
    if !trusted.is_empty() && !trusted.contains(&key) {
        return Err(SigningError::UntrustedKey {
            path: sig_path.to_string(),
            key: B64.encode(key.as_bytes()),
        });
    }
    Ok(key)
}

/// A key for people: its base64.
pub fn show(key: &VerifyingKey) -> String {
    B64.encode(key.as_bytes())
}
