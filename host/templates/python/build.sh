#!/usr/bin/env bash
# Builds build/__NAME__.wasm from app.py with componentize-py, installed (pinned) into .toolchain/ on
# first use. Needs Python 3.10+ and PyPI.
set -euo pipefail
cd "$(dirname "$0")"
version=0.25.1
if ! .toolchain/bin/componentize-py --version 2>/dev/null | grep -qx "componentize-py $version"; then
  python3 -m venv .toolchain
  .toolchain/bin/pip install --quiet --disable-pip-version-check "componentize-py==$version"
fi
mkdir -p build
.toolchain/bin/componentize-py --wit-path wit --world guardrail componentize app --output build/__NAME__.wasm
