#!/usr/bin/env bash
# LiteLLM's proxy in front of Palisade, end to end, both ways LiteLLM calls it: examples/litellm's guardrail
# hook (gRPC) and LiteLLM's generic guardrail API (HTTP, generic.yaml). A prompt with a secret denied, an
# email redacted in a prompt and in an answer (plain and streamed), a phone number pseudonymized for the
# model (and, through the hook, restored in its answer and its tool call's arguments; through the generic
# API an answer's tool call that would be rewritten is blocked). No network beyond PyPI for the first
# install: the models are LiteLLM's mock responses and a local echo server.
# Needs a release build (`cargo build --release -p palisade`; `PALISADE=FILE` runs another binary) and Python 3. `--setup` only installs.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/litellm-venv
source tests/lib.sh
fail() {
  echo "litellm e2e: $*" >&2
  for log in "$work"/*.log; do echo "--- $log:" >&2; tail -n 40 "$log" >&2; done
  exit 1
}

if ! "$venv/bin/python" -c 'import litellm.proxy.proxy_server, grpc_tools' 2>/dev/null; then
  echo "installing LiteLLM's proxy into $venv (once)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'litellm[proxy]==1.106.2' 'grpcio==1.85.1' 'grpcio-tools==1.85.1'
fi
# --setup: install only (CI does it in the background while cargo compiles).
[ "${1:-}" = --setup ] && exit 0

# The hook's gRPC stubs come with the client package in this repo (no protoc); installed from the
# source each run, offline: its dependencies are in the venv already.
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation ./clients/python

# The stock bundle, with phone numbers pseudonymized rather than redacted.
palisade=${PALISADE:-./target/release/palisade}
"$palisade" bundle export "$work/bundle" > /dev/null
sed -i 's/^PHONE_NUMBER = "redact"$/PHONE_NUMBER = "pseudonymize"/' "$work/bundle/bundle.toml"
grep -q '^PHONE_NUMBER = "pseudonymize"$' "$work/bundle/bundle.toml" || fail "the stock bundle's PHONE_NUMBER line changed"
PALISADE_HASH_KEY=litellm-e2e "$palisade" serve --listen 127.0.0.1:0 --http 127.0.0.1:0 --bundle "$work/bundle" \
  2> "$work/palisade.log" &
pids+=($!)
addr=$(logged "listening addr" "$work/palisade.log")
[ -n "$addr" ] || fail "palisade never logged its address"
http_addr=$(logged http_addr "$work/palisade.log")
[ -n "$http_addr" ] || fail "palisade never logged its HTTP address"

"$venv/bin/python" tests/echo_upstream.py > "$work/echo.port" 2> "$work/echo.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/echo.port" ] && break; sleep 0.1; done
echo_port=$(cat "$work/echo.port")
[ -n "$echo_port" ] || fail "the echo upstream did not start"

# Two proxies, started together: examples/litellm/config.yaml (the Python hook, over gRPC) and
# generic.yaml (LiteLLM's generic guardrail API, over HTTP — the config alone). Checked one after the
# other, as they share the echo model's log.
# LITELLM_LOCAL_MODEL_COST_MAP: LiteLLM would otherwise fetch its price list from the internet at start.
# LiteLLM refuses to start without a master key: one made up for this run, which check.py presents.
export LITELLM_MASTER_KEY="sk-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
declare -A ports proxy_pids
for config in config generic; do
  ports[$config]=$(free_port)
  PYTHONPATH=examples/litellm PALISADE_ADDR="$addr" PALISADE_HTTP="http://$http_addr" \
    ECHO_API_BASE="http://127.0.0.1:$echo_port/v1" LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_TELEMETRY=False \
    "$venv/bin/litellm" --config "examples/litellm/$config.yaml" --host 127.0.0.1 --port "${ports[$config]}" \
    > "$work/litellm-$config.log" 2>&1 &
  pids+=($!)
  proxy_pids[$config]=$!
done
live() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
  "http://127.0.0.1:$1/health/liveliness" >/dev/null 2>&1; }
for config in config generic; do
  for _ in $(seq 1 600); do
    live "${ports[$config]}" && break
    kill -0 "${proxy_pids[$config]}" 2>/dev/null || fail "litellm ($config.yaml) exited before serving"
    sleep 0.2
  done
  live "${ports[$config]}" || fail "litellm ($config.yaml) never became live"
done

"$venv/bin/python" tests/litellm/check.py "http://127.0.0.1:${ports[config]}" "$work/echo.log" hook \
  || fail "a check of the hook failed"
"$venv/bin/python" tests/litellm/check.py "http://127.0.0.1:${ports[generic]}" "$work/echo.log" generic \
  || fail "a check of the generic guardrail API failed"
