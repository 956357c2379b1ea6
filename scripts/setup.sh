#!/usr/bin/env bash
# Installs what Loom needs to build and run on Debian 12 (the Swift 6.3 toolchain must be on PATH).
set -euo pipefail
packages=(libpng-dev libjpeg-dev libwebp-dev webp libsqlite3-dev pkg-config libopenblas-dev libdnnl-dev ffmpeg)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
# The test suite makes random-weight checkpoints with a numpy-only generator.
if ! python3 -c "import numpy" >/dev/null 2>&1; then
  python3 -m pip install --quiet numpy
fi
