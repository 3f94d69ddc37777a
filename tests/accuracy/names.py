#!/usr/bin/env python3
"""A labelled set for names, places, organisations and street addresses: what the `ner` plugin is for.

    python3 tests/accuracy/names.py [-n 800] [--seed 31] [-o names.jsonl]

Same format as corpus.py (UTF-8 byte offsets; types PERSON, LOCATION, ORGANIZATION, ADDRESS), so
tests/accuracy/score.py --types and the development corpus's scorer read it. A street address is one
ADDRESS value, the town inside it included; a place named on its own is a LOCATION.

Names from many countries (Yoruba, Igbo, Hausa, Chinese, Vietnamese, Korean, Japanese, Indian, Arabic,
Turkish, Slavic, Nordic, German, French, Spanish, Portuguese, Italian, Dutch, Anglo), in chat, e-mail,
forms, CSV, JSON, logs, tickets and model answers, beside hard negatives labelled as decoys: capitalised
words that are not names ("Will", "Grant", "May", "Bill" as words; product, library and project names;
headings in Title Case), "Paris" the city beside "Paris Hilton" the person. Standard library only; the
seed fixes the output byte for byte. The templates share nothing with tests/ner/texts.py.
"""
from __future__ import annotations

import random

from corpus import Doc, cli, from_builders, json_escape, write

FIRST = {
    "yoruba": ["Olumide", "Adebayo", "Funmilayo", "Oluwaseun", "Yetunde", "Babatunde", "Folake", "Tolulope"],
    "igbo": ["Chinedu", "Ngozi", "Chiamaka", "Emeka", "Obinna", "Adaeze", "Ikenna", "Uchenna"],
    "hausa": ["Aminu", "Zainab", "Usman", "Hadiza", "Abubakar", "Maryam"],
    "chinese": ["Wei", "Xiaoming", "Li Na", "Jian", "Mei", "Haoran", "Yufei", "Zhiwei"],
    "vietnamese": ["Minh", "Thu", "Huong", "Quang", "Linh", "Duc"],
    "korean": ["Ji-woo", "Min-jun", "Seo-yeon", "Hyun-woo", "Ji-hoon"],
    "japanese": ["Haruto", "Yui", "Sota", "Aoi", "Kenji", "Sakura", "Takeshi"],
    "indian": ["Aarav", "Priyanka", "Rohan", "Ananya", "Vikram", "Lakshmi", "Arjun", "Deepika"],
    "arabic": ["Omar", "Layla", "Khalid", "Noor", "Youssef", "Fatima", "Hassan", "Amira"],
    "turkish": ["Emre", "Elif", "Burak", "Zeynep", "Mehmet", "Ayşe"],
    "slavic": ["Katarzyna", "Piotr", "Anastasia", "Dmitri", "Jelena", "Tomasz", "Oksana"],
    "nordic": ["Astrid", "Magnus", "Freya", "Lars", "Sigrid", "Henrik", "Ingrid"],
    "german": ["Lukas", "Johanna", "Matthias", "Greta", "Jürgen", "Annika"],
    "french": ["Camille", "Théo", "Manon", "Baptiste", "Chloé", "Mathieu"],
    "iberian": ["Alejandro", "Lucía", "Joaquín", "Inês", "Gonçalo", "Martina", "Rodrigo"],
    "italian": ["Giulia", "Matteo", "Francesca", "Lorenzo", "Chiara"],
    "dutch": ["Daan", "Sanne", "Joost", "Femke", "Pieter"],
    "anglo": ["Emily", "James", "Olivia", "Michael", "Sarah", "Daniel", "Rebecca", "Thomas"],
}
LAST = {
    "yoruba": ["Adeyemi", "Ogunleye", "Balogun", "Adeleke", "Oyelaran", "Akinola"],
    "igbo": ["Okonkwo", "Eze", "Nwosu", "Okafor", "Obi", "Chukwu"],
    "hausa": ["Bello", "Abdullahi", "Sani", "Danjuma"],
    "chinese": ["Zhang", "Wang", "Liu", "Chen", "Huang", "Zhou"],
    "vietnamese": ["Nguyen", "Tran", "Pham", "Hoang", "Vu"],
    "korean": ["Kim", "Park", "Choi", "Jung", "Kang"],
    "japanese": ["Sato", "Suzuki", "Takahashi", "Watanabe", "Yamamoto"],
    "indian": ["Sharma", "Iyer", "Reddy", "Banerjee", "Nair", "Chopra", "Menon"],
    "arabic": ["Haddad", "Al-Farsi", "Nasser", "Khalil", "Mansour", "El-Amin"],
    "turkish": ["Yıldız", "Demir", "Şahin", "Çelik", "Aydın"],
    "slavic": ["Nowak", "Wiśniewski", "Petrova", "Kovalenko", "Novak", "Horvat"],
    "nordic": ["Lindqvist", "Haugen", "Johansen", "Nieminen", "Bergström"],
    "german": ["Becker", "Hoffmann", "Schäfer", "Wagner", "Krüger"],
    "french": ["Lefebvre", "Moreau", "Girard", "Fontaine", "Lambert"],
    "iberian": ["Rodríguez", "Moreno", "Ferreira", "Gutiérrez", "Santos", "Navarro"],
    "italian": ["Esposito", "Romano", "Ricci", "Marino", "Bruno"],
    "dutch": ["de Vries", "van Dijk", "Bakker", "Visser", "Janssen"],
    "anglo": ["Thompson", "Walker", "Robinson", "Clarke", "Harris", "Mitchell", "Evans"],
}
CITIES = ["Lagos", "Abuja", "Ibadan", "Nairobi", "Accra", "Johannesburg", "Cairo", "Casablanca", "Shenzhen",
          "Chengdu", "Ho Chi Minh City", "Seoul", "Osaka", "Bengaluru", "Pune", "Dubai", "Riyadh", "Ankara",
          "Warsaw", "Kyiv", "Belgrade", "Stockholm", "Bergen", "Helsinki", "Hamburg", "Leipzig", "Lyon",
          "Marseille", "Valencia", "Porto", "Turin", "Rotterdam", "Utrecht", "Manchester", "Glasgow", "Denver",
          "Austin", "Toronto", "Vancouver", "Melbourne", "Auckland", "Lima", "Bogotá", "Montevideo"]
COUNTRIES = ["Nigeria", "Kenya", "Ghana", "South Africa", "Egypt", "Morocco", "China", "Vietnam", "South Korea",
             "Japan", "India", "the United Arab Emirates", "Saudi Arabia", "Turkey", "Poland", "Ukraine", "Serbia",
             "Sweden", "Norway", "Finland", "Germany", "France", "Spain", "Portugal", "Italy", "the Netherlands",
             "Scotland", "Canada", "Australia", "New Zealand", "Peru", "Colombia", "Uruguay", "Brazil"]
REGIONS = ["Bavaria", "Catalonia", "Ontario", "Queensland", "Lombardy", "Gauteng", "Kerala", "Texas", "Yorkshire"]
ORGS = ["Dangote Group", "Safaricom", "Huawei Technologies", "Samsung Electronics", "Infosys", "Tata Steel",
        "Emirates", "Turkish Airlines", "PKO Bank Polski", "Ericsson", "Equinor", "Nokia", "Siemens",
        "Deutsche Telekom", "BNP Paribas", "Banco Santander", "Enel", "Philips", "Unilever", "Barclays",
        "the University of Lagos", "Seoul National University", "the Indian Institute of Science",
        "Stanford University", "the World Health Organization", "the European Central Bank", "Médecins Sans Frontières",
        "Mercy Hospital", "Northwind Traders", "Globex Corporation", "Initech", "Acme Logistics Ltd"]
STREETS = [
    ("{n} Evergreen Terrace", "Springfield"), ("{n} Baker Street", "London"), ("{n} Marina Road", "Lagos"),
    ("{n} Rue de Rivoli", "Paris"), ("Hauptstraße {n}", "Berlin"), ("Calle de Alcalá {n}", "Madrid"),
    ("Via Roma {n}", "Turin"), ("Keizersgracht {n}", "Amsterdam"), ("{n} Queen Street West", "Toronto"),
    ("{n} Ngong Road", "Nairobi"), ("{n} Collins Street", "Melbourne"), ("{n} Elm Avenue, Apt {a}", "Denver"),
]
POSTCODES = {"Springfield": "IL 62704", "London": "NW1 6XE", "Lagos": "101241", "Paris": "75001",
             "Berlin": "10115", "Madrid": "28014", "Turin": "10121", "Amsterdam": "1015 CJ", "Toronto": "ON M5H 2N2",
             "Nairobi": "00100", "Melbourne": "VIC 3000", "Denver": "CO 80203"}

# Capitalised words that are not names here, with the sentence that makes them so.
NOT_NAMES = [
    ("Will", "Will you send the {w} before noon?"), ("May", "May I ask why the {w} failed?"),
    ("Grant", "Grant the service account read access to the {w}."), ("Bill", "Bill the client for the {w}."),
    ("Mark", "Mark the {w} as resolved."), ("Rose", "Rose by 4% this quarter, the {w} says."),
    ("Kubernetes", "Kubernetes restarted the {w} pod twice."), ("PostgreSQL", "PostgreSQL rejected the {w} query."),
    ("React", "React renders the {w} page slowly."), ("Django", "Django migrations broke the {w} table."),
    ("Slack", "Slack notifications for the {w} are muted."), ("Terraform", "Terraform plans the {w} change."),
    ("Quarterly Business Review", "Quarterly Business Review: the {w} numbers are in."),
    ("Action Items", "Action Items: follow up on the {w}."),
]
WORDS = ["invoice", "deployment", "contract", "budget", "migration", "report", "roadmap", "audit", "backup"]


def person(rng, full: bool = True) -> str:
    culture = rng.choice(list(FIRST))
    first = rng.choice(FIRST[culture])
    return f"{first} {rng.choice(LAST[culture])}" if full else first


def address(rng) -> str:
    street, city = rng.choice(STREETS)
    line = street.format(n=rng.randint(1, 2400), a=rng.randint(1, 40))
    return f"{line}, {city} {POSTCODES[city]}" if rng.random() < 0.6 else f"{line}, {city}"


def place(rng) -> str:
    return rng.choice(CITIES + COUNTRIES + REGIONS)


def chat(d: Doc, rng) -> None:
    d.add(rng.choice(["hi, ", "Hello! ", "hey there, ", "Good morning. "]))
    d.add(rng.choice(["my name is ", "I'm ", "this is ", "you can call me "])).ent("PERSON", person(rng))
    d.add(rng.choice([" and I live in ", ", based in ", " from "])).ent("LOCATION", place(rng)).add(". ")
    if rng.random() < 0.5:
        d.add("I work at ").ent("ORGANIZATION", rng.choice(ORGS)).add(" and ")
    d.add(f"need help with my {rng.choice(WORDS)}.")
    if rng.random() < 0.5:
        w, sentence = rng.choice(NOT_NAMES)
        head, tail = sentence.split(w, 1) if w in sentence else ("", sentence)
        d.add(" " + head).decoy("not_a_name", w).add(tail.format(w=rng.choice(WORDS)))


def email(d: Doc, rng) -> None:
    sender, to = person(rng), person(rng)
    d.add("From: ").ent("PERSON", sender).add("\nTo: ").ent("PERSON", to).add("\nSubject: ")
    d.add(rng.choice(["Visit next week", "Your application", "Shipping details", "Re: the board meeting"]))
    d.add("\n\nDear ").ent("PERSON", to.split()[0]).add(",\n\n")
    d.add(rng.choice(["We will meet you in ", "The team flies to ", "Our new office is in "]))
    d.ent("LOCATION", place(rng)).add(rng.choice([" on Monday", " next month", " after the audit"])).add(". ")
    if rng.random() < 0.6:
        d.add("Please send the documents to ").ent("ADDRESS", address(rng)).add(".")
    d.add("\n\nKind regards,\n").ent("PERSON", sender).add("\n").ent("ORGANIZATION", rng.choice(ORGS)).add("\n")


def form(d: Doc, rng) -> None:
    d.add("Full name: ").ent("PERSON", person(rng)).add("\nEmployer: ").ent("ORGANIZATION", rng.choice(ORGS))
    d.add("\nHome address: ").ent("ADDRESS", address(rng)).add("\nCountry of birth: ")
    d.ent("LOCATION", rng.choice(COUNTRIES)).add("\nEmergency contact: ").ent("PERSON", person(rng)).add("\n")


def csv(d: Doc, rng) -> None:
    d.add("name,city,company,notes\n")
    for _ in range(rng.randint(2, 5)):
        d.ent("PERSON", person(rng)).add(",").ent("LOCATION", rng.choice(CITIES)).add(",")
        d.ent("ORGANIZATION", rng.choice(ORGS).replace(",", "")).add(f",{rng.choice(WORDS)} pending\n")


def json_record(d: Doc, rng) -> None:
    j = Doc(json_escape)
    j.add('{"customer": "').ent("PERSON", person(rng)).add('", "ship_to": "').ent("ADDRESS", address(rng))
    j.add('", "account_manager": "').ent("PERSON", person(rng)).add('", "region": "')
    j.ent("LOCATION", rng.choice(REGIONS + COUNTRIES)).add('"}')
    d.add(j.text())
    d.entities = j.entities


def log(d: Doc, rng) -> None:
    for _ in range(rng.randint(2, 4)):
        d.add(f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T0{rng.randint(0, 9)}:12:44Z INFO ")
        if rng.random() < 0.5:
            d.add('user="').ent("PERSON", person(rng)).add('" login from ').ent("LOCATION", rng.choice(CITIES))
        else:
            d.add("job=nightly-").add(rng.choice(WORDS)).add(" status=ok owner=").ent("ORGANIZATION", rng.choice(ORGS))
        d.add("\n")


def ticket(d: Doc, rng) -> None:
    d.add(rng.choice(["Bug report", "Support ticket", "Incident"]) + f" #{rng.randint(1000, 9999)}\n")
    d.add("Reported by ").ent("PERSON", person(rng)).add(" (").ent("ORGANIZATION", rng.choice(ORGS)).add("). ")
    w, sentence = rng.choice(NOT_NAMES)
    head, tail = sentence.split(w, 1)
    d.add(head).decoy("not_a_name", w).add(tail.format(w=rng.choice(WORDS)))
    d.add(" Assigned to ").ent("PERSON", person(rng, full=rng.random() < 0.6)).add(".")


def answer(d: Doc, rng) -> None:
    d.add("Here is a summary: ").ent("PERSON", person(rng)).add(" met ").ent("PERSON", person(rng))
    d.add(" in ").ent("LOCATION", place(rng)).add(" to discuss the ").add(rng.choice(WORDS)).add(" for ")
    d.ent("ORGANIZATION", rng.choice(ORGS)).add(". ")
    if rng.random() < 0.5:
        d.add("Note that ").ent("PERSON", "Paris Hilton").add(" was not involved, though the meeting was in ")
        d.ent("LOCATION", "Paris").add(".")
    else:
        d.add("Nothing else was decided.")


def clean(d: Doc, rng) -> None:
    """Nothing to find: Title Case headings, product names, capitalised words used as words."""
    d.add("## ").decoy("heading", rng.choice(["Release Notes", "Migration Plan", "Incident Review"])).add("\n\n")
    for _ in range(rng.randint(2, 4)):
        w, sentence = rng.choice(NOT_NAMES)
        head, tail = sentence.split(w, 1)
        d.add(head).decoy("not_a_name", w).add(tail.format(w=rng.choice(WORDS)) + "\n")


BUILDERS = [("chat", chat, 3), ("email", email, 3), ("form", form, 2), ("csv", csv, 1), ("json", json_record, 1),
            ("log", log, 1), ("ticket", ticket, 2), ("answer", answer, 2), ("clean", clean, 1)]


def generate(n: int, seed: int) -> list[dict]:
    return from_builders(BUILDERS, n, random.Random(seed), "names")


def main() -> None:
    args = cli(__doc__, 800, 31)
    write(generate(args.n, args.seed), args.output)


if __name__ == "__main__":
    main()
