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

# The browser test drives Debian's chromium (never a browser downloaded by Playwright: the test machines have no
# internet beyond the package registries); the replication tests drive Debian's qbittorrent-nox (one per Rucio site,
# the local stack's transfer tool). Checked on every run, so a machine set up before a test existed gets it.
apt_install() {
  local apt_get
  if [ "$(id -u)" -eq 0 ]; then
    apt_get="apt-get"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt_get="sudo apt-get"
  else
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  $apt_get install -y "$@" >&2 || { $apt_get update >&2 && $apt_get install -y "$@" >&2; }
}
if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium for the browser test (apt-get install -y chromium)" >&2
  if ! apt_install chromium; then
    echo "could not install chromium (needs root or password-less sudo, and the Debian registry): run" \
      "'sudo apt-get install -y chromium' so that /usr/bin/chromium exists; until then tests/browser fails" >&2
  fi
fi
if ! command -v qbittorrent-nox >/dev/null 2>&1; then
  echo "installing qbittorrent-nox for the replication tests (apt-get install -y --no-install-recommends" \
    "qbittorrent-nox)" >&2
  if ! apt_install --no-install-recommends qbittorrent-nox; then
    echo "could not install qbittorrent-nox (needs root or password-less sudo, and the Debian registry): run" \
      "'sudo apt-get install -y --no-install-recommends qbittorrent-nox'; until then tests/replication skips" \
      "(and fails on CI, where DMLAKE_REQUIRE_RUCIO=1)" >&2
  fi
fi

# The local Rucio stack (deploy/rucio) runs the Rucio server, its daemons and the stack controller from their own
# environment: the server package and the project's rucio-clients both ship the top-level `rucio` package.
rucio_requirements=deploy/rucio/server-requirements.txt
rucio_stamp=".rucio-venv/.installed-$(sha256sum "$rucio_requirements" | cut -c1-16)"
if [ ! -f "$rucio_stamp" ]; then
  echo "setting up .rucio-venv for the local Rucio stack (from $rucio_requirements)" >&2
  if { [ -x .rucio-venv/bin/python ] || "$PYTHON" -m venv .rucio-venv; } &&
    .rucio-venv/bin/python -m pip install --quiet --upgrade pip &&
    .rucio-venv/bin/python -m pip install --quiet -r "$rucio_requirements"; then
    rm -f .rucio-venv/.installed-*
    touch "$rucio_stamp"
  else
    echo "could not set up .rucio-venv (pip install -r $rucio_requirements failed, see above): until it is," \
      "tests/replication skips (and fails on CI, where DMLAKE_REQUIRE_RUCIO=1)" >&2
  fi
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
