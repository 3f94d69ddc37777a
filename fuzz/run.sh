#!/usr/bin/env bash
# Runs every fuzz target for a while: bash fuzz/run.sh [SECONDS_EACH] [TARGET…]
#
# Stable Rust is enough: cargo-fuzz's `--sanitizer none` needs no nightly flags (Rust code is memory-safe
# without ASan; what we hunt is panics, wrong answers and hangs). Each target starts from its seeds in
# fuzz/seeds/ plus whatever corpus earlier runs left in fuzz/corpus/; a failure leaves its input in
# fuzz/artifacts/TARGET/ and exits non-zero. Reproduce with: cargo fuzz run -s none TARGET ARTIFACT
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(payload_json stream manifest spans detectors)

# libfuzzer-sys compiles libFuzzer, which is C++.
command -v c++ >/dev/null || { apt-get update -qq && apt-get install -y -qq g++ >/dev/null; }
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "seeds/$target"
  echo "== $target: ${seconds}s"
  # -timeout: one input taking over 10 s is a hang, and a finding. -rss_limit_mb: a leak is a finding too.
  status=0
  cargo fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    > "$log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)|panicked|ERROR|SUMMARY|Test unit written' "$log" || true
  [ "$status" -eq 0 ] || { tail -40 "$log"; echo "fuzz target $target failed; its input is in fuzz/artifacts/$target/"; exit 1; }
done
