#!/usr/bin/env bash
# Install the npm packages the tests use (independent relying parties, verifiers, axe-core).
# Every folder tests/**/node/ with a package.json and package-lock.json is installed with
# `npm ci`; a stamp keeps a second run free. Needs node and npm (Debian: nodejs, npm).
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
for manifest in tests/**/node/package.json; do
  dir="$(dirname "$manifest")"
  stamp="$dir/node_modules/.idbridge-stamp"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
    continue
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "idbridge: npm is needed for the tests in $dir (apt-get install nodejs npm)" >&2
    exit 1
  fi
  echo "idbridge: npm ci in $dir" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$stamp"
done
