#!/usr/bin/env bash
# Builds build/__NAME__.wasm with cargo (and adds the wasm32-wasip2 target if it is missing).
set -euo pipefail
cd "$(dirname "$0")"
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo build --quiet --release --target wasm32-wasip2
mkdir -p build
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip2/release/__CRATE__.wasm" build/__NAME__.wasm
