#!/usr/bin/env bash
# Builds the site (wasm + JS glue + CSS + public files into target/site) and the server.
# Usage: scripts/build.sh [--release]
# cargo-leptos is not used: it cannot be installed offline on this toolchain, and the
# explicit steps below are what it would run (see ../shared/TOOLCHAIN.md).
set -euo pipefail
cd "$(dirname "$0")/.."

release=0
[ "${1:-}" = "--release" ] && release=1

if [ $release = 1 ]; then wasm_profile=wasm-release; wasm_dir=wasm-release; server_flags=(--release); else wasm_profile=dev; wasm_dir=debug; server_flags=(); fi

# A separate target dir keeps the wasm build's features apart from the server's.
cargo build -p frontend --lib --target wasm32-unknown-unknown --target-dir target/wasm --profile "$wasm_profile"
rm -rf target/site && mkdir -p target/site/pkg
wasm-bindgen --target web --no-typescript --out-dir target/site/pkg --out-name taskbridge \
  "target/wasm/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
if [ $release = 1 ]; then
  # npm's binaryen, not Debian's (v108 breaks hydration; see TOOLCHAIN.md).
  end2end/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types \
    target/site/pkg/taskbridge_bg.wasm -o target/site/pkg/taskbridge_bg.wasm
fi
cp style/main.css target/site/pkg/taskbridge.css
cp -r public/. target/site/
# The `sandbox` feature puts the local Autotask into the binary (`taskbridge sandbox`,
# `serve --embedded-sandbox`: the demo and the end-to-end tests use it).
cargo build -p server --bin taskbridge --features sandbox "${server_flags[@]}"
