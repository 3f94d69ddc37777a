#!/usr/bin/env python3
"""Scores `palisade scan --jsonl` output against a labelled corpus (corpus.py's, or any in that format).

    python3 tests/accuracy/score.py GOLD.jsonl PRED.jsonl [--json] [--min-f1 PII=0.97,SECRET=0.98]

Matching, per document and type (a finding's category is its type): a gold value is found when a finding of
its type overlaps its byte range; a finding is correct when it overlaps a gold value of its type. Identical
findings count once. "exact" needs the same start and end. PII is every scored type but SECRET, micro-averaged.
Leak rate: the share of gold values still verbatim in the prediction's output text (a denied document leaks
nothing). Decoys: per kind, how many a finding of a scored type overlapped (those are false positives).

--min-f1 exits 1 when a group's micro F1 (PII, SECRET, or a single type) is below its floor. --floors
FILE:SECTION is the CI gate: it exits 1 when any type of that section of the floors file (TOML, e.g.
tests/accuracy/floors.toml:dev) measures a precision or recall below its floor or a leak above it, or was
not measured at all; --print-floors prints today's figures as such a section, to raise floors with.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from collections import Counter, defaultdict

TYPES = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "CRYPTO", "UK_NHS",
         "US_BANK_NUMBER", "URL", "UK_NINO", "US_ITIN", "US_PASSPORT", "UK_PASSPORT", "US_DRIVER_LICENSE", "ES_NIF",
         "ES_NIE", "IT_FISCAL_CODE", "IN_AADHAAR", "IN_PAN", "AU_TFN", "AU_ABN", "AU_MEDICARE", "SG_NRIC_FIN", "PL_PESEL", "KR_RRN",
         "FI_PERSONAL_IDENTITY_CODE", "DE_TAX_ID", "MAC_ADDRESS", "DATE_OF_BIRTH", "PERSON", "LOCATION", "ORGANIZATION",
         "ADDRESS", "SECRET"]


def read(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(gold: list[dict], preds: list[dict]) -> dict:
    by_id = {p["id"]: p for p in preds}
    c = {t: Counter() for t in TYPES}
    rules, decoys = defaultdict(Counter), defaultdict(Counter)
    missing = 0
    for g in gold:
        p = by_id.get(g["id"])
        if p is None:
            missing += 1
        found = {(f["category"], f["start"], f["end"]) for f in (p or {}).get("findings", [])
                 if f.get("category") in c and f.get("start") is not None}
        out = "" if p is None or p.get("decision") == "deny" else p.get("text", "")
        for t in TYPES:
            spans = [(s, e) for (ft, s, e) in found if ft == t]
            golds = [x for x in g["entities"] if x["type"] == t]
            c[t]["gold"] += len(golds)
            c[t]["pred"] += len(spans)
            c[t]["tp_p"] += sum(any(overlaps(s, (x["start"], x["end"])) for x in golds) for s in spans)
            c[t]["ex_p"] += sum(any(s == (x["start"], x["end"]) for x in golds) for s in spans)
            for x in golds:
                hit = any(overlaps(s, (x["start"], x["end"])) for s in spans)
                c[t]["tp_r"] += hit
                c[t]["ex_r"] += (x["start"], x["end"]) in spans
                c[t]["leak"] += p is None or (x["value"] in out)
                if t == "SECRET":
                    rules[x.get("rule", "?")]["gold"] += 1
                    rules[x.get("rule", "?")]["found"] += hit
        for dcy in g.get("decoys", []):
            decoys[dcy["kind"]]["n"] += 1
            decoys[dcy["kind"]]["flagged"] += any(overlaps((s, e), (dcy["start"], dcy["end"])) for (_, s, e) in found)

    def prf(n: Counter) -> dict:
        p = n["tp_p"] / n["pred"] if n["pred"] else 1.0
        r = n["tp_r"] / n["gold"] if n["gold"] else 1.0
        exp = n["ex_p"] / n["pred"] if n["pred"] else 1.0
        exr = n["ex_r"] / n["gold"] if n["gold"] else 1.0
        return {"gold": n["gold"], "pred": n["pred"], "precision": p, "recall": r,
                "f1": 2 * p * r / (p + r) if p + r else 0.0, "exact_f1": 2 * exp * exr / (exp + exr) if exp + exr else 0.0,
                "leak": n["leak"] / n["gold"] if n["gold"] else 0.0}

    groups = {t: prf(c[t]) for t in TYPES}
    groups["PII"] = prf(sum((c[t] for t in TYPES if t != "SECRET"), Counter()))
    groups["ALL"] = prf(sum(c.values(), Counter()))
    return {"types": groups, "missing": missing,
            "secret_rules": {r: n["found"] / n["gold"] for r, n in sorted(rules.items())},
            "decoys": {k: f"{n['flagged']}/{n['n']}" for k, n in sorted(decoys.items())}}


def report(res: dict) -> str:
    lines = [f"{'type':16} {'gold':>5} {'pred':>5} {'P':>6} {'R':>6} {'F1':>6} {'exF1':>6} {'leak':>6}"]
    for t, m in res["types"].items():
        if m["gold"] or m["pred"]:
            lines.append(f"{t:16} {m['gold']:5} {m['pred']:5} {100 * m['precision']:6.1f} {100 * m['recall']:6.1f} "
                         f"{100 * m['f1']:6.1f} {100 * m['exact_f1']:6.1f} {100 * m['leak']:6.1f}")
    lines.append("\nsecret recall by rule: " + ", ".join(f"{r} {100 * x:.0f}" for r, x in res["secret_rules"].items()))
    lines.append("decoys flagged: " + ", ".join(f"{k} {x}" for k, x in res["decoys"].items()))
    if res["missing"]:
        lines.append(f"documents with no prediction: {res['missing']}")
    return "\n".join(lines)


# What a floor bounds: from below (precision, recall, found), or from above (leak, leaked).
AT_MOST = {"leak", "leaked"}


def load_floors(spec: str) -> tuple[str, dict[str, dict[str, float]]]:
    """`FILE:SECTION` (a dotted TOML table path) -> (spec, {name: {metric: bound}})."""
    path, _, section = spec.rpartition(":")
    if not path:
        sys.exit(f"--floors {spec}: write FILE:SECTION, e.g. tests/accuracy/floors.toml:dev")
    with open(path, "rb") as f:
        table = tomllib.load(f)
    for key in section.split("."):
        if key not in table:
            sys.exit(f"{path} has no section [{section}]")
        table = table[key]
    return spec, table


def below_floors(measured: dict[str, dict[str, float]], floors: dict[str, dict[str, float]]) -> list[str]:
    """Every way `measured` falls short of `floors`; a name floored but not measured is one of them."""
    low = []
    for name, bounds in floors.items():
        got = measured.get(name)
        if got is None:
            low.append(f"{name}: floored, but nothing of it was measured")
            continue
        for metric, bound in bounds.items():
            value = got[metric]
            if metric in AT_MOST and value > bound + 1e-9:
                low.append(f"{name} {metric} {value:.4f} is above its ceiling {bound}")
            elif metric not in AT_MOST and value < bound - 1e-9:
                low.append(f"{name} {metric} {value:.4f} is below its floor {bound}")
    return low


def floors_section(measured: dict[str, dict[str, float]], metrics: list[str]) -> str:
    """Today's figures as TOML lines, floors rounded down and ceilings up to 0.001."""
    lines = []
    for name, got in measured.items():
        cells = []
        for m in metrics:
            bound = math.ceil(got[m] * 1000 - 1e-6) / 1000 if m in AT_MOST else math.floor(got[m] * 1000 + 1e-6) / 1000
            cells.append(f"{m} = {bound:.3f}")
        key = name if name.replace("_", "").replace("-", "").isalnum() else json.dumps(name)
        lines.append(f"{key} = {{ {', '.join(cells)} }}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gold")
    ap.add_argument("pred")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--min-f1", default="", help="floors, e.g. PII=0.97,SECRET=0.98: exit 1 below any")
    ap.add_argument("--floors", metavar="FILE:SECTION", help="exit 1 below any floor of that section")
    ap.add_argument("--print-floors", action="store_true", help="print today's figures as a floors section")
    ap.add_argument("--types", metavar="T,T", help="score only these types: the gold values and findings of others "
                    "are left out (for a set labelled with types the bundle does not look for)")
    args = ap.parse_args()
    gold, preds = read(args.gold), read(args.pred)
    if args.types:
        keep = set(args.types.split(","))
        if keep - set(TYPES):
            sys.exit(f"--types: no such type {', '.join(sorted(keep - set(TYPES)))}; the types are {', '.join(TYPES)}")
        for g in gold:
            g["entities"] = [e for e in g["entities"] if e["type"] in keep]
        for p in preds:
            p["findings"] = [f for f in p.get("findings", []) if f.get("category") in keep]
    res = score(gold, preds)
    # The types the corpus has values of, one per line: what a floors section holds.
    measured = {t: m for t, m in res["types"].items() if t != "ALL" and m["gold"]}
    if args.print_floors:
        print(floors_section(measured, ["precision", "recall", "leak"]))
        return
    spec, floors = load_floors(args.floors) if args.floors else (None, {})
    print(json.dumps(res, indent=1) if args.json else report(res))
    low = [f"{spec}: {m}" for m in below_floors(measured, floors)]
    # A plugin that failed (a budget run out on a loaded machine) would show as lost recall: say so.
    failed = [p for p in preds if p.get("errors")]
    if failed and args.floors:
        low.append(f"{len(failed)} documents had a plugin failure, first {failed[0]['id']}: {failed[0]['errors']}")
    for floor in filter(None, args.min_f1.split(",")):
        group, _, value = floor.partition("=")
        f1 = res["types"][group]["f1"]
        if f1 < float(value):
            low.append(f"{group} F1 {f1:.4f} is below its floor {value}")
    if low:
        sys.exit("accuracy gate failed: " + "; ".join(low))


if __name__ == "__main__":
    main()
