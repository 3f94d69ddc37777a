#!/usr/bin/env bash
# Builds build/__NAME__.wasm from plugin.js with componentize-js (installed into node_modules/ on first
# use; preview2-shim is pinned beside it because componentize-js imports it without declaring it).
set -euo pipefail
cd "$(dirname "$0")"
[ -x node_modules/.bin/componentize-js ] || npm install --no-audit --no-fund --loglevel=error
mkdir -p build
node_modules/.bin/componentize-js plugin.js --wit wit --world-name guardrail \
  --disable http fetch-event --out build/__NAME__.wasm
