#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs dependencies, builds, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The end-to-end tests start the real `loom` executable, so build it first.
swift build --product loom
swift test "$@"
