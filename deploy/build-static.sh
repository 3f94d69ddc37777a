#!/usr/bin/env bash
# Builds palisade as one static executable for x86_64 Linux, target/static/palisade (cargo's output without
# the line tables the release profile keeps for backtraces: 38 MB instead of 168 MB; function names stay).
# musl, not static glibc: a statically linked glibc still loads shared libraries at run time for name
# lookups (NSS), which an image FROM scratch does not have; musl's resolver is built in. The stock plugins
# are embedded as usual, so the one file is the whole service.
# Needs rustup, a C compiler for musl (Debian: musl-tools, installed here when missing and root).
#
#   bash deploy/build-static.sh               build with cargo, then strip and check
#   bash deploy/build-static.sh --from FILE   strip and check a musl binary built already (CI passes the
#                                             one its tests ran against, so the target is built once)
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
case "${1:-}" in
  --from)
    built=${2:?"--from needs the path of a palisade built for $target"}
    [ -x "$built" ] || { echo "$built: no such executable" >&2; exit 1; }
    ;;
  "")
    rustup target add "$target" wasm32-wasip2
    if ! command -v musl-gcc >/dev/null; then
      echo "installing musl-tools (musl-gcc: the C parts of ring build against musl)"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
    fi
    CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release --locked --target "$target" -p palisade
    built="target/$target/release/palisade"
    ;;
  *)
    echo "usage: bash deploy/build-static.sh [--from FILE]" >&2
    exit 2
    ;;
esac
mkdir -p target/static
bin=target/static/palisade
strip --strip-debug -o "$bin" "$built"
if readelf -d "$bin" | grep -q NEEDED || readelf -l "$bin" | grep -q INTERP; then
  echo "$bin is not static:" >&2
  readelf -d "$bin" >&2
  exit 1
fi
echo "static: $bin ($(du -h "$bin" | cut -f1))"
