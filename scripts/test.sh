#!/usr/bin/env bash
# Runs every check and test the project has. Sets the machine up first
# (idempotent: seconds when nothing is missing), so it works as the first
# command typed on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# Each step prints the seconds spent so far, to see where CI time goes.
step() { printf '\n== %s (at %ss)\n' "$*" "$SECONDS"; }

step "format"
cargo fmt --all -- --check
step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p weft --features small-chunks --all-targets --locked -- -D warnings
step "native tests"
cargo test --workspace --locked
step "native tests with small leaves and nodes (deep trees)"
cargo test -p weft --features small-chunks --test deep_trees --locked

source scripts/wasm-env.sh
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export GECKODRIVER="${GECKODRIVER:-$(command -v geckodriver)}"
step "wasm binding in headless Chromium"
wasm-pack test --headless --chrome crates/weft-wasm
step "wasm binding in headless Firefox"
wasm-pack test --headless --firefox crates/weft-wasm

step "npm package: build, then tests against the built package"
unset RUSTUP_TOOLCHAIN
(cd web && npm run build && npm test)

step "end to end in headless Chromium: the packed package from Vite and Node"
(cd e2e && npm test)

step "end to end over WebRTC: browsers in a loopback-only network namespace"
(cd e2e && npm run test:rtc)
step "done"
