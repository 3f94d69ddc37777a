"""Rego's answer from rego-cpp (PyPI `regopy`), an implementation independent of regorus, for
tests/all/policy.rs to compare the policy-rego plugin with.

Usage: python3 rego_reference.py POLICY.rego [DATA.json] < inputs.jsonl
Each input line is an input document; each output line is {"deny": [...], "labels": [...]}, both sorted
(an undefined rule is empty).
"""
import json
import sys

import regopy


def main() -> None:
    interpreter = regopy.Interpreter()
    with open(sys.argv[1], encoding="utf-8") as f:
        interpreter.add_module(sys.argv[1], f.read())
    if len(sys.argv) > 2:
        with open(sys.argv[2], encoding="utf-8") as f:
            interpreter.add_data_json(f.read())
    for line in sys.stdin:
        interpreter.set_input_term(line)
        answer = {}
        for rule in ("deny", "labels"):
            output = interpreter.query(f"x := data.palisade.{rule}")
            if not output.ok():
                sys.exit(f"rego-cpp failed on {line.strip()}: {output}")
            # An undefined rule (no `deny` written at all) prints as "undefined" and binds nothing.
            answer[rule] = [] if str(output) == "undefined" else sorted(json.loads(str(output.binding("x"))))
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
