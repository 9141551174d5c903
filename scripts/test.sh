#!/usr/bin/env bash
# The test command: sets up what it needs, then runs the whole suite (unit and
# integration tests with real Mosquitto, espeak-ng and ffmpeg on loopback).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not integration"`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "test.sh: pytest collected no tests — treating that as a failure" >&2
  exit 1
fi
exit $rc
