#!/usr/bin/env bash
# The main job on the embedded demo data. Installs into .venv on first use
# (about 70-90 s and 2 GB; it says so before pip starts).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
exec "$VENV/bin/ensemble-fit" run "$@"
