#!/usr/bin/env bash
# One-time (idempotent) setup of everything the project needs on a fresh
# Debian 12 machine. A second run finishes in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "Rust toolchain components"
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust with rustup first" >&2
  exit 1
fi
for c in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
    rustup component add "$c"
  fi
done

step "Rust dependencies"
cargo fetch --locked

step "Editing traces"
traces="${WEFT_TRACES:-../shared/traces}"
if ! ls "$traces"/*.json.gz >/dev/null 2>&1; then
  echo "no editing traces in $traces (set WEFT_TRACES to their folder)" >&2
  exit 1
fi
echo "setup done"
