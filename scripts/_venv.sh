# Shared by run-demo.sh and run-tests.sh: make .venv and install the project
# into it. Skips pip entirely when pyproject.toml has not changed since the
# last successful install, so a second call costs well under a second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
STAMP="$VENV/.ensemble-fit-installed"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/_venv.sh" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # torch is pinned in the same step as sentence-transformers: left free,
    # pip resolves a multi-GB CUDA build; 2.13.0 is the CPU wheel.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0" -e "$ROOT[test]"
    echo "$WANT" > "$STAMP"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
