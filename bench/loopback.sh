#!/usr/bin/env bash
# End-to-end latency and throughput over loopback gRPC, side by side in one run: the default bundle (the
# four stock plugins) against an empty bundle, which is a bare Check round trip through the same server,
# transport and worker pool — the floor any guardrail call pays.
#
#   cargo build --release -p palisade && bench/loopback.sh
#   RATE=2000 DURATION=10s SIZE=4KiB CONCURRENCY=32 bench/loopback.sh
#
# Each server is loaded in turn (open loop at $RATE, then a closed loop of $CONCURRENCY callers), so they
# never compete; the load generator shares the machine's cores with the server it loads. Prints the
# reports and the server's peak RSS (VmHWM).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./target/release/palisade
[ -x "$bin" ] || { echo "build first: cargo build --release -p palisade" >&2; exit 2; }
rate=${RATE:-2000}
duration=${DURATION:-10s}
size=${SIZE:-4KiB}
concurrency=${CONCURRENCY:-32}
source tests/lib.sh

mkdir -p "$work/empty"
printf '[bundle]\nname = "empty"\nversion = "0"\n' > "$work/empty/bundle.toml"

# Starts `palisade serve` with the given arguments; sets $addr and $pid.
start() {
  local log="$work/$1.log"; shift
  "$bin" serve --listen 127.0.0.1:0 "$@" 2> "$log" &
  pid=$!
  pids+=("$pid")
  addr=$(logged "listening addr" "$log")
  [ -n "$addr" ] && return
  echo "palisade did not start:" >&2; cat "$log" >&2; exit 1
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# prompt: $size of prose, no findings; open loop $rate req/s for $duration; closed loop $concurrency callers"
for bundle in empty default; do
  if [ "$bundle" = empty ]; then start empty --bundle "$work/empty"; else start default; fi
  echo
  echo "## $bundle bundle"
  "$bin" bench --addr "$addr" --size "$size" --rate "$rate" --duration "$duration"
  "$bin" bench --addr "$addr" --size "$size" --concurrency "$concurrency" --duration "$duration"
  echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
