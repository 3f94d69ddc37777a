#!/usr/bin/env bash
# Builds build/blobs.wasm from blobs.zig. Zig comes from PyPI's `ziglang` package, installed (pinned) into
# .toolchain/ on first use, with its own wasi-libc; ../componentize (a small Rust tool, built with cargo on
# first use) writes the C bindings for the guardrail world, which `zig translate-c` turns into a Zig
# module, and wraps the module as a component with wasmtime's preview-1 adapter. Needs Python 3 and cargo.
set -euo pipefail
cd "$(dirname "$0")"
version=0.17.1

if ! .toolchain/bin/python -m ziglang version 2>/dev/null | grep -qx "$version"; then
  echo "installing zig $version (PyPI ziglang) into $(pwd)/.toolchain" >&2
  python3 -m venv .toolchain
  .toolchain/bin/pip install --quiet --disable-pip-version-check "ziglang==$version"
fi
zig() { .toolchain/bin/python -m ziglang "$@"; }

cargo build --quiet --release --manifest-path ../componentize/Cargo.toml
componentize=../componentize/target/release/componentize
mkdir -p build
"$componentize" bindings-c ../../../wit build/bindings
zig translate-c build/bindings/guardrail.h -target wasm32-wasi -lc > build/guardrail.zig
cp blobs.zig build/blobs.zig  # beside the module it imports
zig build-exe build/blobs.zig build/bindings/guardrail.c build/bindings/guardrail_component_type.o \
  -target wasm32-wasi -fno-entry -rdynamic -lc -Ibuild/bindings -O ReleaseSmall -mexec-model=reactor \
  -femit-bin=build/blobs.core.wasm
"$componentize" new build/blobs.core.wasm build/blobs.wasm
