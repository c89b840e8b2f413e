#!/usr/bin/env bash
# System packages the test suite runs for real: PostgreSQL (control-plane DB), Chromium (rendered emails,
# widget tests) and Node with npm (the SDK's build and unit tests).
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
fc-list 2>/dev/null | grep -qi "color emoji" || missing+=(fonts-noto-color-emoji)  # reactions in widget screenshots
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "error: the tests need these Debian packages: ${missing[*]} (install them, then run make test again)" >&2
  exit 1
fi
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
echo "installing ${missing[*]} for the tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
