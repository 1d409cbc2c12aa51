#!/usr/bin/env bash
# Sets up (tools/setup.sh) and runs the whole test suite: core tests, element
# tests and the two-process tests. Exits non-zero if any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
echo "== testing"
status=0
meson test -C build --print-errorlogs --num-processes 2 || status=$?
python3 tools/summarize_tests.py build/meson-logs/testlog.json
leftovers=$(ls /dev/shm | grep '^shmring\.' || true)
if [ -n "$leftovers" ]; then
  echo "shared memory objects left behind: $leftovers"
  status=1
fi
exit $status
