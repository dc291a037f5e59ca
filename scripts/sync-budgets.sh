#!/usr/bin/env bash
# Measures WebRTC sync between headless Chromium processes against yjs +
# y-webrtc in one run: late-joiner time for a whole trace's history and
# edit-to-remote-visible latency. Prints figures and ratios (a measurement,
# not a test). Runs in a loopback-only network namespace (needs root).
#   bash scripts/sync-budgets.sh [trace.json.gz]
set -euo pipefail
cd "$(dirname "$0")/.."
(cd web && npm run build >/dev/null)
cargo build --quiet --locked -p weft-server
unshare -n sh -c 'ip link set lo up && exec node e2e/bench/sync.mjs "$@"' sh "$@"
