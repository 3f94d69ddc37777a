#!/usr/bin/env bash
# Soak: the default bundle plus four hostile plugins under steady load for a long while, on loopback.
# Shows whether hostile plugins cost ordinary callers anything and whether memory stays flat.
#
#   cargo build --release -p palisade && bash bench/soak.sh            # 10 minutes
#   DURATION=2m RATE=500 HOSTILE_RATE=5 bash bench/soak.sh
#
# The bundle is the default one with four `testbed` plugins (tests/plugins/guests) appended, each
# misbehaving only on its own trigger word: an endless loop (cut off by a 20 ms budget), a memory bomb
# (stopped at 32 MiB), a panic and a stack overflow; every other text passes them untouched.
#  1. baseline: ordinary callers alone, open loop at $RATE req/s for $BASELINE;
#  2. soak: the same ordinary load for $DURATION while four more callers send each trigger at
#     $HOSTILE_RATE req/s; the server's RSS is sampled every 10 s.
# Ordinary calls are 4 KiB prompts with an email address, so each is redacted. Exits non-zero if any
# ordinary call failed, if a hostile call was not denied, or if the server died.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./target/release/palisade
[ -x "$bin" ] || { echo "build first: cargo build --release -p palisade" >&2; exit 2; }
duration=${DURATION:-10m}
baseline=${BASELINE:-1m}
rate=${RATE:-500}
hostile_rate=${HOSTILE_RATE:-5}
source tests/lib.sh

rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
cargo build --quiet --release --target wasm32-wasip2 --manifest-path tests/plugins/guests/Cargo.toml
testbed=tests/plugins/guests/target/wasm32-wasip2/release/testbed.wasm

bundle="$work/bundle"
"$bin" bundle export "$bundle" >/dev/null
cp "$testbed" "$bundle/testbed.wasm"
digest=$(sha256sum "$bundle/testbed.wasm" | cut -d' ' -f1)
triggers=(LOOP HOARD CRASH RECURSE)
modes=(loop memory-bomb panic stack-overflow)
for i in "${!triggers[@]}"; do
  budget=10s; [ "${modes[$i]}" = loop ] && budget=20ms
  cat >> "$bundle/bundle.toml" <<TOML

[[plugin]]
name = "hostile-${modes[$i]}"
wasm = "testbed.wasm"
sha256 = "$digest"
budget = "$budget"
memory = "32MiB"
on_error = "deny"
config = { mode = "${modes[$i]}", trigger = "${triggers[$i]}" }
TOML
  printf 'please summarise this (%s) for a@b.co\n' "${triggers[$i]}" > "$work/${triggers[$i]}.txt"
done

metrics_port=$(free_port)
"$bin" serve --listen 127.0.0.1:0 --bundle "$bundle" --metrics "127.0.0.1:$metrics_port" 2> "$work/serve.log" &
pid=$!
pids+=("$pid")
addr=$(logged "listening addr" "$work/serve.log")
[ -n "$addr" ] || { echo "palisade did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status"; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# ordinary: 4 KiB prompt with an email, open loop $rate req/s; hostile: 4 triggers at $hostile_rate req/s each"
echo
echo "## baseline: ordinary callers alone for $baseline"
"$bin" bench --addr "$addr" --size 4KiB --with-finding --rate "$rate" --duration "$baseline"
echo "server RSS after baseline: $(rss) MiB"

echo
echo "## soak: ordinary and hostile callers together for $duration"
for t in "${triggers[@]}"; do
  "$bin" bench --addr "$addr" --text "$work/$t.txt" --rate "$hostile_rate" --duration "$duration" \
    --warmup 0 > "$work/hostile-$t.out" 2>&1 &
  pids+=("$!")
  hostile+=("$!")
done
"$bin" bench --addr "$addr" --size 4KiB --with-finding --rate "$rate" --duration "$duration" \
  > "$work/ordinary.out" 2>&1 &
ordinary=$!
pids+=("$ordinary")
echo "minute  RSS MiB" > "$work/rss.txt"
samples=0
while kill -0 "$ordinary" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "the server died" >&2; tail -20 "$work/serve.log" >&2; exit 1; }
  awk -v s="$samples" -v r="$(rss)" 'BEGIN {printf "%6.1f  %s\n", s / 6, r}' >> "$work/rss.txt"
  samples=$((samples + 1))
  sleep 10
done
status=0
wait "$ordinary" || status=$?
cat "$work/ordinary.out"
[ "$status" -eq 0 ] || { echo "an ordinary call failed" >&2; exit 1; }
for i in "${!triggers[@]}"; do
  wait "${hostile[$i]}" || { echo "hostile caller ${triggers[$i]} saw an error:" >&2; cat "$work/hostile-${triggers[$i]}.out" >&2; exit 1; }
  echo "hostile ${triggers[$i]}: $(grep -m1 '^outcomes' "$work/hostile-${triggers[$i]}.out")"
  grep -q '^outcomes: deny [0-9]*$' "$work/hostile-${triggers[$i]}.out" ||
    { echo "hostile calls with ${triggers[$i]} were not all denied" >&2; exit 1; }
done
echo
echo "server RSS every 10 s (MiB):"
awk 'NR > 1 {printf "%s ", $2} END {print ""}' "$work/rss.txt"
echo "server peak RSS: $(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status") MiB"
echo
echo "plugin failures counted by the server:"
curl -s "http://127.0.0.1:$metrics_port/metrics" | grep '^palisade_plugin_failures_total' || true
