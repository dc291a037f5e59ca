#!/usr/bin/env bash
# Builds the npm package and the demo app, then serves the app and the
# signaling server on 127.0.0.1:${PORT:-8080}. The last line it prints at
# start-up is the URL to open. Stop with Ctrl-C. Sets the machine up first
# (idempotent), so it works as the first command typed on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >&2

(cd web && npm run build) >&2
(cd www && npx vite build --logLevel warn) >&2
cargo build --release --locked --quiet -p weft-server
exec target/release/weft-server --static www/dist "$@"
