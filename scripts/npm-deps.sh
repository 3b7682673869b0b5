#!/usr/bin/env bash
# npm ci, skipped when node_modules already matches package-lock.json (saves the native builds).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.portcullis-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "npm-deps: node_modules up to date"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
