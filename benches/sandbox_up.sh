#!/usr/bin/env bash
# Benchmark: `tsmn sandbox up --data-nodes 2` (then `down`, untimed), N runs.
# Prints each run and the median, against the 5 s target. The first run can
# be made cold (no template yet) with COLD=1.
# Usage: benches/sandbox_up.sh [RUNS]
set -euo pipefail
. "$(dirname "$0")/verdict.sh"
cd "$(dirname "$0")/.."
runs=${1:-7}
cargo build --release -q
bin=target/release/tsmn
dir=$(mktemp -d /tmp/tsmn-bench-XXXXXX)
rmdir "$dir"
if [ "${COLD:-0}" = 1 ]; then
  rm -rf /var/lib/tsmn/templates/tsmn-template-* "${XDG_CACHE_HOME:-$HOME/.cache}"/tsmn/tsmn-template-*
fi
times=()
for i in $(seq "$runs"); do
  start=$(date +%s%N)
  "$bin" sandbox up --data-nodes 2 --dir "$dir" >/dev/null 2>&1
  end=$(date +%s%N)
  "$bin" sandbox down --dir "$dir" >/dev/null 2>&1
  ms=$(( (end - start) / 1000000 ))
  times+=("$ms")
  echo "run $i: ${ms} ms"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
figure "sandbox up, median of $runs" "$median" ms 5000
