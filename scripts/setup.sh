#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment from pyproject.toml. Idempotent and quick when nothing
# changed: a stamp named after the hash of pyproject.toml records the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "dmlake needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ -f "$stamp" ]; then
  exit 0
fi

echo "setting up .venv (Python: $("$PYTHON" --version 2>&1))" >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# compat mode puts the repository on the path: packages added later need no reinstall
.venv/bin/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
rm -f .venv/.installed-*
touch "$stamp"
echo "set-up done" >&2
