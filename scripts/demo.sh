#!/usr/bin/env bash
# Installs everything Portcullis needs (Debian packages, npm dependencies, build; idempotent) and
# starts the gateway on the embedded default (SQLite + ./data) with the demo lab of real targets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/npm-deps.sh
npm run --silent build
exec node bin/portcullis.js demo
