#!/usr/bin/env bash
# Runs every check and test: rustfmt, clippy (server side and the wasm client), unit and
# integration tests (SQLite and PostgreSQL) and the Playwright end-to-end suite in Debian's
# headless Chromium. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean CI build gains nothing from incremental caches, which were over half of target/
# (13 of 26 GB measured) — enough to fill a machine's disk once.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
scripts/setup.sh
scripts/build.sh

export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
# Each PostgreSQL test makes its own tb_test_* database; drop them afterwards.
cleanup_pg() {
  command -v psql >/dev/null 2>&1 || return 0
  psql "$TEST_POSTGRES_URL" -Atqc "select datname from pg_database where datname like 'tb\_test\_%'" 2>/dev/null |
    while read -r db; do psql "$TEST_POSTGRES_URL" -qc "drop database if exists \"$db\"" >/dev/null 2>&1 || true; done
}
trap cleanup_pg EXIT
echo "==> formatting (cargo fmt --check) and lints (clippy, server side and the wasm client)"
cargo fmt --all -- --check
cargo clippy -p app -p server -p sandbox -p bench --all-targets --features server/sandbox -- -D warnings
cargo clippy -p frontend --lib --target wasm32-unknown-unknown --target-dir target/wasm -- -D warnings

echo "==> unit and integration tests"
# The same features as scripts/build.sh, so the binary the end-to-end tests run is not rebuilt.
cargo test -p app -p server -p sandbox --features server/sandbox

echo "==> end-to-end tests (Playwright, headless Chromium)"
cd end2end
CI="${CI:-}" npx playwright test
