# Sourced by the end-to-end scripts (tests/litellm/run.sh, tests/nginx/run.sh, bench/loopback.sh): a
# scratch directory and background processes that go away on exit, and the addresses processes log.
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A process told to stop may still be removing its own files under $work (buildah run clears its run
  # directory on the way out): give each up to 10 s to be gone before removing the directory.
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  # The server of `buildah run` is no child of ours, and its last files may land as the first pass runs.
  rm -rf "$work" 2>/dev/null || { sleep 1; rm -rf "$work"; }
}
trap cleanup EXIT

# logged KEY FILE: waits up to 30 s for `KEY=VALUE` in FILE (a process's log) and prints the first VALUE;
# prints nothing if it never comes.
logged() {
  local value=""
  for _ in $(seq 1 300); do
    value=$(sed -n "s/.*$1=\([^ ]*\).*/\1/p" "$2" | head -n 1)
    [ -n "$value" ] && break
    sleep 0.1
  done
  printf '%s' "$value"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# stock_answers GRPC HTTP: a server with the stock bundle at these addresses answers gRPC health, a Check
# (an e-mail redacted) and the HTTP API (an AWS key denied); says what came back otherwise, and fails.
stock_answers() {
  local health check answer
  health=$(grpcurl -plaintext -d '{"service": ""}' "$1" grpc.health.v1.Health/Check)
  grep -q SERVING <<<"$health" || { echo "gRPC health: $health" >&2; return 1; }
  check=$(grpcurl -plaintext -d '{"text": "mail jane.doe@example.com"}' "$1" palisade.v1.Guardrail/Check)
  grep -q '"text": "mail \[EMAIL_ADDRESS\]"' <<<"$check" || { echo "gRPC Check: $check" >&2; return 1; }
  answer=$(curl -sS -H 'content-type: application/json' -d '{"text": "key AKIAZ3MHQ4WRT7LUBX2N"}' "http://$2/v1/check")
  grep -q '"decision":"DECISION_DENY"' <<<"$answer" || { echo "HTTP check: $answer" >&2; return 1; }
}
