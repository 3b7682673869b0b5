#!/usr/bin/env bash
# The whole test suite, self-sufficient on a fresh Debian 12 clone (run as root): installs the
# Debian packages and npm dependencies it needs, builds, starts a throwaway PostgreSQL cluster,
# and runs every test (storage on SQLite and PostgreSQL, API, CLI, lab, browser).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-deps.sh
bash scripts/npm-deps.sh
npm run --silent build

pgdir=$(mktemp -d /tmp/portcullis-pg.XXXXXX)
pgport=${PORTCULLIS_TEST_PG_PORT:-29432}
while (echo >"/dev/tcp/127.0.0.1/$pgport") 2>/dev/null; do pgport=$((pgport + 1)); done
cleanup() { bash scripts/pg-throwaway.sh stop "$pgdir"; }
trap cleanup EXIT
PORTCULLIS_TEST_PG_URL=$(bash scripts/pg-throwaway.sh start "$pgdir" "$pgport")
export PORTCULLIS_TEST_PG_URL
echo "test: throwaway PostgreSQL on 127.0.0.1:$pgport"

files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
