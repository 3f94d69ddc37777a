//! The stock detectors' rules, linked natively: positives and negatives per rule, fast enough to be many.
//! (`pii.rs` and `secrets.rs` run the same detectors as components in a bundle.)

use std::sync::OnceLock;

use pii::{Detector, Entity};

fn pii_found(text: &str) -> Vec<(String, String)> {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR
        .get_or_init(|| Detector::new(Entity::ALL))
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
    // A bare domain with a path, and a well-known TLD, is a URL.
    pii_has(
        "Order at shop.example.co.uk/cart today",
        "URL",
        "shop.example.co.uk/cart",
    );
    for text in [
        "version 1.2.3 of the app",
        "file config.yaml and main.rs, setup.py, README.md, run.sh",
        "built with ASP.NET and Node.js",
        "www.microsoft",
        "http://microsoft",
        "https://",
        "git@github.com:org/repo.git",
        // A host name alone is not, unless the plugin is asked (below).
        "my domains: microsoft.com google.co.il",
    ] {
        pii_lacks(text, "URL");
    }
}

#[test]
fn host_names_alone_are_urls_only_when_asked() {
    // Presidio's documented cases for bare domains, with a well-known TLD.
    let text = "my domains: microsoft.com google.co.il and config.yaml";
    let detector = Detector::new(Entity::ALL).with_bare_hosts(true);
    let found: Vec<&str> = (detector.detect(text).into_iter())
        .filter(|h| h.category == "URL")
        .map(|h| &text[h.range])
        .collect();
    assert_eq!(found, ["microsoft.com", "google.co.il"]);
}

#[test]
fn an_email_inside_a_url_is_reported_inside_it() {
    // In the path or the query, an address is reported inside the URL, as an address literal is: the URL
    // is redacted whole either way, but the finding says what it carried.
    let text = "open https://example.com/unsubscribe?email=ana@example.org now";
    assert_eq!(
        pii_found(text),
        [
            (
                "URL".to_string(),
                "https://example.com/unsubscribe?email=ana@example.org".to_string()
            ),
            ("EMAIL_ADDRESS".to_string(), "ana@example.org".to_string()),
        ]
    );
    let text = "see https://crm.example.com/contacts/ana.lima@example.org/edit";
    assert!(pii_found(text).contains(&(
        "EMAIL_ADDRESS".to_string(),
        "ana.lima@example.org".to_string()
    )));
    // Before the host, `user@` is the URL's user, not an address.
    for text in [
        "clone https://ana@example.org/repo.git",
        "fetch ftp://deploy@files.example.net/builds/",
    ] {
        let got = pii_found(text);
        assert!(got.iter().all(|(c, _)| c == "URL"), "{text}: {got:?}");
    }
}

#[test]
fn bank_account_numbers_only_with_a_cue() {
    for (text, value) in [
        ("checking account number 340000586362", "340000586362"),
        ("bank account no. 5965035851 at Chase", "5965035851"),
        (r#"{"bank_account_number": "989532153794"}"#, "989532153794"),
        ("Acct #: 12345678901", "12345678901"),
        ("savings 000123456789", "000123456789"),
        // "account" alone needs a bank's word, before the number or after it.
        (
            "Wire to account 4820193756, routing number 026009593",
            "4820193756",
        ),
        ("account 4820193756 at Chase Bank", "4820193756"),
        ("account: 31926819, sort code 60-16-13", "31926819"),
        // Other countries' bank codes say bank as well.
        ("BSB 062-000 Account 40918263", "40918263"),
        (
            "account 50100234567891 (IFSC HDFC0000123)",
            "50100234567891",
        ),
        ("Account 0123456789, BLZ 37040044", "0123456789"),
    ] {
        pii_has(text, "US_BANK_NUMBER", value);
    }
    for text in [
        "in transit: 3 parcels, account 40918263 credited points",
        "Kontor 40918263 Oslo",
    ] {
        pii_lacks(text, "US_BANK_NUMBER");
    }
    for text in [
        "order number 340000586362",
        "aws_account_id = 123456789012",
        "ts=1788171314",
        "account number 123-456-7890-1234-5678-9",
        "your account 4820193756 is locked; call support",
    ] {
        pii_lacks(text, "US_BANK_NUMBER");
    }
}

// ---- secrets --------------------------------------------------------------------------------------------

/// A deterministic stand-in for a generated token: `n` characters drawn from `alphabet`. Tokens are made at
/// run time so no credential-shaped literal sits in the repository for other scanners to trip on.
fn token(alphabet: &str, n: usize, seed: u64) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            chars[(state >> 33) as usize % chars.len()]
        })
        .collect()
}

const AN: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_AN: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LOWER_AN: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &str = "0123456789abcdef";
const URLSAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGITS: &str = "0123456789";
const BECH32: &str = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

/// One credential of each built-in rule's shape, as a provider would issue it.
fn samples() -> Vec<(&'static str, String)> {
    let t = token;
    vec![
        (
            "anthropic-api-key",
            format!("sk-ant-api03-{}AA", t(URLSAFE, 93, 1)),
        ),
        (
            "anthropic-admin-api-key",
            format!("sk-ant-admin01-{}AA", t(URLSAFE, 93, 2)),
        ),
        (
            "openai-api-key",
            format!("sk-proj-{}T3BlbkFJ{}", t(URLSAFE, 40, 3), t(URLSAFE, 40, 4)),
        ),
        ("groq-api-key", format!("gsk_{}", t(AN, 52, 5))),
        ("perplexity-api-key", format!("pplx-{}", t(AN, 48, 6))),
        ("xai-api-key", format!("xai-{}", t(AN, 80, 601))),
        (
            "openrouter-api-key",
            format!("sk-or-v1-{}", t(HEX, 64, 602)),
        ),
        (
            "langsmith-api-key",
            format!("lsv2_pt_{}_{}", t(HEX, 32, 603), t(HEX, 10, 604)),
        ),
        (
            "pinecone-api-key",
            format!("pcsk_{}_{}", t(AN, 5, 605), t(AN, 62, 606)),
        ),
        ("replicate-api-token", format!("r8_{}", t(AN, 37, 607))),
        (
            "docker-access-token",
            format!("dckr_pat_{}", t(URLSAFE, 27, 608)),
        ),
        (
            "figma-access-token",
            format!("figd_{}", t(URLSAFE, 40, 609)),
        ),
        ("supabase-access-token", format!("sbp_{}", t(HEX, 40, 610))),
        (
            "supabase-secret-key",
            format!("sb_secret_{}", t(URLSAFE, 31, 611)),
        ),
        (
            "huggingface-access-token",
            format!(
                "hf_{}",
                t(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                    34,
                    7
                )
            ),
        ),
        (
            "aws-access-token",
            format!("AKIA{}", t("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 8)),
        ),
        ("github-pat", format!("ghp_{}", t(AN, 36, 9))),
        ("github-oauth", format!("gho_{}", t(AN, 36, 10))),
        ("github-app-token", format!("ghs_{}", t(AN, 36, 11))),
        ("github-refresh-token", format!("ghr_{}", t(AN, 36, 12))),
        (
            "github-fine-grained-pat",
            format!("github_pat_{}", t(AN, 82, 13)),
        ),
        ("gitlab-pat", format!("glpat-{}", t(URLSAFE, 20, 14))),
        ("gitlab-ptt", format!("glptt-{}", t(HEX, 40, 15))),
        ("gitlab-rrt", format!("GR1348941{}", t(URLSAFE, 20, 16))),
        (
            "gitlab-runner-authentication-token",
            format!("glrt-{}", t(URLSAFE, 20, 17)),
        ),
        (
            "gitlab-deploy-token",
            format!("gldt-{}", t(URLSAFE, 20, 18)),
        ),
        (
            "slack-bot-token",
            format!(
                "xoxb-{}-{}-{}",
                t("0123456789", 12, 19),
                t("0123456789", 13, 20),
                t(AN, 24, 21)
            ),
        ),
        (
            "slack-user-token",
            format!(
                "xoxp-{}-{}-{}-{}",
                t("0123456789", 12, 22),
                t("0123456789", 12, 23),
                t("0123456789", 13, 24),
                t(HEX, 32, 25)
            ),
        ),
        (
            "slack-app-token",
            format!(
                "xapp-1-A{}-{}-{}",
                t(UPPER_AN, 10, 26),
                t("0123456789", 13, 27),
                t(HEX, 64, 28)
            ),
        ),
        ("stripe-access-token", format!("sk_live_{}", t(AN, 99, 29))),
        ("gcp-api-key", format!("AIza{}", t(URLSAFE, 35, 30))),
        (
            "gcp-oauth-client-secret",
            format!("GOCSPX-{}", t(URLSAFE, 28, 31)),
        ),
        ("twilio-api-key", format!("SK{}", t(HEX, 32, 32))),
        (
            "sendgrid-api-token",
            format!("SG.{}.{}", t(URLSAFE, 22, 33), t(URLSAFE, 43, 34)),
        ),
        (
            "sendinblue-api-token",
            format!("xkeysib-{}-{}", t(HEX, 64, 35), t(AN, 16, 36)),
        ),
        ("mailchimp-api-key", format!("{}-us21", t(HEX, 32, 37))),
        ("npm-access-token", format!("npm_{}", t(AN, 36, 38))),
        (
            "pypi-upload-token",
            format!("pypi-AgEIcHlwaS5vcmc{}", t(URLSAFE, 70, 39)),
        ),
        ("rubygems-api-token", format!("rubygems_{}", t(HEX, 48, 40))),
        (
            "clojars-api-token",
            format!("CLOJARS_{}", t(LOWER_AN, 60, 41)),
        ),
        ("shopify-access-token", format!("shpat_{}", t(HEX, 32, 42))),
        (
            "shopify-custom-access-token",
            format!("shpca_{}", t(HEX, 32, 43)),
        ),
        (
            "shopify-private-app-access-token",
            format!("shppa_{}", t(HEX, 32, 44)),
        ),
        ("shopify-shared-secret", format!("shpss_{}", t(HEX, 32, 45))),
        ("digitalocean-pat", format!("dop_v1_{}", t(HEX, 64, 46))),
        (
            "digitalocean-access-token",
            format!("doo_v1_{}", t(HEX, 64, 47)),
        ),
        (
            "digitalocean-refresh-token",
            format!("dor_v1_{}", t(HEX, 64, 48)),
        ),
        ("linear-api-key", format!("lin_api_{}", t(AN, 40, 49))),
        ("doppler-api-token", format!("dp.pt.{}", t(AN, 43, 50))),
        (
            "dynatrace-api-token",
            format!("dt0c01.{}.{}", t(UPPER_AN, 24, 51), t(UPPER_AN, 64, 52)),
        ),
        ("databricks-api-token", format!("dapi{}", t(HEX, 32, 53))),
        (
            "hashicorp-tf-api-token",
            format!("{}.atlasv1.{}", t(AN, 14, 54), t(URLSAFE, 67, 55)),
        ),
        ("vault-service-token", format!("hvs.{}", t(URLSAFE, 95, 56))),
        ("vault-batch-token", format!("hvb.{}", t(URLSAFE, 150, 57))),
        ("pulumi-api-token", format!("pul-{}", t(HEX, 40, 58))),
        (
            "postman-api-token",
            format!("PMAK-{}-{}", t(HEX, 24, 59), t(HEX, 34, 60)),
        ),
        ("grafana-api-key", format!("eyJrIjoi{}", t(AN, 80, 61))),
        ("grafana-cloud-api-token", format!("glc_{}", t(AN, 80, 62))),
        (
            "grafana-service-account-token",
            format!("glsa_{}_{}", t(AN, 32, 63), t(HEX, 8, 64)),
        ),
        (
            "new-relic-user-api-key",
            format!("NRAK-{}", t(UPPER_AN, 27, 65)),
        ),
        ("sentry-user-token", format!("sntryu_{}", t(HEX, 64, 66))),
        (
            "age-secret-key",
            format!("AGE-SECRET-KEY-1{}", t(BECH32, 58, 67)),
        ),
        ("alibaba-access-key-id", format!("LTAI{}", t(AN, 20, 68))),
        ("artifactory-api-key", format!("AKCp{}", t(AN, 69, 69))),
        (
            "atlassian-api-token",
            format!("ATATT3{}", t(URLSAFE, 186, 70)),
        ),
        ("flyio-access-token", format!("fo1_{}", t(URLSAFE, 43, 71))),
        ("frameio-api-token", format!("fio-u-{}", t(URLSAFE, 64, 72))),
        (
            "planetscale-password",
            format!("pscale_pw_{}", t(URLSAFE, 43, 73)),
        ),
        (
            "planetscale-api-token",
            format!("pscale_tkn_{}", t(URLSAFE, 43, 74)),
        ),
        ("prefect-api-token", format!("pnu_{}", t(AN, 36, 75))),
        ("readme-api-token", format!("rdme_{}", t(LOWER_AN, 70, 76))),
        (
            "scalingo-api-token",
            format!("tk-us-{}", t(URLSAFE, 48, 77)),
        ),
        (
            "shippo-api-token",
            format!("shippo_live_{}", t(HEX, 40, 78)),
        ),
        ("typeform-api-token", format!("tfp_{}", t(URLSAFE, 59, 79))),
        ("easypost-api-token", format!("EZAK{}", t(AN, 54, 80))),
        (
            "duffel-api-token",
            format!("duffel_live_{}", t(URLSAFE, 43, 81)),
        ),
        ("square-access-token", format!("EAAA{}", t(URLSAFE, 60, 82))),
        ("square-secret", format!("sq0csp-{}", t(URLSAFE, 43, 83))),
        (
            "mapbox-api-token",
            format!("sk.eyJ1Ijoi{}.{}", t(URLSAFE, 60, 84), t(URLSAFE, 22, 85)),
        ),
        (
            "heroku-api-key-v2",
            format!("HRKU-AA{}", t(URLSAFE, 58, 86)),
        ),
        (
            "1password-secret-key",
            format!(
                "A3-{}-{}-{}-{}-{}",
                t(UPPER_AN, 6, 87),
                t(UPPER_AN, 11, 88),
                t(UPPER_AN, 5, 89),
                t(UPPER_AN, 5, 90),
                t(UPPER_AN, 5, 91)
            ),
        ),
        (
            "azure-ad-client-secret",
            format!("{}8Q~{}", t(AN, 3, 92), t(URLSAFE, 34, 93)),
        ),
        ("azure-storage-account-key", format!("{}==", t(B64, 86, 94))),
        (
            "slack-webhook-url",
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                t(UPPER_AN, 8, 95),
                t(UPPER_AN, 10, 96),
                t(AN, 24, 97)
            ),
        ),
        (
            "microsoft-teams-webhook",
            format!(
                "https://contoso.webhook.office.com/webhookb2/{}@{}/IncomingWebhook/{}/{}",
                uuid(98),
                uuid(99),
                t(HEX, 32, 100),
                uuid(101)
            ),
        ),
        (
            "microsoft-teams-webhook",
            format!(
                "https://outlook.office.com/webhook/{}@{}/IncomingWebhook/{}/{}",
                uuid(202),
                uuid(203),
                t(HEX, 32, 204),
                uuid(205)
            ),
        ),
        (
            "discord-webhook-url",
            format!(
                "https://discord.com/api/webhooks/1{}/{}",
                t("0123456789", 18, 104),
                t(URLSAFE, 68, 105)
            ),
        ),
        (
            "zapier-webhook-url",
            format!(
                "https://hooks.zapier.com/hooks/catch/{}/{}/",
                t(DIGITS, 7, 2601),
                t(LOWER_AN, 7, 2602)
            ),
        ),
        (
            "firebase-cloud-messaging-server-key",
            format!(
                "AAAA{}:APA91b{}",
                t(URLSAFE, 7, 2603),
                t(URLSAFE, 134, 2604)
            ),
        ),
        (
            "telegram-bot-api-token",
            format!("{}:AA{}", t("0123456789", 10, 102), t(URLSAFE, 33, 103)),
        ),
        (
            "1password-service-account-token",
            format!("ops_eyJ{}", t(B64, 260, 400)),
        ),
        ("adobe-client-secret", format!("p8e-{}", t(AN, 32, 401))),
        (
            "airtable-personnal-access-token",
            format!("pat{}.{}", t(AN, 14, 402), t(HEX, 64, 403)),
        ),
        (
            "artifactory-reference-token",
            format!("cmVmd{}", t(AN, 59, 404)),
        ),
        (
            "authress-service-client-access-key",
            format!(
                "sc_{}.{}.acc_{}.{}",
                t(LOWER_AN, 12, 405),
                t(LOWER_AN, 5, 406),
                t(LOWER_AN, 20, 407),
                t(B64, 60, 408)
            ),
        ),
        (
            "aws-amazon-bedrock-api-key-long-lived",
            format!("ABSK{}", t(B64, 120, 409)),
        ),
        (
            "aws-amazon-bedrock-api-key-short-lived",
            format!(
                "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t{}",
                t(B64, 200, 410)
            ),
        ),
        (
            "clickhouse-cloud-api-secret-key",
            format!("4b1d{}", t(AN, 38, 411)),
        ),
        (
            "cloudflare-origin-ca-key",
            format!("v1.0-{}-{}", t(HEX, 24, 412), t(HEX, 146, 413)),
        ),
        (
            "defined-networking-api-token",
            format!("dnkey-{}-{}", t(URLSAFE, 26, 414), t(URLSAFE, 52, 415)),
        ),
        ("easypost-test-api-token", format!("EZTK{}", t(AN, 54, 416))),
        (
            "facebook-page-access-token",
            format!("EAAM{}", t(AN, 120, 417)),
        ),
        (
            "flutterwave-secret-key",
            format!("FLWSECK_TEST-{}-X", t("abcdefgh0123456789", 32, 418)),
        ),
        (
            "flutterwave-public-key",
            format!("FLWPUBK-{}-X", t("abcdefgh0123456789", 32, 419)),
        ),
        (
            "flutterwave-encryption-key",
            format!("FLWSECK_TEST{}", t("abcdefgh0123456789", 12, 420)),
        ),
        (
            "gitlab-pat-routable",
            format!("glpat-{}.01{}", t(URLSAFE, 40, 421), t(LOWER_AN, 7, 422)),
        ),
        (
            "gitlab-runner-authentication-token-routable",
            format!("glrt-t1_{}.01{}", t(URLSAFE, 40, 423), t(LOWER_AN, 7, 424)),
        ),
        (
            "gitlab-cicd-job-token",
            format!("glcbt-{}_{}", t(AN, 3, 425), t(URLSAFE, 20, 426)),
        ),
        (
            "gitlab-feature-flag-client-token",
            format!("glffct-{}", t(URLSAFE, 20, 427)),
        ),
        ("gitlab-feed-token", format!("glft-{}", t(URLSAFE, 20, 428))),
        (
            "gitlab-incoming-mail-token",
            format!("glimt-{}", t(URLSAFE, 25, 429)),
        ),
        (
            "gitlab-kubernetes-agent-token",
            format!("glagent-{}", t(URLSAFE, 50, 430)),
        ),
        (
            "gitlab-oauth-app-secret",
            format!("gloas-{}", t(URLSAFE, 64, 431)),
        ),
        (
            "gitlab-scim-token",
            format!("glsoat-{}", t(URLSAFE, 20, 432)),
        ),
        (
            "gitlab-session-cookie",
            format!("_gitlab_session={}", t(LOWER_AN, 32, 433)),
        ),
        (
            "harness-api-key",
            format!(
                "pat.{}.{}.{}",
                t(URLSAFE, 22, 434),
                t(AN, 24, 435),
                t(AN, 20, 436)
            ),
        ),
        (
            "huggingface-organization-api-token",
            format!(
                "api_org_{}",
                t(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                    34,
                    437
                )
            ),
        ),
        ("infracost-api-token", format!("ico-{}", t(AN, 32, 438))),
        (
            "intra42-client-secret",
            format!("s-s4t2ud-{}", t(HEX, 64, 439)),
        ),
        (
            "maxmind-license-key",
            format!("{}_{}_mmk", t(AN, 6, 440), t(AN, 29, 441)),
        ),
        (
            "new-relic-browser-api-token",
            format!("NRJS-{}", t(HEX, 19, 442)),
        ),
        ("new-relic-insert-key", format!("NRII-{}", t(AN, 32, 443))),
        (
            "notion-api-token",
            format!("ntn_{}{}", t("0123456789", 11, 444), t(AN, 35, 445)),
        ),
        (
            "octopus-deploy-api-key",
            format!("API-{}", t(UPPER_AN, 26, 446)),
        ),
        ("notion-api-token", format!("secret_{}", t(AN, 43, 905))),
        (
            "posthog-personal-api-key",
            format!("phx_{}", t(AN, 43, 901)),
        ),
        (
            "tailscale-key",
            format!("tskey-auth-{}-{}", t(AN, 12, 902), t(AN, 33, 903)),
        ),
        (
            "gcp-oauth-access-token",
            format!("ya29.{}", t(URLSAFE, 150, 904)),
        ),
        (
            "openshift-user-token",
            format!("sha256~{}", t(URLSAFE, 43, 447)),
        ),
        (
            "planetscale-oauth-token",
            format!("pscale_oauth_{}", t(AN, 43, 448)),
        ),
        (
            "sentry-org-token",
            format!("sntrys_eyJpYXQiO{}_{}", t(B64, 120, 449), t(B64, 43, 450)),
        ),
        (
            "settlemint-application-access-token",
            format!("sm_aat_{}", t(AN, 16, 451)),
        ),
        (
            "settlemint-personal-access-token",
            format!("sm_pat_{}", t(AN, 16, 452)),
        ),
        (
            "settlemint-service-access-token",
            format!("sm_sat_{}", t(AN, 16, 453)),
        ),
        (
            "slack-config-access-token",
            format!("xoxe.xoxp-1-{}", t(UPPER_AN, 164, 454)),
        ),
        (
            "slack-config-refresh-token",
            format!("xoxe-1-{}", t(UPPER_AN, 146, 455)),
        ),
        (
            "slack-legacy-bot-token",
            format!("xoxb-{}-{}", t("0123456789", 12, 456), t(AN, 24, 457)),
        ),
        (
            "slack-legacy-token",
            format!(
                "xoxs-{}-{}-{}-{}",
                t("0123456789", 10, 458),
                t("0123456789", 10, 459),
                t("0123456789", 12, 460),
                t(HEX, 64, 461)
            ),
        ),
        (
            "slack-legacy-workspace-token",
            format!("xoxa-2-{}", t(AN, 40, 462)),
        ),
        (
            "sourcegraph-access-token",
            format!("sgp_{}_{}", t(HEX, 16, 463), t(HEX, 40, 464)),
        ),
    ]
}

/// The providers' credentials that carry no prefix of their own: found with the provider's name in the
/// variable, the ways config files and code assign them, and not found without it.
fn keyed_samples() -> Vec<(&'static str, &'static str, String)> {
    let t = token;
    vec![
        (
            "adafruit-api-key",
            "adafruit",
            t("abcdefghijklmnopqrstuvwxyz0123456789_-", 32, 500),
        ),
        ("adobe-client-id", "adobe", t(HEX, 32, 501)),
        ("airtable-api-key", "airtable", t(LOWER_AN, 17, 502)),
        ("algolia-api-key", "algolia", t(LOWER_AN, 32, 503)),
        ("alibaba-secret-key", "alibaba", t(LOWER_AN, 30, 504)),
        ("asana-client-id", "asana", t(DIGITS, 16, 505)),
        ("asana-client-secret", "asana", t(LOWER_AN, 32, 506)),
        (
            "beamer-api-token",
            "beamer",
            format!("b_{}", t(LOWER_AN, 44, 507)),
        ),
        ("bitbucket-client-id", "bitbucket", t(LOWER_AN, 32, 508)),
        ("bitbucket-client-secret", "bitbucket", t(LOWER_AN, 64, 509)),
        ("bittrex-access-key", "bittrex", t(LOWER_AN, 32, 510)),
        ("cisco-meraki-api-key", "meraki", t(HEX, 40, 511)),
        ("cloudflare-global-api-key", "cloudflare", t(HEX, 37, 512)),
        ("cloudflare-api-key", "cloudflare", t(LOWER_AN, 40, 513)),
        ("codecov-access-token", "codecov", t(LOWER_AN, 32, 514)),
        ("cohere-api-token", "cohere", t(AN, 40, 515)),
        ("coinbase-access-token", "coinbase", t(LOWER_AN, 64, 516)),
        ("confluent-access-token", "confluent", t(LOWER_AN, 16, 517)),
        ("confluent-secret-key", "confluent", t(LOWER_AN, 64, 518)),
        (
            "contentful-delivery-api-token",
            "contentful",
            t(LOWER_AN, 43, 519),
        ),
        ("datadog-access-token", "datadog", t(LOWER_AN, 40, 520)),
        ("discord-api-token", "discord", t(HEX, 64, 521)),
        ("discord-client-id", "discord", t(DIGITS, 18, 522)),
        ("discord-client-secret", "discord", t(LOWER_AN, 32, 523)),
        ("droneci-access-token", "droneci", t(LOWER_AN, 32, 524)),
        ("dropbox-api-token", "dropbox", t(LOWER_AN, 15, 525)),
        (
            "dropbox-short-lived-api-token",
            "dropbox",
            format!("sl.{}", t(LOWER_AN, 140, 526)),
        ),
        (
            "dropbox-long-lived-api-token",
            "dropbox",
            format!(
                "{}AAAAAAAAAA{}",
                t(LOWER_AN, 11, 527),
                t(LOWER_AN, 43, 1527)
            ),
        ),
        ("etsy-access-token", "etsy", t(LOWER_AN, 24, 528)),
        ("facebook-secret", "facebook", t(HEX, 32, 529)),
        (
            "facebook-access-token",
            "facebook",
            format!("{}|{}", t(DIGITS, 15, 530), t(LOWER_AN, 30, 1530)),
        ),
        ("fastly-api-token", "fastly", t(LOWER_AN, 32, 531)),
        ("finicity-api-token", "finicity", t(HEX, 32, 532)),
        ("finicity-client-secret", "finicity", t(LOWER_AN, 20, 533)),
        ("finnhub-access-token", "finnhub", t(LOWER_AN, 20, 534)),
        ("flickr-access-token", "flickr", t(LOWER_AN, 32, 535)),
        (
            "freshbooks-access-token",
            "freshbooks",
            t(LOWER_AN, 64, 536),
        ),
        ("gitter-access-token", "gitter", t(LOWER_AN, 40, 537)),
        (
            "gocardless-api-token",
            "gocardless",
            format!("live_{}", t(LOWER_AN, 40, 538)),
        ),
        ("heroku-api-key", "heroku", uuid(539)),
        ("hubspot-api-key", "hubspot", uuid(540)),
        ("intercom-api-key", "intercom", t(LOWER_AN, 60, 541)),
        ("jfrog-api-key", "jfrog", t(LOWER_AN, 73, 542)),
        ("jfrog-identity-token", "artifactory", t(LOWER_AN, 64, 543)),
        ("kraken-access-token", "kraken", t(B64, 86, 544)),
        ("kucoin-access-token", "kucoin", t(HEX, 24, 545)),
        ("kucoin-secret-key", "kucoin", uuid(546)),
        (
            "launchdarkly-access-token",
            "launchdarkly",
            t(LOWER_AN, 40, 547),
        ),
        ("linear-client-secret", "linear", t(HEX, 32, 548)),
        ("linkedin-client-id", "linkedin", t(LOWER_AN, 14, 549)),
        ("linkedin-client-secret", "linkedin", t(LOWER_AN, 16, 550)),
        ("lob-api-key", "lob", format!("live_{}", t(HEX, 35, 551))),
        (
            "lob-pub-api-key",
            "lob",
            format!("test_pub_{}", t(HEX, 31, 552)),
        ),
        ("looker-client-id", "looker", t(LOWER_AN, 20, 553)),
        ("looker-client-secret", "looker", t(LOWER_AN, 24, 554)),
        (
            "mailgun-private-api-token",
            "mailgun",
            format!("key-{}", t(HEX, 32, 555)),
        ),
        (
            "mailgun-pub-key",
            "mailgun",
            format!("pubkey-{}", t(HEX, 32, 556)),
        ),
        (
            "mailgun-signing-key",
            "mailgun",
            format!(
                "{}-{}-{}",
                t(HEX, 32, 557),
                t(HEX, 8, 1557),
                t(HEX, 8, 2557)
            ),
        ),
        (
            "mattermost-access-token",
            "mattermost",
            t(LOWER_AN, 26, 558),
        ),
        ("messagebird-api-token", "messagebird", t(LOWER_AN, 25, 559)),
        ("messagebird-client-id", "messagebird", uuid(560)),
        ("netlify-access-token", "netlify", t(LOWER_AN, 43, 561)),
        ("new-relic-user-api-id", "newrelic", t(LOWER_AN, 64, 562)),
        ("nytimes-access-token", "nytimes", t(LOWER_AN, 32, 563)),
        ("okta-access-token", "okta", format!("00{}", t(AN, 40, 564))),
        (
            "plaid-api-token",
            "plaid",
            format!("access-sandbox-{}", uuid(565)),
        ),
        ("plaid-client-id", "plaid", t(LOWER_AN, 24, 566)),
        ("plaid-secret-key", "plaid", t(LOWER_AN, 30, 567)),
        ("privateai-api-token", "privateai", t(LOWER_AN, 32, 568)),
        ("rapidapi-access-token", "rapidapi", t(LOWER_AN, 50, 569)),
        ("sendbird-access-id", "sendbird", uuid(570)),
        ("sendbird-access-token", "sendbird", t(HEX, 40, 571)),
        ("sentry-access-token", "sentry", t(HEX, 64, 572)),
        (
            "sidekiq-secret",
            "bundle_gems__contribsys__com",
            format!("{}:{}", t(HEX, 8, 573), t(HEX, 8, 1573)),
        ),
        ("softlayer-api-key", "softlayer", t(LOWER_AN, 64, 600)),
        ("ibm-cos-hmac-secret", "ibm_cos", t(HEX, 48, 601)),
        ("cloudant-password", "cloudant", t(LOWER_AN, 64, 602)),
        ("snyk-api-token", "snyk", uuid(574)),
        (
            "sonar-api-token",
            "sonar",
            format!("squ_{}", t(LOWER_AN, 40, 575)),
        ),
        ("sourcegraph-access-token", "sourcegraph", t(HEX, 40, 576)),
        ("squarespace-access-token", "squarespace", uuid(577)),
        (
            "sumologic-access-id",
            "sumo",
            format!("su{}", t(AN, 12, 578)),
        ),
        ("sumologic-access-token", "sumo", t(LOWER_AN, 64, 579)),
        (
            "telegram-bot-api-token",
            "telegram",
            format!("{}:A{}", t(DIGITS, 7, 580), t(LOWER_AN, 34, 1580)),
        ),
        ("travisci-access-token", "travis", t(LOWER_AN, 22, 581)),
        ("twitch-api-token", "twitch", t(LOWER_AN, 30, 582)),
        ("twitter-api-key", "twitter", t(LOWER_AN, 25, 583)),
        ("twitter-access-secret", "twitter", t(LOWER_AN, 45, 584)),
        ("twitter-api-secret", "twitter", t(LOWER_AN, 50, 585)),
        (
            "twitter-access-token",
            "twitter",
            format!("{}-{}", t(DIGITS, 18, 586), t(AN, 30, 1586)),
        ),
        (
            "twitter-bearer-token",
            "twitter",
            format!("AAAAAAAAAAAAAAAAAAAAAA{}", t(AN, 90, 587)),
        ),
        (
            "yandex-access-token",
            "yandex",
            format!("t1.{}.{}", t(URLSAFE, 20, 588), t(URLSAFE, 86, 1588)),
        ),
        (
            "yandex-api-key",
            "yandex",
            format!("AQVN{}", t(URLSAFE, 36, 589)),
        ),
        (
            "yandex-aws-access-token",
            "yandex",
            format!("YC{}", t(URLSAFE, 38, 590)),
        ),
        ("zendesk-secret-key", "zendesk", t(LOWER_AN, 40, 591)),
    ]
}

#[test]
fn prefixless_provider_keys_are_found_under_the_providers_name() {
    for (rule, name, value) in keyed_samples() {
        let upper = name.to_uppercase();
        let camel = name[..1].to_uppercase() + &name[1..];
        for text in [
            format!("export {upper}_API_KEY={value}\n"),
            format!("{{\"{name}_token\": \"{value}\"}}"),
            format!("var {name}Token string = \"{value}\""),
            format!("const my{camel}Secret = '{value}';"),
            format!("<{name}Token>\n      {value}\n</{name}Token>"),
            format!("System.setProperty(\"{upper}_TOKEN\", \"{value}\")"),
            format!("{upper}_TOKEN ::= \"{value}\""),
        ] {
            let got = secrets_found(&text);
            assert!(
                got.contains(&(rule.to_string(), value.clone())),
                "rule {rule}: expected {value:?} in {text:?}, got {got:?}"
            );
        }
        let got = secrets_found(&format!("id = {value}"));
        assert!(
            got.iter().all(|(r, _)| r != rule),
            "rule {rule} without its name: {got:?}"
        );
    }
}

#[test]
fn curl_commands_carry_credentials_in_user_and_header_options() {
    for (text, rule, value) in [
        (
            "curl --cacert ca.crt -u elastic:P@ssw0rd$1 https://localhost:9200",
            "curl-auth-user",
            "elastic:P@ssw0rd$1",
        ),
        (
            "curl -s --user 'api:d2LkV78zLx!t' \\\n    https://api.mailgun.net/v3/messages",
            "curl-auth-user",
            "'api:d2LkV78zLx!t'",
        ),
        (
            "curl --user [EMAIL_ADDRESS]:pQ9wTxu4Fg https://x",
            "curl-auth-user",
            "[EMAIL_ADDRESS]:pQ9wTxu4Fg",
        ),
        (
            "curl https://api.stripe.com/v1/charges -u sk9Xq2LmT4vB7nR1wZ:",
            "curl-auth-user",
            "sk9Xq2LmT4vB7nR1wZ:",
        ),
        (
            "curl -X POST --header \"Api-Token: Sk94HG7f6KB\"",
            "curl-auth-header",
            "Sk94HG7f6KB",
        ),
        (
            "curl -H 'Token: 3fea6af1349166ea' https://x",
            "curl-auth-header",
            "3fea6af1349166ea",
        ),
    ] {
        let got = secrets_found(text);
        assert!(
            got.contains(&(rule.into(), value.into())),
            "{text:?}: {got:?}"
        );
    }
    // Variables, templates, stand-ins and plain words are not credentials (gitleaks' negative cases).
    for text in [
        "curl -i -u 'test:test'",
        "curl -u <user:password> https://test.com/endpoint",
        "curl --user neo4j:[PASSWORD] http://[IP]:7474/db/data/",
        "curl -u \"${_username}:${_password}\"",
        "curl -k -X POST -I -u \"SRVC_JENKINS:${APPID}\"",
        "curl -sL --user \"$GITHUB_USERNAME:$GITHUB_PASSWORD\" \"$GITHUB_URL\"",
        "curl -X POST --user \"$(cat ./login.txt):$(cat ./password.txt)\"",
        "curl http://127.0.0.1:5000/file --user user:pass --digest",
        "curl -H \"Authorization: Bearer XXXXXXXXXXXX\" https://x",
        "curl -H \"Authorization: Bearer $API_KEY\" https://x",
        "curl -H \"Authorization: Token **********\" https://x",
        "curl --header \"Authorization: Basic ...\" https://x",
    ] {
        assert_eq!(secrets_found(text), vec![], "{text}");
    }
}

#[test]
fn values_named_as_public_or_elided_or_typed_by_hand_are_not_secrets() {
    for text in [
        // Names that say what the value is not.
        "public_key = \"9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit\"",
        "primaryKey==B.0a6-SWc998qrkzESFKPjHBlq7X_",
        "csrf-token=Mj2qykJO5rELyHgezQ69nzUX0i3OH67V7+V4eUrLfpuyOuxmiW9rhROG/Whikle15syazJOkrjJa3U2AbhIvUw==",
        "LLM_SECRET_NAME = \"NEXUS-GPT4-API-KEY-PROD-2\"",
        "<input type=\"hidden\" name=\"authenticity_token\" value=\"7SWa-Fo1_hsC6oovfBsJFLGPUl2EhkSWPbJh\">",
        "  keyVaultToStoreSecrets: cmp2-qat-1208358310",
        "  <UserSecretsId>79a3edd0-2092-40a2-a04d-dcb46d5ca9ed</UserSecretsId>",
        // Stripe's publishable keys ship in every checkout page.
        "const publishableKey = \"pk_test_bNhLYoOP2Hez8gcG6VO0T6aE\";",
        "stripe_key: pk_live_bNhLYoOP2Hez8gcG6VO0T6aE",
        // A name going on into what follows it: no value starts inside a word.
        "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29x",
        // Elided or masked in documentation.
        "export OP_SERVICE_ACCOUNT_TOKEN=ops_eyJzaWduSW5BZGRyZXNzIjoiaHR0cHM6...",
        "\"token4\": \"xoxp-572370529330-573807301142-572331691188-####################\"",
        // Typed by hand: letters or digits in order.
        "sk-ant-api03-abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xyzAA",
        // A Windows environment variable, not a password.
        "<add key=\"ClearTextPassword\" value=\"%TestSourcePassword%\" />",
        // A PEM block with no key in it.
        "-----BEGIN PRIVATE KEY-----\nanything\n-----END PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY----------END OPENSSH PRIVATE KEY-----",
    ] {
        assert_eq!(secrets_found(text), vec![], "{text}");
    }
    // A Vault AppRole secret_id is a secret, and so is a random value between two `%`, or one under a
    // camel-case name.
    for text in [
        "secret_id = \"Zq8vK2mP9xR4tL7nW3bY6cJ1hF5gD0sA\"",
        "pw: %MFRHoJM2ewsskil%",
        "mySecretString=830eD6YqSqKMZ8PbDol0hewpVqkaAH",
    ] {
        assert!(!secrets_found(text).is_empty(), "{text}");
    }
}

#[test]
fn more_shapes_of_known_providers() {
    let body = token(B64, 120, 700);
    for (text, rule) in [
        (format!("-----BEGIN PGP PRIVATE KEY BLOCK-----\n{body}\n=8xQN\n-----END PGP PRIVATE KEY BLOCK-----"), "private-key"),
        (format!("hooks.slack.com/services/T{}/B{}/{}", token(UPPER_AN, 8, 701), token(UPPER_AN, 10, 702), token(AN, 24, 703)), "slack-webhook-url"),
        (format!("FLY_API_TOKEN=\"FlyV1 fm2_{body}\""), "flyio-access-token"),
        (format!("rk_prod_{}", token(AN, 60, 704)), "stripe-access-token"),
        (format!("xoxp-{}-{}-{}-{}", token(DIGITS, 12, 705), token(DIGITS, 13, 706), token(DIGITS, 13, 707), token(LOWER_AN, 32, 708)), "slack-user-token"),
        (format!("dt0c01.{}.{}", token(LOWER_AN, 24, 709), token(LOWER_AN, 64, 710)), "dynatrace-api-token"),
        (format!("href=\"https://demo.example.cn/dashboard?k8sToken={}\"", "eyJhbGciOiJSUzI1NiIsImtpZCI6InZ6SzVqZFNJOXZFMmxQSkhXamNBcFY4RU9FR0RvSUR5bzJIY0NwVG1zODQifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.kgwTa6t00gNC0vgr6HOvCqkDghPcW"), "jwt"),
    ] {
        let got = secrets_found(&text);
        assert!(got.iter().any(|(r, _)| r == rule), "{rule} in {text:?}: {got:?}");
    }
}

#[test]
fn discord_bot_tokens_start_with_the_bots_id_in_base64() {
    // base64("198622483471925248"), a Discord id; then a timestamp and an HMAC.
    let bot = format!(
        "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.{}",
        token(URLSAFE, 27, 710)
    );
    let got = secrets_found(&format!("DISCORD_BOT={bot}"));
    assert!(
        got.contains(&("discord-bot-token".into(), bot.clone())),
        "{got:?}"
    );
    // The same shape whose first part is not an id: base64("hello there, world!").
    let other = format!(
        "aGVsbG8gdGhlcmUsIHdvcmxkIQ.Cl2FMQ.{}",
        token(URLSAFE, 27, 711)
    );
    assert!(secrets_found(&other)
        .iter()
        .all(|(r, _)| r != "discord-bot-token"));
}

#[test]
fn a_literal_compared_with_a_credential_is_one() {
    for text in [
        "if (\"Tr0ub4dor&3xyz\" == password) {",
        "if (api_key !== \"Zq8vK2mP9xR4tL7nW3bY6cJ1hF5gD0sA\") {",
    ] {
        assert!(!secrets_found(text).is_empty(), "{text}");
    }
    assert_eq!(secrets_found("if (\"\" == password) {"), vec![]);
}

#[test]
fn a_providers_short_name_inside_another_word_is_not_the_provider() {
    for text in [
        // `sumo`, `etsy`, `okta`, `meraki` inside other words (gitleaks' own negative cases).
        "sumOfExposures = 3Kof2VffNQ0QgYIhXUPJosVlCaQKm2hfpWE6F1fT9YGY74blQBIPsrkCcf1TwKE5;",
        "SetSysctl = \"42af8nuxqbvz8yso24feh1vs\"",
        "rookTable = 0023452Lllk2KqjLBvaxANWEgTd7bqjsxjo8aZj0wd",
        "ReactNativeCameraKit: f15a5a04b0f6dc6073e6db0296e6ef2d8b8d2522",
    ] {
        assert_eq!(secrets_found(text), vec![], "{text}");
    }
}

fn uuid(seed: u64) -> String {
    let h = token(HEX, 32, seed);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn secrets_found(text: &str) -> Vec<(String, String)> {
    static DETECTOR: OnceLock<secrets::Detector> = OnceLock::new();
    DETECTOR
        .get_or_init(secrets::Detector::new)
        .detect(text)
        .into_iter()
        .map(|h| (h.rule.to_string(), text[h.range].to_string()))
        .collect()
}

/// `rule` finds each value in its text, and nothing at all in the others.
fn rule_finds(rule: &str, found: &[(&str, &str)], nothing_in: &[&str]) {
    for (text, value) in found {
        let got = secrets_found(text);
        assert!(
            got.contains(&(rule.into(), value.to_string())),
            "{text}: {got:?}"
        );
    }
    for text in nothing_in {
        assert_eq!(secrets_found(text), vec![], "{text}");
    }
}

#[test]
fn a_password_told_as_what_it_opens_then_is() {
    rule_finds(
        "password",
        &[
            ("The password for the vpn is Tr0ub4dor&3", "Tr0ub4dor&3"),
            ("password to my work account is: Xy7#kLm9q", "Xy7#kLm9q"),
            (
                "the passphrase of the backup disk is c0rrect-Horse-9",
                "c0rrect-Horse-9",
            ),
        ],
        &[
            "the password for the account is required",
            "password for the vpn is changeme123",
            "the password for each user is documented separately",
        ],
    );
}

#[test]
fn a_key_or_token_told_as_what_it_opens_then_is() {
    rule_finds(
        "generic-api-key",
        &[
            (
                "The API key for the staging server is 9fK2mQ7xL4pR8tZ1wN6vB3cY5 - don't share it",
                "9fK2mQ7xL4pR8tZ1wN6vB3cY5",
            ),
            (
                "the access token to our billing account is: eT5rW9qP2oI7uY4tR1eW8qA3",
                "eT5rW9qP2oI7uY4tR1eW8qA3",
            ),
        ],
        &[
            "the key to this design is simplicity",
            "the token for each session is regenerated every 3600 seconds",
            "the secret to good software is maintainability",
            "The API key for production is YOUR_API_KEY_HERE",
        ],
    );
}

#[test]
fn a_key_in_a_yaml_block_scalar() {
    rule_finds(
        "generic-api-key",
        &[
            (
                "apikey: |\n  Yq3Wp8Er2Ty7Ui1Op5As9Df4\n",
                "Yq3Wp8Er2Ty7Ui1Op5As9Df4",
            ),
            (
                "service:\n  client_secret: >-\n    vU8pQ3zR6tY1wX4sA7dF0gH2\n",
                "vU8pQ3zR6tY1wX4sA7dF0gH2",
            ),
        ],
        &["api_key: |\n  see the vault entry for this service\n"],
    );
}

#[test]
fn a_password_on_other_clients_command_lines() {
    rule_finds(
        "password",
        &[
            (
                "sshpass -p 'Zw5luMu57mnXm4gi' ssh root@host",
                "Zw5luMu57mnXm4gi",
            ),
            (
                "docker login -u ann -p Zw5luMu57mnXm4gi registry.example.com",
                "Zw5luMu57mnXm4gi",
            ),
            (
                "podman login --password=Zw5luMu57mnXm4gi quay.io",
                "Zw5luMu57mnXm4gi",
            ),
            (
                "redis-cli -h cache -a Zw5luMu57mnXm4gi ping",
                "Zw5luMu57mnXm4gi",
            ),
            ("export MYSQL_PWD=Zw5luMu57mnXm4gi", "Zw5luMu57mnXm4gi"),
            ("DB_PASS=Zw5luMu57mnXm4gi", "Zw5luMu57mnXm4gi"),
        ],
        &[
            "docker run -p 8080:80 nginx:1.27-alpine",
            "docker login -u ann --password-stdin < token.txt",
            "sshpass -f ~/.ssh/pass.txt ssh root@host",
            "redis-cli -a $REDIS_PASSWORD ping",
            "bypass = 2024-01-01T00:00:00Z",
        ],
    );
    // A key under an index into a config map: `app.config['SECRET_KEY'] = '…'`.
    rule_finds(
        "generic-api-key",
        &[(
            "app.config['SECRET_KEY'] = '556c1e237153dd2ad464cfad0ca708a6a9e3c6a9'",
            "556c1e237153dd2ad464cfad0ca708a6a9e3c6a9",
        )],
        &["app.config['SECRET_KEY'] = os.environ['SECRET_KEY']"],
    );
}

#[test]
fn a_key_named_by_an_xml_element() {
    rule_finds(
        "generic-api-key",
        &[(
            "<STRIPE_KEY>b6ab0553854edd3aae7ed5e15ff034d16017fbce</STRIPE_KEY>",
            "b6ab0553854edd3aae7ed5e15ff034d16017fbce",
        )],
        &[
            "<key>CFBundleIdentifier</key><string>com.example.app</string>",
            "<cacheKey>user-profile-cache-v2</cacheKey>",
        ],
    );
}

#[test]
fn a_password_in_a_basic_auth_pair() {
    rule_finds(
        "password",
        &[
            (
                "requests.get(url, auth=('ann', 'nRZ5QW8W5LUehJEJ0ymv7j4I'))",
                "nRZ5QW8W5LUehJEJ0ymv7j4I",
            ),
            (
                "s.auth = HTTPBasicAuth(\"svc\", \"Tr0ub4dor&3xQ\")",
                "Tr0ub4dor&3xQ",
            ),
        ],
        &[
            "requests.get(url, auth=('ann', os.environ['PW']))",
            "auth=('ann', 'changeme')",
        ],
    );
}

#[test]
fn a_password_tied_to_its_name_by_code_or_markup() {
    rule_finds(
        "password",
        &[
            ("<password>Vx7#qPl2-wZr9</password>", "Vx7#qPl2-wZr9"),
            (
                "<server><id>nexus</id><username>deploy</username><password>Vx7#qPl2-wZr9</password></server>",
                "Vx7#qPl2-wZr9",
            ),
            (
                r#"<entry key="db.password">Vx7#qPl2-wZr9</entry>"#,
                "Vx7#qPl2-wZr9",
            ),
            (
                r#"<property name="password">Vx7#qPl2-wZr9</property>"#,
                "Vx7#qPl2-wZr9",
            ),
            (
                r#"os.environ["DB_PASSWORD"] = "Vx7#qPl2-wZr9""#,
                "Vx7#qPl2-wZr9",
            ),
            (
                "define('DB_PASSWORD', 'Vx7#qPl2-wZr9');",
                "Vx7#qPl2-wZr9",
            ),
        ],
        &[
            "<password>${env.DEPLOY_PASSWORD}</password>",
            r#"<label for="password">Password</label>"#,
            r#"<input type="password" name="pw" value="">"#,
            "define('DB_PASSWORD', getenv('DB_PASSWORD'));",
            r#"fields = ("username", "password", "password_confirmation")"#,
            "</password>\n</server>",
        ],
    );
}

/// A password told as a model's answer or another language tells it: `is:`, `lautet`, `est`, `es`, `é`,
/// and the word for it in scripts other than Latin (whose last letter no ASCII `\b` follows).
#[test]
fn a_password_told_in_a_sentence_or_another_script() {
    let pw = "Xk9#mP2$vL8q";
    rule_finds(
        "password",
        &[
            ("I've reset it. The new password is: Xk9#mP2$vL8q", pw),
            ("Das Passwort lautet Xk9#mP2$vL8q.", pw),
            ("Le mot de passe est Xk9#mP2$vL8q", pw),
            ("La contraseña es Xk9#mP2$vL8q", pw),
            ("A senha é Xk9#mP2$vL8q", pw),
            ("La password è Xk9#mP2$vL8q", pw),
            ("Пароль: Xk9#mP2$vL8q", pw),
            ("Şifre: Xk9#mP2$vL8q", pw),
            ("Heslo je Xk9#mP2$vL8q", pw),
            ("パスワード: Xk9#mP2$vL8q", pw),
            ("密码：Xk9#mP2$vL8q", pw),
            ("密码是Xk9#mP2$vL8q", pw),
            ("비밀번호: Xk9#mP2$vL8q", pw),
        ],
        &[
            "Das Passwort ist zu kurz (mindestens 12 Zeichen).",
            "Le mot de passe est incorrect, réessayez.",
            "A senha é obrigatória e deve ter 8+ caracteres",
            "密码是必填项，长度至少8位",
            "パスワードは8文字以上で入力してください",
            "Пароль: ********",
            "Heslo je povinné a musí mít 8 znaků",
        ],
    );
}

/// `API key` in other languages, a key an instruction sets (``Set `OPENAI_API_KEY` to `…` ``), one after a
/// dash or an arrow, and one a sentence announces (`Token generated:`).
#[test]
fn a_key_named_in_another_language_or_set_by_an_instruction() {
    let key = "vhkTp3SKQOo6Cd6rvau5kHvRwMzzuVtYkwMJFrCf";
    rule_finds(
        "generic-api-key",
        &[
            (&format!("API-Schlüssel: {key}"), key),
            (&format!("Clé API : {key}"), key),
            (&format!("Clave de API: {key}"), key),
            (&format!("1. Set `OPENAI_API_KEY` to `{key}`"), key),
            (&format!("Refresh token — {key}"), key),
            (&format!("Use this key → {key}"), key),
            (&format!("access_token -> '{key}'"), key),
            (&format!("API key - {key}"), key),
            (&format!("Token generated:\n\n  {key}\n"), key),
            (
                &format!("Copy your secret now, it won't be shown again: {key}"),
                key,
            ),
        ],
        &[
            "Set the API key to your own value before running.",
            "La clave de API es obligatoria",
            "Map the api_key to environment_variable_name_2",
            "x-api-token-2b7e4f9c1d3a5b7c9e1f",
            "Token — the unit of text a model reads (about 4 chars)",
            "The key → value mapping is stored in table_v2_2024",
            "Rotate the key -> environment_variable_name_2",
            "The key takeaway from the meeting: implementation_details_v2_final",
            "Token count so far: 12345678901234567890123",
            "The secret ingredient, she said: cinnamon-and-nutmeg-2024",
        ],
    );
}

/// A type declared between the name and the value, as Rust, Python, TypeScript, Kotlin and Go write it.
#[test]
fn a_credential_after_a_declared_type() {
    rule_finds(
        "password",
        &[
            (r#"const PASSWORD: &str = "Xk9#mP2$vL8q";"#, "Xk9#mP2$vL8q"),
            (r#"val password: String = "Xk9#mP2$vL8q""#, "Xk9#mP2$vL8q"),
            (r#"password: str = "Xk9#mP2$vL8q""#, "Xk9#mP2$vL8q"),
        ],
        &[
            "password: str = os.environ['PW']",
            "password: String = readLine()!!",
            r#"const PASSWORD: &str = env!("APP_PASSWORD");"#,
        ],
    );
    rule_finds(
        "generic-api-key",
        &[
            (
                r#"static API_KEY: &'static str = "aB3dE5gH7jK9mN1pQ3sT";"#,
                "aB3dE5gH7jK9mN1pQ3sT",
            ),
            (
                "let apiToken: string = 'aB3dE5gH7jK9mN1pQ3sT';",
                "aB3dE5gH7jK9mN1pQ3sT",
            ),
            (
                r#"var apiToken string = "aB3dE5gH7jK9mN1pQ3sT""#,
                "aB3dE5gH7jK9mN1pQ3sT",
            ),
        ],
        &[
            "let token: string = await getToken(user123);",
            "api_key: str = Field(..., description='your key')",
        ],
    );
}

/// `the key is …` in a sentence: the value still needs a generated token's letters, digits and entropy.
#[test]
fn a_key_told_in_a_sentence() {
    rule_finds(
        "generic-api-key",
        &[
            (
                "the key is 38AibNyyurlGFb0EkjKWREhbiGjlvhkT, keep it safe",
                "38AibNyyurlGFb0EkjKWREhbiGjlvhkT",
            ),
            (
                "The license key is aB3dE5gH7jK9mN1pQ3sT",
                "aB3dE5gH7jK9mN1pQ3sT",
            ),
        ],
        &[
            "The key is understanding your users first.",
            "the primary key is customer_id_2024_v2",
            "the cache key is user_profile_v2_123456",
            "The key is SHA256:9f86d081884c7d659a2f",
            "the sort key is created_at_20240101",
            "The partition key is /tenantId/region1",
        ],
    );
}

#[test]
fn a_password_under_its_label_or_column_or_in_another_language() {
    rule_finds(
        "password",
        &[
            ("Username\nadmin\nPassword\nVx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            ("user,password\nadmin,Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            (
                "user;password;role\nann;Vx7#qPl2-wZr9;admin\nbob;Hk9$mZp4!qLw;dev",
                "Hk9$mZp4!qLw",
            ),
            (
                "| user | password |\n|---|---|\n| admin | Vx7#qPl2-wZr9 |",
                "Vx7#qPl2-wZr9",
            ),
            (
                "\"user\",\"DB Password\"\n\"ann\",\"Hk9$mZp4!qLw\"",
                "Hk9$mZp4!qLw",
            ),
            ("användare;lösenord\nann;Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            ("Temporary password - Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            ("Passwort: Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            ("Mot de passe : Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            ("contraseña: Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            ("senha: Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            ("passcode Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
        ],
        &[
            // Columns whose header only starts with the word, and the words in sentences.
            "id,user,password_changed_at\n1,ann,2026-12-07T10:00:00Z",
            "name,password_policy\nprod,MinLen=12;Upper=1",
            "| Step | Passenger | Seat |\n|---|---|---|\n| 1 | A.Lee-Smith | 12A |",
            "| setting | pass/fail |\n|---|---|\n| TLS-1.2 | PASS |",
            "username,password\nann,${ANN_PASSWORD}",
            "Password\nForgot your password?",
            "Contraseña incorrecta - inténtelo de nuevo.",
            "password - see 1Password vault item 'DB prod'",
        ],
    );
}

/// A column of test results (`pass` on every row) is not a table of passwords: only a header starts the
/// walk down a column, and the walk ends with its table. When every row that held the word walked the rest of the table again, 20,000 rows
/// took `secrets` past its 250 ms budget and the default bundle denied the exchange.
#[test]
fn a_long_table_of_passes_is_read_once() {
    let rows: String = (0..20_000)
        .map(|i| format!("{i},test_case_{i},pass,{}ms\n", i * 7))
        .collect();
    let text = format!("id,name,result,duration\n{rows}");
    let v = crate::util::run(crate::util::default_bundle(), &text);
    assert!(v.failures.is_empty(), "{:?}", v.failures);
    assert_eq!(v.findings, vec![]);
    // Every line a table's first (each has another number of commas than the line above): a walk ends
    // where its table does, not at the first line without a comma.
    let text: String = (0..5_000)
        .map(|i| match i % 2 {
            0 => format!("a,b,pass,{i}\n"),
            _ => format!("a,b,c,pass,{i}\n"),
        })
        .collect();
    let v = crate::util::run(crate::util::default_bundle(), &text);
    assert!(v.failures.is_empty(), "{:?}", v.failures);
}

#[test]
fn a_user_and_password_pair_and_a_session_cookie() {
    rule_finds(
        "password",
        &[
            ("creds -> admin / Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            ("login: ann / Vx7#qPl2-wZr9", "Vx7#qPl2-wZr9"),
            (
                "Username/Password: svc_backup / Vx7#qPl2-wZr9",
                "Vx7#qPl2-wZr9",
            ),
        ],
        &[
            "login: ann / logout: bob",
            "credentials: see vault / ask ops",
            "Users / Logins / 2026 report",
        ],
    );
    rule_finds(
        "generic-api-key",
        &[
            (
                "Cookie: connect.sid=s%3AJb7kQ2mZxV9pL4wR8tY1uN6cE3hG5fD0; theme=dark",
                "s%3AJb7kQ2mZxV9pL4wR8tY1uN6cE3hG5fD0",
            ),
            (
                "Set-Cookie: sessionid=Qm7vT2xK9pLw4RzN8cYb3HsD6fJ1gUaE; Path=/; Secure",
                "Qm7vT2xK9pLw4RzN8cYb3HsD6fJ1gUaE",
            ),
        ],
        &[
            "Cookie: theme=dark; lang=en-US; consent=accepted",
            "Set-Cookie: sessionid=deleted; expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "Cookie: session_count=12; _ga=GA1.2.1234567890.1700000000",
        ],
    );
}

#[test]
fn a_salt_or_pepper_with_a_generated_value() {
    rule_finds(
        "generic-api-key",
        &[
            ("SALT=q8Zr2vKx9LmN4pTw7YbC", "q8Zr2vKx9LmN4pTw7YbC"),
            ("HASH_SALT='Rb7Nq2Lx9Wm4Kp8Zt3Vc'", "Rb7Nq2Lx9Wm4Kp8Zt3Vc"),
            ("PEPPER = \"Xk29vLpQ7rTz84MnWb3s\"", "Xk29vLpQ7rTz84MnWb3s"),
            (
                "app.security.pepper=Xk29vLpQ7rTz84MnWb3s",
                "Xk29vLpQ7rTz84MnWb3s",
            ),
            (
                "\"salt_key\": \"$2b$12$R9h7cIPz0gi.URNNX3kh2O\"",
                "$2b$12$R9h7cIPz0gi.URNNX3kh2O",
            ),
        ],
        &[
            "Add salt = 2 tsp and pepper to taste.",
            "salt: sea salt, flaky",
            "SALT_ROUNDS=12",
            "pepper: freshly-ground-black-pepper",
            "salt_length = 16; pepper_id = 4f2a9c7e1b3d5f8a",
        ],
    );
}

#[test]
fn a_password_on_a_system_tools_command_line() {
    rule_finds(
        "password",
        &[
            ("net user administrator Zq8#mL2v!Rt5 /add", "Zq8#mL2v!Rt5"),
            ("C:\\> net user svc_backup Zq8#mL2v!Rt5", "Zq8#mL2v!Rt5"),
            ("echo 'Zq8#mL2v!Rt5' | sudo -S apt update", "Zq8#mL2v!Rt5"),
            (
                "$pw = ConvertTo-SecureString 'Zq8#mL2v!Rt5' -AsPlainText -Force",
                "Zq8#mL2v!Rt5",
            ),
            ("htpasswd -nb admin Zq8#mL2v!Rt5 >> users", "Zq8#mL2v!Rt5"),
            (
                "htpasswd -B -c -b /etc/nginx/.htpasswd admin Zq8#mL2v!Rt5",
                "Zq8#mL2v!Rt5",
            ),
        ],
        &[
            "net user administrator /active:yes",
            "net user ann * /add",
            "net user Administrator",
            "echo 'Deployment complete' | tee log.txt",
            "echo Restarting | sudo -S true",
            "echo $PASSWORD | sudo -S apt update",
            "ConvertTo-SecureString $env:PASS -AsPlainText -Force",
            "htpasswd -b .htpasswd admin $NEWPASS",
            "htpasswd -c .htpasswd admin",
        ],
    );
}

/// A model's answer wraps labels in markup: the password after them is still one.
#[test]
fn a_password_under_markdown_or_html_emphasis() {
    rule_finds(
        "password",
        &[
            ("**Password:** `Zq8#mL2v!Rt5`", "Zq8#mL2v!Rt5"),
            ("<b>Password</b>: Zq8#mL2v!Rt5", "Zq8#mL2v!Rt5"),
            ("__Password__: Zq8#mL2v!Rt5", "Zq8#mL2v!Rt5"),
            ("🔑 password → Zq8#mL2v!Rt5", "Zq8#mL2v!Rt5"),
        ],
        &[
            "**Password:** must be at least 12 characters",
            "<b>Password</b>: required field",
            "password → reset link sent to your inbox",
            "**Password:** `<your-password>`",
            "$this->password = $hasher->make($plain);",
        ],
    );
}

#[test]
fn a_key_under_markdown_or_html_emphasis() {
    rule_finds(
        "generic-api-key",
        &[
            (
                "**API key:** `Xk29vLpQ7rTz84MnWb3sRb7Nq2Lx`",
                "Xk29vLpQ7rTz84MnWb3sRb7Nq2Lx",
            ),
            (
                "<b>Secret</b>: Xk29vLpQ7rTz84MnWb3sRb7Nq2Lx",
                "Xk29vLpQ7rTz84MnWb3sRb7Nq2Lx",
            ),
            (
                "| **Token** | `Xk29vLpQ7rTz84MnWb3sRb7Nq2Lx` |",
                "Xk29vLpQ7rTz84MnWb3sRb7Nq2Lx",
            ),
            (
                "- __client_secret__: Xk29vLpQ7rTz84MnWb3sRb7Nq2Lx",
                "Xk29vLpQ7rTz84MnWb3sRb7Nq2Lx",
            ),
        ],
        &[
            "**API key:** `YOUR_API_KEY`",
            "| **Token** | `<token>` |",
            "- __client_secret__: ${CLIENT_SECRET}",
            // Words and a number are a name, however they are joined.
            "| **Token** | expires_in_seconds_3600 |",
            "token: retry-after-seconds-120",
        ],
    );
}

#[test]
fn a_key_in_a_markdown_table_row() {
    rule_finds(
        "generic-api-key",
        &[(
            "| api_key | nRZ5QW8W5LUehJEJ0ymv7j4IAsx9CGyu |",
            "nRZ5QW8W5LUehJEJ0ymv7j4IAsx9CGyu",
        )],
        &[
            "| api_key | string | Your API key from the dashboard |",
            "| token | required | see authentication_overview_v2 |",
        ],
    );
}

#[test]
fn a_password_glued_to_mysqls_dash_p() {
    rule_finds(
        "password",
        &[
            (
                "mysql -u root -pS3cr3tPassw0rd! -h db.internal",
                "S3cr3tPassw0rd!",
            ),
            (
                "mysqldump -h db -u backup -pXk29#fLq7v shop > shop.sql",
                "Xk29#fLq7v",
            ),
        ],
        &[
            "mysql -u root -p shop",          // prompts for it
            "mysql -h db -P3306 -u app -p",   // the port
            "cp -pR /srv/mysql /backup/Xk29", // another command's -p
        ],
    );
}

/// detect-secrets' spellings of a SoftLayer key — short `sl` names, a command-line flag, the SOAP URL — and
/// GitLab tokens at the lengths detect-secrets accepts beyond the ones GitLab documents.
#[test]
fn softlayer_keys_and_gitlab_tokens_as_detect_secrets_writes_them() {
    let key = "k3v9q2m7x1c8b4n6z0l5j2h8g7f1d3s9a6p4o2i8u7y5t3r1e9w0q2m4n6b8v0c2";
    for text in [
        format!("sl_key= {key}"),
        format!("SLAPIKEY : {key}"),
        format!("sl-api-key:\"{key}\""),
        format!("sl_pass=\"{key}\""),
        format!("--softlayer-api-key \"{key}\""),
        format!("--softlayer-api-key {key}"),
        format!("http://api.softlayer.com/soap/v3.1/{key}"),
    ] {
        let got = secrets_found(&text);
        assert!(
            got.iter()
                .any(|(r, v)| r == "softlayer-api-key" && v == key),
            "{text}: {got:?}"
        );
    }
    // A command line's space ties a name to a value, but the value must still be the provider's shape.
    assert_eq!(secrets_found("--softlayer-api-key $SL_KEY"), vec![]);

    for (rule, token) in [
        (
            "gitlab-scim-token",
            "glsoat-Xk29fLq_7vPz3WmR8tNb4YcH2jDs6KaE1uGo",
        ),
        ("gitlab-rrt", "GR1348941Xk29fLq_7vPz3WmR8tNb4YcH2jDs"),
        ("gitlab-cicd-job-token", "glcbt-Xk29fLq_7vPz3WmR8tNb"),
        (
            "gitlab-ptt",
            "glptt-Xk29fLq_7vPz3WmR8tNb4YcH2jDs6KaE1uGo9eQ2",
        ),
        (
            "gitlab-kubernetes-agent-token",
            "glagent-Xk29fLq_7vPz3WmR8tNb4YcH2jDs6KaE1uGo9eXk29fLq_7vPz3WmR8tNb",
        ),
    ] {
        let got = secrets_found(&format!("token: {token}"));
        assert!(
            got.contains(&(rule.into(), token.into())),
            "{token}: {got:?}"
        );
    }
    // One character past the longest detect-secrets takes is not the token (nor a shorter one inside it).
    let long = format!(
        "GR1348941{}",
        "Xk29fLq_7vPz3WmR8tNb4YcH2jDs6KaE1uGo9eXk29fLq_7vPz3"
    );
    assert!(
        secrets_found(&long).iter().all(|(r, _)| r != "gitlab-rrt"),
        "{long}"
    );
}

#[test]
fn every_provider_rule_finds_its_own_shape_in_common_settings() {
    let samples = samples();
    for (rule, value) in &samples {
        // How credentials show up in prompts: an env file, JSON, a sentence, a shell line.
        let settings = if *rule == "azure-storage-account-key" {
            vec![format!("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={value};EndpointSuffix=core.windows.net")]
        } else {
            vec![
                format!("export TOKEN={value}\n"),
                format!("{{\"credential\": \"{value}\"}}"),
                format!("It fails with {value} — any idea?"),
            ]
        };
        for text in settings {
            let got = secrets_found(&text);
            assert!(
                got.iter().any(|(r, v)| r == rule && v == value),
                "rule {rule}: expected {value:?} in {text:?}, got {got:?}"
            );
        }
    }
    // Every built-in rule has a sample here, except those with tests of their own below.
    let tested: Vec<&str> = samples.iter().map(|(r, _)| *r).collect();
    let own_tests = [
        "private-key",
        "connection-string",
        "url-password",
        "jwt",
        "aws-secret-access-key",
        "basic-auth-header",
        "generic-api-key",
        "password",
        "curl-auth-user",
        "curl-auth-header",
        "discord-bot-token",
    ];
    let keyed: Vec<&str> = keyed_samples().iter().map(|(r, _, _)| *r).collect();
    for id in secrets::Detector::builtin_ids() {
        assert!(
            tested.contains(&id.as_str())
                || keyed.contains(&id.as_str())
                || own_tests.contains(&id.as_str()),
            "rule {id} has no sample in this test"
        );
    }
    assert!(secrets::Detector::builtin_ids().len() >= 80);
}

/// A webhook URL is its own credential: the default bundle's pii leaves each provider's to secrets, which
/// cuts it out of an answer whole, as a secret rather than a `[URL]`.
#[test]
fn every_webhook_url_is_a_secret_in_the_default_bundle() {
    let webhooks: Vec<_> = (samples().into_iter())
        .filter(|(rule, _)| rule.contains("webhook"))
        .collect();
    assert!(webhooks.len() >= 5, "{webhooks:?}");
    for (rule, url) in webhooks {
        let text = format!("post it to {url} now");
        let answer = crate::util::run_dir(
            crate::util::default_bundle(),
            &text,
            palisade::chain::Dir::Output,
        );
        assert_eq!(answer.text, "post it to [SECRET] now", "{rule}");
    }
}

/// The keyword prefilter only skips work: on every text it gives what running every rule gives. The texts:
/// each rule's samples in several settings and letter cases, key names spelled with the two non-ASCII
/// letters `(?i)` folds to ASCII (`ſ`, the Kelvin sign), the fixed texts of this file's other secrets
/// tests, and the labelled corpus when it is beside the repository.
#[test]
fn the_keyword_prefilter_changes_no_answer() {
    let detector = secrets::Detector::new();
    let mut texts = Vec::new();
    for (_, value) in samples() {
        for text in [
            format!("export TOKEN={value}\n"),
            format!("{{\"credential\": \"{value}\"}}"),
            format!("AccountKey={value}; aws_secret_access_key = {value}"),
            format!("password: {value}"),
            format!("we use {value} as the API key"),
        ] {
            texts.push(text.to_uppercase());
            texts.push(text.to_lowercase());
            texts.push(text.replace("s", "\u{17F}").replace("k", "\u{212A}"));
            texts.push(text);
        }
    }
    texts.extend(
        [
            "pa\u{17F}\u{17F}word = Tr0ub4dor&3xyzzy",
            "api_\u{212A}ey = \"Zq8vK2mP9xR4tL7nW3bY6cJ1hF5gD0sA\"",
            "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "postgres://app:s3cr3t-Pa55@db.internal:5432/orders",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1 is the bot",
        ]
        .map(String::from),
    );
    texts.extend(crate::util::dev_corpus_texts());
    let found = |hits: Vec<secrets::Hit>| -> Vec<(String, std::ops::Range<usize>)> {
        hits.into_iter()
            .map(|h| (h.rule.to_string(), h.range))
            .collect()
    };
    let mut with_hits = 0;
    for text in &texts {
        let expected = found(detector.detect_without_prefilter(text));
        assert_eq!(found(detector.detect(text)), expected, "in {text:?}");
        with_hits += usize::from(!expected.is_empty());
    }
    // The comparison means something only if many texts hold credentials.
    assert!(
        with_hits > texts.len() / 3,
        "{with_hits} of {}",
        texts.len()
    );
}

#[test]
fn provider_shapes_filled_with_placeholders_are_not_secrets() {
    for text in [
        "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "sk_live_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "npm_000000000000000000000000000000000000",
        "SK00000000000000000000000000000000",
        "dapiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "xoxb-your-token-here",
        "hf_YOUR_TOKEN_HERE",
        "SG.your_sendgrid_api_key.here",
    ] {
        assert_eq!(secrets_found(text), vec![], "{text}");
    }
}

#[test]
fn basic_auth_headers_must_decode_to_user_and_password() {
    // base64("svc-deploy:Tr0ub4dor&3xyz")
    let good = "c3ZjLWRlcGxveTpUcjB1YjRkb3ImM3h5eg==";
    let got = secrets_found(&format!("curl -H 'Authorization: Basic {good}' https://x"));
    assert!(
        got.contains(&("basic-auth-header".into(), good.into())),
        "{got:?}"
    );
    // base64("just some text"): no colon, no credential.
    assert_eq!(
        secrets_found("Authorization: Basic anVzdCBzb21lIHRleHQ="),
        vec![]
    );
}

#[test]
fn generic_rule_reads_the_key_name_on_either_side() {
    let value = token(AN, 32, 200);
    for text in [
        format!("api_key = \"{value}\""),
        format!("we use {value} as the API key in prod"),
        format!("{value} is our staging token"),
        format!("client_secret: {value}"),
        // gitleaks' own generic-rule true positive shape: a JSON key with spaces around the colon.
        format!("\"client_secret\" : \"{value}\","),
    ] {
        let got = secrets_found(&text);
        assert!(
            got.contains(&("generic-api-key".into(), value.clone())),
            "{text:?}: {got:?}"
        );
    }
    // gitleaks' documented generic false positives: references, booleans, file paths, dotted names.
    for text in [
        "password = \"${DB_PASSWORD}\"",
        "api_key = os.environ[\"OPENAI_API_KEY\"]",
        "token: {{ .Values.apiToken }}",
        "secret_key_base = <%= ENV[\"SECRET_KEY_BASE\"] %>",
        "auth_token: true",
        "access_token = config.services.payments.accessToken",
        "private_token_path = /etc/palisade/tokens/ci.token",
        "we use the same approach as the API key rotation doc",
        // From gitleaks' own generic-rule false positives.
        "client_vpn_endpoint_id = aws_ec2_client_vpn_endpoint.client-vpn-endpoint.id",
        "password combination.\n\nR5: Regulatory--21",
    ] {
        assert_eq!(secrets_found(text), vec![], "{text}");
    }
}

#[test]
fn custom_and_disabled_rules() {
    let custom = secrets::CustomRule {
        id: "acme-internal".into(),
        description: "ACME internal token".into(),
        pattern: regex::Regex::new(r"\bacme_(?P<secret>[A-Za-z0-9]{24})\b").unwrap(),
        confidence: 0.9,
        min_entropy: 3.0,
    };
    let value = token(AN, 24, 300);
    let text = format!("ACME=acme_{value} and ghp_{}", token(AN, 36, 301));
    let detector = secrets::Detector::new()
        .without(&["github-pat".into()])
        .with_custom(vec![custom]);
    let got: Vec<(String, String)> = detector
        .detect(&text)
        .into_iter()
        .map(|h| (h.rule.to_string(), text[h.range].to_string()))
        .collect();
    assert_eq!(got, vec![("acme-internal".to_string(), value)]);
}

#[test]
fn cards_of_every_major_network_and_presidios_documented_cases() {
    for card in [
        "4012888888881881",    // Visa
        "4012-8888-8888-1881", // Visa, dashed
        "4917300800000000",    // Visa Electron
        "5555555555554444",    // Mastercard
        "2223000048400011",    // Mastercard 2-series
        "371449635398431",     // Amex
        "30569309025904",      // Diners
        "6011000400000000",    // Discover
        "3528000700000000",    // JCB
        "6759649826438453",    // Maestro
        "5019717010103742",    // Dankort
        "6200000000000005",    // UnionPay
        "122000000000003",     // UATP (AirPlus)
        "2200000000000004",    // Mir
        "8200000000000001",    // RuPay's 82
        "9792000000000003",    // Troy
        // What card generators (Faker, FakeNameGenerator) write: JCB's whole `35`, its 15-digit 2131 and
        // 1800, Maestro's twelve-digit 0604.
        "3500000000000009",
        "213100000000001",
        "180000000000002",
        "060417590258",
        "6887789328792174", // Maestro's 68 (Faker's Russian cards)
    ] {
        pii_has(&format!("card {card} on file"), "CREDIT_CARD", card);
    }
    for text in [
        "card 4012-8888-8888-1882", // Luhn fails
        "card 36168002586008",      // Diners shape, Luhn fails
        "card 9999 9999 9999 9995", // no such network
    ] {
        pii_lacks(text, "CREDIT_CARD");
    }
}

/// Groups of four split by dots, slashes or spaced dashes, or by spaces doubled the way forms and PDFs pad
/// them, are a card too; the grouping rules that keep other numbers out hold for them as for dashes.
#[test]
fn cards_written_with_dots_or_doubled_spaces() {
    pii_has(
        "my mastercard is 5425.5774.6370.6435",
        "CREDIT_CARD",
        "5425.5774.6370.6435",
    );
    pii_has(
        "Card number 4539 - 6209 - 6654 - 2877 exp 04/29",
        "CREDIT_CARD",
        "4539 - 6209 - 6654 - 2877",
    );
    pii_has(
        "card 4539/6209/6654/2877, exp 04/29",
        "CREDIT_CARD",
        "4539/6209/6654/2877",
    );
    pii_has(
        "Card:  4012  8888  8888  1881",
        "CREDIT_CARD",
        "4012  8888  8888  1881",
    );
    pii_has(
        "card no. 4929.1234.5678.9015.",
        "CREDIT_CARD",
        "4929.1234.5678.9015",
    );
    for text in [
        "total 5.425.577.463.706.435",  // thousands, not groups of four
        "card 5425.5774.6370.6436",     // Luhn fails
        "v4012.8888.8888.1881",         // glued to a word
        "card 4012.8888-8888.1881",     // separators mixed
        "card 4012 - 8888-8888 - 1881", // spaced and unspaced dashes mixed
        "card 4012/8888 8888/1881",     // slashes and spaces mixed
        "card 4539/6209/6654/2878",     // Luhn fails
        "path 4539/6209/6654/2877/1",   // a longer path of numbers
        "build 4012.8888.8888.1881.7",  // a longer dotted number
    ] {
        pii_lacks(text, "CREDIT_CARD");
    }
}

#[test]
fn private_keys_in_pem_and_openssh_form() {
    for kind in [
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
    ] {
        let key = format!(
            "-----BEGIN {kind}-----\n{}\n{}\n-----END {kind}-----",
            token(B64, 64, 400),
            token(B64, 40, 401)
        );
        let got = secrets_found(&format!("here:\n{key}\nthanks"));
        assert_eq!(got, vec![("private-key".to_string(), key)], "{kind}");
    }
    // A public key is not a secret.
    assert_eq!(
        secrets_found(&format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            token(B64, 64, 402)
        )),
        vec![]
    );
}

/// A PEM private key encoded in base64 whole, as a kubeconfig's `client-key-data` or a Kubernetes
/// secret's `tls.key` holds it; a certificate so encoded is not a secret.
#[test]
fn private_keys_in_base64_as_kubernetes_holds_them() {
    use base64::Engine as _;
    let encode = |kind: &str, seed| {
        let pem = format!(
            "-----BEGIN {kind}-----\n{}\n{}\n-----END {kind}-----\n",
            token(B64, 64, seed),
            token(B64, 64, seed + 1)
        );
        base64::engine::general_purpose::STANDARD.encode(pem)
    };
    for kind in [
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
    ] {
        let key = encode(kind, 420);
        let text = format!("users:\n- name: admin\n  user:\n    client-key-data: {key}\n");
        assert_eq!(
            secrets_found(&text),
            vec![("private-key".to_string(), key)],
            "{kind}"
        );
    }
    let certificate = encode("CERTIFICATE", 430);
    assert_eq!(
        secrets_found(&format!("    client-certificate-data: {certificate}\n")),
        vec![]
    );
}

/// A Terraform variable whose name says credential, with a generated or password-like default.
#[test]
fn a_credential_as_a_terraform_variables_default() {
    rule_finds(
        "generic-api-key",
        &[(
            "variable \"api_token\" {\n  type      = string\n  sensitive = true\n  default   = \"38AibNyyurlGFb0EkjKWREhbiGjlvhkT\"\n}",
            "38AibNyyurlGFb0EkjKWREhbiGjlvhkT",
        )],
        &[
            "variable \"api_token\" {\n  type = string\n}",
            "variable \"key_vault_id\" {\n  default = \"kv-3f9a2b1c4d5e6f70\"\n}",
            "variable \"region\" {\n  default = \"us-east-1\"\n}",
        ],
    );
}

/// Redis's `requirepass` and `masterauth` directives hold its password.
#[test]
fn a_password_in_redis_configuration() {
    rule_finds(
        "password",
        &[
            ("requirepass Qm7#vX2pL9zR", "Qm7#vX2pL9zR"),
            ("masterauth Qm7#vX2pL9zR\n", "Qm7#vX2pL9zR"),
        ],
        &["# requirepass foobared", "masterauth <master-password>"],
    );
}

/// PuTTY's key files (`.ppk`), as written and JSON-escaped; a file cut off before its private lines, or
/// with too little under them, is not a key.
#[test]
fn private_keys_in_puttys_own_format() {
    let key = format!(
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20241107\n\
         Public-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAI{}\n{}\nPrivate-Lines: 1\nAAAAI{}\nPrivate-MAC: {}",
        token(B64, 40, 410),
        token(B64, 20, 411),
        token(B64, 43, 412),
        token(HEX, 64, 413)
    );
    assert_eq!(
        secrets_found(&format!("my key:\n{key}\nthanks")),
        vec![("private-key".to_string(), key.clone())]
    );
    let escaped = key.replace('\n', "\\n");
    assert_eq!(
        secrets_found(&format!(r#"{{"ppk": "{escaped}"}}"#)),
        vec![("private-key".to_string(), escaped)]
    );
    let public_only = key[..key.find("\nPrivate-Lines").unwrap()].to_string();
    let too_short = format!("{public_only}\nPrivate-Lines: 1\nAAAAIabc");
    for text in [public_only, too_short] {
        assert_eq!(secrets_found(&text), vec![], "{text}");
    }
}

/// A number in a phone number's shape right after an order's, a ticket's or an account's label is that
/// identifier; after a phone word, or `caller id`, it is still a phone number. The same for NHS numbers
/// and SSNs with no word naming them.
#[test]
fn phone_shaped_identifiers_after_their_labels() {
    for text in [
        "Our order number 415-555-0132.",
        "Ticket #0212 061 0524 was closed",
        "account id (674) 954-4099",
        r#"{"order": "669.374.0544"}"#,
        "PO no. +34 906 781 8513",
        "tracking: 076-8117-3206",
    ] {
        pii_lacks(text, "PHONE_NUMBER");
    }
    for (text, phone) in [
        ("phone no. 415-555-0132", "415-555-0132"),
        ("Caller ID: (674) 954-4099", "(674) 954-4099"),
        (
            "questions about your order? call 415-555-0132",
            "415-555-0132",
        ),
        ("order line 0212 061 0524", "0212 061 0524"),
    ] {
        pii_has(text, "PHONE_NUMBER", phone);
    }
    // An NHS number's or an SSN's shape too, unless something names it one.
    pii_lacks("Our request 774 035 3388.", "UK_NHS");
    pii_has("request for patient 774 035 3388", "UK_NHS", "774 035 3388");
    pii_lacks("Our claim 219-90-1960 was approved", "US_SSN");
    pii_has("the SSN on the claim 219-90-1960", "US_SSN", "219-90-1960");
    pii_has("Employee 219-90-1960", "US_SSN", "219-90-1960");
}

#[test]
fn phone_numbers_in_e164_with_and_without_separators() {
    for (text, phone) in [
        ("call +14155550132 now", "+14155550132"),
        ("call +1 415 555 0132 now", "+1 415 555 0132"),
        ("whatsapp +4915112345678", "+4915112345678"),
        ("tel: +33 1 23 45 67 89", "+33 1 23 45 67 89"),
        ("ring +44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
        ("mobile +81-90-1234-5678", "+81-90-1234-5678"),
    ] {
        pii_has(text, "PHONE_NUMBER", phone);
    }
    for text in ["build +1234", "score +12", "version 2.4.1+15551234"] {
        pii_lacks(text, "PHONE_NUMBER");
    }
}

#[test]
fn national_phone_formats_and_toll_free_numbers() {
    for (text, phone) in [
        ("call 1-800-555-0199 today", "1-800-555-0199"),
        ("appelez le 01 23 45 67 89", "01 23 45 67 89"),
        ("portable 06.12.34.56.78", "06.12.34.56.78"),
        ("Tel. 030 12345678", "030 12345678"),
    ] {
        pii_has(text, "PHONE_NUMBER", phone);
    }
    pii_lacks("order 21-800-555-0199", "PHONE_NUMBER");
}

/// Two numbers side by side, each written with dashes, dots or brackets, are two values: a space joins a
/// neighbour's digits only to a spaced number (`415 555 0132` may be the middle of a longer one), and a
/// number that starts with `+`, or with `(` after more than a trunk prefix's three digits, starts afresh.
#[test]
fn numbers_side_by_side_are_each_found() {
    for (text, category, value) in [
        ("415-555-0132 212-555-0187", "PHONE_NUMBER", "415-555-0132"),
        ("415-555-0132 212-555-0187", "PHONE_NUMBER", "212-555-0187"),
        (
            "(212) 555-0187 +1 415-555-0132",
            "PHONE_NUMBER",
            "+1 415-555-0132",
        ),
        (
            "+1 415-555-0132 +44 20 7946 0958",
            "PHONE_NUMBER",
            "+44 20 7946 0958",
        ),
        (
            "+1 415-555-0132 10.20.30.40",
            "PHONE_NUMBER",
            "+1 415-555-0132",
        ),
        ("call 415.555.0132 10 times", "PHONE_NUMBER", "415.555.0132"),
        ("SSN 536-22-8714 943 476 5919", "US_SSN", "536-22-8714"),
        // A candidate that started on the number before: each of its groups is tried as a start.
        ("row 1001 212.555.0187", "PHONE_NUMBER", "212.555.0187"),
        ("row 1001 (212) 555-0187", "PHONE_NUMBER", "(212) 555-0187"),
        (
            "row 1001 4539-6209-6654-2877",
            "CREDIT_CARD",
            "4539-6209-6654-2877",
        ),
        (
            "row 1001 4539620966542877",
            "CREDIT_CARD",
            "4539620966542877",
        ),
    ] {
        pii_has(text, category, value);
    }
    // After a bracketed area code the rest is not a number of its own.
    let found = pii_found("Contact: (02239) 09960 308");
    assert!(!found.iter().any(|(_, v)| v == "09960 308"), "{found:?}");
    for text in [
        "ref 12 415 555 0132",
        "card 4532 0151 1283 0367",
        "serial 2024-415-555-0132",
    ] {
        pii_lacks(text, "PHONE_NUMBER");
    }
}

/// SSNs grouped the ways people type less often (spaced dashes, slashes, one space after a dash) and NHS
/// numbers with dots: with a cue only, since bare they are as likely dates, codes or phone numbers.
#[test]
fn uncommon_groupings_of_ssns_and_nhs_numbers_need_their_cue() {
    for value in ["536 - 22 - 8714", "536/22/8714", "536-22- 8714"] {
        pii_has(&format!("SSN {value}"), "US_SSN", value);
        pii_has(
            &format!("Her social security number: {value}."),
            "US_SSN",
            value,
        );
        pii_lacks(&format!("see item {value} in the list"), "US_SSN");
    }
    pii_lacks("internal code RX-536-22-8714", "US_SSN");
    pii_has("SSN RX-536-22-8714", "US_SSN", "536-22-8714");
    pii_has("NHS no: 943.476.5919", "UK_NHS", "943.476.5919");
    pii_lacks("call 943.476.5919 today", "UK_NHS");
}

#[test]
fn compact_ssns_and_bank_numbers_need_their_cue() {
    pii_has("SSN: 123456789", "US_SSN", "123456789");
    pii_has("social security number 078051120", "US_SSN", "078051120");
    pii_lacks("zip 940431234 and id 123456789", "US_SSN");
    pii_has(
        "wire to Chase, routing 021000021, account 12345678",
        "US_BANK_NUMBER",
        "12345678",
    );
    pii_has(
        "direct deposit into 48291033756",
        "US_BANK_NUMBER",
        "48291033756",
    );
    pii_has(
        "Credit union account 48291033756",
        "US_BANK_NUMBER",
        "48291033756",
    );
    for text in [
        "AWS account 123456789012 in us-east-1",
        "customer account 55501234 reached out about each order",
        "account 12345678 on the database server",
    ] {
        pii_lacks(text, "US_BANK_NUMBER");
    }
}

#[test]
fn passwords_after_password_like_names() {
    for (text, value) in [
        ("my password is Summer2024!", "Summer2024!"),
        (r#"{"password": "Tr0ub4dor&3x"}"#, "Tr0ub4dor&3x"),
        ("DB_PASSWORD=k9#Qm2!vLp", "k9#Qm2!vLp"),
        ("pwd: Xk9mq2Lp7", "Xk9mq2Lp7"),
        // Characters a template uses are a password's too when no template is around them.
        ("SMTP_PASSWORD=BG%DDAFFA8Mfn2sbIR", "BG%DDAFFA8Mfn2sbIR"),
        ("pw: 66iiNNPll8RCRLr1", "66iiNNPll8RCRLr1"),
        (
            "login with password #iC~0~pZ4xU1dfRA please",
            "#iC~0~pZ4xU1dfRA",
        ),
        ("spring.datasource.password=Pa$$w0rd2024", "Pa$$w0rd2024"),
        // Typed with braces and dollars that open and close out of order: no template, no code. The
        // value ends where a quote or `>` would end it.
        (
            "apikey = m{{h}o)p${e]nob(ody[finds>-_$#thisone}}",
            "m{{h}o)p${e]nob(ody[finds",
        ),
        ("db_pass := A,.:-¨@*¿?!", "A,.:-¨@*¿?!"),
        (r#"char secret[25] = @"q(7]x{Lm!z";"#, "q(7]x{Lm!z"),
        (r#"my_password_secure = @"q(7]x{Lm!z";"#, "q(7]x{Lm!z"),
        (r#"if (api_key !== "j&w{3]Kq!p") {"#, "j&w{3]Kq!p"),
    ] {
        let got = secrets_found(text);
        assert!(
            got.contains(&("password".into(), value.into())),
            "{text:?}: {got:?}"
        );
    }
    for text in [
        "password: ********",
        "password = ${DB_PASSWORD}",
        "password = getpass()",
        "password is required",
        "password: changeme123",
        "the password field is validated",
        "password = settings.db.password",
        "pass --no-verify to skip",
        "password = %DB_PASSWORD%",
        "password = $DB_PASSWORD",
        "password = <%= db_password %>",
        "reset your password using the link",
        // Code: calls and indexes whose brackets nest, or are still open where the value is cut.
        r#"password = os.environ["DB_PASSWORD"]"#,
        r#"token = request.headers["Authorization"]"#,
        "api_key = hmac.new(secret_bytes, msg)",
        "token: Optional[Dict[str,int]] = None",
        // Templates, whole or cut at a space.
        r#"secret: "${{ secrets.API_TOKEN }}""#,
        r#"password = "{{ vault_db_password }}""#,
        "password = ${DB_PASSWORD:-s3cr3t!x}",
        // Symbols of one kind, or a name's separators and a port's colon, are not a typed password.
        "password = ,.:-¨@*¿?!",
        "dev.credentials.url=dev-lb1.api.example.org:5215",
    ] {
        assert_eq!(secrets_found(text), vec![], "{text}");
    }
}

#[test]
fn connection_strings_of_every_common_form_are_reported_whole() {
    for value in [
        "postgresql+psycopg2://etl:Rvwe6g7NgnMDOCoyvznG@pg.prod.example.io/analytics",
        "jdbc:postgresql://db:5432/orders?user=app&password=q8Zt2LmXw9Vr",
        "Server=tcp:db.example.net,1433;Database=orders;User ID=svc;Password=q_%o75q!BI3~WNLK;Encrypt=True;",
        "Data Source=db01;Initial Catalog=Shop;User Id=sa;Pwd=N4eqK!J!ZpTf;",
        "Server=db01;Database=app;User Id=sa;Pwd = Xk3-9vLq!2mZ;",
        // Go's MySQL driver: no scheme, the address in the protocol's brackets.
        "app:Vx7#qPl2-wZr9@tcp(db.internal:3306)/shop?parseTime=true",
        // Oracle's thin driver: `user/password@`.
        "jdbc:oracle:thin:scott/Qm7vX2pL9zRk@//db.example.com:1521/ORCL",
    ] {
        let got = secrets_found(&format!("conn: {value}\n"));
        assert!(
            got.contains(&("connection-string".into(), value.into())),
            "{value:?}: {got:?}"
        );
    }
    for text in [
        "jdbc:postgresql://db:5432/orders?user=app&password=${DB_PASSWORD}",
        "Server=db;Database=orders;User ID=svc;Password=<password>;",
        "Server=db;Database=orders;Integrated Security=true;",
        r#"sql.Open("mysql", "app:${DB_PASSWORD}@tcp(db:3306)/shop")"#,
        r#"sql.Open("mysql", "root@tcp(db:3306)/shop")"#,
        "jdbc:oracle:thin:scott/${DB_PASSWORD}@//db:1521/ORCL",
        "jdbc:oracle:thin:@//db.example.com:1521/ORCL",
    ] {
        assert_eq!(secrets_found(text), vec![], "{text}");
    }
    // A password in the user-info of a URL of any other scheme is the password alone.
    rule_finds(
        "url-password",
        &[
            (
                "rtsp://admin:Qm7vX2pL9zRk@192.168.1.64:554/stream1",
                "Qm7vX2pL9zRk",
            ),
            (
                "snowflake://ann:Qm7vX2pL9zRk@acme-xy12345/db/schema",
                "Qm7vX2pL9zRk",
            ),
            (
                "svn+ssh://deploy:Qm7vX2pL9zRk@svn.example.com/repo",
                "Qm7vX2pL9zRk",
            ),
        ],
        &["rtsp://admin:<password>@camera:554/"],
    );
}

#[test]
fn keys_under_wider_names_and_in_name_value_pairs() {
    for (text, value) in [
        (
            r#"OPENAI_KEY = "cGaRKiEGwd1wgKA9vMrEVTnxpof22LjAoQebaJ5m""#,
            "cGaRKiEGwd1wgKA9vMrEVTnxpof22LjAoQebaJ5m",
        ),
        (
            r#"{ auth_key: "c2bf25d224b97e84b0112bccc9b8e04de6174737" }"#,
            "c2bf25d224b97e84b0112bccc9b8e04de6174737",
        ),
        // Base64 may hold a `/` (or two together) among its mixed-case runs.
        (
            "api-token: m//5kFV36f5OUtYjupAVNNom/uRg0S+L",
            "m//5kFV36f5OUtYjupAVNNom/uRg0S+L",
        ),
        (
            r#"<add key="ApiSecret" value="q2dNwr2YBGh28S2klMT6rJxggY2uRFmU0gH7vRrU" />"#,
            "q2dNwr2YBGh28S2klMT6rJxggY2uRFmU0gH7vRrU",
        ),
        (
            "env:\n  - name: UPSTREAM_TOKEN\n    value: Xk9pQ2vLm7RtY3wNa8ZcF4Hs",
            "Xk9pQ2vLm7RtY3wNa8ZcF4Hs",
        ),
        (
            r#"{"name": "DB_PASSWORD", "value": "q_%o75q!BI3~WNLK"}"#,
            "q_%o75q!BI3~WNLK",
        ),
    ] {
        let got = secrets_found(text);
        assert!(got.iter().any(|(_, v)| v == value), "{text:?}: {got:?}");
    }
    for text in [
        "the key ingredient is 4 cups of flour",
        r#"cache_key = "user-profile-cache-v2""#,
        "key: src/components/header/index.tsx",
        r#"<add key="ApiSecret" value="${API_SECRET}" />"#,
        "- name: LOG_LEVEL\n  value: debug-verbose-mode-2",
        "monkey: banana2banana2banana",
    ] {
        assert_eq!(secrets_found(text), vec![], "{text}");
    }
}

/// Pieces of text the validators look around — values, key names, URL and version cues — and characters
/// wider than a byte that real text puts next to them: no-break and ideographic spaces, dashes, letters
/// `(?i)` folds to ASCII, emoji, a combining accent.
const PIECES: &[&str] = &[
    "maria.lopez@example.com",
    "192.168.10.20",
    "version",
    "fe80::1",
    "4111 1111 1111 1111",
    "(415) 555-0132",
    "GB82 WEST 1234 5698 7654 32",
    "example.com/cart",
    "https://user:pw@host.example.org/x",
    "api_key = ",
    "password: ",
    "Zq8vK2mP9xR4tL7nW3bY6cJ1hF5gD0sA",
    " as the API key",
    "aws_secret_access_key=",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    "account number 12345678",
    "AKIA2E0A8F3B244C9986",
    "٠٧٨-٠٥-١١٢٠",
    "０７８ ０５ １１２０",
    "٤",
    "５",
    "\u{a0}",
    "\u{3000}",
    "\u{2009}",
    "—",
    "\u{17F}",
    "\u{212A}",
    "é",
    "e\u{301}",
    "🔑",
    " ",
    ":",
    "=",
    "\"",
    "/",
    ".",
    "@",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 2000, failure_persistence: None, ..Default::default()
    })]

    /// No text makes a detector panic (a panic in a plugin is a trap, and the exchange is denied), and
    /// every range it reports starts and ends on a character boundary. Written after three such panics:
    /// a no-break space before an email, an em dash before an IP address, `ſ` before a token.
    #[test]
    fn detectors_never_panic_and_report_whole_characters(
        picks in proptest::collection::vec(0..PIECES.len(), 1..24)
    ) {
        let text: String = picks.iter().map(|&i| PIECES[i]).collect();
        static SECRETS: OnceLock<secrets::Detector> = OnceLock::new();
        static PII: OnceLock<Detector> = OnceLock::new();
        let pii = PII.get_or_init(|| Detector::new(Entity::ALL)).detect(&text);
        let secrets = SECRETS.get_or_init(secrets::Detector::new).detect(&text);
        for range in pii.into_iter().map(|h| h.range).chain(secrets.into_iter().map(|h| h.range)) {
            proptest::prop_assert!(
                range.start < range.end
                    && text.is_char_boundary(range.start)
                    && text.is_char_boundary(range.end),
                "{range:?} in {text:?}"
            );
        }
    }
}

/// Presidio's own recognizer cases that Palisade answers the same way (the rest are in docs/accuracy.md).
#[test]
fn formats_from_presidios_own_cases() {
    // Three cards in a row, run together, dashed and spaced.
    let text = "4012888888881881 4012-8888-8888-1881 4012 8888 8888 1881";
    pii_has(text, "CREDIT_CARD", "4012888888881881");
    pii_has(text, "CREDIT_CARD", "4012-8888-8888-1881");
    pii_has(text, "CREDIT_CARD", "4012 8888 8888 1881");
    pii_has(
        "tel 555-0100 4111 1111 1111 1111",
        "CREDIT_CARD",
        "4111 1111 1111 1111",
    );
    // Grouped as no card is: a French social security number that happens to pass Luhn.
    pii_lacks(
        "Numéro de sécurité sociale : 1 84 12 75 123 456 78",
        "CREDIT_CARD",
    );
    pii_has("amex 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005");
    pii_has(
        "card 4111 1111 1111 1111 003",
        "CREDIT_CARD",
        "4111 1111 1111 1111 003",
    );
    // Numbers issued since 2020 have no check digit: under its name, a date and a sex digit suffice.
    pii_has(
        "His Korean RRN is 960121-1234567",
        "KR_RRN",
        "960121-1234567",
    );
    pii_lacks("ref 960121-1234567", "KR_RRN");
    // An IBAN grouped with dashes; one with mixed-case letters is not written by anyone.
    pii_has(
        "Dash as iban separator: AL47-2121-1009-0000-0002-3569-8741",
        "IBAN_CODE",
        "AL47-2121-1009-0000-0002-3569-8741",
    );
    pii_lacks("LV80 bANK 0000 4351 9500 1", "IBAN_CODE");
    pii_has("078.05.1123", "US_SSN", "078.05.1123");
    pii_has(
        "My Israeli number is 09-7625400",
        "PHONE_NUMBER",
        "09-7625400",
    );
    pii_has(
        "my international one is +44 (20) 7123 4567",
        "PHONE_NUMBER",
        "+44 (20) 7123 4567",
    );
}

/// Fixed-width logs pad each octet to three digits; any other leading zero marks a version's part.
#[test]
fn an_ipv4_address_padded_to_three_digits_an_octet() {
    pii_has(
        "Server at 192.168.010.001 refused",
        "IP_ADDRESS",
        "192.168.010.001",
    );
    for text in [
        "release 1.02.03.04",
        "at 192.168.01.001",
        "ip 256.001.001.001",
    ] {
        pii_lacks(text, "IP_ADDRESS");
    }
}

#[test]
fn an_ipv6_prefix_ending_in_its_double_colon_is_an_address() {
    pii_has("Prefix: 2001:db8::/32", "IP_ADDRESS", "2001:db8::");
    pii_has("route fe80::/10 via eth0", "IP_ADDRESS", "fe80::");
    pii_has("from fe80::1.", "IP_ADDRESS", "fe80::1");
}

#[test]
fn numbers_run_together_or_grouped_by_fives_after_a_word_for_phone() {
    pii_has("Phone: 4155552671", "PHONE_NUMBER", "4155552671");
    pii_has("India mobile 098765 43210", "PHONE_NUMBER", "098765 43210");
    pii_has("mobile no. 98765 43210", "PHONE_NUMBER", "98765 43210");
    pii_has("Tel. 4155552671", "PHONE_NUMBER", "4155552671");
    pii_has("telephone 4155552671", "PHONE_NUMBER", "4155552671");
    // Chinese puts no space between a number and the words around it.
    pii_has("我的手机号是13812345678", "PHONE_NUMBER", "13812345678");
    pii_has("手机13812345678，谢谢", "PHONE_NUMBER", "13812345678");
    pii_lacks("手机型号A13812345678", "PHONE_NUMBER"); // a model number, glued to a Latin letter
                                                       // German mobiles and French numbers in dashed pairs, no word needed.
    pii_has(
        "Meine Handynummer ist 0151 23456789.",
        "PHONE_NUMBER",
        "0151 23456789",
    );
    pii_has("0171/1234567", "PHONE_NUMBER", "0171/1234567");
    pii_has(
        "Mon numéro : 06-12-34-56-78",
        "PHONE_NUMBER",
        "06-12-34-56-78",
    );
    pii_lacks("ref 0151 234567890123", "PHONE_NUMBER");
    for text in [
        "order 4155552671",              // no word for phone
        "the phone's serial 1155552671", // no North American area code starts with 1, and the word is not right before
        "Phone: 41555526710",            // eleven digits that are no plan's
        "ticket 98765 43210",
        "TELEGRAM_BOT_API_TOKEN=6777880100:AA4NhlAgADVwHUuK8Q3S4uthbYSPz", // an id and its secret
        "telnet 415 555 26", // `tel` is a word of its own
        "open the dialog 4155552671",
    ] {
        pii_lacks(text, "PHONE_NUMBER");
    }
}

#[test]
fn phone_numbers_as_generators_and_contact_blocks_write_them() {
    // Extensions, as Faker writes half its North American numbers and signatures write the rest.
    for (text, number) in [
        ("Call me at 650-752-7354x549 tomorrow", "650-752-7354x549"),
        ("Call me at (650)752-7354x5490.", "(650)752-7354x5490"),
        ("Call 001-650-752-7354x549", "001-650-752-7354x549"),
        ("+1-650-752-7354x549", "+1-650-752-7354x549"),
        ("reach me on 650.752.7354 ext. 12", "650.752.7354 ext. 12"),
    ] {
        pii_has(text, "PHONE_NUMBER", number);
    }
    // A subscriber's number without its area code, right after the word; other groupings; an area code
    // in brackets of any length; a national number run together after its trunk 0.
    for (text, number) in [
        ("Phone: 469 2020", "469 2020"),
        ("Can someone call me on 87 47 98?", "87 47 98"),
        ("Mobile: 96 771394", "96 771394"),
        (
            "Please have the manager call me at (72) 583-350",
            "(72) 583-350",
        ),
        ("Fax: 07700070518", "07700070518"),
        ("Phone: 12345678", "12345678"),
        ("Desk: 6038505064", "6038505064"),
    ] {
        pii_has(text, "PHONE_NUMBER", number);
    }
    // A label after the number, as contact blocks write them.
    pii_has("723 813 266 office", "PHONE_NUMBER", "723 813 266");
    pii_has("Bob\n6038505064-Fax", "PHONE_NUMBER", "6038505064");
    pii_has("(894)134-3524 fax", "PHONE_NUMBER", "(894)134-3524");
    // Trunk codes then pairs or threes, as much of Europe writes them, with no word needed.
    for number in [
        "0494 41 18 24",
        "026 848 14 90",
        "09721 88 29 47",
        "0699 888 72 47",
    ] {
        pii_has(&format!("ring {number} today"), "PHONE_NUMBER", number);
        pii_has(&format!("at {number}"), "PHONE_NUMBER", number);
    }
    // Faker's phone numbers in other locales: after a word (`Contact:`, `reach me on`) ...
    for (text, number) in [
        ("Contact: 533 186 091", "533 186 091"),
        ("reach me on 948 21 99 after 5pm", "948 21 99"),
        ("My phone number is 30/166 1318.", "30/166 1318"),
        ("Contact: (351) 911860913", "(351) 911860913"),
        ("Call me at 8 260 181 5908 tomorrow.", "8 260 181 5908"),
        ("Contact: 8 (246) 281-9482", "8 (246) 281-9482"),
        ("Contact: 81390996030", "81390996030"),
        ("Call me at 3500268466 tomorrow.", "3500268466"),
    ] {
        pii_has(text, "PHONE_NUMBER", number);
    }
    // ... and alone: a country code in brackets, national forms with the trunk 0.
    for number in [
        "(+30) 2491 186252",
        "+(370) 28194821",
        "044 613 186",
        "08-909 960 30",
        "02 9482 1993",
        "0460-913-909",
        "(0543)-231948",
        "61 0308-2462",
        "05393 36338",
    ] {
        pii_has(number, "PHONE_NUMBER", number);
    }
    pii_lacks("Phone updated 12/05/2024", "PHONE_NUMBER");
    // Faker's IBAN for locales without a bank format: GB, one character short, mod-97 valid.
    pii_has(
        "IBAN: GB02QGXY2661663049403",
        "IBAN_CODE",
        "GB02QGXY2661663049403",
    );
    pii_lacks("IBAN: GB02QGXY2661663049404", "IBAN_CODE");
    // Faker's Aadhaar numbers are checked with Luhn (a card's check, not Verhoeff's): under the name, an
    // Aadhaar and not a card; without it, neither.
    pii_has("Aadhaar 695406135894", "IN_AADHAAR", "695406135894");
    pii_lacks("Aadhaar 695406135894", "CREDIT_CARD");
    pii_lacks("batch 6954 0613 5894", "IN_AADHAAR");
    // A Verhoeff-valid grouping at the end of a reference is the reference's.
    pii_has("UID 2026-0042-7781", "IN_AADHAAR", "2026-0042-7781");
    pii_lacks(
        "Claim number CLM-2026-0042-7781 is under review",
        "IN_AADHAAR",
    );
    // An internationalised host name, as written.
    pii_has("see https://deineka.укр/", "URL", "https://deineka.укр/");
    pii_has("(07700) 798 524", "PHONE_NUMBER", "(07700) 798 524");
    pii_has("(07700)553419", "PHONE_NUMBER", "(07700)553419");
    for text in [
        "I'd like to call a taxi to 3348 84 Cassinia Street", // a house number, the word far from it
        "The office is at 171 3890 Creekside Lane",           // `office` says phone only after
        "call on 17 05 24",                                   // a date
        "call 20240517",                                      // a date run together
        "phone 123456789012",                                 // twelve run together: no plan's
        "Phone: 469 2020 5",                                  // five digits, not seven
        "a 1920x1080 screen",
        "Our invoice ORD-2024-686225, call us", // a reference's number
        "INFO id,name,ssn,iban,phone 1000,Dmitri Rossi,496623955,", // the ssn column, `phone` not right before
    ] {
        pii_lacks(text, "PHONE_NUMBER");
    }
}

#[test]
fn an_international_number_dialled_with_00_for_the_plus() {
    pii_has("ring 0049 30 1234567", "PHONE_NUMBER", "0049 30 1234567");
    pii_has(
        "Tel.: 0044 20 7946 0958",
        "PHONE_NUMBER",
        "0044 20 7946 0958",
    );
    pii_has("call 001-415-555-2671", "PHONE_NUMBER", "001-415-555-2671");
    for text in [
        "order 0012 3456 7890",   // 12 is no country's code
        "ref 00491234567890",     // no separator after the code: any number can open with 00
        "0049 30",                // too short for a number
        "batch A0049 30 1234567", // part of a longer code
    ] {
        pii_lacks(text, "PHONE_NUMBER");
    }
}

/// The words for phone that business cards and signatures abbreviate, in the languages that do.
#[test]
fn phone_words_abbreviated_on_cards_and_signatures() {
    for (text, number) in [
        ("Telp: 0812-3456-7890", "0812-3456-7890"),
        ("Tlm: 912 345 678", "912 345 678"),
        ("Tlf: 20 12 34 56", "20 12 34 56"),
        ("Mob: 07700 900123", "07700 900123"),
        ("Тел.: 8 (912) 345-67-89", "8 (912) 345-67-89"),
        ("celular 11 91234-5678", "11 91234-5678"),
    ] {
        pii_has(text, "PHONE_NUMBER", number);
    }
    pii_has(
        "телефон: 8 (912) 345-67-89",
        "PHONE_NUMBER",
        "8 (912) 345-67-89",
    );
    for text in [
        "flash mob 2024 at 10:30",
        "tlf 2024-05-06",
        "Telp version 1.2.3.4",
        // `тел` is three letters, so a whole word only, although six bytes.
        "телевизор 4155552671",
    ] {
        pii_lacks(text, "PHONE_NUMBER");
    }
}

/// `call me` and the word for phone in more languages, and a phone-shaped part of a longer code.
#[test]
fn phone_words_and_calls_in_more_languages() {
    for (text, number) in [
        ("Llámame al 612 345 678", "612 345 678"),
        ("Appelez le 06 12 34 56 78 demain", "06 12 34 56 78"),
        ("Bitte anrufen: 0171 2345678", "0171 2345678"),
        ("Chiamami al 333 123 4567", "333 123 4567"),
        ("Me ligue no (11) 98765-4321", "(11) 98765-4321"),
        ("Bel me op 06 12345678", "06 12345678"),
        ("Cep: 0532 123 45 67", "0532 123 45 67"),
        ("Puhelin 040 1234567", "040 1234567"),
        ("komórka 512 345 678", "512 345 678"),
        ("Позвоните 8 912 345-67-89", "8 912 345-67-89"),
        ("फ़ोन नंबर 98765 43210", "98765 43210"),
        ("मेरा फोन 98765 43210 है", "98765 43210"),
        ("جوال 050 123 4567", "050 123 4567"),
        ("Số điện thoại 0912 345 678", "0912 345 678"),
    ] {
        pii_has(text, "PHONE_NUMBER", number);
    }
    // Where messages and calls go.
    for (text, number) in [
        ("SMS 07700 900123 when you land", "07700 900123"),
        ("message me on 0171 2345678", "0171 2345678"),
        ("forward the messages to 612 345 678 please", "612 345 678"),
        ("left a voicemail at 020 7946 0958", "020 7946 0958"),
        ("Nobody is answering at 96 466712 today", "96 466712"),
    ] {
        pii_has(text, "PHONE_NUMBER", number);
    }
    for text in [
        "answering 3 of 5 questions in 12 minutes",
        "SMS sent: 2 of 12 batches, 1200 messages",
        "messages to 2026 graduates: 340 sent",
    ] {
        pii_lacks(text, "PHONE_NUMBER");
    }
    // Markdown around the word, and the pictures chats and signatures draw for it.
    for (text, number) in [
        ("- **Phone:** 96 466712", "96 466712"),
        ("| **Tel** | 469 2020 |", "469 2020"),
        ("📞 96 466712", "96 466712"),
        ("☎️ 020 7946 0958", "020 7946 0958"),
    ] {
        pii_has(text, "PHONE_NUMBER", number);
    }
    pii_lacks("**Phone:** 2024-05-06", "PHONE_NUMBER");
    // A label after a dash is a word; a letter or two is the rest of a code.
    pii_has("781-618-4959-Fax", "PHONE_NUMBER", "781-618-4959");
    for text in [
        "Order 415-555-0132-A shipped",
        "Part 536-22-4187-X2 in stock",
        "Llama 3 scored 612 345 678",
    ] {
        let got = pii_found(text);
        assert!(got.is_empty(), "{text}: {got:?}");
    }
}

#[test]
fn the_ipv6_loopback_and_the_any_network_are_addresses_but_a_bare_double_colon_is_not() {
    pii_has("connecting from ::1", "IP_ADDRESS", "::1");
    pii_has("src=:: dst=::1", "IP_ADDRESS", "::1");
    pii_has("allow from ::/0", "IP_ADDRESS", "::");
    pii_has("::1/128", "IP_ADDRESS", "::1");
    for text in [
        "x :: Int",
        "Use local ipv6 ::",
        "std::cout << 1",
        "Foo::1",
        "::1a",
        "::/0a",
        "ratio x::1",
    ] {
        pii_lacks(text, "IP_ADDRESS");
    }
}

/// National identifiers: each found in the form people write it, and not when its check fails, its shape
/// breaks the issuer's rules, or (for those with no check, or bare digits) no word names it.
#[test]
fn national_identifiers_with_their_checks() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        // (category, text with a valid value, the value, texts that must not be that category)
        (
            "UK_NINO",
            "NI number: AB 12 34 56 C",
            "AB 12 34 56 C",
            &["NI number: BG 12 34 56 C", "ref DA123456A"],
        ),
        (
            "US_ITIN",
            "ITIN: 912-78-1234",
            "912-78-1234",
            &["ticket 912-78-1234", "ITIN: 912-45-1234"],
        ),
        (
            "US_PASSPORT",
            "passport no. 123456789",
            "123456789",
            &["order 123456789"],
        ),
        (
            "UK_PASSPORT",
            "UK passport no. 123456789",
            "123456789",
            &["UK order 123456789", "passport (Duke St) 123456789x"],
        ),
        (
            "US_DRIVER_LICENSE",
            "Driver's License #: A1234567",
            "A1234567",
            &["license key A1234567", "device driver 5351048"],
        ),
        ("ES_NIF", "DNI 12345678Z", "12345678Z", &["DNI 12345678A"]),
        ("ES_NIE", "NIE X1234567L", "X1234567L", &["NIE X1234567A"]),
        (
            "IT_FISCAL_CODE",
            "codice fiscale RSSMRA85T10A562S",
            "RSSMRA85T10A562S",
            &["codice fiscale RSSMRA85T10A562T"],
        ),
        (
            "IN_AADHAAR",
            "Aadhaar 2345 6789 0124",
            "2345 6789 0124",
            // (Under its name a wrong check digit is still one: see the Faker cases.)
            &["batch 2345 6789 0125", "id 234567890124"],
        ),
        (
            "IN_PAN",
            "PAN ABCPD1234E",
            "ABCPD1234E",
            &["code ABCXD1234E", "abcpd1234e"],
        ),
        (
            "AU_TFN",
            "TFN 123 456 782",
            "123 456 782",
            &["TFN 123 456 789", "order 123456782"],
        ),
        (
            "AU_ABN",
            "ABN 51 824 753 556",
            "51 824 753 556",
            &["ABN 51 824 753 557"],
        ),
        (
            "AU_MEDICARE",
            "Medicare 2123 45670 1",
            "2123 45670 1",
            &["Medicare 2123 45671 1"],
        ),
        (
            "SG_NRIC_FIN",
            "NRIC S1234567D",
            "S1234567D",
            &["NRIC S1234567A"],
        ),
        // The M series of FINs (2022) has its own offset and letters: M1234567K, not L.
        (
            "SG_NRIC_FIN",
            "FIN M1234567K",
            "M1234567K",
            &["FIN M1234567L", "FIN M1234567X"],
        ),
        (
            "PL_PESEL",
            "PESEL 44051401359",
            "44051401359",
            &["PESEL 44051401358", "order 44051401359"],
        ),
        (
            "KR_RRN",
            "RRN 800101-1234560",
            "800101-1234560",
            &[
                "ref 800101-1234561",
                "RRN 801301-1234560",
                "RRN 800101-9234560",
            ],
        ),
        (
            "FI_PERSONAL_IDENTITY_CODE",
            "HETU 131052-308T",
            "131052-308T",
            &["HETU 131052-308U"],
        ),
        (
            "DE_TAX_ID",
            "Steuer-IdNr 65929970489",
            "65929970489",
            &["Steuer-IdNr 65929970488", "order 65929970489"],
        ),
    ];
    for (category, text, value, not) in cases {
        pii_has(text, category, value);
        for other in *not {
            pii_lacks(other, category);
        }
    }
    // A phone number's digits are a phone number's, whatever a checksum says.
    pii_lacks("WhatsApp +48 501 832 698", "DE_TAX_ID");
    pii_lacks("WhatsApp +48 501 832 698", "AU_ABN");
}

/// A driver's license in the states' formats, named as one; a passport named British is the UK's, one
/// named nothing else the US's.
#[test]
fn driver_licenses_in_the_states_formats_and_british_passports() {
    for (text, value) in [
        ("DL# 12345678", "12345678"),
        ("driver license number 123 456 789", "123 456 789"),
        ("Driver's licence: A123-456-78-901-0", "A123-456-78-901-0"),
        ("drivers license A123-4567-8901, exp 2029", "A123-4567-8901"),
        ("D/L: WDLABCD12345", "WDLABCD12345"),
        // Labels as forms and exports write them.
        ("Drivers Lic: D1234567", "D1234567"),
        ("name,DL_No\nAna,D1234567\n", "D1234567"),
        ("dl-num 12345678", "12345678"),
        // Named by its label, it outranks a tax file number's check, which these digits also pass.
        ("Drivers Lic: 750 170 377", "750 170 377"),
    ] {
        pii_has(text, "US_DRIVER_LICENSE", value);
    }
    pii_lacks("Drivers Lic: 750 170 377", "AU_TFN");
    pii_has("D_O_B: 1984-05-17", "DATE_OF_BIRTH", "1984-05-17");
    for text in ["DL# 1234", "licensed under MIT 2024123", "DL# Ab12345678"] {
        pii_lacks(text, "US_DRIVER_LICENSE");
    }
    pii_has(
        "British passport number: 123456789",
        "UK_PASSPORT",
        "123456789",
    );
    pii_has("Passport (GBR): 123456789", "UK_PASSPORT", "123456789");
    pii_lacks("Passport number: 123456789", "UK_PASSPORT");
    // A British passport's line does not make the next line's passport British.
    let two = "UK passport no. 123456789\npassport no. 987654321";
    pii_has(two, "UK_PASSPORT", "123456789");
    pii_has(two, "US_PASSPORT", "987654321");
}

#[test]
fn numbers_glued_to_their_labels_as_pdf_text_runs_them() {
    pii_has(
        "Card number4620966542870724Expiration 04/27",
        "CREDIT_CARD",
        "4620966542870724",
    );
    pii_has("VISA4620966542870724", "CREDIT_CARD", "4620966542870724");
    pii_has("SSN536-22-4187 DOB04/15/1982", "US_SSN", "536-22-4187");
    pii_has("Social Security Number536-22-4187", "US_SSN", "536-22-4187");
    // A `:` or `#` after the label, and the next label glued on behind the number.
    pii_has(
        "Card:4620966542870724Exp:09/28",
        "CREDIT_CARD",
        "4620966542870724",
    );
    pii_has("SSN#536-22-4187DOB 04/15/1982", "US_SSN", "536-22-4187");
    pii_lacks("Order:4620966542870724Exp", "CREDIT_CARD");
    // Glued to anything else, or running on into lowercase, they are pieces of a longer token.
    pii_lacks("ORDER4620966542870724X", "CREDIT_CARD");
    pii_lacks("ref4620966542870724", "CREDIT_CARD");
    pii_lacks("Build number4620966542870724abc", "CREDIT_CARD");
    pii_lacks("abc536-22-4187def", "US_SSN");
    pii_lacks("Account Number536-22-4187", "US_SSN");
}

#[test]
fn mac_addresses_and_dates_of_birth() {
    pii_has("mac 00:1A:2B:3C:4D:5E", "MAC_ADDRESS", "00:1A:2B:3C:4D:5E");
    pii_has("hw 0d-B3-4a-6A-d9-cF", "MAC_ADDRESS", "0d-B3-4a-6A-d9-cF");
    pii_has("show 0011.2233.4455", "MAC_ADDRESS", "0011.2233.4455");
    pii_has("on 0011.2233.4455.", "MAC_ADDRESS", "0011.2233.4455");
    for text in [
        "card no. 4929.1234.5678.9015",
        "id 9015.4929.1234.5678",
        "00:1A:2B-3C:4D:5E",
        "ff:ff:ff:ff:ff:ff",
        "12:30:45:10:20:33:44",
    ] {
        pii_lacks(text, "MAC_ADDRESS");
    }
    pii_has("DOB: 1985-03-12", "DATE_OF_BIRTH", "1985-03-12");
    pii_has("born on 12 March 1985", "DATE_OF_BIRTH", "12 March 1985");
    pii_has("Date of birth: 03/12/1985", "DATE_OF_BIRTH", "03/12/1985");
    pii_has("Geburtsdatum 12.03.1985", "DATE_OF_BIRTH", "12.03.1985");
    // Forms' two-digit years, an ordinal with `of`, and the cues of more languages.
    pii_has("DOB: 4/15/82", "DATE_OF_BIRTH", "4/15/82");
    pii_has("dob 29/02/08", "DATE_OF_BIRTH", "29/02/08");
    pii_has(
        "She was born on the 15th of April 1982.",
        "DATE_OF_BIRTH",
        "15th of April 1982",
    );
    pii_has("Geb.-Datum: 15.04.1982", "DATE_OF_BIRTH", "15.04.1982");
    pii_has("geboortedatum 15-04-1982", "DATE_OF_BIRTH", "15-04-1982");
    // Month names in the languages of the cues, and how those languages join day, month and year.
    pii_has(
        "Nació el 15 de abril de 1982.",
        "DATE_OF_BIRTH",
        "15 de abril de 1982",
    );
    pii_has("geboren am 12. März 1985", "DATE_OF_BIRTH", "12. März 1985");
    pii_has("Née le 3 juillet 1990", "DATE_OF_BIRTH", "3 juillet 1990");
    pii_has("née le 1er août 1990", "DATE_OF_BIRTH", "1er août 1990");
    pii_has("nato il 7 giugno 1979", "DATE_OF_BIRTH", "7 giugno 1979");
    pii_has("geboren op 9 maart 1969", "DATE_OF_BIRTH", "9 maart 1969");
    pii_has(
        "data de nascimento: 2 de dezembro de 1975",
        "DATE_OF_BIRTH",
        "2 de dezembro de 1975",
    );
    // Russian month names, and the numbers Japanese, Chinese and Korean write dates with.
    for (text, date) in [
        ("Дата рождения: 12 марта 1985", "12 марта 1985"),
        ("родилась 5 мая 1990 года", "5 мая 1990"),
        ("生年月日：1985年3月12日", "1985年3月12日"),
        ("出生日期：1990年1月5日", "1990年1月5日"),
        ("생년월일: 1985. 3. 12", "1985. 3. 12"),
        ("생년월일 1985년 3월 12일", "1985년 3월 12일"),
    ] {
        pii_has(text, "DATE_OF_BIRTH", date);
    }
    for text in [
        "会議は2026年3月12日に開催されます",
        "Встреча 12 марта 2026",
        "released 2024.1.15 today",
    ] {
        pii_lacks(text, "DATE_OF_BIRTH");
    }
    pii_lacks("Nació el 31 de junio de 1982", "DATE_OF_BIRTH");
    pii_lacks("publicado el 15 de abril de 1982", "DATE_OF_BIRTH");
    for text in [
        "DOB: 2/30/82",
        "dob 29/02/07",
        "meeting on 4/15/82",
        "DOB: 4/15/823",
    ] {
        pii_lacks(text, "DATE_OF_BIRTH");
    }
    for text in [
        "Date of birth 31/02/1990",
        "meeting on 1985-03-12",
        "released 2024-01-15",
    ] {
        pii_lacks(text, "DATE_OF_BIRTH");
    }
}
