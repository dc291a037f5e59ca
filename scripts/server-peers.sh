#!/usr/bin/env bash
# The peer servers the server benchmarks measure weft-server against
# (scripts/server-bench.sh, scripts/scale-bench.sh): Node, a compiler for
# better-sqlite3 (Hocuspocus's SQLite), and their npm packages in
# crates/weft-bench/server-peers, each installed when missing.
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
