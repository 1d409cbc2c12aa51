#!/usr/bin/env bash
# Mutation check: plants each one-line bug of tools/mutants.txt in a scratch
# copy, rebuilds, runs the suites that should catch it, and prints
# 'mutants: N caught, M survived'. Exits 1 if a mutant survived.
#   tools/mutate.sh [--only NAME ...] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh >/dev/null
exec python3 tools/mutate.py "$@"
