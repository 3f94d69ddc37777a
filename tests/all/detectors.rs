//! The stock detectors' rules, linked natively: positives and negatives per rule, fast enough to be many.
//! (`pii.rs` and `secrets.rs` run the same detectors as components in a bundle.)

use pii::{Detector, Entity};

fn pii_found(text: &str) -> Vec<(String, String)> {
    let detector = Detector::new(Entity::ALL);
    detector
        .detect(text)
        .into_iter()
        .map(|h| (h.category.to_string(), text[h.range].to_string()))
        .collect()
}

fn pii_has(text: &str, category: &str, value: &str) {
    let got = pii_found(text);
    assert!(
        got.contains(&(category.into(), value.into())),
        "expected {category} {value:?} in {text:?}, got {got:?}"
    );
}

fn pii_lacks(text: &str, category: &str) {
    let got = pii_found(text);
    assert!(
        got.iter().all(|(c, _)| c != category),
        "expected no {category} in {text:?}, got {got:?}"
    );
}

#[test]
fn crypto_bitcoin_addresses_need_their_checksum() {
    for a in [
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", // the genesis block's
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
    ] {
        pii_has(&format!("send it to {a}."), "CRYPTO", a);
    }
    for text in [
        "send it to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", // one letter off
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",    // bad bech32 checksum
        "commit 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLyX",    // part of a longer token
        "see 1Zk5QHPnzoRjsxp4cvsPfGvFo5qPNsLA8x",        // base58 shape, no checksum
    ] {
        pii_lacks(text, "CRYPTO");
    }
}

#[test]
fn crypto_ethereum_addresses_and_eip55() {
    pii_has(
        "wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "CRYPTO",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    );
    pii_has(
        "to: 0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
        "CRYPTO",
        "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
    );
    // A mixed-case address whose case does not match EIP-55 is a typo, not an address to report as one.
    pii_lacks("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "CRYPTO");
    // A 256-bit hash is not a 160-bit address.
    pii_lacks(
        "tx 0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b",
        "CRYPTO",
    );
}

#[test]
fn urls_with_schemes_and_www_and_their_punctuation() {
    for (text, url) in [
        (
            "see https://example.org/a/b?x=1&y=2#top.",
            "https://example.org/a/b?x=1&y=2#top",
        ),
        (
            "(docs: http://docs.example.com/guide)",
            "http://docs.example.com/guide",
        ),
        (
            "[link](https://example.com/x_(y))",
            "https://example.com/x_(y)",
        ),
        (
            "go to www.example.co.uk/path, then",
            "www.example.co.uk/path",
        ),
        (
            "endpoint=http://10.1.2.3:8080/health latency",
            "http://10.1.2.3:8080/health",
        ),
        (
            "ws: wss://stream.example.net/v1",
            "wss://stream.example.net/v1",
        ),
        ("**Url:** https://例え.jp/パス", "https://例え.jp/パス"),
    ] {
        if url.contains('例') {
            // Non-ASCII hosts are out of scope: they must at least not break the scan.
            let _ = pii_found(text);
            continue;
        }
        pii_has(text, "URL", url);
    }
    for text in [
        "version 1.2.3 of the app",
        "file config.yaml and main.rs",
        "https://",
        "git@github.com:org/repo.git",
    ] {
        pii_lacks(text, "URL");
    }
}

#[test]
fn an_email_inside_a_url_is_part_of_the_url() {
    let text = "open https://example.com/unsubscribe?email=ana@example.org now";
    let got = pii_found(text);
    assert_eq!(
        got,
        vec![(
            "URL".to_string(),
            "https://example.com/unsubscribe?email=ana@example.org".to_string()
        )]
    );
}

#[test]
fn bank_account_numbers_only_with_a_cue() {
    for (text, value) in [
        ("checking account number 340000586362", "340000586362"),
        ("bank account no. 5965035851 at Chase", "5965035851"),
        (r#"{"bank_account_number": "989532153794"}"#, "989532153794"),
        ("Acct #: 12345678901", "12345678901"),
        ("savings 000123456789", "000123456789"),
    ] {
        pii_has(text, "US_BANK_NUMBER", value);
    }
    for text in [
        "order number 340000586362",
        "aws_account_id = 123456789012",
        "ts=1788171314",
        "account number 123-456-7890-1234-5678-9",
    ] {
        pii_lacks(text, "US_BANK_NUMBER");
    }
}
