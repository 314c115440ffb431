#!/usr/bin/env bash
# Install the browser the site test (tests/test_site.py) drives: Debian's Chromium, via apt-get.
# Playwright's own browser download is deliberately not used (it needs a CDN; apt needs only the mirror).
# CI runs this as root; elsewhere it uses sudo when available.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser.sh: no apt-get here; install Chromium by hand and set S3REC_CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install_browser.sh: not root and no sudo; install Debian's chromium package by hand" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
