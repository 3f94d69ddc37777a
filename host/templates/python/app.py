"""__NAME__: a Palisade plugin. It flags every occurrence of the words in its config
(`{"words": ["..."]}`, default `["example"]`) as CLASSIFICATION; change `inspect` to do your own check."""

import json

from componentize_py_types import Err
from wit_world import WitWorld as Guardrail
from wit_world.imports.host import Level, log
from wit_world.imports.types import Context, Decision_Allow, Finding, Span, Verdict


class WitWorld(Guardrail):
    words = ["example"]

    def configure(self, config: str) -> None:
        try:
            words = json.loads(config).get("words", ["example"])
        except (ValueError, AttributeError):
            raise Err("the config must be a JSON object")
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise Err("`words` must be a list of non-empty strings")
        WitWorld.words = words
        log(Level.DEBUG, f"watching {len(words)} words")

    def inspect(self, ctx: Context, text: str) -> Verdict:
        findings = []
        for word in WitWorld.words:
            at = text.find(word)
            while at >= 0:
                findings.append(Finding(rule="__NAME__.word", category="CLASSIFICATION",
                                        span=byte_span(text, at, at + len(word)), confidence=0.9,
                                        message="a listed word"))
                at = text.find(word, at + len(word))
        return Verdict(decision=Decision_Allow(), findings=findings, labels=[])


def byte_span(text: str, start: int, end: int) -> Span:
    """Python indexes str by code point; the host counts UTF-8 bytes."""
    before = len(text[:start].encode("utf-8"))
    return Span(start=before, end=before + len(text[start:end].encode("utf-8")))
