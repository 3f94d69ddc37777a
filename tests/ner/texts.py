"""Varied texts for the golden test of the `ner` plugin against spaCy: news, chat, e-mail, forms, code
comments, logs, CSV and JSON, names from many places, and the tokenizer's hard cases (contractions,
abbreviations, URLs, emoticons, units, dashes, odd whitespace, non-ASCII). Deterministic for a seed."""
import random

FIRST = ["Olumide", "Aisha", "Wei", "Priya", "José", "Zoë", "Søren", "Mateusz", "Nguyễn", "Hiroshi", "Fatima",
         "Dmitri", "Chidi", "Ingrid", "Kwame", "Élodie", "Raúl", "Siobhán", "Björn", "Anjali", "Mohammed", "Yuki",
         "Grace", "Will", "May", "Grant", "Paris", "Jordan", "Sam", "Ana-María", "Jean-Luc", "O'Brien", "Łukasz",
         "Thandiwe", "Leilani", "Tomás", "Ayşe", "Kofi", "Sven", "Marie", "John", "Emily", "Carlos", "Li"]
LAST = ["Adeyemi", "Khan", "Zhang", "Patel", "García", "Müller", "Kierkegaard", "Kowalski", "Van Thanh", "Tanaka",
        "Al-Sayed", "Ivanov", "Okafor", "Johansson", "Mensah", "Dubois", "Fernández", "Ní Bhriain", "Ørsted",
        "Sharma", "Smith", "O'Neill", "McDonald", "de la Cruz", "van der Berg", "Nakamura", "Hilton", "Brown",
        "Nowak", "Rossi", "Schmidt", "Yılmaz", "Dlamini", "Kealoha", "Silva", "Jones", "Wang"]
PLACES = ["Lagos", "Springfield", "New York", "São Paulo", "Zürich", "München", "Kraków", "Hanoi", "Tokyo",
          "Cairo", "Nairobi", "Reykjavík", "Montréal", "Buenos Aires", "Cape Town", "the Bay Area", "Paris",
          "Texas", "Ontario", "Bavaria", "the United Kingdom", "Côte d'Ivoire", "Hong Kong", "Istanbul", "Oslo"]
ORGS = ["Acme Corp.", "Google", "the World Bank", "Deutsche Bahn", "Nestlé", "OpenAI", "the NHS", "Toyota",
        "Goldman Sachs & Co.", "MIT", "the U.N.", "Siemens AG", "Tata Consultancy Services", "IKEA", "Apple Inc."]
STREETS = ["742 Evergreen Terrace", "221B Baker Street", "1600 Pennsylvania Ave. NW", "Hauptstraße 5",
           "12 rue de la Paix", "Calle Mayor 3, 2º", "Flat 4, 10 Downing St", "350 Fifth Avenue, Suite 7200"]
PRODUCTS = ["Kubernetes", "PostgreSQL", "Slack", "the iPhone 15", "Windows 11", "React", "Tesla Model 3"]
WORDS = ["meeting", "invoice", "deadline", "report", "budget", "flight", "contract", "release", "patch", "review"]

TEMPLATES = [
    "My name is {f} {l}, I live at {street}, {place}.",
    "{f} {l} ({org}) said on Tuesday that the {w} would be delayed until March 3rd, 2025.",
    "Hi {f},\n\nThanks for the {w}. Can we meet in {place} next week?\n\nBest,\n{f2} {l2}\n{org}",
    "hey {f2} can u send me the {w} from {place} lol :) i'll pay $45.50",
    "// TODO({f}): fix the {w} parser before {product} 2.0 ships\nfn main() {{ let x = a.b(); }}",
    "Dear Mr. {l},\nWe've received your application for the position at {org} in {place}.",
    "{place}-based {org} hired {f} {l} as CEO, replacing {f2} {l2} (effective Jan. 1).",
    "Name: {f} {l}\nAddress: {street}\nCity: {place}\nPhone: +44 20 7946 0958",
    "name,city,company\n{f} {l},{place},{org}\n{f2} {l2},{place2},{org2}",
    '{{"user": "{f} {l}", "city": "{place}", "org": "{org}"}}',
    "2024-05-06T12:30:00Z INFO user={f}.{l}@example.com ip=10.0.0.1 action=login city={place}",
    "Ms. {l2}'s flight from {place} to {place2} leaves at 6:45 p.m. -- don't be late!",
    "I can't believe {f} didn't tell {f2} about the {w}... they're in {place} now?!",
    "See https://www.{lw}.com/about?id=42&ref=home or e-mail {fw}@{lw}.org for details.",
    "The U.S. and the U.K. signed the deal in {place}; {org} and {org2} will share 50% of the costs.",
    "{f} {l} — {org}'s head of research — spoke at {place2} University about {product}.",
    "RE: {w} #1234 — assigned to @{fw}; blocked by {org2}'s API (HTTP 503).",
    "Call me at 555-0199 or visit {street} in {place}, {place2} 90210.",
    "Wir treffen {f} {l} am Montag in {place}. Grüße aus {place2}!",
    "{f}:  ok\t{f2}: sure   see you at 5pm\n\n\n{f}: 👍",
    "   Leading spaces, {f} {l}, trailing spaces   ",
    "\"{f} {l}\" <{fw}.{lw}@mail.{lw}.co.uk> wrote:\n> the {w} is attached",
    "Prof. {f} {l} et al. (2019) found a 3.5x improvement, i.e. 350%, vs. the baseline.",
    "Order #A-1001 shipped to {f} {l}, {street}, {place} on 12/05/2024 for €1,299.99.",
    "{F} {L} VISITED {PLACE} IN 1999 WITH {ORG}.",
    "{f} {l} and {f2} {l2} met {f3} {l3} at {org} in {place} on Friday, August 9th.",
]


def words(rng, n):
    return " ".join(rng.choice(WORDS + ["the", "a", "of", "and", "to", "in"]) for _ in range(n))


def render(rng, template):
    f, f2, f3 = (rng.choice(FIRST) for _ in range(3))
    l, l2, l3 = (rng.choice(LAST) for _ in range(3))
    place, place2 = rng.choice(PLACES), rng.choice(PLACES)
    org, org2 = rng.choice(ORGS), rng.choice(ORGS)
    text = template.format(
        f=f, l=l, f2=f2, l2=l2, f3=f3, l3=l3, place=place, place2=place2, org=org, org2=org2,
        street=rng.choice(STREETS), product=rng.choice(PRODUCTS), w=rng.choice(WORDS),
        fw=f.lower().replace(" ", ""), lw=l.lower().replace(" ", "").replace("'", ""),
        F=f.upper(), L=l.upper(), PLACE=place.upper(), ORG=org.upper(),
    )
    if rng.random() < 0.3:
        text = words(rng, rng.randint(1, 12)).capitalize() + ". " + text
    if rng.random() < 0.2:
        text += "\n" + words(rng, rng.randint(1, 20))
    return text


# The tokenizer's hard cases, each on its own.
EDGE = [
    "", " ", "  ", "\n", "\t\t", "a", "A.", "...", "e.g.", "U.S.A.", "I'm", "can't", "won't've", "y'all",
    "gonna", "Gonna", "'s", "don't!", "(hello)", "[x]", "\"quoted\"", "“curly” ‘quotes’", "5km", "10am", "3p.m.",
    "$100", "US$5", "€5,00", "50%", "100°C", "1/2", "a-b-c", "well-known", "x+y=z", "a/b", "C++", "C#", ".NET",
    "node.js", "foo_bar", "foo--bar", "foo—bar", "foo…bar", ":)", ":-)", "(:", "<3", "^_^", "o.O", "xD", "ó.ò",
    "http://example.com/a/b?c=d", "www.example.org", "user@example.com", "@handle", "#hashtag", "1.2.3.4",
    "2024-01-02", "12:30", "+1 (555) 010-9999", "St. John's", "Mt. Everest", "Gov. Newsom", "Jan.", "Dec. 25th",
    "Ph.D.", "vs.", "etc.)", "(etc.)", "Ltd.,", "Inc.'s", "'90s", "’90s", "rock'n'roll", "l'amour", "O'Reilly's",
    "naïve café", "Straße", "İstanbul", "ΑΘΗΝΑ Σ", "Ελλάδα", "Москва", "北京市", "東京都に住んでいます", "서울",
    "مرحبا", "שלום", "हिन्दी", "x\u00a0y", "a\u2009b", "a\u200bb", "\u3000", "tab\there", "line\r\nbreak",
    "a\x1cb", "ǅemal", "ⓐⓑ", "½ cup", "x²", "٣ أيام", "Ⅻ", "ＡＢＣ", "😀😀😀", "👍🏽 ok", "a" * 120, "A" * 105,
    "— dash", "–en", "¿Qué?", "¡Hola!", "«guillemets»", "„Zitat“", "「引用」", "(((nested)))", "end.", "x.y.z.",
]


def texts(seed=7, n=1000):
    rng = random.Random(seed)
    out = list(EDGE)
    while len(out) < n:
        out.append(render(rng, rng.choice(TEMPLATES)))
    return out
