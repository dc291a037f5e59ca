#!/usr/bin/env bash
# The scale benchmark (issue 15): three weft-server nodes on one PostgreSQL
# and one Redis against three Hocuspocus nodes with its Redis and Database
# extensions on the same kind of PostgreSQL, on this machine in one run,
# driven by native clients (crates/weft-bench/src/bin/scale-bench). Starts
# its own PostgreSQL and Redis (never the machine's), installs the peers'
# npm packages, builds the release binaries, runs, and prints the tables.
# Arguments go to the benchmark (--help lists them; --duration SECS sets
# each step's measured window).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "PostgreSQL and Redis (the benchmark starts throwaway servers of its own)"
if ! command -v redis-server >/dev/null || ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  bash scripts/setup.sh
fi
echo "ok" >&2

bash scripts/server-peers.sh

step "Release build of weft-server and the benchmark"
cargo build --release --locked -p weft-server -p weft-bench --bin weft-server --bin scale-bench

step "Running (about 5 minutes with the defaults)"
# Hundreds of client sockets here and in each node.
ulimit -n "$(ulimit -Hn)"
exec cargo run --release --locked -q -p weft-bench --bin scale-bench -- "$@"
