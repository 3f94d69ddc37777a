#!/usr/bin/env bash
# Builds build/__NAME__.wasm from plugin.c: clang and wasi-libc compile it to a core module against WASI
# preview 1; tools/componentize (a small Rust tool, built with cargo on first use) writes the C bindings
# for the guardrail world and wraps the module as a component with wasmtime's preview-1 adapter.
# Needs cargo, and Debian's clang, lld, wasi-libc and libclang-rt-14-dev-wasm32 (installed here with
# apt-get when run as root; otherwise the script says what to install).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build

can_compile_wasm() {
  echo 'int x;' | clang --target=wasm32-wasi -mexec-model=reactor -x c - -o build/.probe.wasm 2>/dev/null
}
if ! can_compile_wasm; then
  packages="clang lld wasi-libc libclang-rt-14-dev-wasm32"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq $packages >/dev/null
  else
    echo "clang cannot build for wasm32-wasi here; install: sudo apt-get install $packages" >&2
    exit 1
  fi
  can_compile_wasm || { echo "clang still cannot build for wasm32-wasi after installing $packages" >&2; exit 1; }
fi
rm -f build/.probe.wasm

cargo build --quiet --release --manifest-path tools/componentize/Cargo.toml
componentize="${CARGO_TARGET_DIR:-tools/componentize/target}/release/componentize"
"$componentize" bindings-c wit build/bindings
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Ibuild/bindings \
  -o build/__NAME__.core.wasm plugin.c build/bindings/guardrail.c build/bindings/guardrail_component_type.o
"$componentize" new build/__NAME__.core.wasm build/__NAME__.wasm
