#!/usr/bin/env bash
# Set up, then compile a model, build its firmware, run it on QEMU riscv32 and print the
# device's outputs beside host TVM's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
