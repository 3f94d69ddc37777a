#!/usr/bin/env bash
# The client packages in clients/, installed the way a user installs them and tested against the real
# server: `pip install ./clients/python` into a fresh virtualenv, its stubs checked against the proto, its
# tests run. Needs a release build (`cargo build --release -p palisade`; `PALISADE=FILE` runs another
# binary) and Python 3. `--setup` only installs the tools (CI does it while cargo compiles).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/clients-venv
if ! "$venv/bin/python" -c 'import grpc_tools' 2>/dev/null; then
  echo "installing grpcio-tools into $venv (once)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'grpcio-tools==1.85.1'
fi
[ "${1:-}" = --setup ] && exit 0

export PALISADE=${PALISADE:-$PWD/target/release/palisade}
PYTHON="$venv/bin/python" bash clients/python/generate.sh --check
# A virtualenv of its own for the package, so that it is tested with only what it declares.
client_venv=$(mktemp -d)
trap 'rm -rf "$client_venv"' EXIT
python3 -m venv "$client_venv"
"$client_venv/bin/pip" install --quiet --disable-pip-version-check ./clients/python
(cd clients/python/tests && "$client_venv/bin/python" -m unittest -v test_client)
