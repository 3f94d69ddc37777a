#!/usr/bin/env bash
# The container image, built and run: buildah builds deploy/Dockerfile (BINARY=prebuilt: the static binary
# deploy/build-static.sh made, which CI's tests ran against) from the repository root, so .dockerignore and
# the Dockerfile are what is tested. Then the image runs with its own entrypoint, command, environment and
# user, and must answer gRPC health, a Check and the HTTP API, and serve metrics.
#
# It runs under podman when containers can run here. Where they cannot (this project's CI machines withhold
# CAP_SYS_RESOURCE, so every OCI runtime fails to set the container's rlimits), the script says so and runs
# the image's root file system with `buildah run --isolation chroot` instead: the same files, entrypoint,
# environment and uid, without the namespaces.
#
#   bash tests/image/run.sh            needs root, buildah (and podman to try), grpcurl and curl
#   bash tests/image/run.sh --setup    installs buildah and podman (Debian)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = --setup ]; then
  command -v buildah >/dev/null && command -v podman >/dev/null && exit 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah podman >/dev/null
  exit 0
fi
bin=target/static/palisade
[ -x "$bin" ] || { echo "no $bin: run bash deploy/build-static.sh first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "building and running an image here needs root" >&2; exit 1; }
source tests/lib.sh
fail() {
  echo "image: $*" >&2
  [ -f "$work/palisade.log" ] && { echo "--- the server's log:" >&2; tail -n 40 "$work/palisade.log" >&2; }
  exit 1
}

# Storage of its own, removed on exit; vfs, which needs no overlay support from the kernel.
storage=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
buildah() { command buildah "${storage[@]}" "$@"; }
podman() { command podman "${storage[@]}" "$@"; }
image=localhost/palisade:test
stop_storage() {
  buildah rm --all >/dev/null 2>&1 || true
  # vfs layers are plain directories, some read-only: make them removable for the cleanup.
  chmod -R u+w "$work/storage" 2>/dev/null || true
}
trap 'stop_storage; cleanup' EXIT

started=$SECONDS
buildah build --quiet --layers=false -f deploy/Dockerfile --build-arg BINARY=prebuilt -t "$image" . \
  > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "buildah build failed"; }
inspected=$(buildah inspect --type image "$image")
size=$(buildah images --format '{{.Size}}' "$image")
echo "built $image in $((SECONDS - started)) s ($size)"

# The image's own settings, read back: a change to the Dockerfile that breaks them fails here.
read_config() { python3 -c "import json, sys; i = json.loads(sys.argv[1]); c = i['OCIv1']['config']; print($1)" "$inspected"; }
[ "$(read_config 'c.get("User")')" = 65532:65532 ] || fail "runs as $(read_config 'c.get("User")'), not 65532:65532"
mapfile -t command < <(read_config '"\n".join((c.get("Entrypoint") or []) + (c.get("Cmd") or []))')
[ "${command[*]}" = "/palisade serve" ] || fail "its command is '${command[*]}', not '/palisade serve'"
layers=$(read_config 'len(i["OCIv1"]["rootfs"]["diff_ids"])')
[ "$layers" = 1 ] || fail "$layers layers; FROM scratch with one binary makes one"

grpc=$(free_port); http=$(free_port); metrics=$(free_port)
settings=(PALISADE_LISTEN="127.0.0.1:$grpc" PALISADE_HTTP="127.0.0.1:$http" PALISADE_METRICS="127.0.0.1:$metrics")
env_flags=()
for setting in "${settings[@]}"; do env_flags+=(--env "$setting"); done

# podman first: a container that cannot start fails within seconds, with the runtime's error.
podman run --rm --network host --name palisade-image-test "${env_flags[@]}" "$image" > "$work/palisade.log" 2>&1 &
podman_pid=$!
pids+=("$podman_pid")
address=""
for _ in $(seq 1 300); do
  address=$(sed -n 's/.*listening addr=\([^ ]*\).*/\1/p' "$work/palisade.log" | head -n 1)
  [ -n "$address" ] && break
  kill -0 "$podman_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -n "$address" ]; then
  how="in a container (podman, host network)"
else
  kill "$podman_pid" 2>/dev/null || true
  echo "containers do not run here; podman said:"
  sed 's/^/    /' "$work/palisade.log"
  echo "running the image's root file system with buildah run --isolation chroot instead"
  container=$(buildah from "$image")
  # The image's user and command, as read from its configuration above; its PALISADE_LISTEN is replaced
  # by a free port's.
  buildah run --isolation chroot --user "$(read_config 'c["User"]')" "${env_flags[@]}" "$container" -- \
    "${command[@]}" > "$work/palisade.log" 2>&1 &
  pids+=($!)
  [ -n "$(logged "listening addr" "$work/palisade.log")" ] || fail "the image never logged its address"
  server=$(pgrep -f -n '^/palisade serve$') || fail "no /palisade serve process"
  pids+=("$server")
  uid=$(awk '/^Uid:/ {print $2}' "/proc/$server/status")
  [ "$uid" = 65532 ] || fail "the server runs as uid $uid, not 65532"
  [ "$(readlink "/proc/$server/root")" != / ] || fail "the server is not confined to the image's root"
  how="from its root file system (buildah run --isolation chroot, uid $uid)"
fi

stock_answers "127.0.0.1:$grpc" "127.0.0.1:$http" || fail "it does not answer as the stock bundle does"
page=$(curl -sS "http://127.0.0.1:$metrics/metrics")
for want in 'palisade_checks_total{decision="modify",direction="input"} 1' 'palisade_build_info{' \
  'process_resident_memory_bytes '; do
  grep -qF "$want" <<<"$page" || fail "metrics: no '$want' in: $page"
done
echo "image: answers gRPC health, Check, the HTTP API and metrics, run $how"
