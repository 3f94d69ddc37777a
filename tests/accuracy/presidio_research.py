#!/usr/bin/env python3
"""A labelled set from someone else's generator: Microsoft's presidio-research (PyPI `presidio-evaluator`),
whose sentence templates and value providers (Faker, and a table of fake people from many countries) we
did not write. Written in corpus.py's format, for `palisade scan --jsonl` and score.py.

    pip install presidio-evaluator==0.3.2   (or as tests/ner/setup.sh installs it, without the models' needs)
    python3 tests/accuracy/presidio_research.py -o research.jsonl [-n 6000] [--seed 42]
    palisade scan --jsonl research.jsonl > pred.jsonl
    python3 tests/accuracy/score.py research.jsonl pred.jsonl --types EMAIL_ADDRESS,PHONE_NUMBER,…

Its types are mapped to ours (GPE is a LOCATION, STREET_ADDRESS an ADDRESS, DOMAIN_NAME a URL, and the
DATE_TIME of its three date-of-birth templates a DATE_OF_BIRTH); what we have no type for (other dates,
AGE, TITLE, NRP, ZIP_CODE) is left unlabelled, so a finding of ours on it counts against us as any other
false positive would.
"""
import argparse
import json
import os
import warnings

TYPES = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "ORGANIZATION": "ORGANIZATION",
    "STREET_ADDRESS": "ADDRESS",
    "CREDIT_CARD": "CREDIT_CARD",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "DOMAIN_NAME": "URL",
    "IBAN_CODE": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
}


def fix_the_clock():
    import faker.providers.date_time as clock

    class Now(clock.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 12, 1, 12, tzinfo=tz)

    class Today(clock.dtdate):
        @classmethod
        def today(cls):
            return cls(2026, 12, 1)

    clock.datetime, clock.dtdate = Now, Today


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("-n", type=int, default=6000, help="sentences (default 6000)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TQDM_DISABLE", "1")  # its progress bars
    import random

    import numpy
    from presidio_evaluator.data_generator import PresidioSentenceFaker

    # Faker draws dates (date_time, day_of_week, date_of_birth) up to now: a fixed now keeps them, and the
    # set, the same as the clock moves. Its table of people is drawn from (initials, spacing) before its own seed is set: seed that too, so
    # that the set is the same on every run.
    fix_the_clock()
    random.seed(args.seed)
    numpy.random.seed(args.seed)
    faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.05, random_seed=args.seed)
    with open(args.output, "w", encoding="utf-8") as out:
        for i, sample in enumerate(faker.generate_new_fake_sentences(num_samples=args.n)):
            text = sample.full_text
            # (The templates are read from the generator as it parsed them: the sample names its template.)
            birth = "{{date_of_birth}}" in faker._sentence_templates[sample.template_id]
            entities = []
            for span in sample.spans:
                kind = "DATE_OF_BIRTH" if birth and span.entity_type == "DATE_TIME" else TYPES.get(span.entity_type)
                if kind is None:
                    continue
                start = len(text[:span.start_position].encode())
                end = len(text[:span.end_position].encode())
                entities.append({"type": kind, "start": start, "end": end, "value": text[span.start_position:span.end_position]})
            entities.sort(key=lambda e: e["start"])
            out.write(json.dumps({"id": f"research-{i:05d}", "direction": "input", "carrier": "sentence",
                                  "text": text, "entities": entities, "decoys": []}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
