#!/usr/bin/env bash
# Installs what Loom needs to build and run on Debian 12 (the Swift 6.3 toolchain must be on PATH).
set -euo pipefail
packages=(libpng-dev libjpeg-dev libwebp-dev webp libsqlite3-dev pkg-config libopenblas-dev libdnnl-dev ffmpeg chromium chromium-driver)
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
# A virtual environment outside the repository holding pinned PyPI packages, rebuilt when the pins change.
pinned_venv() {  # pinned_venv DIR REQUIREMENTS
  if [ -f "$2" ] && ! cmp -s "$2" "$1/requirements.txt" 2>/dev/null; then
    rm -rf "$1"
    python3 -m venv "$1"
    "$1/bin/pip" install --quiet -r "$2"
    cp "$2" "$1/requirements.txt"
  fi
}
# The queue service's compatibility tests drive the official eas_prediction SDK.
pinned_venv "$HOME/.cache/loom-tests/eas-venv" "$(dirname "$0")/../Tests/EASCompat/requirements.txt"
# The official ComfyUI web frontend and its workflow templates, which `loom serve` finds here when no
# --front-end-root is given.
pinned_venv "${LOOM_WEB_VENV:-$HOME/.cache/loom-web/venv}" "$(dirname "$0")/web-requirements.txt"
# The browser tests drive headless Chromium over its DevTools protocol.
pinned_venv "$HOME/.cache/loom-tests/browser-venv" "$(dirname "$0")/../Tests/Browser/requirements.txt"
