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

step "Node, and a compiler for better-sqlite3 (Hocuspocus's SQLite)"
need=()
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
{ command -v make >/dev/null && command -v g++ >/dev/null; } || need+=(build-essential)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "ok" >&2

step "Peer servers' npm packages (crates/weft-bench/server-peers)"
peers=crates/weft-bench/server-peers
if [ ! -d $peers/node_modules ] || [ $peers/package-lock.json -nt $peers/node_modules/.package-lock.json ]; then
  # npm warns that @hocuspocus/server wants Node 22 (EBADENGINE); it runs on 20.
  (cd $peers && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "ok" >&2

step "Release build of weft-server and the benchmark"
cargo build --release --locked -p weft-server -p weft-bench --bin weft-server --bin server-bench

step "Running (about 4 minutes with the defaults)"
# A thousand client sockets here and a thousand in each server.
ulimit -n "$(ulimit -Hn)"
exec cargo run --release --locked -q -p weft-bench --bin server-bench -- "$@"
