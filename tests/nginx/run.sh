#!/usr/bin/env bash
# nginx in front of a model, with Palisade checking request bodies through its HTTP API: the real nginx
# and njs from Debian's packages, running examples/nginx as it is (only ports and the model's address
# swapped for local ones). A clean prompt passes through, an email is redacted before the model sees it,
# a secret is denied with 403 — all through nginx.
# Needs a release build (`cargo build --release -p palisade`; `PALISADE=FILE` runs another binary), Python 3 and curl; installs nginx and its
# njs module with apt-get when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
module=/usr/lib/nginx/modules/ngx_http_js_module.so
if ! command -v nginx >/dev/null || [ ! -f "$module" ]; then
  echo "installing nginx and njs from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-http-js >/dev/null
fi
nginx -v

source tests/lib.sh
chmod 755 "$work"
fail() {
  echo "nginx e2e: $*" >&2
  for log in "$work"/*.log "$work"/logs/*.log; do [ -f "$log" ] && { echo "--- $log:" >&2; tail -n 40 "$log" >&2; }; done
  exit 1
}

"${PALISADE:-./target/release/palisade}" serve --listen 127.0.0.1:0 --http 127.0.0.1:0 2> "$work/palisade.log" &
pids+=($!)
[ -n "$(logged "listening addr" "$work/palisade.log")" ] || fail "palisade never logged its address"
http_addr=$(logged http_addr "$work/palisade.log")
[ -n "$http_addr" ] || fail "palisade never logged its HTTP address"

python3 tests/echo_upstream.py > "$work/echo.port" 2> "$work/echo.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/echo.port" ] && break; sleep 0.1; done
echo_port=$(cat "$work/echo.port")
[ -n "$echo_port" ] || fail "the echo upstream did not start"

# The example as it is, with local addresses: nginx's port, Palisade's, and the echo server for OpenAI.
port=$(free_port)
mkdir -p "$work/conf" "$work/logs"
cp examples/nginx/palisade.js "$work/conf/"
sed -e "s|listen 127.0.0.1:8080;|listen 127.0.0.1:$port;|" \
    -e "s|server 127.0.0.1:8090;|server $http_addr;|" \
    -e "s|server api.openai.com:443;|server 127.0.0.1:$echo_port;|" \
    -e "s|https://model_api|http://model_api|g" \
    examples/nginx/nginx.conf > "$work/conf/nginx.conf"
for swapped in "127.0.0.1:$port" "$http_addr" "127.0.0.1:$echo_port" "http://model_api"; do
  grep -q "$swapped" "$work/conf/nginx.conf" || fail "examples/nginx/nginx.conf changed: cannot swap in $swapped"
done
nginx -t -p "$work" -c conf/nginx.conf -e "$work/logs/error.log" -g "pid $work/nginx.pid;" 2>&1 || fail "nginx -t rejected the example"
nginx -p "$work" -c conf/nginx.conf -e "$work/logs/error.log" \
  -g "daemon off; master_process off; pid $work/nginx.pid;" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.1
done

# POST a chat completion through nginx; prints the status line's code, then the body.
chat() {
  curl -s -o "$work/answer" -w '%{http_code}' "http://127.0.0.1:$port/v1/chat/completions" \
    -H 'content-type: application/json' -H 'authorization: Bearer sk-not-a-real-key' \
    -d "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"$1\"}]}"
}

status=$(chat "What is the capital of France?")
echo "clean prompt: $status $(cat "$work/answer")"
[ "$status" = 200 ] || fail "a clean prompt got $status"
grep -q 'you said: What is the capital of France?' "$work/answer" || fail "a clean prompt did not reach the model as it was"

status=$(chat "Mail the report to ana.silva@example.com please")
echo "prompt with an email: $status $(cat "$work/answer")"
[ "$status" = 200 ] || fail "a prompt to redact got $status"
grep -q 'you said: Mail the report to \[EMAIL_ADDRESS\] please' "$work/answer" || fail "the model was not sent the redacted prompt"
grep -q 'ana.silva' "$work/answer" && fail "the email reached the model"

status=$(chat "deploy with AKIAZ7QW3RTY5UIO2PAS now")
echo "prompt with a secret: $status $(cat "$work/answer")"
[ "$status" = 403 ] || fail "a prompt with a secret got $status, not 403"
grep -q '"rule":"secret.aws-access-token"' "$work/answer" || fail "the 403 does not name the rule"
grep -q 'you said' "$work/answer" && fail "the secret reached the model"

# Fail closed: with Palisade gone, nothing goes upstream.
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
status=$(chat "What is the capital of France?")
echo "with Palisade down: $status $(cat "$work/answer")"
[ "$status" = 503 ] || fail "with Palisade down a prompt got $status, not 503"

echo "nginx e2e: every check passed"
