//! Cryptocurrency addresses, accepted only when their own checksum holds: base58check for legacy Bitcoin
//! addresses, bech32/bech32m for SegWit ones, EIP-55 for mixed-case Ethereum ones.

use sha3::{Digest, Keccak256};

/// A base58check Bitcoin address: P2PKH (`1…`, version 0) or P2SH (`3…`, version 5), mainnet or testnet.
pub fn base58_address_valid(value: &str) -> bool {
    let Ok(payload) = bs58::decode(value).with_check(None).into_vec() else {
        return false;
    };
    // Version byte + 20-byte hash; mainnet 0x00/0x05, testnet 0x6f/0xc4.
    payload.len() == 21 && matches!(payload[0], 0x00 | 0x05 | 0x6f | 0xc4)
}

/// A SegWit address (`bc1…`, testnet `tb1…`): bech32 for v0, bech32m for v1+, with a valid program length.
pub fn segwit_address_valid(value: &str) -> bool {
    bech32::segwit::decode(value)
        .is_ok_and(|(hrp, _, _)| hrp == bech32::hrp::BC || hrp == bech32::hrp::TB)
}

/// An Ethereum address (`0x` + 40 hex). All-lowercase and all-uppercase forms carry no checksum; a
/// mixed-case one must match EIP-55 (each letter uppercase where the Keccak-256 of the lowercase hex has a
/// nibble ≥ 8). Returns `None` for a failed checksum, else whether a checksum was verified.
pub fn eth_address_checked(value: &str) -> Option<bool> {
    let hex = value.strip_prefix("0x")?;
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    if !(has_upper && has_lower) {
        return Some(false);
    }
    let lower = hex.to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    let ok = hex.bytes().enumerate().all(|(i, b)| {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        !b.is_ascii_alphabetic() || b.is_ascii_uppercase() == (nibble >= 8)
    });
    ok.then_some(true)
}
