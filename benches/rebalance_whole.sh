#!/usr/bin/env bash
# Benchmark: the whole `tsmn rebalance --check` (release build) on real
# servers, from the first query to the printed plan: a sandbox of N data
# nodes (default 64), trust mode, with C chunks in all (default 10,000) in
# H distributed hypertables (default 4) of one-hour chunks. The rows go in
# while each hypertable is attached to the first quarter of the data nodes
# only; the others are attached afterwards, so the plan has moves to make.
# Printed: min, median and max of R runs (default 9) beside the target
# (under 1 s at 64 data nodes x 10,000 chunks), the chunks and the moves
# planned. Needs TimescaleDB; prints SKIPPED without it.
#
# Making 10,000 chunks takes a few minutes: `--keep DIR` makes the cluster
# in DIR once and keeps it running (the next run with the same DIR only
# measures; the servers are started again if they are down); stop it with
# `tsmn sandbox down --dir DIR` (then remove DIR/.bench-ready and DIR).
# Without --keep the cluster is made in a temporary directory and stopped
# at the end. TSMN_BIN=path measures that binary (no build).
# Usage: benches/rebalance_whole.sh [--data-nodes N] [--chunks C]
#        [--hypertables H] [--runs R] [--keep DIR]
set -euo pipefail
. "$(dirname "$0")/verdict.sh"
cd "$(dirname "$0")/.."
nodes=64
chunks=10000
tables=4
runs=9
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --data-nodes) nodes=$2; shift 2 ;;
    --chunks) chunks=$2; shift 2 ;;
    --hypertables) tables=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "unknown argument: $1 (see the usage at the top of $0)" >&2; exit 2 ;;
  esac
done
if ! ls /usr/lib/postgresql/*/lib/timescaledb.so >/dev/null 2>&1 &&
  ! [ -e "$(pg_config --pkglibdir 2>/dev/null)/timescaledb.so" ]; then
  echo "SKIPPED rebalance_whole: TimescaleDB is not installed for PostgreSQL"
  exit 0
fi
bin=${TSMN_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -q
  bin=${CARGO_TARGET_DIR:-$PWD/target}/release/tsmn
fi
now_ms() { echo $(($(date +%s%N) / 1000000)); }
say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"; }

if [ -n "$keep" ]; then
  dir=$keep
else
  # Root-owned and private, as the sandbox wants it.
  dir=$(mktemp -d /tmp/tsmn-bench-rebalance-XXXXXX)
  rmdir "$dir"
  trap '"$bin" sandbox down --dir "$dir" >/dev/null 2>&1 || true; rm -f "$dir/.bench-ready"; rmdir "$dir" 2>/dev/null || true' EXIT
fi
plan=$dir/plan.toml
# What was made in DIR (beside the sandbox's own files; stale once the
# sandbox is gone: `tsmn sandbox down` leaves only this).
ready=$dir/.bench-ready
[ -e "$plan" ] || rm -f "$ready"

# Up (again): a kept cluster's stopped nodes start.
t=$(now_ms)
"$bin" sandbox up -q --data-nodes "$nodes" --dir "$dir" >/dev/null
say "$nodes data nodes up in $(($(now_ms) - t)) ms ($dir)"
mapfile -t hosts < <(awk -F' = ' '/^port/ {gsub(/"/,"",$2); port=$2} /^connect_host/ {gsub(/"/,"",$2); print $2 " " port}' "$plan")
read -r an_host an_port <<<"${hosts[0]}"
# Errors only: multi-node's deprecation warnings are not news here.
an() { PGOPTIONS='-c client_min_messages=error' psql -X -q -v ON_ERROR_STOP=1 -h "$an_host" -p "$an_port" -U postgres -d tsdb -At "$@"; }

if [ -e "$ready" ] && [ "$(cat "$ready")" = "$nodes $chunks $tables" ]; then
  say "kept cluster: $(cat "$ready") (data nodes, chunks, hypertables) already made"
else
  if [ -e "$ready" ]; then
    echo "$dir holds a cluster made for $(cat "$ready") (data nodes, chunks, hypertables), not $nodes $chunks $tables: use another --keep DIR" >&2
    exit 2
  fi
  t=$(now_ms)
  "$bin" apply --yes --quiet --plan "$plan" >/dev/null
  say "applied (trust mode) in $(($(now_ms) - t)) ms"
  first=$((nodes / 4 > 0 ? nodes / 4 : 1))
  per=$((chunks / tables))
  for i in $(seq 1 "$tables"); do
    an -c "CREATE TABLE IF NOT EXISTS h$i (time timestamptz NOT NULL, device int, v float8)" \
      -c "SELECT create_distributed_hypertable('h$i', 'time', chunk_time_interval => interval '1 hour', if_not_exists => true, data_nodes => (SELECT array_agg(format('dn%s', n)) FROM generate_series(1, $first) n))" >/dev/null
    # Chunks by the hundred (one transaction each), whatever is there
    # already (a run stopped half way goes on).
    have=$(an -c "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'h$i'")
    for ((from = have; from < per; from += 100)); do
      to=$((from + 100 < per ? from + 100 : per))
      an -c "INSERT INTO h$i SELECT '2024-01-01'::timestamptz + h * interval '1 hour', d, random() FROM generate_series($from, $((to - 1))) h, generate_series(1, 4) d"
      if ((to % 500 == 0 || to == per)); then
        say "h$i: $to of $per chunks on dn1..dn$first ($(($(now_ms) - t)) ms)"
      fi
    done
    # The other data nodes join: new chunks would go there, the old stay.
    an -c "SELECT count(*) FROM generate_series($((first + 1)), $nodes) n, attach_data_node(format('dn%s', n), 'h$i', if_not_attached => true)" >/dev/null
  done
  echo "$nodes $chunks $tables" >"$ready"
  say "cluster made in $(($(now_ms) - t)) ms"
fi
made=$(an -c "SELECT count(*) FROM timescaledb_information.chunks c JOIN timescaledb_information.hypertables h USING (hypertable_schema, hypertable_name) WHERE h.is_distributed")

# The plan as data, once (also the warm-up): the number of moves.
out=$("$bin" rebalance --check --json --plan "$plan")
moves=$(jq .moves <<<"$out")
say "$made chunks, $moves moves planned"

# The command, R times: the time to the printed plan (its last line,
# "N move(s), ... in all; about ...", read from its output as it comes:
# Rust's stdout is line-buffered) and the whole process, which then also
# reads the access node's and the involved data nodes' facts and proves the
# links the moves use, to show what the run would write for them.
plan_ms=()
whole_ms=()
for _ in $(seq 1 "$runs"); do
  # Read by perl (in every Debian), in blocks as they come: a shell
  # `read` loop takes the pipe a byte at a time, and over the plan's
  # 7,500 lines that held tsmn's writes back by some 0.6 s, which an
  # earlier version of this script counted as tsmn's.
  read -r p w < <(perl -MTime::HiRes=time -e '
    my $s = time; my ($buf, $plan) = ("", 0);
    open(my $in, "-|", @ARGV) or die "$ARGV[0]: $!";
    while (sysread($in, my $b, 1 << 20)) {
      $buf .= $b;
      $plan ||= (time - $s) if $buf =~ / in all; about /;
      $buf = substr($buf, -64);
    }
    close $in;
    printf "%d %d\n", 1000 * $plan, 1000 * (time - $s);
  ' "$bin" rebalance --check --plan "$plan")
  plan_ms+=("${p:-0}")
  whole_ms+=("$w")
done
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)], a[NR]}'; }
read -r min median max < <(stats "${plan_ms[@]}")
read -r wmin wmedian wmax < <(stats "${whole_ms[@]}")
say "tsmn rebalance --check, $nodes data nodes x $made chunks ($moves moves): to the printed plan min $min ms, median $median ms, max $max ms; the whole command (with the links the run would set up) min $wmin ms, median $wmedian ms, max $wmax ms; $runs runs"
figure "rebalance --check, $nodes data nodes x $made chunks, first query to the printed plan (median of $runs)" "$median" ms 1000
