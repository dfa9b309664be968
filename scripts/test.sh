#!/usr/bin/env bash
# Set up, then run the whole test suite (QEMU and slow tests included). Extra arguments go to
# pytest, e.g. scripts/test.sh -m "not qemu" for a quick host-only run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -ra "$@"
