#!/usr/bin/env bash
# Audit log benchmarks: append throughput (1 and 8 writers, durable commits), full
# verification of a 1,000,000-entry log, in process and as the `moat audit verify`
# command, and inclusion-proof latency at that size.
#
#   bash bench/audit.sh [ENTRIES]          # SQLite (default 1000000 entries)
#   MOAT_DATABASE_URL=postgres://… bash bench/audit.sh 200000   # PostgreSQL
#
# Release build; figures are printed as a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${1:-1000000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/moat-target}
cargo build --release -p moat -p moat-bench
bin=$CARGO_TARGET_DIR/release
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
unset MOAT_API_KEY MOAT_CONFIG
"$bin/moat" --data-dir "$dir" init >/dev/null
args=(--data-dir "$dir" --entries "$entries")
if [ -n "${MOAT_DATABASE_URL:-}" ]; then args+=(--database-url "$MOAT_DATABASE_URL"); fi
"$bin/audit-bench" "${args[@]}"
start=$(date +%s.%N)
"$bin/moat" --data-dir "$dir" audit verify
end=$(date +%s.%N)
printf '| `moat audit verify` command, wall time | %.2f s |\n' "$(echo "$end - $start" | bc)"
