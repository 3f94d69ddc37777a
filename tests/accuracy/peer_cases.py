#!/usr/bin/env python3
"""The peers' own published test cases, run through Palisade (and through the peers themselves).

    peer_cases.py extract gitleaks GITLEAKS_CHECKOUT > tests/accuracy/peer-cases/gitleaks.jsonl
    peer_cases.py extract detect-secrets DETECT_SECRETS_CHECKOUT --python VENV/bin/python > …/detect-secrets.jsonl
    peer_cases.py extract presidio PRESIDIO_CHECKOUT --python VENV/bin/python > …/presidio.jsonl
    peer_cases.py score tests/accuracy/peer-cases/*.jsonl [--palisade BIN] [--gitleaks EXE]
        [--detect-secrets PYTHON] [--presidio PYTHON] [--by-rule] [--coverage] [--misses]
        [--min-found PEER=SHARE,…] [--max-flagged PEER=SHARE,…]

`extract` reads a peer's source checkout and writes one JSON line per case: {"peer", "rule", "kind":
"positive"|"negative", "text", "category"? (default SECRET), "span"? (bytes the finding must overlap),
"paths"? (gitleaks ties the case to a file path)}. The extracted files are committed with the peer's commit
and licence in their first line, so scoring needs no checkout and no network.

- gitleaks: each rule's `tps` and `fps` in cmd/generate/config/rules/*.go, the lists gitleaks' own generator
  validates its rules against. They are Go expressions (string literals, `+`, `fmt.Sprintf`,
  `utils.GenerateSampleSecrets(identifier, secret)` — the same secret written 26 ways — and
  `secrets.NewSecret(regex)`, a random string matching a regex); a small evaluator here reads that subset and
  draws the random strings with a fixed seed. A rule whose lists use anything else is reported, not guessed.
- detect-secrets: the parameters of tests/plugins/*_test.py, as pytest collects them (a Python with pytest
  and detect-secrets' test dependencies is needed for `extract`).
- Presidio: the parameters of presidio-analyzer's recognizer tests for the entity types Palisade claims,
  each expected span a positive, each text with none a negative.

`score` counts, per peer and rule, the positives with a finding of the case's category (over its span) and
the negatives with any, for Palisade's default bundle and, when given, for the peers themselves.
"""
from __future__ import annotations

import argparse
import ast
import base64
import json
import os
import random
import re
import string
import subprocess
import sys
import tempfile
from collections import defaultdict

try:  # the regex parser's modules, renamed in 3.11
    from re import _constants as C, _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as C
    import sre_parse

# ---------------------------------------------------------------------------------------------------------
# A random string matching a regex (what gitleaks' secrets.NewSecret does with lucasjones/reggen).

WORD = string.ascii_letters + string.digits + "_"
PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))


def _class_chars(items) -> str:
    chars: list[str] = []
    negate = False
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            chars.append(chr(av))
        elif op is C.RANGE:
            chars.extend(chr(c) for c in range(av[0], av[1] + 1))
        elif op is C.CATEGORY:
            chars.extend({C.CATEGORY_DIGIT: string.digits, C.CATEGORY_WORD: WORD, C.CATEGORY_SPACE: " ",
                          C.CATEGORY_NOT_SPACE: PRINTABLE}.get(av, ""))
    if negate:
        chars = [c for c in string.ascii_letters + string.digits if c not in chars]
    return "".join(chars)


def _generate(parsed, rng: random.Random) -> str:
    out = []
    for op, av in parsed:
        if op is C.LITERAL:
            out.append(chr(av))
        elif op is C.NOT_LITERAL:
            out.append(rng.choice([c for c in string.ascii_letters if ord(c) != av]))
        elif op is C.ANY:
            out.append(rng.choice(string.ascii_letters + string.digits))
        elif op is C.IN:
            out.append(rng.choice(_class_chars(av)))
        elif op is C.CATEGORY:
            out.append(rng.choice(_class_chars([(op, av)])))
        elif op is C.BRANCH:
            out.append(_generate(rng.choice(av[1]), rng))
        elif op is C.SUBPATTERN:
            out.append(_generate(av[-1], rng))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            low, high, item = av
            # reggen's limit of 1: an open-ended repetition takes its minimum or one more.
            high = low + 1 if high == C.MAXREPEAT else high
            out.extend(_generate(item, rng) for _ in range(rng.randint(low, high)))
        elif op in (C.AT, C.GROUPREF):
            pass
        else:
            raise ValueError(f"regex construct {op} not supported")
    return "".join(out)


def new_secret(pattern: str, rng: random.Random) -> str:
    # Go spells some things differently: `(?-i:…)` is an inline flag group Python also takes; `\z` is `\Z`.
    return _generate(sre_parse.parse(pattern.replace(r"\z", r"\Z")), rng)


# ---------------------------------------------------------------------------------------------------------
# The subset of Go that gitleaks' rule files write their test cases in.

TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:\\.|[^"\\\n])*")
  | (?P<char>'(?:\\.|[^'\\\n])+')
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.\.|:=|==|!=|&&|\|\||<-|[-+*/%&|^!<>=:;,.(){}\[\]])
""", re.S | re.X)


def tokens(src: str):
    at = 0
    out = []
    while at < len(src):
        m = TOKEN.match(src, at)
        if not m:
            raise ValueError(f"cannot read Go at {src[at:at + 30]!r}")
        at = m.end()
        kind = m.lastgroup
        if kind == "space":
            if "\n" in m.group():
                out.append(("nl", "\n"))
            continue
        out.append((kind, m.group()))
    return out


def go_string(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    return ast.literal_eval(token)  # Go's interpreted-string escapes are Python's for these files


class Opaque:
    """A value the evaluator does not model (a regex, a rule struct): fine until a test case needs it."""

    def __init__(self, what):
        self.what = what


class Unsupported(Exception):
    pass


SIZES = {
    "Numeric": "[0-9]{%s}", "Hex": "[a-f0-9]{%s}", "AlphaNumeric": "[a-z0-9]{%s}",
    "AlphaNumericExtendedShort": "[a-z0-9_-]{%s}", "AlphaNumericExtended": r"[a-z0-9=_\-]{%s}",
    "AlphaNumericExtendedLong": r"[a-z0-9\/=_\+\-]{%s}",
}

# gitleaks' utils.GenerateSampleSecrets: one secret written in 27 configuration and code formats.
SAMPLE_FORMATS = [
    '{i}Token="{s}"', '{i}Token = "{s}"', "{i}Token={s}", "{i}Token = {s}",
    '{\n    "{i}_token": "{s}"\n}', '{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}',
    "<{i}Token>\n    {s}\n</{i}Token>", "{i}_token: {s}", "{i}_token: '{s}'", '{i}_token: "{s}"',
    'string {i}Token = "{s}";', 'var {i}Token string = "{s}"', '{i}Token := "{s}"', "{i}Token := `{s}`",
    'String {i}Token = "{s}";', 'var {i}Token = "{s}"', '${i}Token .= "{s}"', "{i}Token = '{s}'",
    '{i}Token = "{s}"', 'System.setProperty("{I}_TOKEN", "{s}")', '  "{i}Token" => "{s}"',
    '{i}_TOKEN = "{s}"', '{i}_TOKEN := "{s}"', '{i}_TOKEN ::= "{s}"', '{i}_TOKEN :::= "{s}"',
    '{i}_TOKEN ?= "{s}"',
]


def sample_secrets(identifier: str, secret: str) -> list[str]:
    return [f.replace("{i}", identifier).replace("{I}", identifier.upper()).replace("{s}", secret)
            for f in SAMPLE_FORMATS]


class GoEval:
    def __init__(self, toks, rng: random.Random, env: dict):
        self.toks = [t for t in toks]
        self.at = 0
        self.rng = rng
        self.env = env

    def peek(self, skip_nl=True):
        at = self.at
        while skip_nl and at < len(self.toks) and self.toks[at][0] == "nl":
            at += 1
        return self.toks[at] if at < len(self.toks) else ("eof", "")

    def next(self, skip_nl=True):
        while skip_nl and self.at < len(self.toks) and self.toks[self.at][0] == "nl":
            self.at += 1
        tok = self.toks[self.at] if self.at < len(self.toks) else ("eof", "")
        self.at += 1
        return tok

    def expect(self, text):
        tok = self.next()
        if tok[1] != text:
            raise Unsupported(f"expected {text!r}, got {tok[1]!r}")

    def skip_block(self):
        """From an opening brace to its closing one."""
        depth = 0
        while True:
            kind, text = self.next()
            if kind == "eof":
                return
            if text == "{":
                depth += 1
            elif text == "}":
                depth -= 1
                if depth == 0:
                    return

    # expression := unary ('+' unary)*
    def expr(self):
        value = self.primary()
        while self.peek(skip_nl=False)[1] == "+":
            self.next()
            right = self.primary()
            if isinstance(value, str) and isinstance(right, str):
                value = value + right
            else:
                value = Opaque("+")
        return value

    def composite(self):
        """`{ elem, key: elem, … }` after a type."""
        self.expect("{")
        items, keyed = [], {}
        while self.peek()[1] != "}":
            if self.peek()[1] == "{":  # an element whose type is elided
                value = self.composite()
            else:
                value = self.expr()
            if self.peek()[1] == ":":
                self.next()
                key = value
                value = self.composite() if self.peek()[1] == "{" else self.expr()
                keyed[key if isinstance(key, str) else id(key)] = value
            else:
                items.append(value)
            if self.peek()[1] == ",":
                self.next()
        self.expect("}")
        return items, keyed

    def typename(self):
        """`[]string`, `map[string]string`, `[]*config.Allowlist`: consumed, not modelled."""
        text = ""
        while True:
            kind, tok = self.peek(skip_nl=False)
            if tok in ("[", "]", "*", ".") or kind == "ident":
                self.next()
                text += tok
                if tok == "]" and self.peek(skip_nl=False)[1] == "{":
                    return text
            else:
                return text

    def primary(self):
        while self.peek(skip_nl=False)[0] == "nl":
            self.next(skip_nl=False)
        kind, text = self.peek()
        if kind in ("str", "raw"):
            self.next()
            return go_string(text)
        if kind == "num":
            self.next()
            return float(text) if "." in text else int(text)
        if text == "&":
            self.next()
            return self.primary()
        if text == "(":
            self.next()
            value = self.expr()
            self.expect(")")
            return value
        if text == "[" or text == "map":
            type_text = self.typename()
            if self.peek(skip_nl=False)[1] == "(":  # a conversion, `[]byte(x)`
                return self.primary()
            items, keyed = self.composite()
            if type_text.startswith("map"):
                return list(keyed.values()) if all(isinstance(v, str) for v in keyed.values()) else Opaque("map")
            return items
        if kind == "ident":
            self.next()
            name = text
            if name in ("byte", "string") and self.peek(skip_nl=False)[1] == "(":
                return self.primary()  # a conversion: the value as it is
            while self.peek(skip_nl=False)[1] == ".":
                self.next()
                name += "." + self.next()[1]
            after = self.peek(skip_nl=False)[1]
            if after == "(":
                return self.call(name)
            if after == "{" and name[:1].isupper() or "." in name and after == "{":
                self.composite()
                return Opaque(name)
            if after == "[":
                self.next()
                index = self.expr()
                self.expect("]")
                base = self.env.get(name)
                if isinstance(base, list) and isinstance(index, int):
                    return base[index]
                return Opaque("index")
            if name in self.env:
                return self.env[name]
            return Opaque(name)
        raise Unsupported(f"expression starting {text!r}")

    def call(self, name):
        self.expect("(")
        args = []
        spread = False
        while self.peek()[1] != ")":
            args.append(self.expr())
            if self.peek()[1] == "...":
                self.next()
                spread = True
            if self.peek()[1] == ",":
                self.next()
        self.expect(")")
        short = name.split(".")[-1]
        if name == "append":
            base = args[0] if isinstance(args[0], list) else []
            extra = []
            for a in args[1:]:
                extra.extend(a if spread and isinstance(a, list) else [a])
            return base + extra
        if short in SIZES and len(args) == 1:
            return SIZES[short] % args[0]
        if short == "Hex8_4_4_4_12":
            return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        if name == "secrets.NewSecret":
            if not isinstance(args[0], str):
                return Opaque("secret")
            return new_secret(args[0], self.rng)
        if short == "GenerateSampleSecrets":
            if not all(isinstance(a, str) for a in args):
                return Opaque("samples")
            return sample_secrets(args[0], args[1])
        if short == "GenerateSampleSecret":
            if not all(isinstance(a, str) for a in args):
                return Opaque("sample")
            return f'{args[0]}_api_token = "{args[1]}"'
        if name == "fmt.Sprintf" and isinstance(args[0], str):
            if not all(isinstance(a, (str, int)) for a in args[1:]):
                return Opaque("sprintf")
            values = iter(args[1:])
            return re.sub(r"%%|%[sdv]", lambda m: "%" if m.group() == "%%" else str(next(values)), args[0])
        if name == "base64.StdEncoding.EncodeToString" and isinstance(args[0], str):
            return base64.b64encode(args[0].encode()).decode()
        if name == "newPlausibleSecret" and isinstance(args[0], str):
            # gitleaks' generic-rule helper: a random secret with a digit and none of its stop words.
            while True:
                secret = new_secret(args[0], self.rng)
                lower = secret.lower()
                if re.search("[1-9]", secret) and not any(w in lower for w in self.env.get("DefaultStopWords", [])):
                    return secret
        if name == "strings.Repeat" and isinstance(args[0], str):
            return args[0] * args[1]
        return Opaque(name)

    def statements(self):
        """A function body: assignments are evaluated; `return utils.Validate…(r, tps, fps)` yields the cases."""
        while True:
            kind, text = self.peek()
            if kind == "eof" or text == "}":
                return
            if text in ("for", "if", "switch"):
                raise Unsupported(f"a `{text}` statement builds the cases")
            if text == "var":
                self.next()
                if self.peek()[1] == "(":  # var ( a = …; b = … )
                    self.next()
                    while self.peek()[1] != ")":
                        name = self.next()[1]
                        self.expect("=")
                        self.env[name] = self.expr()
                    self.next()
                    continue
            if text == "return":
                return
            start = self.at
            kind, name = self.next()
            if kind == "ident" and self.peek(skip_nl=False)[1] in (":=", "=", ","):
                names = [name]
                while self.peek(skip_nl=False)[1] == ",":
                    self.next()
                    names.append(self.next()[1])
                self.next()
                value = self.expr()
                if len(names) == 1:
                    self.env[name] = value
            else:
                # Anything else (a field assignment, a bare call): skip the line, but a call's arguments might
                # be the cases' lists, so look at Validate's call when it ends the function.
                self.at = start
                depth = 0
                while True:
                    k, t = self.next(skip_nl=False)
                    if k == "eof":
                        return
                    if t in "({[":
                        depth += 1
                    elif t in ")}]":
                        depth -= 1
                        if depth < 0:
                            self.at -= 1
                            return
                    elif k == "nl" and depth == 0:
                        break


def extract_gitleaks(checkout: str, seed: int):
    rules_dir = os.path.join(checkout, "cmd/generate/config/rules")
    commit = git_commit(checkout)
    rng = random.Random(seed)
    rows, failures = [], []
    sources = {}
    for name in sorted(os.listdir(rules_dir)):
        if name.endswith(".go"):
            with open(os.path.join(rules_dir, name), encoding="utf-8") as f:
                sources[name] = f.read()
    # Package-level `var x = …` declarations, which rule files share.
    env: dict = {}
    for src in sources.values():
        for v in re.finditer(r"^var (\w+) = ", src, re.M):
            try:
                env[v.group(1)] = GoEval(tokens(src[v.end():]), rng, env).expr()
            except (Unsupported, ValueError):
                pass
    for name, src in sources.items():
        for m in re.finditer(r"^func (\w+)\(\) \*config\.Rule \{", src, re.M):
            body_start = m.end() - 1
            # The function's tokens: from its opening brace to the matching close.
            body = tokens(src[body_start:])
            depth, end = 0, 0
            for i, (k, t) in enumerate(body):
                if t == "{":
                    depth += 1
                elif t == "}":
                    depth -= 1
                    if depth == 0:
                        end = i
                        break
            rule_id = re.search(r'RuleID:\s*"([^"]+)"', src[m.end():]).group(1)
            ev = GoEval(body[1:end], rng, dict(env))
            try:
                ev.statements()
            except (Unsupported, ValueError, IndexError, KeyError) as e:
                failures.append((rule_id, str(e)))
                continue
            ret = re.search(r"return utils\.Validate(WithPaths)?\(\w+, (\w+), (\w+)\)", src[m.end():])
            if not ret:
                failures.append((rule_id, "no Validate call"))
                continue
            with_paths = bool(ret.group(1))
            for var, kind in ((ret.group(2), "positive"), (ret.group(3), "negative")):
                value = ev.env.get(var) if var != "nil" else []
                if value is None or isinstance(value, Opaque) or any(not isinstance(v, str) for v in value):
                    failures.append((rule_id, f"{var} not read"))
                    continue
                for text in value:
                    rows.append({"peer": "gitleaks", "rule": rule_id, "kind": kind, "text": text,
                                 **({"paths": True} if with_paths else {})})
    return rows, failures, commit


# ---------------------------------------------------------------------------------------------------------
# detect-secrets: its tests' parameters, as pytest itself collects them (they are built with constants,
# `.format` and helper generators, so reading them any other way would be guessing).

COLLECT_PLUGIN = """
import json, os
def pytest_collection_modifyitems(session, config, items):
    out = []
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec:
            params = {k: v if isinstance(v, (str, int, float, bool, type(None), list, tuple))
                      else getattr(v, "__name__", repr(v)) for k, v in spec.params.items()}
            out.append({"file": item.fspath.basename, "test": item.originalname, "params": params})
    with open(os.environ["PEER_CASES_OUT"], "w") as f:
        json.dump(out, f, default=repr)
"""

# Tests of helpers (finding an account name next to a key, verifying against a live API), not of detection.
DETECT_SECRETS_SKIPPED = {"test_get_secret_access_key", "test_find_account", "test_find_username",
                          "test_find_access_key_id", "test_verify_ibm_cos_hmac_credentials",
                          "test_potential_secret_constructed_correctly", "test_entropy_limit"}


def detect_secrets_case(test: str, p: dict):
    """(text, positive) for one collected test, or None for a test that is not about detection."""
    if test in DETECT_SECRETS_SKIPPED:
        return None
    if "format" in p:  # high-entropy strings: a line built from a format and a secret or a non-secret
        text = p["format"].format(secret=p["secret"], non_secret=p["non_secret"])
        return text, bool(p.get("should_be_caught", p.get("num_results", 0)))
    if "expected_secret" in p:
        return p["line"], bool(p["expected_secret"])
    if "file_content" in p:
        return p["file_content"], True
    text = p.get("payload", p.get("line"))
    if not isinstance(text, str):
        return None
    return text, bool(p.get("should_flag", True))


def extract_detect_secrets(checkout: str, python: str):
    collected = pytest_parameters(checkout, python, ["tests/plugins"])
    # The keyword detector's cases repeat each line once per file type, with quotes required in some;
    # a prompt has no file type, so a line is a positive when any file type expects a secret in it.
    by_text: dict = {}
    for c in collected:
        case = detect_secrets_case(c["test"], c["params"])
        if case is None:
            continue
        text, positive = case
        rule = c["file"].removesuffix("_test.py")
        key = (rule, text)
        by_text[key] = by_text.get(key, False) or positive
    rows = []
    for (rule, text), positive in by_text.items():
        category = "IP_ADDRESS" if rule == "ip_public" else "SECRET"
        rows.append({"peer": "detect-secrets", "rule": rule, "kind": "positive" if positive else "negative",
                     "text": text, **({"category": category} if category != "SECRET" else {})})
    return rows, git_commit(checkout)


# ---------------------------------------------------------------------------------------------------------
# Presidio: the recognizer tests of the entity types Palisade claims, collected by pytest the same way.

PRESIDIO_TESTS = {
    "test_credit_card_recognizer.py": "CREDIT_CARD", "test_email_recognizer.py": "EMAIL_ADDRESS",
    "test_iban_recognizer.py": "IBAN_CODE", "test_ip_recognizer.py": "IP_ADDRESS",
    "test_phone_recognizer.py": "PHONE_NUMBER", "test_us_ssn_recognizer.py": "US_SSN",
    "test_uk_nhs_recognizer.py": "UK_NHS", "test_us_bank_recognizer.py": "US_BANK_NUMBER",
    "test_crypto_recognizer.py": "CRYPTO", "test_url_recognizer.py": "URL",
    "test_uk_nino_recognizer.py": "UK_NINO", "test_us_itin_recognizer.py": "US_ITIN",
    "test_us_passport_recognizer.py": "US_PASSPORT", "test_es_nif_recognizer.py": "ES_NIF",
    "test_es_nie_recognizer.py": "ES_NIE", "test_it_fiscal_code_recognizer.py": "IT_FISCAL_CODE",
    "test_in_aadhaar_recognizer.py": "IN_AADHAAR", "test_in_pan_recognizer.py": "IN_PAN",
    "test_au_tfn_recognizer.py": "AU_TFN", "test_au_abn_recognizer.py": "AU_ABN",
    "test_au_medicare_recognizer.py": "AU_MEDICARE", "test_sg_fin_recognizer.py": "SG_NRIC_FIN",
    "test_pl_pesel_recognizer.py": "PL_PESEL", "test_kr_rrn_recognizer.py": "KR_RRN",
    "test_fi_personal_identity_code_recognizer.py": "FI_PERSONAL_IDENTITY_CODE",
    "test_de_tax_id_recognizer.py": "DE_TAX_ID", "test_mac_recognizer.py": "MAC_ADDRESS",
}


def extract_presidio(checkout: str, python: str):
    analyzer = os.path.join(checkout, "presidio-analyzer")
    collected = pytest_parameters(analyzer, python, [f"tests/{f}" for f in PRESIDIO_TESTS])
    spans: dict = {}
    for c in collected:
        p = c["params"]
        # The phone tests also try other leniencies than the recognizer's default (1).
        if p.get("leniency", 1) != 1:
            continue
        text = p.get("text", p.get("iban"))
        positions = p.get("expected_res") or p.get("expected_positions") or []
        if not isinstance(text, str):
            continue
        key = (PRESIDIO_TESTS[c["file"]], text)
        found = spans.setdefault(key, set())
        expected = p.get("expected_len", len(positions))
        for pos in positions[:expected]:
            start, end = pos[0], pos[1]
            found.add((len(text[:start].encode()), len(text[:end].encode())))
        if expected and not positions:  # a count with no positions: found anywhere in the text
            found.add(None)
    rows = []
    for (category, text), found in spans.items():
        rule = category.lower()
        if not found:
            rows.append({"peer": "presidio", "rule": rule, "kind": "negative", "text": text, "category": category})
        for span in sorted(found, key=lambda s: s or (-1, -1)):
            rows.append({"peer": "presidio", "rule": rule, "kind": "positive", "text": text, "category": category,
                         **({"span": list(span)} if span else {})})
    return rows, git_commit(checkout)


def pytest_parameters(root: str, python: str, targets: list[str]) -> list[dict]:
    """Every parametrized test's parameters under `root`, as pytest collects them."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "peer_collect.py"), "w") as f:
            f.write(COLLECT_PLUGIN)
        out = os.path.join(tmp, "params.json")
        env = dict(os.environ, PEER_CASES_OUT=out, PYTHONPATH=f"{tmp}:{root}")
        subprocess.run([python, "-m", "pytest", "--collect-only", "-q", "-p", "peer_collect", *targets],
                       cwd=root, env=env, check=True, capture_output=True)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def git_commit(checkout: str) -> str:
    commit = subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True)
    return commit.stdout.strip() if commit.returncode == 0 else "unknown commit"


def scanned(rows, command: list[str]) -> list[list[dict]]:
    """Each case's findings from `command FILE.jsonl`, which answers a JSON line per {"id", "text"} line (as
    `palisade scan --jsonl` and `peers.py` do). Exit 1 means only that something was denied."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8", delete=False) as f:
        for i, r in enumerate(rows):
            f.write(json.dumps({"id": str(i), "text": r["text"]}) + "\n")
        path = f.name
    try:
        out = subprocess.run([*command, path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    if out.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({out.returncode}): {out.stderr.strip()}")
    findings: list[list[dict]] = [[] for _ in rows]
    for line in out.stdout.splitlines():
        row = json.loads(line)
        findings[int(row["id"])] = row["findings"]
    return findings


def covers(case: dict, finding: dict) -> bool:
    """A finding of the case's category (SECRET unless it says), over the case's span if it has one."""
    span = case.get("span")
    return (finding["category"] == case.get("category", "SECRET")
            and (span is None or finding["start"] < span[1] and finding["end"] > span[0]))


def palisade_found(rows, exe: str) -> tuple[list[bool], list[set[str]]]:
    """Whether the default bundle reports each case, and with which rules."""
    rules = [{f["rule"].split(".", 1)[-1] for f in findings if covers(case, f)}
             for case, findings in zip(rows, scanned(rows, [exe, "scan", "--jsonl"]))]
    return [bool(r) for r in rules], rules


def gitleaks_found(rows, exe: str) -> list[bool | None]:
    """Whether gitleaks' default rules report anything in each case (None for cases tied to a file path)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ["GITLEAKS"] = exe
    import peers

    plain = [i for i, r in enumerate(rows) if not r.get("paths")]
    found: list[bool | None] = [None] * len(rows)
    docs = [{"id": str(i), "text": rows[i]["text"]} for i in plain]
    for doc_id, _, findings in peers.gitleaks(docs):
        found[int(doc_id)] = bool(findings)
    return found


DETECT_SECRETS_SCAN = """
import json, sys
from detect_secrets.core.scan import scan_line
from detect_secrets.settings import default_settings
texts = json.load(sys.stdin)
with default_settings():
    print(json.dumps([any(list(scan_line(line)) for line in (t.splitlines() or [t])) for t in texts]))
"""


def detect_secrets_found(rows, python: str) -> list[bool]:
    """Whether detect-secrets, every default plugin and filter, reports anything in each case (line by line,
    as it scans files)."""
    out = subprocess.run([python, "-c", DETECT_SECRETS_SCAN], input=json.dumps([r["text"] for r in rows]),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def presidio_found(rows, python: str) -> list[bool]:
    """Whether Presidio (tests/accuracy/peers.py's configuration, threshold 0) reports each case."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers.py")
    return [any(covers(case, f) for f in findings)
            for case, findings in zip(rows, scanned(rows, [python, script, "presidio"]))]


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def score(args):
    rows = []
    for path in args.cases:
        with open(path, encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f if line.strip() and not line.startswith("#"))
    # Cases gitleaks ties to a file path (pkcs12-file, nuget.config, a Kubernetes manifest, a .tf file) are
    # about where text is, which a guardrail reading a prompt does not know: counted apart.
    path_tied = [r for r in rows if r.get("paths")]
    rows = [r for r in rows if not r.get("paths")]
    if path_tied:
        print(f"({len(path_tied)} cases tied to a file path left out: "
              f"{', '.join(sorted({r['rule'] for r in path_tied}))})")
    found, palisade_rules = palisade_found(rows, args.palisade)
    tools = {"palisade": found}
    if args.gitleaks:
        tools["gitleaks"] = gitleaks_found(rows, args.gitleaks)
    if args.detect_secrets:
        tools["detect-secrets"] = detect_secrets_found(rows, args.detect_secrets)
    if args.presidio:
        tools["presidio"] = presidio_found(rows, args.presidio)
    failed = False
    for peer in sorted({r["peer"] for r in rows}):
        mine = [i for i, r in enumerate(rows) if r["peer"] == peer]
        by_rule = defaultdict(list)
        for i in mine:
            by_rule[rows[i]["rule"]].append(i)
        print(f"\n{peer}: {len(by_rule)} rules, "
              f"{sum(rows[i]['kind'] == 'positive' for i in mine)} positive and "
              f"{sum(rows[i]['kind'] == 'negative' for i in mine)} negative cases\n")
        print("| tool | positives found | rules with every positive found | rules ≥ 95 % | negatives flagged |")
        print("|---|---|---|---|---|")
        for tool, found in tools.items():
            pos = [i for i in mine if rows[i]["kind"] == "positive" and found[i] is not None]
            neg = [i for i in mine if rows[i]["kind"] == "negative" and found[i] is not None]
            hit = sum(found[i] for i in pos)
            rule_rates = []
            for ids in by_rule.values():
                p = [i for i in ids if rows[i]["kind"] == "positive" and found[i] is not None]
                if p:
                    rule_rates.append(sum(found[i] for i in p) / len(p))
            full = sum(r == 1 for r in rule_rates)
            good = sum(r >= 0.95 for r in rule_rates)
            flagged = sum(found[i] for i in neg)
            print(f"| {tool} | {hit} / {len(pos)} ({percent(hit, len(pos))}) | {full} / {len(rule_rates)} | "
                  f"{good} / {len(rule_rates)} | {flagged} / {len(neg)} |")
            floor = args.min_found.get(peer)
            ceiling = args.max_flagged.get(peer)
            if tool == "palisade" and floor is not None and pos and hit / len(pos) < floor:
                print(f"FAIL: {peer}: Palisade found {percent(hit, len(pos))} of the positives, "
                      f"below {100 * floor:g} %", file=sys.stderr)
                failed = True
            if tool == "palisade" and ceiling is not None and neg and flagged / len(neg) > ceiling:
                print(f"FAIL: {peer}: Palisade flagged {percent(flagged, len(neg))} of the negatives, "
                      f"above {100 * ceiling:g} %", file=sys.stderr)
                failed = True
        if args.by_rule:
            print("\n| rule | positives: " + " / ".join(tools) + " | negatives flagged: " + " / ".join(tools) + " |")
            print("|---|---|---|")
            for rule, ids in sorted(by_rule.items()):
                pos = [i for i in ids if rows[i]["kind"] == "positive"]
                neg = [i for i in ids if rows[i]["kind"] == "negative"]
                cells = []
                for group in (pos, neg):
                    cells.append(" / ".join(
                        f"{sum(bool(found[i]) for i in group)}/{sum(found[i] is not None for i in group)}"
                        for found in tools.values()))
                print(f"| {rule} | {cells[0]} | {cells[1]} |")
        if args.coverage:
            coverage_table(rows, by_rule, tools, palisade_rules, args.tests)
        if args.misses:
            found = tools["palisade"]
            for i in mine:
                r = rows[i]
                if (r["kind"] == "positive") != found[i]:
                    print(f"{'MISS' if r['kind'] == 'positive' else 'FP  '} {r['rule']}: {r['text'][:160]!r}",
                          file=sys.stderr)
    return 1 if failed else 0


def coverage_table(rows, by_rule, tools, palisade_rules, test_files):
    """A row per peer rule: the Palisade rules that find its positives, how many, and whether each of those
    rules has a test of its own (its id in the test sources)."""
    tested_text = ""
    for path in test_files:
        with open(path, encoding="utf-8") as f:
            tested_text += f.read()
    print("\n| peer rule | Palisade rule | positives found: " + " / ".join(tools) + " | tested |")
    print("|---|---|---|---|")
    for rule, ids in sorted(by_rule.items()):
        pos = [i for i in ids if rows[i]["kind"] == "positive"]
        if not pos:
            continue
        ours = defaultdict(int)
        for i in pos:
            for r in palisade_rules[i]:
                ours[r] += 1
        mine = sorted(ours, key=lambda r: -ours[r])[:2]
        cells = " / ".join(f"{sum(bool(found[i]) for i in pos)}/{sum(found[i] is not None for i in pos)}"
                           for found in tools.values())
        # A secrets rule is named by its id in the tests; a PII recogniser by its category.
        category = rows[pos[0]].get("category", "SECRET")
        named = [f'"{r}"' for r in mine] if category == "SECRET" else [f'"{category}"'] * len(mine)
        tested = ", ".join("yes" if n in tested_text else "no" for n in named) or "–"
        print(f"| {rule} | {', '.join(mine) or '–'} | {cells} | {tested} |")


def shares(text: str) -> dict[str, float]:
    out = {}
    for item in text.split(","):
        peer, _, share = item.partition("=")
        out[peer.strip()] = float(share)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="read a peer's checkout, write its cases as JSON lines")
    ex.add_argument("peer", choices=["gitleaks", "detect-secrets", "presidio"])
    ex.add_argument("checkout")
    ex.add_argument("--seed", type=int, default=29)
    ex.add_argument("--commit", help="the checkout's commit, when it is not a git work tree")
    ex.add_argument("--python", default=sys.executable,
                    help="detect-secrets: a Python with pytest and detect-secrets' test dependencies")
    sc = sub.add_parser("score", help="run Palisade (and gitleaks) over extracted cases")
    sc.add_argument("cases", nargs="+")
    sc.add_argument("--palisade", default="target/release/palisade")
    sc.add_argument("--gitleaks", help="gitleaks binary, to score it beside Palisade")
    sc.add_argument("--detect-secrets", help="a Python with detect-secrets, to score it beside Palisade")
    sc.add_argument("--presidio", help="a Python with presidio-analyzer, to score it beside Palisade")
    sc.add_argument("--min-found", type=shares, default={}, metavar="PEER=SHARE,…",
                    help="fail when Palisade finds less than this share of a peer's positives")
    sc.add_argument("--max-flagged", type=shares, default={}, metavar="PEER=SHARE,…",
                    help="fail when Palisade flags more than this share of a peer's negatives")
    sc.add_argument("--by-rule", action="store_true", help="a row per rule")
    sc.add_argument("--coverage", action="store_true",
                    help="a row per peer rule: which Palisade rule finds it, and whether that rule is tested")
    sc.add_argument("--tests", nargs="*",
                    default=["tests/all/detectors.rs", "tests/all/secrets.rs", "tests/all/pii.rs"],
                    help="test sources that name the rules they test (for --coverage)")
    sc.add_argument("--misses", action="store_true", help="print Palisade's misses and false positives to stderr")
    args = ap.parse_args()
    if args.command == "score":
        sys.exit(score(args))
    if args.peer == "gitleaks":
        rows, failures, commit = extract_gitleaks(args.checkout, args.seed)
        for rule, why in failures:
            print(f"{rule}: {why}", file=sys.stderr)
        what = (f"(MIT licence): the tps and fps of cmd/generate/config/rules/*.go, read by "
                f"tests/accuracy/peer_cases.py with --seed {args.seed}")
    elif args.peer == "detect-secrets":
        rows, commit = extract_detect_secrets(args.checkout, args.python)
        what = "(Apache 2.0 licence): the parameters of tests/plugins/*_test.py as pytest collects them"
    else:
        rows, commit = extract_presidio(args.checkout, args.python)
        what = ("(MIT licence): the parameters of presidio-analyzer/tests/test_*_recognizer.py for the types "
                "Palisade claims, as pytest collects them")
    print(f"{len(rows)} cases", file=sys.stderr)
    print(f"# {args.peer} {args.commit or commit} {what}")
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
