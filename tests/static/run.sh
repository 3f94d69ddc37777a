#!/usr/bin/env bash
# The static binary as the container image runs it: alone in an empty root directory (what FROM scratch
# gives it: no libc, no /etc, no /tmp, no HOME), as user 65532, with the stock plugins embedded. It must
# serve gRPC health and Check, the HTTP API, and `scan` from standard input.
# Needs deploy/build-static.sh to have run, grpcurl and curl. The chroot and the uid need root: without
# it the binary runs outside a chroot with an empty environment (which still proves it links nothing),
# and the script says so — unless PALISADE_STATIC_CHROOT=required (CI sets it), when that is a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/static/palisade
[ -x "$bin" ] || { echo "no $bin: run bash deploy/build-static.sh first" >&2; exit 1; }
source tests/lib.sh
fail() {
  echo "static binary: $*" >&2
  [ -f "$work/palisade.log" ] && { echo "--- palisade.log:" >&2; tail -n 40 "$work/palisade.log" >&2; }
  exit 1
}

root="$work/root"
mkdir -p "$root"
cp "$bin" "$root/palisade"
# A command, not a function: started in the background, its pid is the server's own (env and chroot
# exec), so the cleanup stops the server rather than a subshell that would leave it running.
if [ "$(id -u)" = 0 ]; then
  chmod 755 "$work" "$root"
  in_image=(env -i "$(command -v chroot)" --userspec=65532:65532 "$root" /palisade)
  how="alone in an empty root as uid 65532"
elif [ "${PALISADE_STATIC_CHROOT:-}" = required ]; then
  fail "not root, so no chroot and no uid 65532, and PALISADE_STATIC_CHROOT=required: run as root"
else
  echo "SKIPPED the chroot and uid 65532 (not root): running with an empty environment only"
  in_image=(env -i "$root/palisade")
  how="with an empty environment, NOT in a chroot (not root)"
fi

grpc=$(free_port); http=$(free_port)
"${in_image[@]}" serve --listen "127.0.0.1:$grpc" --http "127.0.0.1:$http" 2> "$work/palisade.log" &
pids+=($!)
[ -n "$(logged "listening addr" "$work/palisade.log")" ] || fail "never logged its address"
if [ "$(id -u)" = 0 ]; then
  # The server itself (chroot execs it, so the pid is its own) runs confined as the image runs it.
  server=${pids[-1]}
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$server/status")
  [ "$uid" = 65532 ] || fail "the server runs as uid $uid, not 65532"
  [ "$(readlink "/proc/$server/root")" = "$root" ] || fail "the server's root is $(readlink "/proc/$server/root"), not $root"
fi

stock_answers "127.0.0.1:$grpc" "127.0.0.1:$http" || fail "it does not answer as the stock bundle does"
scanned=$(echo "call +1 415 555 0100" | "${in_image[@]}" scan) || fail "scan exited $?"
[ "$scanned" = "call [PHONE_NUMBER]" ] || fail "scan: $scanned"
echo "static binary: serves gRPC and HTTP and scans, $how ($(du -h "$bin" | cut -f1))"
