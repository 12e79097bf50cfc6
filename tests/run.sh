#!/usr/bin/env bash
# Install paperfund with its development extras into .venv, then run the whole test suite.
# Usage: bash tests/run.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
# The Redis feed tests start their own redis-server on a free port: make sure it exists.
if ! command -v redis-server >/dev/null 2>&1; then
    apt-get install -y -q redis-server >/dev/null || { apt-get update -q && apt-get install -y -q redis-server; }
fi
# The deployment tests verify the systemd unit with systemd-analyze.
if ! command -v systemd-analyze >/dev/null 2>&1; then
    apt-get install -y -q systemd >/dev/null || { apt-get update -q && apt-get install -y -q systemd; }
fi
# The metrics tests check the exposition with promtool (Debian package prometheus).
if ! command -v promtool >/dev/null 2>&1; then
    apt-get install -y -q prometheus >/dev/null || { apt-get update -q && apt-get install -y -q prometheus; }
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
exec .venv/bin/python -m pytest "$@"
