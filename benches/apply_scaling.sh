#!/usr/bin/env bash
# Benchmark: `tsmn apply` in trust mode on fresh sandboxes with 1, 4 and 16
# data nodes, restarts included. Prints the median per size and the ratio of
# 16 to 1 data nodes (target <= 2.5).
# Usage: benches/apply_scaling.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release -q
bin=$PWD/target/release/tsmn
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
declare -A med
for n in 1 4 16; do
  times=()
  for _ in $(seq "$runs"); do
    dir=$(mktemp -d /tmp/tsmn-bench-XXXXXX)
    rmdir "$dir"
    "$bin" sandbox up --data-nodes "$n" --dir "$dir" >/dev/null 2>&1
    s=$(now_ms)
    # Exit 1 is expected without TimescaleDB: the cluster phase is blocked.
    "$bin" apply --yes --plan "$dir/plan.toml" >/tmp/tsmn-bench-apply.log 2>&1 || true
    e=$(now_ms)
    grep -q 'restart-gate: done' /tmp/tsmn-bench-apply.log || { echo "no restart happened:"; cat /tmp/tsmn-bench-apply.log; exit 1; }
    "$bin" sandbox down --dir "$dir" >/dev/null 2>&1
    times+=($((e - s)))
  done
  med[$n]=$(printf '%s\n' "${times[@]}" | median)
  echo "data nodes: $n  median: ${med[$n]} ms  [${times[*]}]"
done
awk -v a="${med[16]}" -v b="${med[1]}" 'BEGIN { printf "ratio 16/1: %.2f (target <= 2.5)\n", a / b }'
