#!/usr/bin/env bash
# Validates deploy/kubernetes/*.yaml against Kubernetes' own OpenAPI schemas, strictly (an unknown or
# misspelt field fails), for the oldest release the manifests need (1.27: native gRPC probes) and the
# newest the checker knows. kubernetes-validate (PyPI) carries the schemas, so this runs offline once it
# is installed; it goes into a virtualenv under target/ so nothing is installed system-wide.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/kubernetes-validate
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'kubernetes-validate==1.37.0'
fi
# --setup: install only (CI does it in the background while cargo compiles).
[ "${1:-}" = --setup ] && exit 0
for version in 1.27.0 1.37.0; do
  "$venv/bin/kubernetes-validate" --strict --kubernetes-version "$version" deploy/kubernetes/*.yaml
done
