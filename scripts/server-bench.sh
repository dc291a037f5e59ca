#!/usr/bin/env bash
# The server benchmark: weft-server against Hocuspocus (SQLite extension)
# and the y-websocket server on this machine in one run, driven by native
# clients (crates/weft-bench/src/bin/server-bench). Installs the peers'
# npm packages into crates/weft-bench/server-peers, builds the release
# binaries, runs, and prints the tables. Arguments go to the benchmark
# (--help lists them; --duration SECS sets the measured window).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

bash scripts/server-peers.sh

step "Release build of weft-server and the benchmark"
cargo build --release --locked -p weft-server -p weft-bench --bin weft-server --bin server-bench

step "Running (about 4 minutes with the defaults)"
# A thousand client sockets here and a thousand in each server.
ulimit -n "$(ulimit -Hn)"
exec cargo run --release --locked -q -p weft-bench --bin server-bench -- "$@"
