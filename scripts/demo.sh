#!/usr/bin/env bash
# The run command: sets up what it needs, then starts Mosquitto, the controller on
# SQLite and three simulated speaker nodes on this machine (see `loa demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/loa demo "$@"
