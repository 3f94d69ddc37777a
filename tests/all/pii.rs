//! The stock pii plugin's rules, run as the real component in a bundle of its own.

use crate::util::{default_bundle, pii_bundle, run};

fn categories(text: &str) -> Vec<(String, String)> {
    let v = run(pii_bundle(), text);
    v.findings
        .iter()
        .map(|f| {
            let span = f.span.clone().expect("pii findings have spans");
            (f.category.clone(), text[span].to_string())
        })
        .collect()
}

fn found(text: &str, category: &str, value: &str) {
    let got = categories(text);
    assert!(
        got.contains(&(category.into(), value.into())),
        "expected {category} {value:?} in {text:?}, got {got:?}"
    );
}

/// Each hit's category and span, for comparing two detectors' answers.
fn spans(hits: Vec<pii::Hit>) -> Vec<(String, std::ops::Range<usize>)> {
    hits.into_iter()
        .map(|h| (h.category.to_string(), h.range))
        .collect()
}

fn none(text: &str) {
    let got = categories(text);
    assert!(got.is_empty(), "expected nothing in {text:?}, got {got:?}");
}

#[test]
fn emails_including_plus_addressing_and_non_ascii_context() {
    found(
        "mail ana.maria+news@example.co.uk now",
        "EMAIL_ADDRESS",
        "ana.maria+news@example.co.uk",
    );
    found(
        "Łukasz Żółć <lz@przyklad.pl> napisał",
        "EMAIL_ADDRESS",
        "lz@przyklad.pl",
    );
    // A domain written in its own script, not only in its `xn--` form.
    for (text, address) in [
        ("write to josé@exämple.de", "josé@exämple.de"),
        ("邮箱：用户@例子.广告", "用户@例子.广告"),
        ("Пишите на info@пример.рф, ответим.", "info@пример.рф"),
        ("email θέμα@παράδειγμα.ελ", "θέμα@παράδειγμα.ελ"),
    ] {
        found(text, "EMAIL_ADDRESS", address);
    }
    none("Größe @ München, ping @müller and @josé.smith, @über_uns.de");
    // The credential in a connection string is not an address.
    none("postgresql://app:hunter2@db.internal.example.com/app");
    none("ana@localhost and user@ and @example.com");
}

#[test]
fn phone_numbers_in_us_uk_and_de_formats() {
    for p in [
        "(415) 555-0132",
        "415-555-0132",
        "415.555.0132",
        "+1 415 555 0132",
        "+44 20 7946 0958",
        "+49 30 12345678",
        "07700 900123",
    ] {
        found(&format!("call {p} today"), "PHONE_NUMBER", p);
    }
    // Epoch milliseconds and digit runs inside longer numbers are not phone numbers.
    none("created 1748372415940 and 1710512527");
    none("order number 4532 0151 1283 0367");
}

#[test]
fn credit_cards_need_luhn_and_a_known_issuer() {
    for c in [
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "378282246310005",
        "6011111111111117",
        "3530111333300000",
    ] {
        found(&format!("card: {c}."), "CREDIT_CARD", c);
    }
    none("order number 4532 0151 1283 0367"); // fails Luhn
    none("tracking 1234567812345678"); // fails Luhn
    none("card 4111 1111-1111 1111"); // mixed separators
}

#[test]
fn ssns_outside_the_assigned_ranges_are_decoys() {
    found("SSN 123-45-6789 on file", "US_SSN", "123-45-6789");
    for decoy in [
        "000-12-3456",
        "666-12-3456",
        "912-12-3456",
        "123-00-4567",
        "123-45-0000",
        "123-45 6789",
    ] {
        none(&format!("claim {decoy} opened"));
    }
}

#[test]
fn ibans_need_country_length_and_mod_97() {
    found(
        "iban: DE89 3704 0044 0532 0130 00\n",
        "IBAN_CODE",
        "DE89 3704 0044 0532 0130 00",
    );
    found(
        "GB82WEST12345698765432 is mine",
        "IBAN_CODE",
        "GB82WEST12345698765432",
    );
    // The registry's own examples for countries beyond the common dozen, up to the longest (Russia, 33).
    for iban in [
        "AL47212110090000000235698741",
        "AZ21NABZ00000000137010001944",
        "BY13NBRB3600900000002Z00AB00",
        "EG380019000500000000263180002",
        "LC55HEMM000100010012001200023015",
        "RU0304452522540817810538091310419",
        "SC18SSCB11010000000000001497USD",
        "MU17BOMM0101101030300200000MUR",
        "SO211000001001000100141",
        "YE15CBYE0001018861234567891234",
    ] {
        found(&format!("pay to {iban}, thanks"), "IBAN_CODE", iban);
    }
    none("iban: DE89 3704 0044 0532 0130 01"); // checksum off by one
    none("ref XX89370400440532013000");
}

#[test]
fn ip_addresses_but_not_versions_or_oids() {
    found("from 203.0.113.7, again", "IP_ADDRESS", "203.0.113.7");
    found("src_ip=10.1.2.3 latency", "IP_ADDRESS", "10.1.2.3");
    found(
        "login from fe80::1ff:fe23:4567:890a.",
        "IP_ADDRESS",
        "fe80::1ff:fe23:4567:890a",
    );
    found(
        "host 2001:db8:0:0:1:0:0:1 up",
        "IP_ADDRESS",
        "2001:db8:0:0:1:0:0:1",
    );
    none("firmware 3.1.0.12 and version 1.13.8.52");
    none("Chrome/120.0.6099.109 and OID 1.3.6.1.4.1.311.21.8 and 999.1.1.1");
    // A clock, a MAC address (a category of its own) and a Rust path are not IP addresses.
    let got = categories("at 14:22:07, mac 00:1a:2b:3c:4d:5e, std::vec::Vec");
    assert_eq!(
        got,
        vec![("MAC_ADDRESS".to_string(), "00:1a:2b:3c:4d:5e".to_string())]
    );
}

#[test]
fn four_part_versions_are_told_from_addresses_by_their_context() {
    // Versions: a key or call that names one, a pre-release or build suffix, a package pin, an image
    // tag, the value of a key that names a version.
    for text in [
        r#"{"version": "1.0.0.0", "name": "app"}"#,
        r#"[assembly: AssemblyVersion("2.1.3.4")]"#,
        "fileVersion=4.8.0.1 productVersion: 4.8.0.1",
        "app_version = '10.2.0.7'",
        "ship 1.2.3.4-beta then 1.2.3.5+20240101",
        "pin somepkg==1.2.3.4 or otherpkg>=2.0.0.1",
        "services:\n  web:\n    image: northwind/web:2.14.3.3\n",
        r#"<add key="Build" value="1.1.31.17" />"#,
        // A document's numbering.
        "see Section 4.1.2.3 of the spec, § 7.2.1.4 and Appendix 2.1.0.3",
        // Software named before its version, what is done to one, an abbreviation, an XML element.
        "Chrome 1.2.3.4 on Android 8.1.0.33, Microsoft.NET.Sdk 6.0.1.12",
        "upgraded 4.18.0.305 to rev 4.18.0.306",
        "ver. 2.7.18.1",
        "<version>2.7.18.1</version>",
    ] {
        none(text);
    }
    found("android device at 10.20.30.40", "IP_ADDRESS", "10.20.30.40");
    found("<ip>10.20.30.40</ip>", "IP_ADDRESS", "10.20.30.40");
    // A registry host with a path is a URL of its own; its tag is still no address.
    let pulled = categories("pull ghcr.io/acme/api:1.0.0.7 first");
    assert!(pulled.iter().all(|(c, _)| c != "IP_ADDRESS"), "{pulled:?}");
    // Addresses, written the same ways.
    found(r#"{"host": "192.168.1.20"}"#, "IP_ADDRESS", "192.168.1.20");
    found("allow 10.0.0.1-10.0.0.20 only", "IP_ADDRESS", "10.0.0.1");
    found("allow 10.0.0.1-10.0.0.20 only", "IP_ADDRESS", "10.0.0.20");
    found("ssh admin@10.4.5.6 -p 22", "IP_ADDRESS", "10.4.5.6");
    found("upstream(10.0.3.9) timed out", "IP_ADDRESS", "10.0.3.9");
    found("connect to db:10.0.4.7 now", "IP_ADDRESS", "10.0.4.7");
    found(
        r#"<add key="Upstream" value="10.0.4.7" />"#,
        "IP_ADDRESS",
        "10.0.4.7",
    );
    found(
        "the new version is live on 172.16.0.4",
        "IP_ADDRESS",
        "172.16.0.4",
    );
}

#[test]
fn nhs_numbers_with_a_valid_check_digit() {
    found("NHS number 943 476 5919", "UK_NHS", "943 476 5919");
    found("nhs_no=9434765919 ok", "UK_NHS", "9434765919");
    // The same digits bare are an epoch-like number, not an NHS number.
    assert!(categories("created at 9434765919")
        .iter()
        .all(|(c, _)| c != "UK_NHS"));
    // A wrong check digit is no NHS number (though the same digits are a well-formed US phone number).
    assert!(categories("NHS number 943 476 5918")
        .iter()
        .all(|(c, _)| c != "UK_NHS"));
}

#[test]
fn default_policy_redacts_and_masks() {
    let v = run(
        default_bundle(),
        "mail ana@example.com, card 4111 1111 1111 1111",
    );
    assert_eq!(v.outcome, palisade::chain::Outcome::Modify);
    assert_eq!(v.text, "mail [EMAIL_ADDRESS], card **** **** **** 1111");
    assert!(v.labels.contains(&"found:EMAIL_ADDRESS".to_string()));
}

#[test]
fn host_names_alone_are_urls_only_when_the_config_asks() {
    let text = "mirror it to files.example.net tonight, then https://files.example.net/drop";
    let urls = |bundle: &palisade::bundle::Bundle| -> Vec<String> {
        (run(bundle, text).findings.iter())
            .filter(|f| f.category == "URL")
            .map(|f| text[f.span.clone().unwrap()].to_string())
            .collect()
    };
    assert_eq!(urls(pii_bundle()), ["https://files.example.net/drop"]);
    let asked = crate::util::load(&crate::util::with_plugin_config(
        format!("{}{}", crate::util::HEADER, crate::util::PII),
        "pii",
        "{ bare_hosts = true }",
    ))
    .unwrap();
    assert_eq!(
        urls(&asked),
        ["files.example.net", "https://files.example.net/drop"]
    );
}

/// The credential in a URL: pii alone redacts the URL whole; the default bundle's pii leaves the
/// credential to secrets, which denies it on input and cuts it out of an answer.
#[test]
fn a_credential_in_a_url_is_a_secret_in_the_default_bundle() {
    use palisade::chain::Dir;
    use palisade::chain::Outcome;
    let slack = "https://hooks.slack.com/services/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";
    let text = format!(
        "alerts go to {slack} and the mirror is \
         https://alice:ghp_Xk9pQ2vLm7RtY3wNa8ZcF4HsJ6dE1bU0oG5i@github.com/acme/x.git, status at \
         https://status.example.com/v1/report?api_key=f3Kd92LmQx7TzW0pVb4N&lang=en; clone \
         https://Qm7vT2xK9pLw4RzN8cYb3HsD6fJ1gUaE@git.example.com/acme/y.git as \
         https://deploy-bot@git.example.com/acme/y.git"
    );
    let urls: Vec<String> = (categories(&text).into_iter())
        .filter(|(category, _)| category == "URL")
        .map(|(_, url)| url)
        .collect();
    assert_eq!(urls.len(), 5, "{urls:?}");
    assert!(urls[0] == slack && urls[1].starts_with("https://alice:") && urls[2].ends_with("en"));

    // A token sent as the user, with no password, is the credential too; a user's name is not.
    let answer = crate::util::run_dir(default_bundle(), &text, Dir::Output);
    assert_eq!(
        answer.text,
        "alerts go to [SECRET] and the mirror is https://alice:[SECRET]@[URL], status at \
         [URL]?api_key=[SECRET]&lang=en; clone https://[SECRET]@[URL] as [URL]"
    );
    let prompt = crate::util::run_dir(default_bundle(), &text, Dir::Input);
    assert_eq!(prompt.outcome, Outcome::Deny);
    let reason = prompt.reason.unwrap();
    assert!(reason.contains("SECRET"), "{reason}");
    // The personal data of a denied prompt is still on record: pii ran before the deny.
    assert!(prompt.findings.iter().any(|f| f.category == "URL"));
}

/// A table's header is the cue for every value in its column: CSV, `;`- and tab-separated, Markdown.
#[test]
fn a_column_header_is_the_cue_for_its_values() {
    let csv = "id,name,account_number,ssn,nhs_number,card\n\
               1000,Ana Silva,740320377329,338850319,9434765919,4111111111111111\n\
               1001,Li Wei,13473251,260390788,4010232137,5555555555554444\n";
    for (category, value) in [
        ("US_BANK_NUMBER", "740320377329"),
        ("US_BANK_NUMBER", "13473251"),
        ("US_SSN", "338850319"),
        ("US_SSN", "260390788"),
        ("UK_NHS", "9434765919"),
        ("CREDIT_CARD", "4111111111111111"),
        ("CREDIT_CARD", "5555555555554444"),
    ] {
        found(csv, category, value);
    }
    found(
        "| Kunde | SSN |\n|---|---|\n| Ana | 338850319 |\n",
        "US_SSN",
        "338850319",
    );
    // The same numbers under other headers, or with no table around them, are ids.
    none("id,name,order,ref\n1000,Ana Silva,740320377329,338850319\n");
    none("order 740320377329 ref 338850319");
    // A thousands separator still joins: no card in the middle of an amount.
    none("total: 4,111,111,111,111,111,111 units");
    // A row is read up to 4 KiB: a header still cues a long row's values, and rows far longer (one-line
    // texts of megabytes, where reading the whole line again for every value made scanning quadratic)
    // are not tables.
    let long_row = format!("id,note,ssn\n1000,{},338850319\n", "x".repeat(3_000));
    found(&long_row, "US_SSN", "338850319");
    none(&format!(
        "id,note,ssn\n1000,{},338850319\n",
        "x".repeat(5_000)
    ));
}

/// A header cues its column however many rows below it; each line is read once, so a long export costs
/// linear time. A CSV file inside a JSON string starts on the line that opens the string: its header is read
/// from the right.
#[test]
fn a_header_cues_its_column_far_below_and_inside_a_json_string() {
    let mut csv = String::from("row,created,ssn,status\n");
    for i in 0..2_000 {
        csv.push_str(&format!(
            "{i},2026-03-14,{},active\n",
            219_099_999 - i % 7 * 1_000_000
        ));
    }
    let detector = pii::Detector::new(pii::Entity::ALL);
    let ssns = detector
        .detect(&csv)
        .into_iter()
        .filter(|h| h.category == "US_SSN")
        .count();
    assert_eq!(ssns, 2_000);
    found(
        r#"{"attachment":{"name":"export.csv","content":"id,nhsNumber,mobile\n100,9434765919,+44 20 7946 0958\n"}}"#,
        "UK_NHS",
        "9434765919",
    );
    // Under a header that names something else, far below it, still nothing.
    let mut ids = String::from("row,created,ref\n");
    for i in 0..500 {
        ids.push_str(&format!("{i},2026-03-14,{}\n", 219_099_999 - i));
    }
    assert!(detector.detect(&ids).is_empty());
}

/// The labels forms, spreadsheets and programs put on a value: camel case, dotted abbreviations, other
/// languages.
#[test]
fn labels_as_forms_and_field_names_write_them() {
    for (text, category, value) in [
        (
            r#"{"accountNumber":"4358837415361"}"#,
            "US_BANK_NUMBER",
            "4358837415361",
        ),
        (
            "mail=a@b.io;socialSecurityNo=403891090;x=1",
            "US_SSN",
            "403891090",
        ),
        ("<nhsNumber>9434765919</nhsNumber>", "UK_NHS", "9434765919"),
        ("Referral. N.H.S. no. 9434765919.", "UK_NHS", "9434765919"),
        ("Applicant\nSS# 219099999", "US_SSN", "219099999"),
        ("Soc. Sec. No. 219099999", "US_SSN", "219099999"),
        ("Kontonummer: 969596109", "US_BANK_NUMBER", "969596109"),
        (
            "A/C no. 84667201618456995",
            "US_BANK_NUMBER",
            "84667201618456995",
        ),
        ("IdNr. 98765432106 liegt vor.", "DE_TAX_ID", "98765432106"),
    ] {
        found(text, category, value);
    }
}

/// A label names the value after it: not the value on the next line when its own line ended in one, not
/// the next field of a record, and a code such as `ORD-20765525` is nobody's account.
#[test]
fn a_label_names_the_value_after_it_not_the_next_one() {
    assert_eq!(
        categories("SSN 219099999\nEmployee no.: 820034384"),
        [("US_SSN".to_string(), "219099999".to_string())]
    );
    // A card's number after a bank's words is still a card when the bank's reading can't take it:
    // grouped as cards are, or too long for an account. Run together and account-sized, it is the account.
    for text in [
        "acct a a a 4111 1111 1111 1111 a a",
        "checking: 4111-1111-1111-1111",
        "savings 4111111111111111110",
    ] {
        let got = categories(text);
        assert!(
            got.iter().any(|(c, _)| c == "CREDIT_CARD"),
            "{text:?}: {got:?}"
        );
    }
    found(
        "acct 4111111111111111",
        "US_BANK_NUMBER",
        "4111111111111111",
    );
    let record = "acct_no=98376239439&pan=5105105105105100&phone=x";
    found(record, "US_BANK_NUMBER", "98376239439");
    found(record, "CREDIT_CARD", "5105105105105100");
    // Words that set the scene still reach across lines.
    found(
        "Routing: 038057818\nAccount: 12345678",
        "US_BANK_NUMBER",
        "12345678",
    );
    for text in [
        "Routing: 038057818\nCustomer account ID: 9089386100",
        "checking acct order=ORD-20765525",
    ] {
        let got = categories(text);
        assert!(
            got.iter().all(|(c, _)| c != "US_BANK_NUMBER"),
            "{text:?}: {got:?}"
        );
    }
}

/// Addresses written to get past harvesters are addresses; prose with "at" and "dot" is not. A spelled
/// `at` before a plain domain is left alone: `work at google.com` is a workplace, and nothing tells
/// `j_smith at example.co.uk` from it but the underscore.
#[test]
fn addresses_written_to_dodge_harvesters() {
    for value in [
        "jane.doe at example dot com",
        "jane[at]example[dot]com",
        "jane [at] example [dot] org",
        "jane (at) example.com",
        "JANE AT EXAMPLE DOT COM",
        "jane@example[.]com",
    ] {
        found(&format!("write to {value}, thanks"), "EMAIL_ADDRESS", value);
    }
    for text in [
        "I work at google.com these days",
        "write to j_smith at example.co.uk",
        "meet at noon dot the i's",
        "look at the docs first",
        "pay at checkout.",
    ] {
        none(text);
    }
}

/// Cyrillic letters in place of Latin ones do not hide an address.
#[test]
fn look_alike_letters_do_not_hide_an_address() {
    for value in ["rоsa_tanаka87@оutloоk.cоm", "eunji@web.dе"] {
        found(&format!("Registered with {value}."), "EMAIL_ADDRESS", value);
    }
}

/// In a form body a `+` is a space: `phone=%2B44+20+7946+0958` is a phone number; `+` between digits
/// elsewhere is arithmetic.
#[test]
fn a_form_bodys_plus_signs_are_spaces_in_a_phone_number() {
    found(
        "name=Ann&phone=%2B44+20+7946+0958&consent=on",
        "PHONE_NUMBER",
        "%2B44+20+7946+0958",
    );
    none("total +44+20+7946+0958");
}

/// Nine digits grouped 3-3-3 next to a word for a phone are a phone number, even when they pass the
/// Australian tax file number's check.
#[test]
fn a_phone_cue_wins_over_a_tax_file_numbers_check() {
    found("Móvil: 123 456 782", "PHONE_NUMBER", "123 456 782");
    found("my TFN is 123 456 782", "AU_TFN", "123 456 782");
}

/// A text of one long line (prose without breaks, minified JSON) is scanned whole: every value in a
/// megabyte of it is found.
#[test]
fn every_value_in_a_megabyte_on_one_line_is_found() {
    let chunk = "She wrote from maria.lopez@example.com and asked us to charge 4111 1111 1111 1111 again, \
                 or call her at (415) 555-0132; router 3.1.0.12, id 6f1c2a9e-3b7d-4c55-9a0e-1d2f3a4b5c6d. ";
    let copies = (1 << 20) / chunk.len();
    let text = chunk.repeat(copies);
    let detector = pii::Detector::new(pii::Entity::ALL);
    let hits = detector.detect(&text);
    for category in ["EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"] {
        let n = hits.iter().filter(|h| h.category == category).count();
        assert_eq!(n, copies, "{category}");
    }
}

/// A megabyte of log lines, a run of digits every nine bytes, under a line with every cued recogniser's
/// word: pii works within its default memory (64 MiB). It used to keep each pattern's stretches of digits
/// for the rest of the text's scan — a list of the text's 120,000 runs for each of 22 patterns — ran out,
/// and the exchange was denied.
#[test]
fn a_megabyte_log_dense_with_numbers_fits_in_the_default_memory() {
    let line = "2026-12-06T04:52:37.585Z app[5902] WARN [api-gateway] connection pool size=16\n";
    let text = format!(
        "phone, passport, date of birth, driver licence, ITIN, PESEL\n{}mail ops@example.com",
        line.repeat((1 << 20) / line.len())
    );
    let v = run(pii_bundle(), &text);
    assert!(v.failures.is_empty(), "{:?}", v.failures);
    let found: Vec<&str> = v
        .findings
        .iter()
        .map(|f| &text[f.span.clone().expect("pii findings have spans")])
        .collect();
    assert_eq!(found, ["ops@example.com"]);
}

#[test]
fn phone_numbers_in_national_formats() {
    for value in [
        "(02) 9876 5432",
        "(11) 91234-5678",
        "03-1234-5678",
        "090-1234-5678",
        "010-1234-5678",
        "06-12345678",
        "0412 345 678",
    ] {
        found(
            &format!("call me on {value} tonight"),
            "PHONE_NUMBER",
            value,
        );
        found(&format!("bel {value}"), "PHONE_NUMBER", value);
    }
    // Any grouping, after a word that says phone; not a date, and not after "Patel".
    found("teléfono: 912 345 678", "PHONE_NUMBER", "912 345 678");
    found("tel. 06 1234 5678", "PHONE_NUMBER", "06 1234 5678");
    none("Patel 912 345 678");
    none("phone bill dated 2024-05-17");
    // Chinese, Japanese and Korean cues stand inside words: no space before them.
    found("我的电话是 138 0013 8000", "PHONE_NUMBER", "138 0013 8000");
    found("联系手机：13800138000。", "PHONE_NUMBER", "13800138000");
    found(
        "電話番号は 03 1234 5678 です",
        "PHONE_NUMBER",
        "03 1234 5678",
    );
    found("전화번호 02 3456 7890", "PHONE_NUMBER", "02 3456 7890");
    none("订单号 138 0013 8000");
    none("订单号 13800138000");
}

#[test]
fn ssns_bank_numbers_and_addresses_in_the_ways_people_write_them() {
    found("my social is 338850319.", "US_SSN", "338850319");
    // A Luhn-valid number after "account number" is the account's, not a card's.
    found(
        "account number 35310280238427495",
        "US_BANK_NUMBER",
        "35310280238427495",
    );
    // Addresses with a non-ASCII local part (RFC 6531).
    found(
        "escribe a josé.garcía@ejemplo.es",
        "EMAIL_ADDRESS",
        "josé.garcía@ejemplo.es",
    );
}

/// Searching digit-bearing patterns only near digits changes no answer: values at a long text's edges, glued
/// to letters, and pairs of values at distances around a window's reach, compared with every pattern
/// searching the whole text; then the development corpus when it is beside the repository.
#[test]
fn skipping_cued_recognizers_in_texts_without_their_cues_changes_no_answer() {
    let gated = pii::Detector::new(pii::Entity::ALL);
    let ungated = pii::Detector::new(pii::Entity::ALL).with_cue_gate(false);
    let values = [
        "912 345 678",
        "06 1234 5678",
        "13812345678",
        "123-45-6789",
        "923-70-1234",
        "C12345678",
        "44051401359",
        "1984-05-17",
        "17.05.1984",
        "D1234567",
        // No digit: a text without one skips the cued recognisers, whose validators want digits.
        "WDLABCDEFGHI",
    ];
    // Cues as words, in a column's header (any case, joined or camel-cased), in other scripts, and in
    // capitals outside ASCII, which an ASCII-case search does not fold.
    let cues = [
        "Phone",
        "tel.",
        "call me on",
        "MOBILE",
        "ring me at",
        "contact number:",
        "TELÉFONO",
        "MÓVIL",
        "Téléphone",
        "电话",
        "전화",
        "ITIN",
        "Tax-ID",
        "passport no",
        "TRAVEL DOCUMENT",
        "PESEL",
        "date of birth",
        "GEBURTSDATUM",
        "D.O.B.",
        "d o b",
        "Drivers Lic",
        "DL no",
        "dl num",
        "tax id",
        "nothing here",
    ];
    let mut texts: Vec<String> = Vec::new();
    for value in values {
        for cue in cues {
            texts.push(format!("{cue} {value}"));
            texts.push(format!("{cue}: {value}, thanks"));
            let header = cue.replace([' ', '.', ':'], "_");
            texts.push(format!("name,{header}\nAna,{value}\n"));
            let camel: String = cue
                .split(' ')
                .map(|w| {
                    let mut chars = w.chars();
                    let first = chars.next().map(|c| c.to_uppercase().to_string());
                    first.unwrap_or_default() + &chars.as_str().to_lowercase()
                })
                .collect();
            texts.push(format!(
                "| name | {camel} |\n|---|---|\n| Ana | {value} |\n"
            ));
        }
    }
    texts.extend(crate::util::dev_corpus_texts());
    let mut cued = 0;
    for text in &texts {
        let expected = spans(ungated.detect(text));
        assert_eq!(spans(gated.detect(text)), expected, "in {text:?}");
        cued += usize::from(expected.iter().any(|(c, _)| c != "URL"));
    }
    // Most texts hold a value that only its cue makes one: the comparison is not over empty answers.
    assert!(cued > texts.len() / 3, "{cued} of {}", texts.len());
}

#[test]
fn searching_near_digits_only_changes_no_answer() {
    let windowed = pii::Detector::new(pii::Entity::ALL);
    let whole = pii::Detector::new(pii::Entity::ALL).with_windows(false);
    let values = [
        "card 4111 1111 1111 1111",
        "SSN 078-05-1120",
        "tel +44 20 7946 0958",
        "IBAN GB82 WEST 1234 5698 7654 32",
        "NHS 943 476 5919",
        "from 192.168.1.20",
        "NINO AB 12 34 56 C",
        "Aadhaar 2345 6789 0124",
        "DNI 12345678Z",
        "RRN 800101-1234560",
        "HETU 131052-308T",
        "born 1984-05-17",
        "call (415) 555-0132",
        "account no. 12345678901",
        "passport 123456789",
        "jane@example.com",
        "https://example.org/a?id=42",
        "MAC 00:1A:2B:3C:4D:5E",
        "DL# D1234567",
        "PESEL 44051401359",
        // No digit needed: searched in the runs of their bytes around a dot or a colon.
        "see shop.example.co.uk/cart",
        "host fe80::1ff:fe23:4567:890a",
        "gw dead:beef::cafe",
        "MAC aa:bb:cc:dd:ee:ff",
        // A few digits alone (too few for most patterns), and beside the values above at every gap.
        "floor 3",
        "ext. 42-7",
    ];
    let prose = |n: usize| {
        "Grüße, données — "
            .chars()
            .cycle()
            .take(n)
            .collect::<String>()
    };
    let mut texts: Vec<String> = Vec::new();
    for a in values {
        texts.push(a.to_string());
        texts.push(format!("{a}{}", prose(1200)));
        texts.push(format!("{}{a}", prose(1200)));
        texts.push(format!("{}é{a}é{}", prose(600), prose(600)));
        texts.push(format!("{} {a} {}", prose(600), prose(600)));
        for b in values {
            // Short texts are windowed too: two values alone, at every gap.
            for gap in [0, 1, 2, 3, 5, 8, 30] {
                texts.push(format!("{a}{}{b}", " ".repeat(gap)));
                texts.push(format!("{a} {}{b}.", prose(gap)));
            }
            for gap in [0, 1, 2, 3, 5, 8, 30, 60, 130, 400] {
                texts.push(format!(
                    "{} {a} {}{b} {}",
                    prose(600),
                    prose(gap),
                    prose(600)
                ));
                texts.push(format!(
                    "{}{a}{}{b}{}",
                    prose(600),
                    "x".repeat(gap),
                    prose(600)
                ));
            }
        }
    }
    // Texts dense with values: windows around many runs of digits, or the whole text where they would
    // cover most of it.
    texts.push(values.join(" "));
    texts.push(values.join(". ").repeat(4));
    texts.push(
        "She wrote from maria.lopez@example.com about order ORD-2024-118834, card 4111 1111 1111 1111, \
         call (415) 555-0132 after 5pm; firmware 3.1.0.12, request 6f1c2a9e-3b7d-4c55-9a0e-1d2f3a4b5c6d. "
            .repeat(12),
    );
    texts.extend(crate::util::dev_corpus_texts());
    let mut with_hits = 0;
    for text in &texts {
        let expected = spans(whole.detect(text));
        assert_eq!(spans(windowed.detect(text)), expected, "in {text:?}");
        with_hits += usize::from(expected.len() >= 2);
    }
    assert!(
        with_hits > texts.len() / 3,
        "{with_hits} of {}",
        texts.len()
    );

    // A team's own patterns are windowed the same way when every match holds a digit, or one of a few
    // marks in a run of the bytes its matches are made of (`\b` read in the whole text); ones that reach
    // far from their digits, or in ways the analysis cannot bound, are searched whole.
    let custom = |windows: bool| {
        let patterns = [
            r"\bEMP-[0-9]{5}\b",
            r"[a-z]+#[a-z]{3}\b",
            "x[0-9][a-z]{100}",
            "a[0-9](?:[0-9]y){70}",
            "q(?:[0-9]z)+",
            "[A-Z]{3}-[0-9]{2}-[A-Z]{40}",
            r"(?:#|no\.)[0-9]{4}",
        ];
        pii::Detector::new(&[])
            .with_patterns(
                patterns
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        pii::CustomPattern::new(
                            format!("custom-{i}"),
                            "CUSTOM".into(),
                            p,
                            0.9,
                            Vec::new(),
                        )
                        .unwrap()
                    })
                    .collect(),
            )
            .with_windows(windows)
    };
    let (windowed, whole) = (custom(true), custom(false));
    let values = [
        "EMP-20481".to_string(),
        "team#ops".to_string(),
        format!("x7{}", "k".repeat(100)),
        format!("a1{}", "3y".repeat(70)),
        format!("q{}", "5z".repeat(300)),
        format!("ABC-12-{}", "Q".repeat(40)),
        "no.2024".to_string(),
    ];
    let mut both_found = 0;
    for a in &values {
        for b in &values {
            let text = format!("{} {a} {} {b} {}", prose(700), prose(9), prose(700));
            let expected = spans(whole.detect(&text));
            assert_eq!(spans(windowed.detect(&text)), expected, "in {text:?}");
            both_found += usize::from(expected.len() == 2);
        }
    }
    assert_eq!(both_found, values.len() * values.len());
}
