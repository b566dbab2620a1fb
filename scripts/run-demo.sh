#!/usr/bin/env bash
# The main job on the embedded demo data. Installs into .venv on first use.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
exec "$VENV/bin/ensemble-fit" run "$@"
