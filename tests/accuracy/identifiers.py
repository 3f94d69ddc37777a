"""National identifiers, MAC addresses and dates of birth for the own corpus: each a valid value (its issuer's
check computed here from the published algorithm), written the ways people write it, and look-alikes that
fail the check or carry no word that names them. Standard library only.
"""
from __future__ import annotations

import datetime

from values import digits, rand

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _date(rng, first: int, last: int) -> datetime.date:
    start = datetime.date(first, 1, 1).toordinal()
    return datetime.date.fromordinal(rng.randint(start, datetime.date(last, 12, 31).toordinal()))


def uk_nino(rng) -> str:
    while True:
        a = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
        b = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        if a + b not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
            break
    n = digits(rng, 6)
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{a}{b} {n[:2]} {n[2:4]} {n[4:]} {suffix}"
    return f"{a}{b}{n}{suffix}"


NIF = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_nif(rng) -> str:
    n = rng.randint(10_000_000, 99_999_999)
    return f"{n}{rng.choice(['', '-'])}{NIF[n % 23]}"


def es_nie(rng) -> str:
    lead = rng.randrange(3)
    n = rng.randint(0, 9_999_999)
    return f"{'XYZ'[lead]}{n:07d}{NIF[(lead * 10_000_000 + n) % 23]}"


_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]


def it_fiscal_code(rng) -> str:
    born = _date(rng, 1940, 2005)
    day = born.day + (40 if rng.random() < 0.5 else 0)
    body = (rand(rng, "BCDFGHLMNPRSTVZ", 3) + rand(rng, "BCDFGHLMNPRSTVZAEIOU", 3) + f"{born.year % 100:02d}"
            + "ABCDEHLMPRST"[born.month - 1] + f"{day:02d}" + rng.choice(UPPER) + digits(rng, 3))

    def index(c: str) -> int:
        return int(c) if c.isdigit() else ord(c) - 65

    total = sum(_ODD[index(c)] if i % 2 == 0 else index(c) for i, c in enumerate(body))
    return body + chr(65 + total % 26)


_D = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
      [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
      [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
      [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
      [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def verhoeff_digit(payload: str) -> str:
    c = 0
    for i, ch in enumerate(reversed(payload)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return str(_INV[c])


def aadhaar(rng) -> str:
    payload = str(rng.randint(2, 9)) + digits(rng, 10)
    n = payload + verhoeff_digit(payload)
    sep = rng.choice([" ", " ", "-"])
    return sep.join([n[:4], n[4:8], n[8:]])


def in_pan(rng) -> str:
    return rand(rng, UPPER, 3) + rng.choice("PCHFAT") + rng.choice(UPPER) + digits(rng, 4) + rng.choice(UPPER)


def au_tfn(rng) -> str:
    weights = [1, 4, 3, 7, 5, 8, 6, 9, 10]
    while True:
        n = digits(rng, 9)
        if sum(int(d) * w for d, w in zip(n, weights)) % 11 == 0:
            return f"{n[:3]} {n[3:6]} {n[6:]}"


def au_abn(rng) -> str:
    weights = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]
    while True:
        n = str(rng.randint(1, 9)) + digits(rng, 10)
        d = [int(x) for x in n]
        d[0] -= 1
        if sum(x * w for x, w in zip(d, weights)) % 89 == 0:
            return f"{n[:2]} {n[2:5]} {n[5:8]} {n[8:]}"


def au_medicare(rng) -> str:
    head = str(rng.randint(2, 6)) + digits(rng, 7)
    check = sum(int(d) * w for d, w in zip(head, [1, 3, 7, 9, 1, 3, 7, 9])) % 10
    n = head + str(check) + str(rng.randint(1, 9))
    return f"{n[:4]} {n[4:9]} {n[9]}"


def sg_nric(rng) -> str:
    prefix = rng.choice("STFG")
    n = digits(rng, 7)
    total = sum(int(d) * w for d, w in zip(n, [2, 7, 6, 5, 4, 3, 2])) + (4 if prefix in "TG" else 0)
    letters = "JZIHGFEDCBA" if prefix in "ST" else "XWUTRQPNMLK"
    return prefix + n + letters[total % 11]


def pl_pesel(rng) -> str:
    born = _date(rng, 1940, 2012)
    month = born.month + (20 if born.year >= 2000 else 0)
    n = f"{born.year % 100:02d}{month:02d}{born.day:02d}" + digits(rng, 4)
    check = (10 - sum(int(d) * w for d, w in zip(n, [1, 3, 7, 9, 1, 3, 7, 9, 1, 3])) % 10) % 10
    return n + str(check)


def kr_rrn(rng) -> str:
    born = _date(rng, 1940, 2015)
    sex = rng.choice([1, 2]) + (2 if born.year >= 2000 else 0)
    n = f"{born.year % 100:02d}{born.month:02d}{born.day:02d}{sex}" + digits(rng, 5)
    check = (11 - sum(int(d) * w for d, w in zip(n, [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5])) % 11) % 10
    return f"{n[:6]}-{n[6:]}{check}"


def fi_hetu(rng) -> str:
    born = _date(rng, 1940, 2015)
    serial = rng.randint(2, 899)
    head = f"{born.day:02d}{born.month:02d}{born.year % 100:02d}"
    check = "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(head + f"{serial:03d}") % 31]
    return f"{head}{'-' if born.year < 2000 else 'A'}{serial:03d}{check}"


def de_tax_id(rng) -> str:
    while True:
        kept = rng.sample(range(10), 9)
        body = kept + [rng.choice(kept)]
        rng.shuffle(body)
        if body[0] != 0:
            break
    product = 10
    for x in body:
        total = (x + product) % 10 or 10
        product = (total * 2) % 11
    return "".join(map(str, body)) + str((11 - product) % 10)


def us_itin(rng) -> str:
    group = rng.choice(list(range(50, 66)) + list(range(70, 89)) + [90, 91, 92] + list(range(94, 100)))
    return f"9{digits(rng, 2)}-{group}-{digits(rng, 4)}"


def us_passport(rng) -> str:
    return digits(rng, 9) if rng.random() < 0.5 else rng.choice(UPPER) + digits(rng, 8)


def us_driver_license(rng) -> str:
    """The formats of a few states: California, Texas, New York, Florida, Illinois, Pennsylvania."""
    return rng.choice([
        rng.choice(UPPER) + digits(rng, 7),
        digits(rng, 8),
        f"{digits(rng, 3)} {digits(rng, 3)} {digits(rng, 3)}",
        f"{rng.choice(UPPER)}{digits(rng, 3)}-{digits(rng, 3)}-{digits(rng, 2)}-{digits(rng, 3)}-{digits(rng, 1)}",
        f"{rng.choice(UPPER)}{digits(rng, 3)}-{digits(rng, 4)}-{digits(rng, 4)}",
        digits(rng, 8),
    ])


def mac(rng) -> str:
    octets = [f"{rng.randrange(256):02x}" for _ in range(6)]
    sep = rng.choice([":", "-"])
    text = sep.join(octets)
    return text.upper() if rng.random() < 0.5 else text


def date_of_birth(rng) -> str:
    born = _date(rng, 1935, 2008)
    return rng.choice([
        born.isoformat(),
        f"{born.day:02d}/{born.month:02d}/{born.year}",
        f"{born.day:02d}.{born.month:02d}.{born.year}",
        f"{born.day} {born.strftime('%B')} {born.year}",
        f"{born.strftime('%b')} {born.day}, {born.year}",
    ])


# (category, make, words people write before it)
KINDS = [
    ("UK_NINO", uk_nino, ["NI number: ", "National Insurance no. ", "NINO ", "my NI is "]),
    ("US_ITIN", us_itin, ["ITIN: ", "my ITIN is ", "ITIN #"]),
    ("US_PASSPORT", us_passport, ["passport no. ", "Passport number: ", "passport #"]),
    ("UK_PASSPORT", lambda rng: digits(rng, 9), ["UK passport no. ", "British passport number: ",
                                                 "Passport (GBR): "]),
    ("US_DRIVER_LICENSE", us_driver_license, ["Driver's License #: ", "DL# ", "driver license number ",
                                              "D/L: "]),
    ("ES_NIF", es_nif, ["DNI: ", "NIF ", "mi DNI es "]),
    ("ES_NIE", es_nie, ["NIE: ", "número NIE ", "NIE "]),
    ("IT_FISCAL_CODE", it_fiscal_code, ["codice fiscale: ", "CF ", "C.F. "]),
    ("IN_AADHAAR", aadhaar, ["Aadhaar: ", "my Aadhaar number is ", "UID "]),
    ("IN_PAN", in_pan, ["PAN: ", "PAN card ", "my PAN is "]),
    ("AU_TFN", au_tfn, ["TFN: ", "tax file number ", "my TFN is "]),
    ("AU_ABN", au_abn, ["ABN ", "ABN: ", "our ABN is "]),
    ("AU_MEDICARE", au_medicare, ["Medicare no. ", "Medicare card: ", "medicare "]),
    ("SG_NRIC_FIN", sg_nric, ["NRIC: ", "FIN ", "my IC is "]),
    ("PL_PESEL", pl_pesel, ["PESEL: ", "nr PESEL ", "PESEL "]),
    ("KR_RRN", kr_rrn, ["RRN: ", "주민등록번호 ", "resident registration no. "]),
    ("FI_PERSONAL_IDENTITY_CODE", fi_hetu, ["henkilötunnus ", "HETU: ", "personal identity code "]),
    ("DE_TAX_ID", de_tax_id, ["Steuer-ID: ", "Steuerliche IdNr. ", "tax id "]),
    ("MAC_ADDRESS", mac, ["MAC ", "hw addr ", "device ", "ether "]),
    ("DATE_OF_BIRTH", date_of_birth, ["DOB: ", "Date of birth: ", "born on ", "Geburtsdatum: ", "birthdate "]),
]


def decoy(rng) -> tuple[str, str, str]:
    """(kind, words before, value): look-alikes of the kinds above that are none of them."""
    kind = rng.randrange(6)
    if kind == 0:  # a NIF whose letter is wrong
        n = rng.randint(10_000_000, 99_999_999)
        return "nif_bad_letter", "ref ", f"{n}{NIF[(n % 23 + rng.randint(1, 22)) % 23]}"
    if kind == 1:  # an Aadhaar-shaped number whose Verhoeff digit is wrong
        payload = str(rng.randint(2, 9)) + digits(rng, 10)
        bad = str((int(verhoeff_digit(payload)) + rng.randint(1, 9)) % 10)
        n = payload + bad
        return "aadhaar_bad_check", "batch ", f"{n[:4]} {n[4:8]} {n[8:]}"
    if kind == 2:  # eleven bare digits with no word for a PESEL, an ABN or a tax id
        return "bare_11_digits", "invoice ", str(rng.randint(1, 9)) + digits(rng, 10)
    if kind == 3:  # a date that is no one's birthday
        return "event_date", "meeting on ", _date(rng, 2019, 2026).isoformat()
    if kind == 4:  # a clock with seconds and a frame, not a MAC address
        return "clock", "at ", f"{rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)}"
    return "nric_bad_letter", "code ", "S" + digits(rng, 7) + "Q"
