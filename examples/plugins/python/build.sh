#!/usr/bin/env bash
# Builds build/topics.wasm from app.py with componentize-py, which this script installs (pinned) into
# .toolchain/ on first use. Needs Python 3.10+ and PyPI; nothing else.
set -euo pipefail
cd "$(dirname "$0")"
version=0.25.1

if ! .toolchain/bin/componentize-py --version 2>/dev/null | grep -qx "componentize-py $version"; then
  echo "installing componentize-py $version into $(pwd)/.toolchain" >&2
  python3 -m venv .toolchain
  .toolchain/bin/pip install --quiet --disable-pip-version-check "componentize-py==$version"
fi
mkdir -p build
.toolchain/bin/componentize-py --wit-path ../../../wit --world guardrail componentize app --output build/topics.wasm
