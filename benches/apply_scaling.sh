#!/usr/bin/env bash
# Benchmark: `tsmn apply` in trust mode on fresh sandboxes with 1, 4 and 16
# data nodes, restarts included. Prints the median per size and the ratio of
# 16 to 1 data nodes (target <= 2.5).
#
# For scale it also times the floor no tool can go under: the same data nodes
# restarted all at once with bare `pg_ctl restart` (what the restart gate
# runs), without tsmn and without any other step.
# Usage: benches/apply_scaling.sh [RUNS]
set -euo pipefail
. "$(dirname "$0")/verdict.sh"
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release -q
bin=$PWD/target/release/tsmn
pgbin=$(pg_config --bindir 2>/dev/null || true)
[ -x "$pgbin/pg_ctl" ] || pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Run pg_ctl as the owner of the data directory (the sandbox's servers run as
# `postgres` when this runs as root).
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    local u; u=$(stat -c %U "$1")
    setpriv --reuid "$u" --regid "$(id -g "$u")" --clear-groups -- "${@:2}"
  else
    "${@:2}"
  fi
}
bare_restart() {
  local dir=$1 n=$2 i
  for i in $(seq "$n"); do
    as_owner "$dir/dn$i/data" "$pgbin/pg_ctl" -D "$dir/dn$i/data" -l "$dir/dn$i/server.log" -m fast -w restart >/dev/null &
  done
  wait
}
declare -A med bare
for n in 1 4 16; do
  times=(); floors=()
  for _ in $(seq "$runs"); do
    dir=$(mktemp -d /tmp/tsmn-bench-XXXXXX)
    rmdir "$dir"
    "$bin" sandbox up --data-nodes "$n" --dir "$dir" >/dev/null 2>&1
    s=$(now_ms)
    # Exit 1 is expected without TimescaleDB: the cluster phase is blocked.
    "$bin" apply --yes --plan "$dir/plan.toml" >/tmp/tsmn-bench-apply.log 2>&1 || true
    e=$(now_ms)
    grep -q 'restarted dn' /tmp/tsmn-bench-apply.log || { echo "no restart happened:"; cat /tmp/tsmn-bench-apply.log; exit 1; }
    s2=$(now_ms)
    bare_restart "$dir" "$n"
    e2=$(now_ms)
    "$bin" sandbox down --dir "$dir" >/dev/null 2>&1
    times+=($((e - s)))
    floors+=($((e2 - s2)))
  done
  med[$n]=$(printf '%s\n' "${times[@]}" | median)
  bare[$n]=$(printf '%s\n' "${floors[@]}" | median)
  echo "data nodes: $n  apply median: ${med[$n]} ms  [${times[*]}]  bare parallel pg_ctl restart: ${bare[$n]} ms  [${floors[*]}]"
done
figure "apply ratio 16/1" "$(awk -v a="${med[16]}" -v b="${med[1]}" 'BEGIN { printf "%.2f", a / b }')" x 2.5
awk -v a="${bare[16]}" -v b="${bare[1]}" 'BEGIN { printf "bare restart ratio 16/1: %.2f (the servers alone, no tsmn)\n", a / b }'
echo "cores: $(nproc)"
