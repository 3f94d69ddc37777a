#!/usr/bin/env bash
# The client packages in clients/, installed the way a user installs them — offline, from what `--setup`
# put in the package caches — into a fresh environment, and tested against the real server:
# - `pip install ./clients/python` into a fresh virtualenv (no index: target/clients-wheels), its stubs
#   checked against the proto, its tests run;
# - `npm install ./clients/node` in a fresh project with the package inside it, and `npm install
#   --install-links DIR` from a project elsewhere (both `--offline`: npm's cache); its committed build
#   checked against its TypeScript source and its proto against the repository's, its tests run.
# Needs a release build (`cargo build --release -p palisade`; `PALISADE=FILE` runs another binary),
# Python 3 and Node 20. `--setup` only installs the tools and fills the caches (CI does it while cargo
# compiles).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=target/clients-venv
wheels=target/clients-wheels
setup() {
  if ! "$venv/bin/python" -c 'import grpc_tools' 2>/dev/null; then
    echo "installing grpcio-tools into $venv (once)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'grpcio-tools==1.85.1'
  fi
  # The Python package's dependencies and build backend, as wheels, for the offline install below.
  "$venv/bin/pip" download --quiet --disable-pip-version-check --dest "$wheels" ./clients/python 'setuptools>=61'
  # The Node package's dependencies (and TypeScript, for the build check) into npm's cache: the locked
  # ones, and what an install without a lockfile resolves to (the newest its ranges allow), as a user's
  # install and the offline ones below do — `npm ci` caches neither that metadata nor those versions.
  (cd clients/node && npm ci --no-audit --no-fund --loglevel=error)
  local warm
  warm=$(mktemp -d)
  mkdir -p "$warm/app/clients" "$warm/elsewhere"
  tar -C clients --exclude=node_modules -cf - node | tar -C "$warm/app/clients" -xf -
  (cd "$warm/app" && npm init -y > /dev/null && npm_install_online ./clients/node)
  (cd "$warm/elsewhere" && npm init -y > /dev/null && npm_install_online --install-links "$root/clients/node")
  rm -rf "$warm"
}
npm_install_online() { npm install --no-audit --no-fund --loglevel=error "$@" > /dev/null; }
setup
[ "${1:-}" = --setup ] && exit 0

export PALISADE=${PALISADE:-$PWD/target/release/palisade}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "== clients/python"
PYTHON="$venv/bin/python" bash clients/python/generate.sh --check
# A virtualenv of its own for the package, so that it is tested with only what it declares.
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --disable-pip-version-check --no-index --find-links "$wheels" ./clients/python
(cd clients/python/tests && "$scratch/venv/bin/python" -m unittest -v test_client)

echo "== clients/node"
# dist/ is committed, so that installing from a directory needs no build step; it must be what the
# source compiles to, and the package's proto must be the repository's.
clients/node/node_modules/.bin/tsc -p clients/node/tsconfig.json --outDir "$scratch/dist"
diff -r "$scratch/dist" clients/node/dist \
  || { echo "clients/node/dist is stale: run npm run build in clients/node" >&2; exit 1; }
cmp proto/palisade/v1/guardrail.proto clients/node/proto/palisade/v1/guardrail.proto \
  || { echo "clients/node/proto differs from proto/: copy proto/palisade/v1/guardrail.proto there" >&2; exit 1; }
# npm installs a folder's dependencies when the folder is inside the project (the README's command, run
# at the project's root), and only links it otherwise — hence --install-links from elsewhere.
npm_install() { npm install --offline --no-audit --no-fund --loglevel=error "$@"; }
mkdir -p "$scratch/app/clients" "$scratch/elsewhere"
tar -C clients --exclude=node_modules -cf - node | tar -C "$scratch/app/clients" -xf -
cp clients/node/test/client.test.js "$scratch/app/"
(
  cd "$scratch/app"
  npm init -y > /dev/null
  npm_install ./clients/node
  node --test client.test.js
)
(
  cd "$scratch/elsewhere"
  npm init -y > /dev/null
  npm_install --install-links "$root/clients/node"
  node -e 'const { Palisade } = require("palisade-client"); new Palisade().close();'
  echo "installed from elsewhere with --install-links: palisade-client loads"
)
