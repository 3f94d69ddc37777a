"""Calls a LiteLLM proxy that has Palisade as its guardrail, and checks what comes back.
Usage: check.py BASE_URL ECHO_LOG [hook|generic] — ECHO_LOG is what the echo model was sent, a JSON line
per message; `hook` (the default) is examples/litellm/config.yaml's guardrail, `generic` LiteLLM's generic
guardrail API (generic.yaml). Exits non-zero, saying what was wrong, on the first failed check."""

import json
import os
import sys
import urllib.error
import urllib.request

BASE, ECHO_LOG = sys.argv[1], sys.argv[2]
GENERIC = sys.argv[3:] == ["generic"]
EMAIL = "ana.silva@example.com"
PHONE = "+1 415 555 2671"
AWS_KEY = "AKIAZ7QW3RTY5UIO2PAS"


def chat(model, content, stream=False):
    body = json.dumps({"model": model, "stream": stream,
                       "messages": [{"role": "user", "content": content}]}).encode()
    request = urllib.request.Request(f"{BASE}/v1/chat/completions", data=body,
                                     headers={"content-type": "application/json",
                                              "authorization": f"Bearer {os.environ['LITELLM_MASTER_KEY']}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def expect(what, ok, detail):
    if not ok:
        sys.exit(f"litellm e2e ({'generic' if GENERIC else 'hook'}): {what}: {detail}")
    print(f"ok: {what}")


# The prompt's email is redacted before the model sees it (the echo model answers with what it got).
status, body = chat("echo", f"Please email {EMAIL} the quarterly report")
expect("an email in the prompt is redacted before the model", status == 200, f"{status} {body}")
content = json.loads(body)["choices"][0]["message"]["content"]
expect("the model received the redacted prompt",
       content == "you said: Please email [EMAIL_ADDRESS] the quarterly report", content)

# A secret in the prompt stops the call, naming the plugin and rule, never echoing the secret: the hook
# answers 403, LiteLLM's generic guardrail 400 with Palisade's reason.
status, body = chat("echo", f"deploy it with {AWS_KEY} please")
expect("a secret in the prompt is denied", status == (400 if GENERIC else 403), f"{status} {body}")
expect("the denial names the secrets plugin", "secrets" in body and (GENERIC or "palisade_denied" in body), body)
expect("the denial does not repeat the secret", AWS_KEY not in body, body)

# The answer's email is redacted on the way back (LiteLLM's mock response, no network).
status, body = chat("mock", "who do I ask about the migration?")
expect("the mock answer comes back", status == 200, f"{status} {body}")
content = json.loads(body)["choices"][0]["message"]["content"]
expect("an email in the answer is redacted",
       content == "Sure. Reach our on-call admin at [EMAIL_ADDRESS] for the migration.", content)

# Streamed, the same answer is released through CheckStream: redacted, and never in the raw bytes.
status, body = chat("mock", "who do I ask about the migration?", stream=True)
expect("the streamed answer comes back", status == 200, f"{status} {body}")
expect("the streamed bytes never carry the email", "root@example.net" not in body and "example.net" not in body, body)
text = ""
for line in body.splitlines():
    if line.startswith("data: ") and line != "data: [DONE]":
        event = json.loads(line[len("data: "):])
        for choice in event.get("choices", []):
            text += (choice.get("delta") or {}).get("content") or ""
expect("the streamed answer is redacted and whole",
       text == "Sure. Reach our on-call admin at [EMAIL_ADDRESS] for the migration.", text)

def received():
    with open(ECHO_LOG) as log:
        return json.loads(log.read().splitlines()[-1])["received"]


if GENERIC:
    # The generic API carries nothing from a prompt's check to its answer's: a pseudonymized number stays
    # a stand-in, for the model and in the answer.
    status, body = chat("echo", f"Please call {PHONE} about the invoice")
    expect("a pseudonymized prompt is answered", status == 200, f"{status} {body}")
    seen = received()
    expect("the model saw a stand-in, not the number", "PHONE_NUMBER_" in seen and "555" not in seen, seen)
    # A tool call whose arguments the policy would rewrite cannot be rewritten through this API: blocked.
    status, body = chat("mock-tool", "mail the admin")
    expect("an answer's tool call the policy would rewrite is blocked", status == 400, f"{status} {body}")
    expect("the block says why", "tool call" in body and "root@example.net" not in body, body)
    print("litellm e2e (generic): every check passed")
    sys.exit(0)

# Pseudonymized: the model sees a stand-in for the phone number, the user gets the number back — in the
# answer's text, and in the arguments of a tool call the model makes with it.

status, body = chat("echo", f"Please call {PHONE} about the invoice")
expect("a pseudonymized prompt is answered", status == 200, f"{status} {body}")
seen = received()
expect("the model saw a stand-in, not the number", "PHONE_NUMBER_" in seen and "555" not in seen, seen)
content = json.loads(body)["choices"][0]["message"]["content"]
expect("the answer carries the number again",
       content == f"you said: Please call {PHONE} about the invoice", content)

status, body = chat("echo", f"call dial: {PHONE}, then hang up")
expect("a tool call is answered", status == 200, f"{status} {body}")
seen = received()
expect("the model saw a stand-in in the tool's prompt", "PHONE_NUMBER_" in seen and "555" not in seen, seen)
call = json.loads(body)["choices"][0]["message"]["tool_calls"][0]["function"]
expect("the tool call's arguments carry the number again",
       json.loads(call["arguments"]) == {"text": f"{PHONE}, then hang up"}, call)
print("litellm e2e (hook): every check passed")
