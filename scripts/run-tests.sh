#!/usr/bin/env bash
# The test suite, with the real embedding model. Installs into .venv on first use
# (about 70-90 s and 2 GB; it says so before pip starts). With no arguments it
# then checks the wheel: built, installed without -e into a fresh venv, and
# used from outside the repository (scripts/check-wheel.sh). Arguments go to
# pytest, and skip the wheel check.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
if [ "$#" -gt 0 ]; then
    exec "$VENV/bin/python" -m pytest -q "$@"
fi
"$VENV/bin/python" -m pytest -q
"$ROOT/scripts/check-wheel.sh"
