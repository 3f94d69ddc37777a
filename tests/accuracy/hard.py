#!/usr/bin/env python3
"""A hard set: values where a filter has to work to see them, to measure detection beyond plain prose.

    python3 tests/accuracy/hard.py [-n 600] [--seed 37] [-o hard.jsonl]

Writes labelled documents in the corpus format (see corpus.py). Five kinds, each unlike the documents of the
dev corpus and of corpus.py:

- nested: a value inside a carrier inside a carrier — JSON in a JSON string (escaped twice), a form body
  (percent-encoded, `+` for a space), XML with character references inside JSON, a CSV file inside a JSON
  string (the header's cue a `\\n` away), a Markdown code block in a chat message's JSON;
- adjacent: values with only punctuation between them — `key=value;key=value`, pipe- and tab-separated
  records under a header, a value glued to brackets, quotes or a sentence's full stop;
- long: 10-60 KB documents (a log, a CSV export, a one-line JSON array of records) with values far from the
  start, under a header hundreds of rows above;
- cues: the types that need a word beside them (bank account, NHS and SSN numbers without separators, phone
  numbers in national form) under the labels forms, spreadsheets and people use, in English and a few other
  languages;
- obfuscated: e-mail addresses written to dodge a scraper (`jane at example dot com`, `jane[at]example.com`),
  values spelled with letters from other scripts that look alike.

Each kind has decoys (version numbers, order and customer ids, dates, prose with "at" and "dot") so precision
is measured too. Standard library only; the seed fixes the output byte for byte.
"""
from __future__ import annotations

import json
import random
import urllib.parse

import values as v
from corpus import Doc, cli, from_builders, json_escape, write


def json_twice(s: str) -> str:
    return json_escape(json_escape(s))


def form_encode(s: str) -> str:
    return urllib.parse.quote_plus(s)


def xml_refs(s: str) -> str:
    """`@` and `.` as decimal character references, the rest as XML escapes it."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace("@", "&#64;").replace(".", "&#46;")


# One value of each type a record may hold, with the field names systems give it.
FIELDS = {
    "EMAIL_ADDRESS": (["email", "emailAddress", "contact_email", "e_mail", "mail"], v.email),
    "PHONE_NUMBER": (["phone", "phoneNumber", "mobile", "tel", "contact_phone"], v.phone),
    "US_SSN": (["ssn", "SSN", "social_security_number", "socialSecurityNo", "tax_ssn"], lambda r: v.ssn(r, r.choice(["-", ""]))),
    "CREDIT_CARD": (["card_number", "cardNumber", "pan", "cc_number", "creditCard"], lambda r: v.card(r).replace(" ", "")),
    "IBAN_CODE": (["iban", "IBAN", "payout_iban", "bankIban"], v.iban_compact),
    "US_BANK_NUMBER": (["account_number", "accountNumber", "bank_account", "acct_no", "checking_account"], v.bank_account),
    "UK_NHS": (["nhs_number", "nhsNumber", "NHSNo", "nhs_no"], lambda r: v.nhs(r).replace(" ", "").replace("-", "")),
    "IP_ADDRESS": (["ip", "client_ip", "remoteAddr", "source_ip"], v.ipv4),
}


def record(rng, kinds: list[str]) -> list[tuple[str, str, str]]:
    """(field, type, value) for each kind."""
    return [(rng.choice(FIELDS[k][0]), k, FIELDS[k][1](rng)) for k in kinds]


def some_kinds(rng, n: int) -> list[str]:
    return rng.sample(sorted(FIELDS), n)


# ---------------------------------------------------------------- nested carriers

def nested_doc(d: Doc, rng) -> None:
    k = rng.randrange(5)
    if k == 0:
        # A tool call whose arguments are a JSON string holding a JSON string.
        d.add('{"type":"function","function":{"name":"crm_upsert","arguments":"{\\"payload\\":\\"')
        d.escape = json_twice
        d.add("{")
        for i, (field, kind, value) in enumerate(record(rng, some_kinds(rng, 3))):
            d.add(("," if i else "") + f'"{field}":"').ent(kind, value).add('"')
        d.add("}")
        d.escape = lambda s: s
        d.add('\\"}"}}')
    elif k == 1:
        # An HTTP dump of a form post: values percent-encoded, spaces as `+`.
        d.add("POST /signup HTTP/1.1\nHost: app.example.net\nContent-Type: application/x-www-form-urlencoded\n\n")
        d.add(f"name={form_encode(v.name(rng))}")
        for field, kind, value in record(rng, some_kinds(rng, 3)):
            d.add(f"&{field}=")
            d.escape = form_encode
            d.ent(kind, value)
            d.escape = lambda s: s
        d.add("&consent=on\n")
    elif k == 2:
        # XML with character references, carried in a JSON field.
        d.add('{"source":"soap-gateway","body":"')
        d.escape = json_escape
        d.add("<Customer>")
        for field, kind, value in record(rng, some_kinds(rng, 2)):
            d.add(f"<{field}>")
            d.escape = lambda s: json_escape(xml_refs(s))
            d.ent(kind, value)
            d.escape = json_escape
            d.add(f"</{field}>")
        d.add("</Customer>")
        d.escape = lambda s: s
        d.add('"}')
    elif k == 3:
        # A CSV attachment inside a JSON string: the column header is one escaped line above the values.
        kinds = some_kinds(rng, 2)
        fields = [rng.choice(FIELDS[x][0]) for x in kinds]
        d.add('{"attachment":{"filename":"export.csv","content":"')
        d.escape = json_escape
        d.add("id," + ",".join(fields) + "\n")
        for i in range(rng.randint(2, 4)):
            d.add(str(100 + i))
            for x in kinds:
                d.add(",").ent(x, FIELDS[x][1](rng))
            d.add("\n")
        d.escape = lambda s: s
        d.add('"}}')
    else:
        # A chat message (JSON) whose content holds a fenced JSON block.
        d.add('{"role":"user","content":"')
        d.escape = json_escape
        d.add("Why does this record fail validation?\n```json\n{\n")
        for field, kind, value in record(rng, some_kinds(rng, 3)):
            d.add(f'  "{field}": "').ent(kind, value).add('",\n')
        d.add('  "plan": "pro",\n  "version": "')
        d.decoy("version", f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}")
        d.add('"\n}\n```')
        d.escape = lambda s: s
        d.add('"}')


# ---------------------------------------------------------------- adjacent values

def adjacent_doc(d: Doc, rng) -> None:
    k = rng.randrange(4)
    if k == 0:
        # key=value pairs with no spaces, as log lines and cookies write them.
        d.add(f"ts=2026-03-{rng.randint(10, 28)}T10:{rng.randint(10, 59)}:00Z evt=kyc.check ")
        sep = rng.choice([";", "&", "|", ","])
        pairs = record(rng, some_kinds(rng, rng.randint(3, 4)))
        for i, (field, kind, value) in enumerate(pairs):
            d.add((sep if i else "") + f"{field}=").ent(kind, value)
        d.add(f"{sep}order=").decoy("order_number", f"ORD-{v.digits(rng, 8)}").add("\n")
    elif k == 1:
        # Pipe- or tab-separated records under their header.
        kinds = some_kinds(rng, 3)
        sep = rng.choice(["|", "\t"])
        d.add(sep.join(["customer_id"] + [rng.choice(FIELDS[x][0]) for x in kinds]) + "\n")
        for _ in range(rng.randint(2, 5)):
            d.decoy("order_number", f"C{v.digits(rng, 7)}")
            for x in kinds:
                d.add(sep).ent(x, FIELDS[x][1](rng))
            d.add("\n")
    elif k == 2:
        # Values glued to brackets, quotes, a slash or a sentence's end.
        d.add("Contact (").ent("EMAIL_ADDRESS", v.email(rng)).add(rng.choice([")", "),", ");"]))
        d.add(" or call [").ent("PHONE_NUMBER", v.phone(rng)).add("].")
        d.add(" Card ending: '").ent("CREDIT_CARD", v.card(rng)).add("'.")
        d.add(" SSN/NHS: ").ent("US_SSN", v.ssn(rng, "-")).add("/").ent("UK_NHS", v.nhs(rng)).add(".")
        d.add(" Reply to <").ent("EMAIL_ADDRESS", v.email(rng)).add(">.\n")
    else:
        # One line holding several values, comma-separated, as a copy from a spreadsheet cell.
        d.add(f"{v.name(rng)}, ")
        d.ent("EMAIL_ADDRESS", v.email(rng)).add(", ").ent("PHONE_NUMBER", v.phone(rng)).add(", IBAN ")
        d.ent("IBAN_CODE", v.iban(rng)).add(", from ").ent("IP_ADDRESS", v.ipv4(rng)).add(f", build ")
        d.decoy("version", f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(100, 999)}").add("\n")


# ---------------------------------------------------------------- long documents

def filler_log_line(rng) -> str:
    return (f"2026-05-{rng.randint(10, 28)} {rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)}.{v.digits(rng, 3)} "
            f"INFO worker-{rng.randint(1, 16)} job={v.uuid(rng)} took={rng.randint(1, 900)}ms "
            f"queue={rng.choice(['emails', 'billing', 'exports'])} attempt={rng.randint(1, 3)}\n")


def long_doc(d: Doc, rng) -> None:
    k = rng.randrange(3)
    if k == 0:
        # A long log with a few lines that carry values.
        for i in range(rng.randint(150, 600)):
            if rng.random() < 0.015:
                field, kind, value = record(rng, [rng.choice(["EMAIL_ADDRESS", "IP_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"])])[0]
                d.add(f"2026-05-{rng.randint(10, 28)} 12:00:{rng.randint(10, 59)}.000 WARN api {field}=").ent(kind, value).add(" rejected\n")
            else:
                d.add(filler_log_line(rng))
    elif k == 1:
        # A CSV export: the cue is the header, up to hundreds of rows above the value. (One column of values:
        # an exchange reports its first 1,000 findings, and this set scores findings.)
        kinds = some_kinds(rng, 1)
        d.add("row,created," + ",".join(rng.choice(FIELDS[x][0]) for x in kinds) + ",status\n")
        for i in range(rng.randint(200, 700)):
            d.add(f"{i},2026-0{rng.randint(1, 9)}-{rng.randint(10, 28)}")
            for x in kinds:
                d.add(",").ent(x, FIELDS[x][1](rng))
            d.add(f",{rng.choice(['active', 'closed', 'pending'])}\n")
    else:
        # One line: a JSON array of records with no line breaks at all.
        d.add("[")
        for i in range(rng.randint(120, 400)):
            d.add(("," if i else "") + f'{{"id":{i},"sku":"SKU-{v.digits(rng, 6)}","qty":{rng.randint(1, 9)}')
            if rng.random() < 0.1:
                field, kind, value = record(rng, [rng.choice(sorted(FIELDS))])[0]
                d.add(f',"{field}":"').ent(kind, value).add('"')
            d.add("}")
        d.add("]")


# ---------------------------------------------------------------- cue words as people write them

BANK_LABELS = ["A/C no. ", "Acct: ", "account # ", "Account Number: ", "Bank acct ", "checking acct ", "Kontonummer: ",
               "beneficiary account ", "DDA account ", "deposit to account ", "savings a/c ", "Account No.: "]
NHS_LABELS = ["NHS No: ", "NHS-Nr ", "NHS number ", "N.H.S. no. ", "NHS#: ", "patient's NHS number is "]
SSN_LABELS = ["SSN: ", "SS# ", "Soc. Sec. No. ", "social security # ", "SSN ", "Social Security Number (SSN): "]
PHONE_LABELS = ["Tel.: ", "Mobile: ", "Phone #: ", "Telefon: ", "Tél : ", "cell ", "Call me on ", "Móvil: ", "WhatsApp: "]


def cue_doc(d: Doc, rng) -> None:
    k = rng.randrange(4)
    if k == 0:
        d.add(f"Payee: {v.name(rng)}\nRouting: {v.routing_number(rng)}\n{rng.choice(BANK_LABELS)}")
        d.ent("US_BANK_NUMBER", v.bank_account(rng)).add("\n")
        d.add("Customer account ID: ").decoy("order_number", v.digits(rng, 10)).add(" (not a bank account)\n")
    elif k == 1:
        d.add(f"Referral for {v.name(rng)}. {rng.choice(NHS_LABELS)}")
        d.ent("UK_NHS", v.nhs(rng).replace(" ", "")).add(f". Appointment ref ").decoy("order_number", v.digits(rng, 10)).add(".\n")
    elif k == 2:
        d.add(f"Applicant: {v.name(rng)}\n{rng.choice(SSN_LABELS)}").ent("US_SSN", v.ssn(rng, rng.choice(["", "-", " "])))
        d.add("\nEmployee no.: ").decoy("order_number", v.digits(rng, 9)).add("\n")
    else:
        d.add(f"{v.name(rng)} — {rng.choice(PHONE_LABELS)}").ent("PHONE_NUMBER", v.phone(rng))
        d.add(" — invoice ").decoy("order_number", f"{v.digits(rng, 4)} {v.digits(rng, 4)}").add("\n")


# ---------------------------------------------------------------- obfuscated e-mail addresses, look-alike letters

HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"}


def obfuscated_email(rng) -> str:
    local, domain = v.email(rng).lower().split("@", 1)
    k = rng.randrange(5)
    if k == 0:
        return f"{local} at {domain.replace('.', ' dot ')}"
    if k == 1:
        return f"{local}[at]{domain.replace('.', '[dot]')}"
    if k == 2:
        return f"{local} (at) {domain}"
    if k == 3:
        return f"{local} AT {domain.replace('.', ' DOT ')}"
    return f"{local}@{domain.replace('.', '[.]')}"


def obfuscated_doc(d: Doc, rng) -> None:
    k = rng.randrange(3)
    if k == 0:
        d.add(rng.choice(["To avoid spam, write to ", "Email me: ", "reach the maintainer at ", "Contact: "]))
        d.ent("EMAIL_ADDRESS", obfuscated_email(rng)).add(rng.choice([".", " — thanks!", "\n", " (no bots)."]))
        d.add(rng.choice([" We meet at noon at the office.", " Look at the docs first.",
                          " The dot com era is over.", " Pay at checkout."]))
    elif k == 1:
        # Look-alike Cyrillic letters in an address: still an address, still somebody's.
        value = v.email(rng).lower()
        value = "".join(HOMOGLYPHS.get(c, c) if rng.random() < 0.3 else c for c in value)
        d.add("Registered with ").ent("EMAIL_ADDRESS", value).add(".\n")
    else:
        d.add("Prose decoys: the meeting is at ten, dot the i's. See ").decoy("version", f"v{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}")
        d.add(f" at {rng.choice(['home', 'work', 'noon'])}.\n")


BUILDERS = [("nested", nested_doc, 5), ("adjacent", adjacent_doc, 4), ("long", long_doc, 1),
            ("cues", cue_doc, 4), ("obfuscated", obfuscated_doc, 2)]


def main() -> None:
    args = cli(__doc__, 600, 37)
    write(from_builders(BUILDERS, args.n, random.Random(args.seed), "hard"), args.output)


if __name__ == "__main__":
    main()
