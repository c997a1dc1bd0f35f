#!/usr/bin/env bash
# Benchmark: the cost of a `tsmn status --watch` refresh after the first
# (sessions kept), trust mode, a distributed hypertable with 100 chunks per
# data node, at 16 and 64 data nodes (see benches/status_watch.rs for what
# is measured). Needs TimescaleDB installed; prints SKIPPED without it.
# Usage: benches/status_watch.sh [SIZES] [REFRESHES]   e.g. 16,32 30
set -euo pipefail
. "$(dirname "$0")/verdict.sh"
cd "$(dirname "$0")/.."
cargo build --release -q
target=${CARGO_TARGET_DIR:-target}
export TSMN_BIN="$target/release/tsmn"
cargo bench -q --bench status_watch -- --data-nodes "${1:-16,64}" --refreshes "${2:-30}" |
  while IFS=$'\t' read -r tag name value unit max; do
    if [ "$tag" = FIGURE ]; then
      figure "$name" "$value" "$unit" "$max"
    else
      printf '%s\n' "$tag"
    fi
  done
