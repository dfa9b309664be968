#!/usr/bin/env bash
# Set up everything rvtvm needs, idempotently: the Debian packages that are missing, then a venv
# (.venv at the repo root) with rvtvm installed editable and its test extra. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: tool -> package. Only missing ones are installed.
DEB_PACKAGES=(
  gcc-riscv64-unknown-elf        # riscv64-unknown-elf-gcc (rv32 multilibs)
  picolibc-riscv64-unknown-elf   # bare-metal C library for it
  qemu-system-misc               # qemu-system-riscv32
  make
  gcc                            # host C compiler for the runtime's unit tests
  g++                            # Verilator's C++ output (the verilator_soc board, RTL tests)
  perl                           # the verilator driver script
)

say() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || fail "apt-get not found; install these Debian packages by other means: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq || fail "apt-get update failed; check the network or the apt sources"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "could not install ${missing[*]} with apt-get; rvtvm needs them to build and run firmware"
else
  say "Debian packages present"
fi
for tool in riscv64-unknown-elf-gcc qemu-system-riscv32 make gcc g++ perl; do
  command -v "$tool" >/dev/null || fail "$tool is still missing after installing packages"
done

PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || fail "$PYTHON not found; rvtvm needs Python 3.10 or newer"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "" 2>/dev/null; then
  say "creating .venv"
  rm -rf .venv
  "$PYTHON" -m venv .venv || fail "could not create a venv with $PYTHON (on Debian: apt-get install python3-venv)"
fi
# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.rvtvm-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Python packages (pip install -e .[test])"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' || fail "pip install failed"
  echo "$want" > "$stamp"
else
  say "Python packages present"
fi
say "ready: .venv/bin/rvtvm"
