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
# The queue service's compatibility tests drive the official eas_prediction SDK from its own virtual environment
# (outside the repository; rebuilt when the pinned requirements change).
eas_env="$HOME/.cache/loom-tests/eas-venv"
eas_req="$(dirname "$0")/../Tests/EASCompat/requirements.txt"
if [ -f "$eas_req" ] && ! cmp -s "$eas_req" "$eas_env/requirements.txt" 2>/dev/null; then
  rm -rf "$eas_env"
  python3 -m venv "$eas_env"
  "$eas_env/bin/pip" install --quiet -r "$eas_req"
  cp "$eas_req" "$eas_env/requirements.txt"
fi
# The official ComfyUI web frontend and its workflow templates, which `loom serve` finds here when no
# --front-end-root is given (its own virtual environment outside the repository; rebuilt when the pins change).
web_env="${LOOM_WEB_VENV:-$HOME/.cache/loom-web/venv}"
web_req="$(dirname "$0")/web-requirements.txt"
if [ -f "$web_req" ] && ! cmp -s "$web_req" "$web_env/requirements.txt" 2>/dev/null; then
  rm -rf "$web_env"
  python3 -m venv "$web_env"
  "$web_env/bin/pip" install --quiet -r "$web_req"
  cp "$web_req" "$web_env/requirements.txt"
fi
