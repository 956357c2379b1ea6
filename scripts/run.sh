#!/usr/bin/env bash
# Starts Loom on its embedded defaults: SQLite store, CPU, data directory ./data, http://127.0.0.1:8188.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product loom
exec .build/release/loom --data-dir ./data "$@"
