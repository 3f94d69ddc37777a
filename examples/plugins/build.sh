#!/usr/bin/env bash
# Builds every example plugin in another language: Python, JavaScript, C, Zig and Go. Each script installs its own
# toolchain on first use (see the script). The Rust example (codewords) is built by cargo's tests.
set -euo pipefail
cd "$(dirname "$0")"
for example in python js c zig go; do
  echo "== examples/plugins/$example" >&2
  bash "$example/build.sh"
done
