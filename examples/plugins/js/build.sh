#!/usr/bin/env bash
# Builds build/injection.wasm from injection.js with componentize-js (the version package-lock.json pins,
# installed into node_modules/ on first use). Needs Node 18+ and the npm registry; nothing else.
# package.json also pins @bytecodealliance/preview2-shim: componentize-js imports it without declaring it,
# and 0.25.0 is the release that matches its WASI version.
set -euo pipefail
cd "$(dirname "$0")"

[ -x node_modules/.bin/componentize-js ] || npm ci --no-audit --no-fund --loglevel=error
mkdir -p build
# The plugin uses no HTTP: leaving wasi:http out keeps the component's imports to what the host grants.
node_modules/.bin/componentize-js injection.js --wit ../../../wit --world-name guardrail \
  --disable http fetch-event --out build/injection.wasm
