#!/usr/bin/env bash
# Install paperfund with its development extras into .venv, then run the whole test suite.
# Usage: bash tests/run.sh [pytest arguments]
#        bash tests/run.sh --quick [pytest arguments]
# The whole suite needs redis-server, systemd-analyze, promtool, curl, and podman with
# debootstrap and runc (to build and run deploy/Dockerfile without a docker daemon): when one
# is missing it is installed with apt-get (Debian or Ubuntu, as root). --quick installs no
# system package and runs the tests that need none (the core, workers, config and in-process daemon tests, not
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
    # The image tests build and run deploy/Dockerfile: with docker when its daemon answers,
    # otherwise with podman (runc: crun fails on hybrid cgroups), and debootstrap makes a
    # stand-in base image when the FROM image cannot be pulled.
    if ! docker info >/dev/null 2>&1; then
        for tool in podman debootstrap runc; do
            if ! command -v "$tool" >/dev/null 2>&1; then
                apt-get install -y -q podman debootstrap runc >/dev/null \
                    || { apt-get update -q && apt-get install -y -q podman debootstrap runc; }
                break
            fi
        done
    fi
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# The locked dependencies first (deploy/requirements, what the image installs), then the
# development extras: the tests run with the versions the image gets, and
# tests/deploy/test_requirements_lock.py fails if anything moved them.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
    --only-binary=:all: --no-deps -r deploy/requirements/base.txt -r deploy/requirements/ray.txt \
    -r deploy/requirements/ccxt.txt
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
if [ "$quick" = 1 ]; then
    exec .venv/bin/python -m pytest -m "not system" "$@" \
        tests/core tests/workers tests/config tests/daemon tests/test_*.py
fi
exec .venv/bin/python -m pytest "$@"
