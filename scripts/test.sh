#!/usr/bin/env bash
# Runs every test: unit and integration tests (SQLite and PostgreSQL) and the Playwright
# end-to-end suite in Debian's headless Chromium. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh

export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
echo "==> unit and integration tests"
cargo test -p app -p server

echo "==> end-to-end tests (Playwright, headless Chromium)"
cd end2end
CI="${CI:-}" npx playwright test
