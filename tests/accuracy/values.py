"""Valid values of every scored type, written the ways people write them, and look-alikes that are not.

Used by corpus.py. Standard library only; every function takes a `random.Random` so a seed fixes the output.
Formats come from the issuers' and registries' own rules (numbering plans, ISO 13616, Luhn and issuer
ranges, the SSA's assignment rules, NHS mod 11, base58check, bech32, providers' documented token shapes),
not from any detector's patterns.
"""
from __future__ import annotations

import base64
import hashlib
import json
import string

AN = string.ascii_letters + string.digits
UPPER_AN = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
URLSAFE = AN + "-_"
B64 = AN + "+/"


def rand(rng, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def digits(rng, n: int) -> str:
    return rand(rng, string.digits, n)


# ---------------------------------------------------------------- people and places

FIRST = ["Amara", "Bjorn", "Chloé", "Dmitri", "Eun-ji", "Fatima", "Giulia", "Hiroshi", "Ines", "Jamal", "Kasia",
         "Liam", "Mei", "Nikolai", "Olumide", "Priya", "Quentin", "Rosa", "Sven", "Tomasz", "Uma", "Valentina",
         "Wei", "Ximena", "Yusuf", "Zoe", "Aoife", "Mateo", "Sofía", "Lars"]
LAST = ["Okafor", "Lindqvist", "Dubois", "Ivanov", "Park", "Haddad", "Rossi", "Tanaka", "García", "Williams",
        "Nowak", "O'Brien", "Chen", "Petrov", "Adeyemi", "Sharma", "Lefebvre", "Moreno", "Berg", "Kowalski",
        "Patel", "Bianchi", "Zhang", "Hernández", "Demir", "Murphy", "Silva", "Novak", "Jensen", "Müller"]
DOMAINS = ["northwind.io", "contoso-health.com", "fabrikam.co.uk", "tailspin.dev", "acme-corp.de", "globex.fr",
           "initech.com.au", "umbrella.org", "hooli.xyz", "wayne-ent.net", "mail.stark.in", "cyberdyne.jp",
           "gringotts.bank", "oscorp.ca", "vandelay.es", "soylent.nl"]
MAILBOXES = ["gmail.com", "outlook.com", "yahoo.co.jp", "proton.me", "web.de", "orange.fr", "icloud.com"]


def name(rng) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def ascii_word(s: str) -> str:
    table = str.maketrans("éíñüö'", "einuo ")
    return s.translate(table).replace(" ", "").replace("-", "").lower()


def email(rng) -> str:
    f, l = ascii_word(rng.choice(FIRST)), ascii_word(rng.choice(LAST))
    local = rng.choice([f"{f}.{l}", f"{f[0]}{l}", f"{f}_{l}{rng.randint(1, 99)}", f"{l}.{f}+{rng.choice(['billing', 'ai', 'news'])}",
                        f"{f}", f"{f}-{l}"])
    domain = rng.choice(DOMAINS + MAILBOXES)
    value = f"{local}@{domain}"
    return value.upper() if rng.random() < 0.05 else value


# ---------------------------------------------------------------- phone numbers, by numbering plan

def _nanp(rng) -> tuple[str, str, str]:
    area = f"{rng.randint(2, 9)}{rng.randint(0, 8)}{rng.randint(0, 9)}"
    exchange = f"{rng.randint(2, 9)}{digits(rng, 2)}"
    return area, exchange, digits(rng, 4)


def phone(rng) -> str:
    kind = rng.choice(["us"] * 5 + ["uk"] * 2 + ["de", "fr", "es", "it", "nl", "in", "au", "jp", "br", "mx",
                                                 "sg", "ie", "ch", "se", "pl", "za", "kr"])
    if kind == "us":
        a, e, n = _nanp(rng)
        return rng.choice([f"({a}) {e}-{n}", f"{a}-{e}-{n}", f"{a}.{e}.{n}", f"+1 {a} {e} {n}",
                           f"+1-{a}-{e}-{n}", f"1-{a}-{e}-{n}", f"+1 ({a}) {e}-{n}", f"{a} {e} {n}"])
    if kind == "uk":
        return rng.choice([f"+44 20 {rng.randint(7000, 8999)} {digits(rng, 4)}",
                           f"020 {rng.randint(7000, 8999)} {digits(rng, 4)}",
                           f"+44 7{rng.randint(400, 999)} {digits(rng, 6)}",
                           f"07{rng.randint(400, 999)} {digits(rng, 6)}",
                           f"+44 (0)161 {digits(rng, 3)} {digits(rng, 4)}",
                           f"0113 {rng.randint(200, 499)} {digits(rng, 4)}"])
    if kind == "de":
        return rng.choice([f"+49 30 {rng.randint(2, 9)}{digits(rng, 7)}", f"030 {rng.randint(2, 9)}{digits(rng, 7)}",
                           f"+49 151 {digits(rng, 8)}", f"0171 {digits(rng, 7)}", f"+49 (0)89 {rng.randint(2, 9)}{digits(rng, 6)}"])
    if kind == "fr":
        p = [f"{rng.randint(10, 99)}" for _ in range(4)]
        first = rng.choice("1234567")
        return rng.choice([f"+33 {first} {' '.join(p)}", f"0{first} {' '.join(p)}", f"0{first}.{'.'.join(p)}",
                           f"+33 (0){first} {' '.join(p)}"])
    if kind == "es":
        return rng.choice([f"+34 6{digits(rng, 2)} {digits(rng, 3)} {digits(rng, 3)}", f"91{digits(rng, 1)} {digits(rng, 3)} {digits(rng, 3)}"])
    if kind == "it":
        return rng.choice([f"+39 06 {digits(rng, 4)} {digits(rng, 4)}", f"+39 3{digits(rng, 2)} {digits(rng, 3)} {digits(rng, 4)}"])
    if kind == "nl":
        return rng.choice([f"+31 20 {digits(rng, 3)} {digits(rng, 4)}", f"06-{rng.randint(10000000, 99999999)}", f"+31 6 {digits(rng, 8)}"])
    if kind == "in":
        m = f"{rng.choice('6789')}{digits(rng, 4)}"
        return rng.choice([f"+91 {m} {digits(rng, 5)}", f"+91-{m}{digits(rng, 5)}", f"+91 22 {rng.randint(2, 6)}{digits(rng, 3)} {digits(rng, 4)}"])
    if kind == "au":
        return rng.choice([f"+61 2 {rng.randint(8000, 9999)} {digits(rng, 4)}", f"(02) {rng.randint(8000, 9999)} {digits(rng, 4)}",
                           f"04{digits(rng, 2)} {digits(rng, 3)} {digits(rng, 3)}", f"+61 4{digits(rng, 2)} {digits(rng, 3)} {digits(rng, 3)}"])
    if kind == "jp":
        return rng.choice([f"+81 3-{digits(rng, 4)}-{digits(rng, 4)}", f"03-{digits(rng, 4)}-{digits(rng, 4)}",
                           f"090-{digits(rng, 4)}-{digits(rng, 4)}", f"+81 90 {digits(rng, 4)} {digits(rng, 4)}"])
    if kind == "br":
        return rng.choice([f"+55 11 9{digits(rng, 4)}-{digits(rng, 4)}", f"(11) 9{digits(rng, 4)}-{digits(rng, 4)}",
                           f"+55 21 {rng.randint(2, 5)}{digits(rng, 3)}-{digits(rng, 4)}"])
    if kind == "mx":
        return f"+52 55 {digits(rng, 4)} {digits(rng, 4)}"
    if kind == "sg":
        return rng.choice([f"+65 6{digits(rng, 3)} {digits(rng, 4)}", f"+65 9{digits(rng, 3)} {digits(rng, 4)}"])
    if kind == "ie":
        return rng.choice([f"+353 1 {digits(rng, 3)} {digits(rng, 4)}", f"+353 87 {digits(rng, 3)} {digits(rng, 4)}"])
    if kind == "ch":
        return f"+41 44 {digits(rng, 3)} {digits(rng, 2)} {digits(rng, 2)}"
    if kind == "se":
        return rng.choice([f"+46 8 {digits(rng, 3)} {digits(rng, 3)} {digits(rng, 2)}", f"+46 70 {digits(rng, 3)} {digits(rng, 2)} {digits(rng, 2)}"])
    if kind == "pl":
        return f"+48 {rng.choice(['12', '22', '60', '50'])}{digits(rng, 1)} {digits(rng, 3)} {digits(rng, 3)}"
    if kind == "za":
        return f"+27 {rng.choice(['21', '11', '82', '83'])} {digits(rng, 3)} {digits(rng, 4)}"
    return rng.choice([f"+82 2-{digits(rng, 4)}-{digits(rng, 4)}", f"010-{digits(rng, 4)}-{digits(rng, 4)}"])


# ---------------------------------------------------------------- cards

def luhn_digit(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


CARD_ISSUERS = [  # (prefix choices, length)
    (["4"], 16), (["4"], 16), (["4"], 13), (["4"], 19),
    ([str(p) for p in range(51, 56)], 16), ([str(p) for p in range(2221, 2721, 37)], 16),
    (["34", "37"], 15), (["6011", "65", "644", "649"], 16), (["3528", "3589", "3550"], 16),
    (["36", "300", "305", "38"], 14), (["62"], 16), (["62"], 19), (["6759", "5018", "5020"], 16),
]


def card(rng) -> str:
    prefixes, length = rng.choice(CARD_ISSUERS)
    p = rng.choice(prefixes)
    payload = p + digits(rng, length - len(p) - 1)
    number = payload + luhn_digit(payload)
    return group_card(rng, number)


def group_card(rng, number: str) -> str:
    n = len(number)
    sep = rng.choice([" ", "-", "", " ", "-"])
    if not sep:
        return number
    if n == 15:
        groups = [number[:4], number[4:10], number[10:]]
    elif n == 14:
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i:i + 4] for i in range(0, n, 4)]
    return sep.join(groups)


# ---------------------------------------------------------------- national numbers

def ssn(rng, sep=None) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    sep = rng.choice(["-", "-", "-", " ", ""]) if sep is None else sep
    return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"


def nhs(rng) -> str:
    while True:
        body = digits(rng, 9)
        total = sum(int(d) * (10 - i) for i, d in enumerate(body))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            break
    n = body + str(check)
    sep = rng.choice([" ", " ", "-", ""])
    return sep.join([n[:3], n[3:6], n[6:]]) if sep else n


def bank_account(rng) -> str:
    return str(rng.randint(1, 9)) + digits(rng, rng.randint(7, 16))


def routing_number(rng) -> str:
    while True:
        b = f"0{rng.randint(1, 3)}{digits(rng, 6)}"
        w = [3, 7, 1] * 3
        for c in "0123456789":
            n = b + c
            if sum(int(x) * y for x, y in zip(n, w)) % 10 == 0:
                return n


# ISO 13616: country, length, BBAN structure (n digits, a upper letters, c alphanumerics).
IBAN_SPECS = {
    "AD": "8n12c", "AE": "19n", "AL": "8n16c", "AT": "16n", "AZ": "4a20c", "BA": "16n", "BE": "12n",
    "BG": "4a6n8c", "BH": "4a14c", "BR": "23n1a1c", "BY": "4c4n16c", "CH": "5n12c", "CR": "18n",
    "CY": "8n16c", "CZ": "20n", "DE": "18n", "DK": "14n", "DO": "4c20n", "EE": "16n", "EG": "25n",
    "ES": "20n", "FI": "14n", "FO": "14n", "FR": "10n11c2n", "GB": "4a14n", "GE": "2a16n", "GI": "4a15c",
    "GL": "14n", "GR": "7n16c", "GT": "4c20c", "HR": "17n", "HU": "24n", "IE": "4a14n", "IL": "19n",
    "IQ": "4a15n", "IS": "22n", "IT": "1a10n12c", "JO": "4a4n18c", "KW": "4a22c", "KZ": "3n13c",
    "LB": "4n20c", "LC": "4a24c", "LI": "5n12c", "LT": "16n", "LU": "3n13c", "LV": "4a13c", "LY": "21n",
    "MC": "10n11c2n", "MD": "2c18c", "ME": "18n", "MK": "3n10c2n", "MR": "23n", "MT": "4a5n18c",
    "MU": "4a19n3a", "NL": "4a10n", "NO": "11n", "PK": "4a16c", "PL": "24n", "PS": "4a21c", "PT": "21n",
    "QA": "4a21c", "RO": "4a16c", "RS": "18n", "RU": "14n15c", "SA": "2n18c", "SC": "4a20n3a", "SE": "20n",
    "SI": "15n", "SK": "20n", "SM": "1a10n12c", "SV": "4a20n", "TL": "19n", "TN": "20n", "TR": "6n16c",
    "UA": "6n19c", "VA": "18n", "VG": "4a16n", "XK": "16n",
}
COMMON_IBAN = ["DE", "GB", "FR", "ES", "IT", "NL", "BE", "CH", "PL", "IE", "AT", "PT", "SE", "DK"]


def iban_compact(rng, country: str | None = None) -> str:
    country = country or (rng.choice(COMMON_IBAN) if rng.random() < 0.5 else rng.choice(sorted(IBAN_SPECS)))
    spec = IBAN_SPECS[country]
    bban, num = "", ""
    for ch in spec:
        if ch.isdigit():
            num += ch
            continue
        n, num = int(num), ""
        alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": UPPER_AN}[ch]
        bban += rand(rng, alphabet, n)
    rearranged = bban + country + "00"
    value = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{country}{98 - value % 97:02d}{bban}"


def iban(rng) -> str:
    compact = iban_compact(rng)
    if rng.random() < 0.5:
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return compact


# ---------------------------------------------------------------- network

def ipv4(rng) -> str:
    kind = rng.random()
    if kind < 0.3:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if kind < 0.45:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if kind < 0.55:
        return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return f"{rng.choice([23, 31, 45, 52, 63, 81, 91, 104, 137, 151, 185, 203, 212])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng) -> str:
    groups = [f"{rng.randint(0, 0xffff):x}" for _ in range(8)]
    kind = rng.random()
    if kind < 0.3:
        return ":".join(groups)
    if kind < 0.6:
        return "2001:db8:" + ":".join(groups[:2]) + "::" + groups[7]
    if kind < 0.75:
        return f"fe80::{groups[4]}:{groups[5]}:{groups[6]}:{groups[7]}"
    if kind < 0.9:
        return f"2a02:{groups[1]}:{groups[2]}::{groups[3]}"
    return f"::ffff:{ipv4(rng)}"


PATHS = ["/account/settings", "/api/v2/users/8812/orders", "/docs/getting-started", "/reset?uid=7731",
         "/p/launch-notes-2024", "/search?q=refund+policy&page=2", "/invoice/INV-20931.pdf", "/#/dashboard",
         "/files/report%20Q3.xlsx", "/wiki/Onboarding_Guide"]


def url(rng) -> str:
    host = rng.choice(["", "www.", "app.", "portal.", "files."]) + rng.choice(DOMAINS)
    kind = rng.random()
    if kind < 0.1:
        return f"www.{rng.choice(DOMAINS)}{rng.choice(PATHS)}"
    if kind < 0.2:
        return f"http://{ipv4(rng)}:{rng.choice([8080, 3000, 9000])}{rng.choice(PATHS)}"
    scheme = rng.choice(["https", "https", "http"])
    port = rng.choice(["", "", "", ":8443"])
    return f"{scheme}://{host}{port}{rng.choice(PATHS + [''])}"


# ---------------------------------------------------------------- crypto addresses

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values):
    gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (b >> i) & 1 else 0
    return chk


def bech32(hrp: str, witver: int, program: bytes) -> str:
    acc, bits, data = 0, 0, [witver]
    for b in program:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    expand = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    const = 1 if witver == 0 else 0x2bc830a3
    pm = _polymod(expand + data + [0] * 6) ^ const
    check = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + check)


def crypto(rng) -> str:
    kind = rng.random()
    body = bytes(rng.getrandbits(8) for _ in range(32))
    if kind < 0.3:
        return base58check(b"\x00" + body[:20])
    if kind < 0.45:
        return base58check(b"\x05" + body[:20])
    if kind < 0.65:
        return bech32("bc", 0, body[:20])
    if kind < 0.75:
        return bech32("bc", 1, body)
    return "0x" + body[:20].hex()


# ---------------------------------------------------------------- secrets

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(rng) -> str:
    header = b64url(json.dumps({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}).encode())
    claims = {"sub": digits(rng, 8), "iat": 1730000000 + rng.randint(0, 9999999), "role": rng.choice(["admin", "user"])}
    payload = b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{b64url(bytes(rng.getrandbits(8) for _ in range(32)))}"


def pem(rng, kind: str) -> str:
    label = {"rsa": "RSA PRIVATE KEY", "ec": "EC PRIVATE KEY", "pkcs8": "PRIVATE KEY",
             "openssh": "OPENSSH PRIVATE KEY", "encrypted": "ENCRYPTED PRIVATE KEY"}[kind]
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.choice([120, 180, 240])))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def aws_key_id(rng) -> str:
    return rng.choice(["AKIA", "ASIA"]) + rand(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)


# Provider tokens by their documented shapes: (gitleaks-style rule id, maker).
PROVIDER_TOKENS = {
    "aws-access-token": aws_key_id,
    "github-pat": lambda r: "ghp_" + rand(r, AN, 36),
    "github-fine-grained-pat": lambda r: "github_pat_" + rand(r, AN, 22) + "_" + rand(r, AN, 59),
    "github-app-token": lambda r: r.choice(["ghs_", "ghu_"]) + rand(r, AN, 36),
    "gitlab-pat": lambda r: "glpat-" + rand(r, URLSAFE, 20),
    "slack-bot-token": lambda r: f"xoxb-{digits(r, 11)}-{digits(r, 13)}-{rand(r, AN, 24)}",
    "slack-user-token": lambda r: f"xoxp-{digits(r, 11)}-{digits(r, 11)}-{digits(r, 13)}-{rand(r, HEX, 32)}",
    "stripe-access-token": lambda r: r.choice(["sk_live_", "rk_live_", "sk_test_"]) + rand(r, AN, r.choice([24, 99])),
    "openai-api-key": lambda r: "sk-proj-" + rand(r, URLSAFE, 74) + "T3BlbkFJ" + rand(r, URLSAFE, 74),
    "anthropic-api-key": lambda r: "sk-ant-api03-" + rand(r, URLSAFE, 93) + "AA",
    "gcp-api-key": lambda r: "AIza" + rand(r, URLSAFE, 35),
    "sendgrid-api-token": lambda r: "SG." + rand(r, URLSAFE, 22) + "." + rand(r, URLSAFE, 43),
    "twilio-api-key": lambda r: "SK" + rand(r, HEX, 32),
    "npm-access-token": lambda r: "npm_" + rand(r, AN, 36),
    "pypi-upload-token": lambda r: "pypi-AgEIcHlwaS5vcmc" + rand(r, URLSAFE, 70),
    "huggingface-access-token": lambda r: "hf_" + rand(r, string.ascii_letters, 34),
    "digitalocean-pat": lambda r: "dop_v1_" + rand(r, HEX, 64),
    "shopify-access-token": lambda r: "shpat_" + rand(r, HEX, 32),
    "mailchimp-api-key": lambda r: rand(r, HEX, 32) + f"-us{r.randint(1, 21)}",
    "databricks-api-token": lambda r: "dapi" + rand(r, HEX, 32),
    "vault-service-token": lambda r: "hvs." + rand(r, URLSAFE, 94),
    "groq-api-key": lambda r: "gsk_" + rand(r, AN, 52),
    "linear-api-key": lambda r: "lin_api_" + rand(r, AN, 40),
    "doppler-api-token": lambda r: "dp.pt." + rand(r, AN, 43),
    "postman-api-token": lambda r: "PMAK-" + rand(r, HEX, 24) + "-" + rand(r, HEX, 34),
    "age-secret-key": lambda r: "AGE-SECRET-KEY-1" + rand(r, BECH.upper(), 58),
    "grafana-service-account-token": lambda r: "glsa_" + rand(r, AN, 32) + "_" + rand(r, HEX, 8),
    "atlassian-api-token": lambda r: "ATATT3" + rand(r, URLSAFE, 186),
    "telegram-bot-api-token": lambda r: f"{digits(r, 10)}:AA{rand(r, URLSAFE, 33)}",
    "azure-ad-client-secret": lambda r: rand(r, AN, 3) + str(r.randint(0, 9)) + "Q~" + rand(r, AN + "_~.", 34),
    "square-access-token": lambda r: "EAAA" + rand(r, URLSAFE, 60),
    "new-relic-user-api-key": lambda r: "NRAK-" + rand(r, UPPER_AN, 27),
    "sentry-user-token": lambda r: "sntryu_" + rand(r, HEX, 64),
    "pulumi-api-token": lambda r: "pul-" + rand(r, HEX, 40),
    "flyio-access-token": lambda r: "fo1_" + rand(r, URLSAFE, 43),
    "rubygems-api-token": lambda r: "rubygems_" + rand(r, HEX, 48),
    "jwt": jwt,
}


def webhook(rng) -> tuple[str, str]:
    kind = rng.random()
    if kind < 0.5:
        return "slack-webhook-url", (f"https://hooks.slack.com/services/T{rand(rng, UPPER_AN, rng.choice([8, 10]))}/"
                                     f"B{rand(rng, UPPER_AN, rng.choice([8, 10]))}/{rand(rng, AN, 24)}")
    if kind < 0.75:
        return "discord-webhook-url", (f"https://discord.com/api/webhooks/{digits(rng, 18)}/{rand(rng, URLSAFE, 68)}")
    u = lambda: f"{rand(rng, HEX, 8)}-{rand(rng, HEX, 4)}-4{rand(rng, HEX, 3)}-a{rand(rng, HEX, 3)}-{rand(rng, HEX, 12)}"
    return "microsoft-teams-webhook", (f"https://{rng.choice(['contoso', 'acme'])}.webhook.office.com/webhookb2/{u()}@{u()}"
                                       f"/IncomingWebhook/{rand(rng, HEX, 32)}/{u()}")


def password(rng) -> str:
    while True:
        p = rand(rng, AN + "!#%^*_-~", rng.randint(10, 22))
        if any(c.isdigit() for c in p) and any(c.isupper() for c in p) and any(c.islower() for c in p):
            return p


def generic_secret(rng) -> str:
    return rng.choice([rand(rng, HEX, rng.choice([32, 40, 64])), rand(rng, AN, rng.choice([24, 32, 40])),
                       base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.choice([24, 33])))).decode(),
                       rand(rng, URLSAFE, 43)])


def connection_string(rng) -> str:
    user = rng.choice(["app", "svc_orders", "admin", "reporting", "etl"])
    pw, host = password(rng), rng.choice(["db-1.internal", "pg.prod.northwind.io", "cluster0.x7k2p.mongodb.net"])
    kind = rng.randrange(8)
    if kind == 0:
        return f"postgresql://{user}:{pw}@{host}:5432/orders?sslmode=require"
    if kind == 1:
        return f"mysql://{user}:{pw}@{host}:3306/shop"
    if kind == 2:
        return f"mongodb+srv://{user}:{pw}@{host}/prod?retryWrites=true"
    if kind == 3:
        return f"redis://default:{pw}@{host}:6379/0"
    if kind == 4:
        return f"amqps://{user}:{pw}@{host}/vhost"
    if kind == 5:
        return f"postgresql+psycopg2://{user}:{pw}@{host}/analytics"
    if kind == 6:
        return f"jdbc:postgresql://{host}:5432/orders?user={user}&password={pw}"
    return f"Server=tcp:{host},1433;Database=orders;User ID={user};Password={pw};Encrypt=True;"


# ---------------------------------------------------------------- decoys (not entities)

def uuid(rng) -> str:
    return f"{rand(rng, HEX, 8)}-{rand(rng, HEX, 4)}-4{rand(rng, HEX, 3)}-8{rand(rng, HEX, 3)}-{rand(rng, HEX, 12)}"


def decoy(rng) -> tuple[str, str]:
    kind = rng.randrange(14)
    if kind == 0:
        return "git_sha", rand(rng, HEX, 40)
    if kind == 1:
        return "uuid", uuid(rng)
    if kind == 2:
        return "hash", rand(rng, HEX, 64)
    if kind == 3:
        return "version", f"{rng.randint(1, 20)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}.{rng.randint(0, 9999)}"
    if kind == 4:
        p = "4" + digits(rng, 14)
        bad = str((int(luhn_digit(p)) + rng.randint(1, 9)) % 10)
        return "luhn_fail_number", group_card(rng, p + bad)
    if kind == 5:
        return "invalid_ssn", rng.choice([f"000-{digits(rng, 2)}-{digits(rng, 4)}", f"666-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
                                           f"9{digits(rng, 2)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"])
    if kind == 6:
        return "timestamp", str(1700000000000 + rng.randint(0, 10 ** 10))
    if kind == 7:
        return "order_number", f"{rng.choice(['ORD', 'PO', 'INV'])}-{digits(rng, 8)}"
    if kind == 8:
        return "placeholder_key", rng.choice(["sk_live_XXXXXXXXXXXXXXXXXXXXXXXX", "<YOUR_API_KEY>", "${OPENAI_API_KEY}",
                                              "{{ secrets.DEPLOY_TOKEN }}", "AKIAIOSFODNN7EXAMPLE", "your-api-key-here",
                                              "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "REDACTED", "changeme"])
    if kind == 9:
        return "isbn", f"978-{rng.randint(0, 1)}-{digits(rng, 3)}-{digits(rng, 5)}-{rng.randint(0, 9)}"
    if kind == 10:
        return "oid", f"1.3.6.1.4.1.{rng.randint(100, 60000)}.{rng.randint(1, 9)}.{rng.randint(1, 99)}"
    if kind == 11:
        return "tracking_number", "1Z" + rand(rng, UPPER_AN, 16)
    if kind == 12:
        return "date", f"{rng.randint(2019, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return "css_color", "#" + rand(rng, "0123456789abcdef", 6)
