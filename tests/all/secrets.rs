//! The stock secrets plugin, run as the real component through the embedded default bundle (whose policy
//! denies SECRET). Test values are assembled at run time so that no credential-shaped literal sits in the
//! repository for other scanners to trip on.

use palisade::chain::Outcome;

use crate::util::{default_bundle, run};

/// (rule, matched text) of every SECRET finding.
fn secrets(text: &str) -> Vec<(String, String)> {
    let v = run(default_bundle(), text);
    let found: Vec<_> = v
        .findings
        .iter()
        .filter(|f| f.category == "SECRET")
        .map(|f| (f.rule.clone(), text[f.span.clone().unwrap()].to_string()))
        .collect();
    assert_eq!(
        v.outcome == Outcome::Deny,
        !found.is_empty(),
        "a secret denies: {text:?} {:?}",
        v.reason
    );
    found
}

fn found(text: &str, rule: &str, value: &str) {
    let got = secrets(text);
    assert!(
        got.contains(&(format!("secret.{rule}"), value.to_string())),
        "expected {rule} {value:?} in {text:?}, got {got:?}"
    );
}

fn none(text: &str) {
    let got = secrets(text);
    assert!(
        got.is_empty(),
        "expected no secret in {text:?}, got {got:?}"
    );
}

const ALNUM: &str = "Q7xK2mP9vR4tL8nW3bY6cJ1hF5gD0sZaEuTiOp";

#[test]
fn provider_tokens_by_their_prefixes() {
    let t36 = &ALNUM[..36];
    found(
        &format!("key: AKIA{}", "QX7K2MP5VR4TL6NW"),
        "aws-access-token",
        "AKIAQX7K2MP5VR4TL6NW",
    );
    found(
        &format!("GITHUB_TOKEN=ghp_{t36}"),
        "github-pat",
        &format!("ghp_{t36}"),
    );
    found(
        &format!("oauth gho_{t36}."),
        "github-oauth",
        &format!("gho_{t36}"),
    );
    found(
        &format!("token: glpat-{}", &ALNUM[..20]),
        "gitlab-pat",
        &format!("glpat-{}", &ALNUM[..20]),
    );
    let slack = format!(
        "xoxb-{}-{}-{}",
        "171437569451",
        "9577504042031",
        &ALNUM[..24]
    );
    found(
        &format!("\"SLACK_BOT_TOKEN\": \"{slack}\""),
        "slack-bot-token",
        &slack,
    );
    let stripe = format!("sk_live_{}", &ALNUM[..30]);
    found(&format!("stripe={stripe} "), "stripe-access-token", &stripe);
    let gcp = format!("AIza{}", &ALNUM[..35]);
    found(&format!("(\"{gcp}\")"), "gcp-api-key", &gcp);
    let openai = format!("sk-proj-{}T3BlbkFJ{}", &ALNUM[..30], &ALNUM[4..34]);
    found(
        &format!("the OpenAI key is {openai}."),
        "openai-api-key",
        &openai,
    );
    let anthropic = format!("sk-ant-api03-{}{}AA", ALNUM, &ALNUM[..38].repeat(2));
    found(
        &format!("ANTHROPIC_API_KEY={anthropic} x"),
        "anthropic-api-key",
        &anthropic,
    );
}

#[test]
fn structured_secrets_pem_jwt_and_connection_strings() {
    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
        ALNUM.repeat(2)
    );
    found(&format!("key:\n{pem}\nthanks"), "private-key", &pem);
    // header {"alg":"HS256","typ":"JWT"}, payload {"sub":"1"}
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLWJ5dGVz";
    found(&format!("Authorization: Bearer {jwt}"), "jwt", jwt);
    let dsn = format!("postgresql://app:{}@db.internal:5432/app", &ALNUM[..14]);
    found(
        &format!("DATABASE_URL = \"{dsn}\""),
        "connection-string",
        &dsn,
    );
    let redis = format!("redis://:{}@cache.internal:6379/0", &ALNUM[..12]);
    found(&format!("we use {redis}."), "connection-string", &redis);
}

#[test]
fn tokens_assigned_to_key_names_report_only_the_token() {
    let token = &ALNUM[..32];
    found(
        &format!("auth_token = \"{token}\""),
        "generic-api-key",
        token,
    );
    found(
        &format!("my API key ({token}) stopped working"),
        "generic-api-key",
        token,
    );
    found(
        &format!("I pasted our API key below:\n{token}\n."),
        "generic-api-key",
        token,
    );
    let secret = "wJ3lrXUtnFEMI/K7MDENG/bPxRfiCYzq8k4Hv2Lm";
    found(
        &format!("aws_secret_access_key = {secret}"),
        "aws-secret-access-key",
        secret,
    );
}

#[test]
fn placeholders_references_and_hashes_are_not_secrets() {
    none("aws_access_key_id = AKIAIOSFODNN7EXAMPLE");
    none("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    none(&format!("replace ghp_{} with yours", "x".repeat(36)));
    none("api_key = \"${OPENAI_API_KEY}\" and token: os.environ['API_KEY'] and <YOUR_API_KEY>");
    none("password: changeme, api_key: your-api-key-here, xoxb-your-token, sk-xxxxxxxxxxxxxxxxxxxxxxxx");
    none("postgresql://user:password@localhost/db");
    none("commit 9fceb02d0ae598e95dc970b74767f19372d61af8 and sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    none("request id 6f1c2a9e-3b7d-4c55-9a0e-1d2f3a4b5c6d, order ORD-2024-118834, ts 2024-03-15 14:22:07");
    // Not a JWT: the first segment does not decode to a JSON header.
    none("eyJub3Rqc29uIGF0IGFsbA.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLWJ5dGVz");
}
