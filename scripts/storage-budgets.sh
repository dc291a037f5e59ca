#!/usr/bin/env bash
# Measures storage in headless Chromium against yjs + y-indexeddb in one run:
# keystroke-to-durable latency, open time (checkpoint and journal only) and
# bytes stored. Prints figures and ratios (a measurement, not a test).
#   bash scripts/storage-budgets.sh [trace.json.gz]
set -euo pipefail
cd "$(dirname "$0")/.."
(cd web && npm run build >/dev/null)
node e2e/bench/storage.mjs "$@"
