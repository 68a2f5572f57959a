#!/usr/bin/env bash
# Best-effort install of Debian packages: as root, or with passwordless sudo.
# Used for Chromium (browser tests) and BLIS (the Linux CPU fast path, see yilab/generation/fastpath.py).
# Where it cannot install, it says so and exits 0: yilab works without them.
#   scripts/apt-install.sh CHECK_PATH PACKAGE...   (skips when CHECK_PATH exists)
set -euo pipefail
check="$1"; shift
if [ -e "$check" ]; then exit 0; fi
if [ "$(uname -s)" != Linux ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-install: no apt-get here; skipping $* (optional)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "apt-install: not root and no passwordless sudo; to get $* run: sudo apt-get install $*" >&2
    exit 0
  fi
fi
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null || \
  echo "apt-install: could not install $* (optional; continuing)" >&2
