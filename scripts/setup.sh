#!/usr/bin/env bash
# Sets up everything the project needs on a fresh Debian 12 machine:
# idempotent, and a second run finishes in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# The wasm-bindgen CLI must match the crate version pinned in Cargo.toml.
wasm_bindgen_version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
wasm_pack_version=0.15.1
geckodriver_version=0.37.1

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

step "Debian packages: Chromium and its driver, Firefox ESR, Redis and PostgreSQL (tests start their own)"
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v firefox-esr >/dev/null || need+=(firefox-esr)
command -v redis-server >/dev/null || need+=(redis-server)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Installing redis-server and postgresql would start their services on
  # the default ports: tests start their own instances, so nothing is
  # started (policy-rc.d says no, for this install only).
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    own_policy=true
  fi
  installed=true
  { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; } || installed=false
  if $own_policy; then rm -f "$policy"; fi
  $installed
fi
echo "ok"

step "wasm32 target"
bash scripts/wasm-toolchain.sh

step "wasm-bindgen-cli $wasm_bindgen_version and wasm-pack $wasm_pack_version"
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen_version" ]; then
  # Not --locked: the CLI's lockfile names a crate version this registry lacks.
  cargo install -q wasm-bindgen-cli --version "$wasm_bindgen_version"
fi
if [ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $wasm_pack_version" ]; then
  cargo install -q wasm-pack --version "$wasm_pack_version" --locked
fi
echo "ok"

step "geckodriver $geckodriver_version (Firefox's WebDriver; npm's downloads a binary, so from crates.io)"
if [ "$(geckodriver --version 2>/dev/null | head -1)" != "geckodriver $geckodriver_version" ]; then
  cargo install -q geckodriver --version "$geckodriver_version" --locked
fi
echo "ok"

step "Rust dependencies"
cargo fetch --locked

step "Node dependencies (web/, e2e/, www/)"
for dir in web e2e www; do
  if [ ! -d $dir/node_modules ] || [ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]; then
    (cd $dir && npm ci --no-audit --no-fund)
  fi
done
echo "ok"

echo "setup done"
