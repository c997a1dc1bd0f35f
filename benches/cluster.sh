#!/usr/bin/env bash
# Benchmark: tsmn with nodes a network away (20 ms each way through a
# loopback proxy; see benches/cluster.rs for what is measured and the
# targets). Needs TimescaleDB installed; prints SKIPPED without it.
# Usage: benches/cluster.sh [RUNS] [scaling|structure|remote]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
args=(--runs "${1:-3}")
[ -n "${2:-}" ] && args+=(--only "$2")
cargo bench -q --bench cluster -- "${args[@]}"
