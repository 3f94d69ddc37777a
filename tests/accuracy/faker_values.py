#!/usr/bin/env python3
"""A labelled set of values we did not write: Faker's phone numbers, card numbers, IBANs, e-mail addresses,
IPs and URLs in 46 locales, each in a few short contexts — after a word that names it, in a sentence, and
alone — and its national identifiers (eleven kinds, and US SSNs) under their names. Written in corpus.py's
format, for `palisade scan --jsonl` and score.py.

    python3 tests/accuracy/faker_values.py -o faker.jsonl     (needs Faker; tests/ner/setup.sh pins it)

Faker writes each locale's formats as its maintainers found them (Hungarian `30/166 1318`, Russian
`8 (246) 281-9482`, Faker's own GB IBAN for locales without a bank format), including some no real number
has (its NINOs are all `ZZ … T`, a prefix and a suffix HMRC never issues): those count as misses like any
other. A phone number alone, with no word for phone, is one context
in six: Palisade does not report bare digit groups as phone numbers, so those are mostly misses too.
"""
import argparse
import json

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pt_PT", "pl_PL", "sv_SE",
           "da_DK", "no_NO", "fi_FI", "cs_CZ", "hu_HU", "ro_RO", "tr_TR", "ru_RU", "uk_UA", "ja_JP", "ko_KR",
           "zh_CN", "hi_IN", "en_IN", "en_AU", "en_CA", "fr_CA", "de_AT", "de_CH", "nl_BE", "el_GR", "he_IL",
           "id_ID", "th_TH", "vi_VN", "es_MX", "es_AR", "en_NZ", "en_IE", "sk_SK", "hr_HR", "bg_BG", "lt_LT",
           "lv_LV", "et_EE"]

# (type, how Faker makes one, how many per locale, the contexts, taken in turn)
KINDS = [
    ("PHONE_NUMBER", lambda f: f.phone_number(), 30,
     ["Call me at {v} tomorrow.", "My phone number is {v}.", "Contact: {v}", "{v}", "reach me on {v} after 5pm",
      "Tel: {v}"]),
    ("CREDIT_CARD", lambda f: f.credit_card_number(), 6, ["Card: {v}", "pay with {v} please", "{v}"]),
    ("IBAN_CODE", lambda f: f.iban(), 6, ["IBAN: {v}", "transfer to {v} today", "{v}"]),
    ("EMAIL_ADDRESS", lambda f: f.email(), 6, ["mail {v}", "{v}"]),
    ("IP_ADDRESS", lambda f: f.ipv4() if f.random_int(0, 1) else f.ipv6(), 6, ["from {v} at noon", "{v}"]),
    ("URL", lambda f: f.url(), 6, ["see {v}", "{v}"]),
]

# National identifiers, from the locale that issues them, each under a word that names it.
IDENTIFIERS = [
    ("UK_NINO", "en_GB", "ssn", ["National Insurance number: {v}", "NINO {v}", "my NI number is {v}"]),
    ("ES_NIF", "es_ES", "nif", ["NIF: {v}", "mi DNI es {v}", "NIF {v}"]),
    ("ES_NIE", "es_ES", "nie", ["NIE: {v}", "my NIE is {v}", "NIE {v}"]),
    ("IT_FISCAL_CODE", "it_IT", "ssn", ["Codice fiscale: {v}", "CF {v}", "codice fiscale {v}"]),
    ("PL_PESEL", "pl_PL", "pesel", ["PESEL: {v}", "numer PESEL {v}", "PESEL {v}"]),
    ("FI_PERSONAL_IDENTITY_CODE", "fi_FI", "ssn", ["henkilötunnus {v}", "HETU: {v}", "personal identity code {v}"]),
    ("IN_AADHAAR", "en_IN", "aadhaar_id", ["Aadhaar: {v}", "aadhaar number {v}", "Aadhaar {v}"]),
    ("IN_PAN", "en_IN", "pan", ["PAN: {v}", "PAN card {v}", "my PAN is {v}"]),
    ("KR_RRN", "ko_KR", "ssn", ["주민등록번호 {v}", "RRN: {v}", "resident registration number {v}"]),
    ("US_PASSPORT", "en_US", "passport_number", ["passport number {v}", "Passport: {v}", "passport no. {v}"]),
    ("US_ITIN", "en_US", "itin", ["ITIN: {v}", "my ITIN is {v}", "ITIN {v}"]),
]


def document(doc_id: str, kind: str, template: str, value: str) -> dict:
    text = template.format(v=value)
    start = len(text[:text.index(value)].encode())
    return {"id": doc_id, "direction": "input", "carrier": "sentence", "text": text,
            "entities": [{"type": kind, "start": start, "end": start + len(value.encode()), "value": value}],
            "decoys": []}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    from faker import Faker

    with open(args.output, "w", encoding="utf-8") as out:
        for locale in LOCALES:
            for kind, make, count, templates in KINDS:
                faker = Faker(locale)
                faker.seed_instance(7)
                for k in range(count):
                    doc = document(f"{locale}-{kind}-{k}", kind, templates[k % len(templates)], make(faker))
                    out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        for kind, locale, method, templates in IDENTIFIERS:
            faker = Faker(locale)
            faker.seed_instance(7)
            for k in range(30):
                value = getattr(faker, method)()
                doc = document(f"{locale}-{kind}-{k}", kind, templates[k % len(templates)], value)
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        faker = Faker("en_US")
        faker.seed_instance(7)
        for k in range(60):
            template = ["SSN: {v}", "social security number {v}", "{v}"][k % 3]
            out.write(json.dumps(document(f"en_US-US_SSN-{k}", "US_SSN", template, faker.ssn())) + "\n")


if __name__ == "__main__":
    main()
