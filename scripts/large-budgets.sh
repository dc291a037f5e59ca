#!/usr/bin/env bash
# Measures a large document in headless Chromium (issue 16, target 5): the
# snapshot of automerge-paper replayed end to end N times (100 by default:
# 10 MB of text, 26 million edits), loaded, typed into, stored and opened
# from IndexedDB, with every main-thread task over 50 ms recorded; then a
# late joiner receives it over real WebRTC (in a loopback-only network
# namespace). Prints figures against the targets (a measurement, not a test).
#   bash scripts/large-budgets.sh [times]
set -euo pipefail
cd "$(dirname "$0")/.."
times="${1:-100}"
(cd web && npm run build >/dev/null)
cargo build --quiet --locked --release -p weft-bench --example snapshot
cargo build --quiet --locked -p weft-server
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
./target/release/examples/snapshot crates/weft-traces/traces/automerge-paper.json.gz "$out/large.bin" "$times" >/dev/null
node e2e/bench/large.mjs "$out/large.bin"
unshare -n sh -c 'ip link set lo up && exec node e2e/bench/sync.mjs --snapshot "$1"' sh "$out/large.bin"
