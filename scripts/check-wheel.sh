#!/usr/bin/env bash
# Build the wheel, install it (not editable) into a fresh virtual environment,
# and use it from a folder outside the repository: the demo, a `measure` on a
# small folder, and an LLM-extractor dry run (which reads the facet prompts
# from the package data). Run by ./scripts/run-tests.sh after the test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ensemble-fit-wheel.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "wheel check: building the wheel and installing it into a fresh venv in $WORK (about a minute; pip's cache makes it faster)"
"$PY" -m pip wheel --quiet --no-deps -w "$WORK/dist" "$ROOT"
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
# torch pinned first, as in the README's set-up: the CPU wheel, not a CUDA build.
"$WORK/venv/bin/python" -m pip install --quiet "torch==2.13.0" "$WORK"/dist/*.whl
mkdir -p "$WORK/elsewhere"
cd "$WORK/elsewhere"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false ENSEMBLE_FIT_CACHE="$WORK/cache"
BIN="$WORK/venv/bin"
"$BIN/python" - <<'PY'
import measure, ensemble
for mod in (measure, ensemble):
    assert "site-packages" in mod.__file__, f"{mod.__name__} imported from {mod.__file__}, not the wheel"
print("wheel check: imports from", measure.__file__.rsplit("/measure/", 1)[0])
PY
"$BIN/ensemble-fit" run --out demo-run --quiet --bootstrap 50 --codebook-seeds 1
test -s demo-run/weights.json && test -s demo-run/report.html
"$BIN/ensemble-fit" demo --out small --n-per-simulator 30 --n-real 90
"$BIN/ensemble-fit" measure --data small --out small-run --quiet --bootstrap 20 --codebook-seeds 1
test -s small-run/measure.json
"$BIN/ensemble-fit" measure --data small --out llm-run --extractor llm \
    --base-url http://127.0.0.1:9/v1 --model any-model --dry-run | tee dry-run.txt
grep -q "dry run" dry-run.txt
# A training node that only needs the sampler: the wheel without its
# dependencies, in a venv that has nothing else.
"$PY" -m venv --without-pip "$WORK/bare"
"$PY" -m pip --python "$WORK/bare/bin/python" install --quiet --no-deps "$WORK"/dist/*.whl
"$WORK/bare/bin/python" - <<'PY'
from ensemble.sampler import SimulatorSampler
s = SimulatorSampler.from_file("demo-run/weights.json", seed=0)
names = s.draw_many(100)
assert len(names) == 100 and set(names) <= set(s.names), names
print("wheel check: sampler-only install draws", dict(sorted(s.counts().items())))
PY
echo "wheel check: passed (demo, measure, --extractor llm --dry-run from an installed wheel; the sampler from a --no-deps install)"
