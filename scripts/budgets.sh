#!/usr/bin/env bash
# Measures the npm package's budgets: gzipped wasm size, and replay speed and
# retained heap in headless Chromium against yjs, loro-crdt, Automerge and
# json-joy in one run. Prints figures and ratios (a measurement, not a test).
#   bash scripts/budgets.sh [trace.json.gz]
set -euo pipefail
cd "$(dirname "$0")/.."
(cd web && npm run build >/dev/null)
node e2e/bench/run.mjs "$@"
