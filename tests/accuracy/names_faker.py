#!/usr/bin/env python3
"""A second labelled names set, from another generator: Faker's people, companies and street addresses in
twenty-six locales, in document kinds tests/accuracy/names.py does not write (support transcripts, meeting
minutes, TSV exports, YAML records, shipping labels, news, Markdown tables, texting in lower case), so
rules tuned on one set are measured on text they were not written against.

    python3 tests/accuracy/names_faker.py [-n 600] [--seed 37] [-o names-faker.jsonl]

Same format and types as names.py. Needs Faker 40.54.0 (`pip install Faker==40.54.0`; tests/ner/setup.sh
installs it in its venv). Hard negatives as decoys: Faker's Title Case catch phrases, job titles, weekday and
month names.
"""
from __future__ import annotations

import os
import random
import sys
from datetime import datetime

from corpus import Doc, cli, from_builders, write

LOCALES = ["en_US", "en_GB", "en_NG", "yo_NG", "ig_NG", "ha_NG", "en_IN", "en_KE", "fil_PH", "id_ID", "vi_VN",
           "tr_TR", "pl_PL", "de_DE", "fr_FR", "es_ES", "es_MX", "it_IT", "pt_BR", "nl_NL", "sv_SE", "no_NO",
           "fi_FI", "cs_CZ", "ro_RO", "zu_ZA"]


class People:
    def __init__(self, seed: int):
        from faker import Faker

        self.fakers = {}
        for i, loc in enumerate(LOCALES):
            f = Faker(loc)
            f.seed_instance(seed + i)
            self.fakers[loc] = f

    def pick(self, rng):
        return self.fakers[rng.choice(LOCALES)]


# Faker's day_of_week() draws a date between 1970 and now, so its answer changes as the clock moves: the
# same draw, up to a fixed date, keeps the set the same on every run.
UNTIL = datetime(2026, 12, 5)


def weekday(f) -> str:
    return f.date_time(end_datetime=UNTIL).strftime("%A")


def one_line(s: str) -> str:
    return " ".join(s.split())


def transcript(d: Doc, rng, people: People) -> None:
    f = people.pick(rng)
    agent, customer = f.first_name(), f.name()
    d.add("Agent: Thanks for calling, you're speaking with ").ent("PERSON", agent).add(". Who am I talking to?\n")
    d.add("Customer: It's ").ent("PERSON", customer).add(". I moved to ").ent("LOCATION", f.city())
    d.add(" and my parcel still goes to the old place.\nAgent: What is the new address?\nCustomer: ")
    d.ent("ADDRESS", one_line(f"{f.street_address()}, {f.city()} {f.postcode()}")).add("\n")
    d.add("Agent: Got it. Anything else?\nCustomer: No, thanks ").ent("PERSON", agent).add(".\n")


def minutes(d: Doc, rng, people: People) -> None:
    f = people.pick(rng)
    d.add("Meeting minutes — ").decoy("not_a_name", weekday(f)).add("\nAttendees: ")
    for i in range(rng.randint(2, 4)):
        if i:
            d.add(", ")
        d.ent("PERSON", f.name())
    d.add("\nLocation: ").ent("LOCATION", f.city()).add(" office of ").ent("ORGANIZATION", f.company()).add("\n")
    d.add("1. ").decoy("not_a_name", f.catch_phrase().title()).add(" — agreed.\n2. Next review in ")
    d.decoy("not_a_name", f.month_name()).add(".\n")


def tsv(d: Doc, rng, people: People) -> None:
    d.add("contact\temployer\tcity\ttitle\n")
    for _ in range(rng.randint(2, 5)):
        f = people.pick(rng)
        d.ent("PERSON", f.name()).add("\t").ent("ORGANIZATION", one_line(f.company())).add("\t")
        d.ent("LOCATION", f.city()).add("\t").decoy("not_a_name", f.job().title()).add("\n")


def yaml_record(d: Doc, rng, people: People) -> None:
    f = people.pick(rng)
    d.add("contact:\n  display_name: ").ent("PERSON", f.name()).add("\n  company: ").ent("ORGANIZATION", f.company())
    d.add("\n  mailing_address: \"").ent("ADDRESS", one_line(f"{f.street_address()}, {f.postcode()} {f.city()}"))
    d.add("\"\n  notes: prefers calls on ").decoy("not_a_name", weekday(f)).add("\n")


def label(d: Doc, rng, people: People) -> None:
    f = people.pick(rng)
    d.add("SHIP TO:\n").ent("PERSON", f.name()).add("\n")
    d.ent("ADDRESS", f"{one_line(f.street_address())}\n{f.postcode()} {f.city()}").add("\n")
    d.add(f"Parcel {rng.randint(100000, 999999)} · {rng.randint(1, 20)} kg\n")


def news(d: Doc, rng, people: People) -> None:
    f = people.pick(rng)
    d.ent("ORGANIZATION", f.company()).add(" chief executive ").ent("PERSON", f.name())
    d.add(" told reporters in ").ent("LOCATION", f.city()).add(" on ").decoy("not_a_name", weekday(f))
    d.add(" that the company would open a second site near ").ent("LOCATION", f.city()).add(". ")
    d.add("Analysts called the plan \"").decoy("not_a_name", f.catch_phrase().title()).add("\".")


def table(d: Doc, rng, people: People) -> None:
    d.add("| Owner | Team lead | Site |\n|---|---|---|\n")
    for _ in range(rng.randint(2, 4)):
        f = people.pick(rng)
        d.add("| ").ent("PERSON", f.name()).add(" | ").ent("PERSON", f.name()).add(" | ").ent("LOCATION", f.city())
        d.add(" |\n")


def texting(d: Doc, rng, people: People) -> None:
    f = people.pick(rng)
    d.add("ok see u at ").ent("ADDRESS", one_line(f.street_address())).add(" tmrw, ask for ")
    d.ent("PERSON", f.first_name()).add(" at the front desk. ")
    d.add(rng.choice(["lmk if ur late", "bring the forms", "parking is behind the building"]))


BUILDERS = [("transcript", transcript, 2), ("minutes", minutes, 2), ("tsv", tsv, 1), ("yaml", yaml_record, 1),
            ("label", label, 1), ("news", news, 2), ("table", table, 1), ("texting", texting, 1)]


def generate(n: int, seed: int) -> list[dict]:
    return from_builders(BUILDERS, n, random.Random(seed), "faker", People(seed))


def main() -> None:
    # Some Faker providers iterate sets, whose order follows the string hash seed: pin it, or the output
    # changes from run to run.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    args = cli(__doc__, 600, 37)
    write(generate(args.n, args.seed), args.output)


if __name__ == "__main__":
    main()
