"""Topic denylist: a Palisade plugin in Python.

Config (the plugin's `config` table in bundle.toml, handed to `configure` as JSON):

    {"topics": {"weapons": ["build a bomb", "nerve agent"], "self-harm": ["kill myself"]},
     "deny": true}

Each phrase matches case-insensitively, as whole words, with any run of whitespace between its words
("Build   a\nBOMB" matches "build a bomb"). Every match is a finding of category TOPIC with rule
`topics.<topic>`; the text gets the label `topic:<topic>`. With `"deny": true` (the default) a match
denies the exchange; with `false` the findings go to the bundle's policy, which may redact them.
"""

import json
import re

from componentize_py_types import Err
from wit_world import WitWorld as Guardrail
from wit_world.imports.host import Level, log
from wit_world.imports.types import (
    Context,
    Decision_Allow,
    Decision_Deny,
    Finding,
    Span,
    Verdict,
)


def compile_topic(phrases):
    """One case-insensitive pattern per topic: each phrase as whole words, any whitespace between them."""
    alternatives = []
    for phrase in phrases:
        words = phrase.split()
        if not words:
            raise ValueError("a phrase is empty")
        alternatives.append(r"\s+".join(re.escape(w) for w in words))
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def parse_config(raw):
    config = json.loads(raw)
    if not isinstance(config, dict):
        raise ValueError("the config must be a table")
    topics = config.get("topics")
    if not isinstance(topics, dict) or not topics:
        raise ValueError('the config needs `topics`, a table of topic name -> list of phrases')
    compiled = {}
    for name, phrases in topics.items():
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases) or not phrases:
            raise ValueError(f"topic {name!r}: give a non-empty list of phrases")
        try:
            compiled[name] = compile_topic(phrases)
        except ValueError as e:
            raise ValueError(f"topic {name!r}: {e}") from None
    deny = config.get("deny", True)
    if not isinstance(deny, bool):
        raise ValueError("`deny` must be true or false")
    return compiled, deny


class WitWorld(Guardrail):
    topics = {}
    deny = True

    def configure(self, config: str) -> None:
        try:
            WitWorld.topics, WitWorld.deny = parse_config(config)
        except (ValueError, json.JSONDecodeError) as e:
            raise Err(f"topics: {e}")
        log(Level.DEBUG, f"topics: watching {len(WitWorld.topics)} topics")

    def inspect(self, ctx: Context, text: str) -> Verdict:
        findings = []
        hit = []
        for name, pattern in WitWorld.topics.items():
            for m in pattern.finditer(text):
                findings.append(
                    Finding(
                        rule=f"topics.{name}",
                        category="TOPIC",
                        span=byte_span(text, m.start(), m.end()),
                        confidence=0.8,
                        message=f"a phrase of the topic {name!r}",
                    )
                )
                if name not in hit:
                    hit.append(name)
        labels = [f"topic:{name}" for name in hit]
        if hit and WitWorld.deny:
            reason = "the text touches a topic not allowed here: " + ", ".join(hit)
            return Verdict(decision=Decision_Deny(reason), findings=findings, labels=labels)
        return Verdict(decision=Decision_Allow(), findings=findings, labels=labels)


def byte_span(text: str, start: int, end: int) -> Span:
    """Python indexes str by code point; the host counts UTF-8 bytes."""
    before = len(text[:start].encode("utf-8"))
    return Span(start=before, end=before + len(text[start:end].encode("utf-8")))
