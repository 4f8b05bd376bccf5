#!/usr/bin/env bash
# Installs what is missing, builds, and starts Taskbridge in demo mode on
# http://127.0.0.1:3000 (SQLite in ./data). Extra arguments go to `taskbridge serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh --release
export TASKBRIDGE_DEMO="${TASKBRIDGE_DEMO:-true}"
export TASKBRIDGE_EMBEDDED_SANDBOX="${TASKBRIDGE_EMBEDDED_SANDBOX:-127.0.0.1:3300}"
exec target/release/taskbridge serve --site-root target/site "$@"
