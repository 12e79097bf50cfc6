#!/usr/bin/env bash
# Install paperfund with its development extras into .venv, then run the whole test suite.
# Usage: bash tests/run.sh [pytest arguments]
#        bash tests/run.sh --quick [pytest arguments]
# The whole suite needs redis-server, systemd-analyze, promtool and curl: when one is missing it is
# installed with apt-get (Debian or Ubuntu, as root). --quick installs no system package and
# runs the tests that need none (the core, workers, config and in-process daemon tests, not
# those marked `system`, nor the end-to-end and deployment tests); CI runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
if [ "${1:-}" = "--quick" ]; then
    quick=1
    shift
fi
if [ "$quick" = 0 ]; then
    # The Redis feed tests start their own redis-server on a free port: make sure it exists.
    if ! command -v redis-server >/dev/null 2>&1; then
        apt-get install -y -q redis-server >/dev/null || { apt-get update -q && apt-get install -y -q redis-server; }
    fi
    # The deployment tests verify the systemd unit with systemd-analyze.
    if ! command -v systemd-analyze >/dev/null 2>&1; then
        apt-get install -y -q systemd >/dev/null || { apt-get update -q && apt-get install -y -q systemd; }
    fi
    # The README's commands are run as written, curl included.
    if ! command -v curl >/dev/null 2>&1; then
        apt-get install -y -q curl >/dev/null || { apt-get update -q && apt-get install -y -q curl; }
    fi
    # The metrics tests check the exposition with promtool (Debian package prometheus).
    if ! command -v promtool >/dev/null 2>&1; then
        apt-get install -y -q prometheus >/dev/null || { apt-get update -q && apt-get install -y -q prometheus; }
    fi
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
if [ "$quick" = 1 ]; then
    exec .venv/bin/python -m pytest -m "not system" "$@" \
        tests/core tests/workers tests/config tests/daemon tests/test_*.py
fi
exec .venv/bin/python -m pytest "$@"
