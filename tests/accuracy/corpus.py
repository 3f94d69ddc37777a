#!/usr/bin/env python3
"""Palisade's own test corpus: a second generator, unlike the development corpus, to measure detection on.

    python3 tests/accuracy/corpus.py [-n 1500] [--identities 300] [--seed 29] [-o corpus.jsonl]

Writes labelled documents in the development corpus's format (one JSON object per line: id, direction,
carrier, text, entities [{type, start, end, value, rule?}], decoys [{kind, start, end, value}], offsets in
UTF-8 bytes), so tests/accuracy/score.py (or any scorer of that format) reads them.

What makes it different: its own document kinds (e-mails with headers, HTTP exchanges, access and JSON logs,
code in five languages, .env and INI files, Kubernetes and Compose YAML, CSV exports, Markdown tables, SQL,
chat transcripts, forms, JSON-escaped payloads nested in tool calls), its own phrasings and cue words, and
formats the first corpus lacks: phone numbers of twenty numbering plans, IBANs of every ISO 13616 country,
13- to 19-digit cards in the groupings people type, SSNs and NHS numbers without separators next to a cue,
connection strings of eight kinds (JDBC, ADO.NET, SQLAlchemy), webhook URLs, credentials in URLs, keys in
every assignment syntax, and decoys that look like all of those. Then KYC records, HR forms and chats with
the national identifiers, dates of birth and MAC addresses of tests/accuracy/identifiers.py (eighteen
types, each valid by its issuer's check, beside look-alikes that fail it), from a random stream of their
own so the documents before them stay the same. Standard library only; the seed fixes the output byte for
byte.
"""
from __future__ import annotations

import argparse
import base64
import json
import random

import identifiers as ids
import values as v


class Doc:
    """A document built piece by piece, recording where each labelled value lands (in UTF-8 bytes).

    `escape` rewrites every piece as it is appended (a JSON string's escaping, say); a value's span covers
    its escaped form, which is what a detector sees."""

    def __init__(self, escape=lambda s: s):
        self.parts: list[str] = []
        self.size = 0
        self.entities: list[dict] = []
        self.decoys: list[dict] = []
        self.escape = escape

    def add(self, text: str) -> "Doc":
        text = self.escape(text)
        self.parts.append(text)
        self.size += len(text.encode())
        return self

    def _mark(self, value: str) -> tuple[int, int, str]:
        start = self.size
        self.add(value)
        return start, self.size, self.parts[-1]

    def ent(self, kind: str, value: str, rule: str | None = None) -> "Doc":
        start, end, written = self._mark(value)
        e = {"type": kind, "start": start, "end": end, "value": written}
        if rule:
            e["rule"] = rule
        self.entities.append(e)
        return self

    def around(self, kind: str, start: int) -> "Doc":
        """Labels everything added since `start` (a `self.size` taken earlier): a value holding others."""
        value = self.text().encode()[start:].decode()
        self.entities.append({"type": kind, "start": start, "end": self.size, "value": value})
        return self

    def decoy(self, kind: str, value: str) -> "Doc":
        start, end, written = self._mark(value)
        self.decoys.append({"kind": kind, "start": start, "end": end, "value": written})
        return self

    def text(self) -> str:
        return "".join(self.parts)


def json_escape(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)[1:-1]


# Each builder adds one document's body to `d`. `pii(d, rng)` etc. add one value with words around it.

def some_pii(d: Doc, rng, lead: str = "") -> None:
    """One personal value in a sentence, with the cue people write for it."""
    kind = rng.randrange(10)
    d.add(lead)
    if kind == 0:
        d.add(rng.choice(["reach me at ", "my email is ", "cc ", "send it to ", "contact: "])).ent("EMAIL_ADDRESS", v.email(rng))
    elif kind == 1:
        d.add(rng.choice(["call ", "my cell is ", "tel. ", "phone: ", "ring the office on ", "WhatsApp "])).ent("PHONE_NUMBER", v.phone(rng))
    elif kind == 2:
        d.add(rng.choice(["card ", "charge it to ", "the Visa is ", "cc#: ", "payment card "])).ent("CREDIT_CARD", v.card(rng))
    elif kind == 3:
        sep = rng.choice(["-", "-", " ", ""])
        d.add(rng.choice(["SSN ", "social security number: ", "my social is ", "SSN#", "taxpayer SSN "])).ent("US_SSN", v.ssn(rng, sep))
    elif kind == 4:
        d.add(rng.choice(["IBAN ", "wire to IBAN: ", "account (IBAN) ", "Kontonummer/IBAN: ", "refund to "])).ent("IBAN_CODE", v.iban(rng))
    elif kind == 5:
        ip = v.ipv4(rng) if rng.random() < 0.7 else v.ipv6(rng)
        d.add(rng.choice(["from ", "client ip ", "the box at ", "whitelist ", "src="])).ent("IP_ADDRESS", ip)
    elif kind == 6:
        d.add(rng.choice(["NHS number ", "NHS no. ", "patient NHS ", "NHS#"])).ent("UK_NHS", v.nhs(rng))
    elif kind == 7:
        d.add(rng.choice(["account number ", "checking acct #", "bank account: ", "savings account no. ", "acct no "])).ent("US_BANK_NUMBER", v.bank_account(rng))
    elif kind == 8:
        d.add(rng.choice(["see ", "details at ", "link: ", "open "])).ent("URL", v.url(rng))
    else:
        d.add(rng.choice(["send BTC to ", "wallet ", "my ETH address ", "deposit address: "])).ent("CRYPTO", v.crypto(rng))


def some_secret(d: Doc, rng) -> None:
    """One credential, told the way a person pastes it into a prompt."""
    kind = rng.randrange(8)
    if kind <= 2:
        rule, make = rng.choice(sorted(v.PROVIDER_TOKENS.items()))
        d.add(rng.choice(["here's the key: ", "token ", "it fails with ", "using ", "I set it to ", "creds: "])).ent("SECRET", make(rng), rule)
    elif kind == 3:
        rule, hook = v.webhook(rng)
        d.add(rng.choice(["post alerts to ", "the webhook is ", "webhook: "])).ent("SECRET", hook, rule)
    elif kind == 4:
        d.add(rng.choice(["connect with ", "DSN is ", "our db url: ", "conn string "])).ent("SECRET", v.connection_string(rng), "connection-string")
    elif kind == 5:
        d.add(rng.choice(["the admin password is ", "pw: ", "password=", "login with password "])).ent("SECRET", v.password(rng), "password")
    elif kind == 6:
        d.add(rng.choice(["Authorization: Bearer ", "the bearer token is ", "x-api-key "])).ent("SECRET", v.generic_secret(rng), "generic-api-key")
    else:
        # The whole URL is a URL; the token in it a SECRET.
        d.add("git clone ")
        start = d.size
        d.add("https://").add(rng.choice(["deploy", "ci-bot", "jane"])).add(":").ent(
            "SECRET", v.PROVIDER_TOKENS["github-pat"](rng), "url-password").add("@github.com/northwind/infra.git")
        d.around("URL", start)


def some_decoy(d: Doc, rng, lead: str = " ") -> None:
    kind, value = v.decoy(rng)
    d.add(lead + {"git_sha": "commit ", "uuid": "request id ", "hash": "sha256 ", "version": "version ",
                  "luhn_fail_number": "ref ", "invalid_ssn": "case ", "timestamp": "ts=", "order_number": "order ",
                  "placeholder_key": "key ", "isbn": "ISBN ", "oid": "oid ", "tracking_number": "tracking ",
                  "date": "on ", "css_color": "color "}[kind]).decoy(kind, value)


CHAT_OPENERS = ["Can you help me draft a reply?", "Summarise this for the team.", "Why does this fail?",
                "Please clean up the following.", "Translate this into French.", "What's wrong here?"]


def chat(d: Doc, rng) -> None:
    d.add(f"User: {rng.choice(CHAT_OPENERS)} ")
    for _ in range(rng.randint(1, 3)):
        some_pii(d, rng, rng.choice(["", "Also ", "Oh and "]))
        d.add(rng.choice([". ", ", thanks. ", ".\n", " — ", "; "]))
    if rng.random() < 0.4:
        some_secret(d, rng)
        d.add(" ")
    some_decoy(d, rng, "(")
    d.add(")\nAssistant: Sure — working on it.")


def email_doc(d: Doc, rng) -> None:
    sender, to = v.name(rng), v.name(rng)
    d.add(f"From: {sender} <").ent("EMAIL_ADDRESS", v.email(rng)).add(">\nTo: ").ent("EMAIL_ADDRESS", v.email(rng))
    d.add(f"\nSubject: {rng.choice(['Re: invoice', 'Account update', 'Fwd: onboarding', 'Payment details'])}\n\nHi {to.split()[0]},\n\n")
    for _ in range(rng.randint(1, 3)):
        some_pii(d, rng)
        d.add(".\n")
    some_decoy(d, rng, "Reference")
    d.add(f"\n\nBest,\n{sender}\n")
    if rng.random() < 0.7:
        d.add("M: ").ent("PHONE_NUMBER", v.phone(rng)).add("\n")


def http_doc(d: Doc, rng) -> None:
    d.add(f"POST /v1/{rng.choice(['messages', 'customers', 'charges'])} HTTP/1.1\nHost: api.{rng.choice(v.DOMAINS)}\n")
    k = rng.randrange(4)
    if k == 0:
        d.add("Authorization: Bearer ").ent("SECRET", v.generic_secret(rng), "generic-api-key").add("\n")
    elif k == 1:
        rule, make = rng.choice(sorted(v.PROVIDER_TOKENS.items()))
        d.add(rng.choice(["X-Api-Key: ", "Authorization: token ", "api-key: "])).ent("SECRET", make(rng), rule).add("\n")
    elif k == 2:
        cred = base64.b64encode(f"{rng.choice(['svc', 'admin', 'ops'])}:{v.password(rng)}".encode()).decode()
        d.add("Authorization: Basic ").ent("SECRET", cred, "basic-auth-header").add("\n")
    d.add("X-Forwarded-For: ").ent("IP_ADDRESS", v.ipv4(rng)).add(", ").ent("IP_ADDRESS", v.ipv4(rng))
    d.add("\nContent-Type: application/json\n\n{\"email\": \"").ent("EMAIL_ADDRESS", v.email(rng)).add("\", \"phone\": \"")
    d.add("").ent("PHONE_NUMBER", v.phone(rng)).add("\", \"request_id\": \"")
    d.decoy("uuid", v.uuid(rng)).add("\"}\n")


def log_doc(d: Doc, rng) -> None:
    for _ in range(rng.randint(2, 5)):
        k = rng.randrange(5)
        ts = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:07Z"
        if k == 0:
            d.ent("IP_ADDRESS", v.ipv4(rng)).add(f' - - [{ts}] "GET /api/orders HTTP/1.1" 200 {rng.randint(100, 9999)} "-" "curl/8.5.0"\n')
        elif k == 1:
            d.add(f'{{"ts":"{ts}","level":"info","msg":"login","user":"').ent("EMAIL_ADDRESS", v.email(rng)).add('","ip":"')
            d.ent("IP_ADDRESS", v.ipv4(rng) if rng.random() < 0.7 else v.ipv6(rng)).add('"}\n')
        elif k == 2:
            d.add(f"{ts} ERROR db: could not connect to ").ent("SECRET", v.connection_string(rng), "connection-string").add(": timeout\n")
        elif k == 3:
            d.add(f"level=warn ts={ts} msg=\"payment declined\" card=").ent("CREDIT_CARD", v.card(rng).replace(" ", "")).add(f" amount={rng.randint(5, 900)}.00\n")
        else:
            d.add(f"{ts} DEBUG build ")
            some_decoy(d, rng, "")
            d.add("\n")


CODE_SECRET_NAMES = ["API_KEY", "apiKey", "secret_key", "client_secret", "authToken", "STRIPE_KEY", "access_token",
                     "SLACK_TOKEN", "private_token", "DATADOG_API_KEY", "signingSecret", "OPENAI_KEY", "auth_key"]


def code_doc(d: Doc, rng) -> None:
    lang = rng.choice(["py", "js", "go", "sh", "java"])
    name = rng.choice(CODE_SECRET_NAMES)
    if rng.random() < 0.5:
        rule, make = rng.choice(sorted(v.PROVIDER_TOKENS.items()))
        value = make(rng)
    else:
        rule, value = "generic-api-key", v.generic_secret(rng)
    q = rng.choice(['"', "'"]) if lang in ("py", "js") else '"'
    if lang == "py":
        d.add("import os\nimport requests\n\n").add(f"{name} = {q}").ent("SECRET", value, rule).add(f"{q}  # TODO move to vault\n")
        d.add("ADMIN = \"").ent("EMAIL_ADDRESS", v.email(rng)).add("\"\n")
    elif lang == "js":
        d.add(f"const client = new Client({{ {name}: {q}").ent("SECRET", value, rule).add(f"{q}, region: 'eu-west-1' }});\n")
        d.add("// owner: ").ent("EMAIL_ADDRESS", v.email(rng)).add("\n")
    elif lang == "go":
        d.add(f"package main\n\nconst {name} = \"").ent("SECRET", value, rule).add("\"\n\nfunc main() {\n\tdial(\"")
        d.ent("IP_ADDRESS", v.ipv4(rng)).add(":443\")\n}\n")
    elif lang == "sh":
        d.add(f"#!/bin/sh\nexport {name.upper()}=").ent("SECRET", value, rule).add("\ncurl -s ").ent("URL", v.url(rng)).add("\n")
    else:
        d.add(f"private static final String {name.upper()} = \"").ent("SECRET", value, rule).add("\";\n")
    if rng.random() < 0.4:
        d.add("# pinned ")
        some_decoy(d, rng, "")
        d.add("\n")


def env_doc(d: Doc, rng) -> None:
    d.add("# .env\nNODE_ENV=production\nDATABASE_URL=").ent("SECRET", v.connection_string(rng), "connection-string").add("\n")
    rule, make = rng.choice(sorted(v.PROVIDER_TOKENS.items()))
    d.add(f"{rule.upper().replace('-', '_')}=").ent("SECRET", make(rng), rule).add("\n")
    d.add("SMTP_PASSWORD=").ent("SECRET", v.password(rng), "password").add("\nSUPPORT_EMAIL=").ent("EMAIL_ADDRESS", v.email(rng)).add("\n")
    d.add("APP_VERSION=").decoy("version", f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(100, 999)}").add("\n")


def yaml_doc(d: Doc, rng) -> None:
    if rng.random() < 0.5:
        d.add("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-credentials\ntype: Opaque\nstringData:\n  db-password: ")
        d.ent("SECRET", v.password(rng), "password").add("\n  api-token: ").ent("SECRET", v.generic_secret(rng), "generic-api-key").add("\n")
        if rng.random() < 0.5:
            d.add("  tls.key: |\n")
            key = v.pem(rng, rng.choice(["rsa", "ec", "pkcs8"]))
            d.ent("SECRET", "\n".join("    " + line for line in key.split("\n")), "private-key").add("\n")
    else:
        d.add("services:\n  web:\n    image: northwind/web:").decoy("version", f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}")
        d.add("\n    environment:\n      - ADMIN_EMAIL=").ent("EMAIL_ADDRESS", v.email(rng))
        rule, make = rng.choice(sorted(v.PROVIDER_TOKENS.items()))
        d.add("\n      - ").add(rng.choice(["API_TOKEN", "SERVICE_KEY", "UPSTREAM_SECRET"])).add("=").ent("SECRET", make(rng), rule)
        d.add("\n    extra_hosts:\n      - \"db:").ent("IP_ADDRESS", v.ipv4(rng)).add("\"\n")


def csv_doc(d: Doc, rng) -> None:
    cols = rng.sample(["email", "phone", "ssn", "iban", "card_number", "account_number", "nhs_number", "ip"], 3)
    d.add("id,name," + ",".join(cols) + "\n")
    makers = {"email": ("EMAIL_ADDRESS", v.email), "phone": ("PHONE_NUMBER", v.phone), "ssn": ("US_SSN", v.ssn),
              "iban": ("IBAN_CODE", lambda r: v.iban_compact(r)), "card_number": ("CREDIT_CARD", v.card),
              "account_number": ("US_BANK_NUMBER", v.bank_account), "nhs_number": ("UK_NHS", v.nhs),
              "ip": ("IP_ADDRESS", v.ipv4)}
    for i in range(rng.randint(2, 5)):
        d.add(f"{1000 + i},{v.name(rng)}")
        for c in cols:
            kind, make = makers[c]
            d.add(",").ent(kind, make(rng))
        d.add("\n")


def markdown_doc(d: Doc, rng) -> None:
    d.add("| Customer | Contact | Payment |\n|---|---|---|\n")
    for _ in range(rng.randint(2, 4)):
        d.add(f"| {v.name(rng)} | ").ent("EMAIL_ADDRESS", v.email(rng)).add(" | ")
        if rng.random() < 0.5:
            d.ent("IBAN_CODE", v.iban(rng))
        else:
            d.ent("CREDIT_CARD", v.card(rng))
        d.add(" |\n")
    d.add("\nGenerated from ")
    some_decoy(d, rng, "build")
    d.add(".\n")


def form_doc(d: Doc, rng) -> None:
    d.add(f"APPLICATION FORM\nFull name: {v.name(rng)}\nDate of birth: ")
    d.ent("DATE_OF_BIRTH", f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}").add("\n")
    d.add("Social Security No.: ").ent("US_SSN", v.ssn(rng)).add("\nDaytime phone: ").ent("PHONE_NUMBER", v.phone(rng))
    d.add("\nE-mail: ").ent("EMAIL_ADDRESS", v.email(rng)).add("\nBank routing number: ").add(v.routing_number(rng))
    d.add("\nBank account number: ").ent("US_BANK_NUMBER", v.bank_account(rng)).add("\n")
    if rng.random() < 0.5:
        d.add("NHS number (if UK resident): ").ent("UK_NHS", v.nhs(rng)).add("\n")


def sql_doc(d: Doc, rng) -> None:
    d.add("INSERT INTO customers (name, email, phone, card) VALUES\n")
    for i in range(rng.randint(1, 3)):
        d.add(f"  ('{v.name(rng).replace(chr(39), chr(39) * 2)}', '").ent("EMAIL_ADDRESS", v.email(rng)).add("', '")
        d.ent("PHONE_NUMBER", v.phone(rng)).add("', '").ent("CREDIT_CARD", v.card(rng)).add("'),\n")
    d.add("  ('test', 'noreply', '', '');\n")


def config_doc(d: Doc, rng) -> None:
    k = rng.randrange(4)
    if k == 0:
        d.add("[default]\naws_access_key_id = ").ent("SECRET", v.aws_key_id(rng), "aws-access-token")
        d.add("\naws_secret_access_key = ").ent("SECRET", v.rand(rng, v.B64, 40), "aws-secret-access-key").add("\nregion = eu-central-1\n")
    elif k == 1:
        d.add("//registry.npmjs.org/:_authToken=").ent("SECRET", v.PROVIDER_TOKENS["npm-access-token"](rng), "npm-access-token").add("\n")
    elif k == 2:
        d.add("spring.datasource.url=jdbc:mysql://db:3306/app\nspring.datasource.username=app\nspring.datasource.password=")
        d.ent("SECRET", v.password(rng), "password").add("\nmail.admin=").ent("EMAIL_ADDRESS", v.email(rng)).add("\n")
    else:
        d.add("<configuration>\n  <add key=\"ApiSecret\" value=\"").ent("SECRET", v.generic_secret(rng), "generic-api-key")
        d.add("\" />\n  <add key=\"Build\" value=\"").decoy("version", f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 9999)}").add("\" />\n</configuration>\n")


def pem_doc(d: Doc, rng) -> None:
    d.add("Here is the deploy key, please check it's the right format:\n\n")
    d.ent("SECRET", v.pem(rng, rng.choice(["rsa", "openssh", "ec", "pkcs8", "encrypted"])), "private-key").add("\n")


def answer_doc(d: Doc, rng) -> None:
    d.add(rng.choice(["Here is the summary you asked for. ", "I found the record. ", "Done. "]))
    for _ in range(rng.randint(1, 3)):
        some_pii(d, rng, rng.choice(["The customer's ", "Their ", "Per the file, "]))
        d.add(". ")
    if rng.random() < 0.3:
        d.add("The config also contains ")
        some_secret(d, rng)
        d.add(", which you should rotate.")


def clean_doc(d: Doc, rng) -> None:
    d.add(rng.choice(["Build passed on ", "Please review PR 4821, ", "Deployed ", "Ticket closed, "]))
    for _ in range(rng.randint(1, 3)):
        some_decoy(d, rng)
    d.add(". Nothing else to report.")


def tool_call_doc(d: Doc, rng) -> None:
    """A JSON-escaped document inside a tool call's arguments: the values as the detector sees them."""
    inner = Doc(escape=json_escape)
    rng.choice([chat, email_doc, env_doc, pem_doc, code_doc, log_doc])(inner, rng)
    d.add('{"tool": "' + rng.choice(["save_note", "send_email", "create_ticket"]) + '", "arguments": {"content": "')
    shift = d.size
    d.entities += [{**e, "start": e["start"] + shift, "end": e["end"] + shift} for e in inner.entities]
    d.decoys += [{**e, "start": e["start"] + shift, "end": e["end"] + shift} for e in inner.decoys]
    d.add(inner.text()).add('"}}')


IDENTITY_OPENERS = ["Please verify this customer:", "New starter details for payroll:", "KYC record",
                    "Can you fill in the form with these?", "Patient intake", "Update my profile with:"]


def identity_doc(d: Doc, rng) -> None:
    """A KYC record, an HR form or a chat message with one to three national identifiers, a date of birth or a
    device's MAC address, and sometimes a look-alike that is none of them."""
    d.add(rng.choice(IDENTITY_OPENERS) + "\n")
    d.add(f"Name: {v.name(rng)}\n")
    for category, make, cues in rng.sample(ids.KINDS, rng.randint(1, 3)):
        d.add(rng.choice(cues)).ent(category, make(rng)).add(rng.choice(["\n", "\n", ". ", "; "]))
    if rng.random() < 0.5:
        kind, lead, value = ids.decoy(rng)
        d.add(rng.choice(["Note: ", "Also ", ""]) + lead).decoy(kind, value).add(".\n")
    d.add(rng.choice(["Thanks.", "Regards, HR", "", "Let me know if anything is missing."]))


BUILDERS = [
    ("chat", chat, 14), ("email", email_doc, 10), ("http", http_doc, 7), ("log", log_doc, 8), ("code", code_doc, 9),
    ("env", env_doc, 5), ("yaml", yaml_doc, 7), ("csv", csv_doc, 6), ("markdown", markdown_doc, 4),
    ("form", form_doc, 5), ("sql", sql_doc, 4), ("config", config_doc, 5), ("pem", pem_doc, 2),
    ("answer", answer_doc, 8), ("clean", clean_doc, 6), ("tool_call", tool_call_doc, 8),
]


def generate(n: int, seed: int, identities: int = 0) -> list[dict]:
    docs = from_builders(BUILDERS, n, random.Random(seed), "own")
    # Documents with national identifiers, from a stream of their own, so that the documents above are the same
    # whatever this count.
    id_rng = random.Random(seed + 1)
    for i in range(identities):
        d = Doc()
        identity_doc(d, id_rng)
        docs.append({"id": f"own-id-{i:05d}", "direction": "input", "carrier": "identity", "text": d.text(),
                     "entities": d.entities, "decoys": d.decoys})
    check_spans(docs)
    return docs


def check_spans(docs: list[dict]) -> None:
    """Every entity's and decoy's span says what it covers."""
    for doc in docs:
        b = doc["text"].encode()
        for e in doc["entities"] + doc["decoys"]:
            assert b[e["start"]:e["end"]].decode() == e["value"], (doc["id"], e)


def from_builders(builders: list, n: int, rng, prefix: str, *extra) -> list[dict]:
    """`n` documents with ids `prefix-00000`…, each from a builder picked by weight: `builders` holds
    (carrier, build(doc, rng, *extra), weight); an "answer" is a model's output, every other carrier input."""
    names = [b[0] for b in builders]
    weights = [b[2] for b in builders]
    build = {b[0]: b[1] for b in builders}
    docs = []
    for i in range(n):
        carrier = rng.choices(names, weights)[0]
        d = Doc()
        build[carrier](d, rng, *extra)
        docs.append({"id": f"{prefix}-{i:05d}", "direction": "output" if carrier == "answer" else "input",
                     "carrier": carrier, "text": d.text(), "entities": d.entities, "decoys": d.decoys})
    check_spans(docs)
    return docs


def cli(doc: str, documents: int, seed: int) -> argparse.Namespace:
    """A generator's command line: -n, --seed, -o."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=documents, help=f"documents (default {documents})")
    ap.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")
    ap.add_argument("-o", "--output", default="-", help="where to write (default: standard output)")
    return ap.parse_args()


def write(docs: list[dict], output: str) -> None:
    """One JSON object per line to `output` ("-": standard output)."""
    out = open(output, "w", encoding="utf-8") if output != "-" else None
    try:
        for doc in docs:
            print(json.dumps(doc, ensure_ascii=False), file=out)
    finally:
        if out:
            out.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1500, help="documents (default 1500)")
    ap.add_argument("--seed", type=int, default=29, help="random seed (default 29)")
    ap.add_argument("--identities", type=int, default=300,
                    help="documents with national identifiers, dates of birth, MAC addresses (default 300)")
    ap.add_argument("-o", "--output", default="-", help="where to write (default: standard output)")
    args = ap.parse_args()
    write(generate(args.n, args.seed, args.identities), args.output)


if __name__ == "__main__":
    main()
