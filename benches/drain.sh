#!/usr/bin/env bash
# Benchmark: draining one of 4 data nodes whose chunks hold N rows (every
# chunk of a distributed hypertable placed on dn4: the other data nodes
# blocked while the rows go in), `tsmn apply --remove-data-nodes --drain`
# (trust mode), beside the floor: a psql script calling
# `timescaledb_experimental.move_chunk` for the same chunks to the same
# destinations one after another in one session, on a fresh identical
# cluster given the same settings (wal_level = logical, slots, WAL senders,
# workers, wal_retrieve_retry_interval = 200ms) and restarted before its
# clock starts; and once more with wal_retrieve_retry_interval at its
# default (5 s), as an operator's move_chunk script would meet it.
# Printed: tsmn's whole drain (probe, settings, restarts, moves, removal)
# and its moves alone (first move started to last move finished), the
# floor, the ratio of tsmn's moves to the floor beside the 1.2 x target,
# and tsmn with 2 and 4 moves at once (`--parallel`), each on a fresh
# cluster of its own.
# Usage: benches/drain.sh [--rows N] [--parallel "2 4"]   (default 2000000)
set -euo pipefail
. "$(dirname "$0")/verdict.sh"
cd "$(dirname "$0")/.."
rows=2000000
parallel="2 4"
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    *) rows=$1; shift ;;
  esac
done
cargo build --release -q
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/tsmn
work=$(mktemp -d /tmp/tsmn-bench-drain-XXXXXX)
dirs=()
cleanup() {
  for d in "${dirs[@]}"; do "$bin" sandbox down --dir "$d" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
pg_ctl=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A fresh cluster: 4 data nodes, applied, N rows in `t` whose 30 daily
# chunks are all on dn4. Sets $dir, $plan, $an_host, $an_port, $hosts.
cluster() {
  dir=$(mktemp -d /tmp/tsmn-bench-XXXXXX)
  rmdir "$dir"
  dirs+=("$dir")
  "$bin" sandbox up --data-nodes 4 --dir "$dir" >/dev/null 2>&1
  plan=$dir/plan.toml
  "$bin" apply --yes --plan "$plan" >/dev/null 2>&1
  mapfile -t hosts < <(awk -F' = ' '/^port/ {gsub(/"/,"",$2); port=$2} /^connect_host/ {gsub(/"/,"",$2); print $2 " " port}' "$plan")
  read -r an_host an_port <<<"${hosts[0]}"
  an -d tsdb >/dev/null 2>&1 <<SQL
CREATE TABLE t (time timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_distributed_hypertable('t', 'time', chunk_time_interval => INTERVAL '1 day');
SELECT timescaledb_experimental.block_new_chunks(n) FROM unnest(ARRAY['dn1', 'dn2', 'dn3']) n;
INSERT INTO t SELECT '2024-01-01'::timestamptz + (i * (30 * 86400.0 / $rows)) * INTERVAL '1 second', i % 64, i * 0.5
  FROM generate_series(1, $rows) i;
SELECT timescaledb_experimental.allow_new_chunks(n) FROM unnest(ARRAY['dn1', 'dn2', 'dn3']) n;
ANALYZE t;
SQL
}
an() { psql -X -q -v ON_ERROR_STOP=1 -h "$an_host" -p "$an_port" -U postgres "$@"; }
# The plan without dn4.
without_dn4() {
  awk '/^\[\[data_nodes\]\]/ { flush(); buf = $0 "\n"; inblock = 1; next }
       /^\[/ { flush(); inblock = 0 }
       inblock { buf = buf $0 "\n"; if ($0 ~ /^name = "dn4"/) skip = 1; next }
       { print }
       function flush() { if (inblock && !skip) printf "%s", buf; buf = ""; skip = 0 }
       END { flush() }' "$plan" >"$dir/without-dn4.toml"
}
fingerprint() { an -d tsdb -At -c "SELECT count(*) || ':' || sum(hashtextextended(t::text, 0)) FROM t"; }

# tsmn's drain with $1 moves at once: whole run and moves alone, in ms.
drain() {
  cluster
  without_dn4
  local before s e
  before=$(fingerprint)
  s=$(now_ms)
  "$bin" apply --yes --json --plan "$dir/without-dn4.toml" --remove-data-nodes --drain --parallel "$1" \
    >"$work/drain-$1.jsonl" 2>"$work/drain-$1.err" || { cat "$work/drain-$1.err"; grep -E '"state":"(failed|blocked)"' "$work/drain-$1.jsonl"; exit 1; }
  e=$(now_ms)
  [ "$(fingerprint)" = "$before" ] || { echo "rows differ after tsmn's drain" >&2; exit 1; }
  whole=$((e - s))
  span=$(jq -rs '
    def ms: (.at | capture("(?<s>^[^.]+)(\\.(?<f>[0-9]+))?(?<z>.*)$")) as $c
      | (($c.s + $c.z) | sub("Z$"; "Z") | fromdateiso8601) * 1000 + (($c.f // "0") + "000" | .[0:3] | tonumber);
    [.[] | select((.step // "") | test("/cluster/move-"))] as $m
    | ([$m[] | ms] | max) - ([$m[] | ms] | min)' "$work/drain-$1.jsonl")
  echo "$whole $span" >"$work/result"
  "$bin" sandbox down --dir "$dir" >/dev/null 2>&1 || true
}

drain 1
read -r whole1 span1 <"$work/result"
# The same chunks and destinations, for the floor.
jq -r 'select(.event == "step_started" and ((.step // "") | test("/cluster/move-"))) | .title' "$work/drain-1.jsonl" \
  | sed -E 's/^Move (.*) from (dn[0-9]+) to (dn[0-9]+)$/\1 \2 \3/' >"$work/moves"
nmoves=$(wc -l <"$work/moves")

# The floor: a fresh identical cluster, the settings tsmn's drain sets on
# the data nodes (with $1 = default: PostgreSQL's wal_retrieve_retry_interval
# left at 5 s), restarted; then the psql script, timed. Sets $floor (ms).
floor() {
  cluster
  local h host port before s e
  for h in "${hosts[@]:1}"; do
    read -r host port <<<"$h"
    psql -X -q -h "$host" -p "$port" -U postgres -d postgres >/dev/null <<'SQL'
ALTER SYSTEM SET wal_level = 'logical';
ALTER SYSTEM SET max_replication_slots = 10;
ALTER SYSTEM SET max_wal_senders = 10;
ALTER SYSTEM SET max_logical_replication_workers = 4;
ALTER SYSTEM SET max_worker_processes = 16;
SQL
    if [ "$1" = tsmn ]; then
      psql -X -q -h "$host" -p "$port" -U postgres -d postgres -c "ALTER SYSTEM SET wal_retrieve_retry_interval = '200ms'" >/dev/null
    fi
    runuser -u postgres -- "$pg_ctl" -D "$host" -m fast -w restart >/dev/null
  done
  before=$(fingerprint)
  s=$(now_ms)
  an -d tsdb -f "$work/floor.sql" >/dev/null
  e=$(now_ms)
  floor=$((e - s))
  [ "$(fingerprint)" = "$before" ] || { echo "rows differ after the floor's moves" >&2; exit 1; }
  "$bin" sandbox down --dir "$dir" >/dev/null 2>&1 || true
}
{
  echo '\set ON_ERROR_STOP 1'
  while read -r chunk src dst; do
    echo "CALL timescaledb_experimental.move_chunk(chunk => '$chunk', source_node => '$src', destination_node => '$dst');"
  done <"$work/moves"
} >"$work/floor.sql"
floor tsmn
floor_same=$floor
floor default
floor_default=$floor

echo "rows: $rows in $nmoves chunk(s), all on dn4, moved to dn1-dn3"
echo "floor, psql move_chunk one after another, tsmn's settings: ${floor_same} ms"
echo "the same with wal_retrieve_retry_interval at PostgreSQL's default (5 s): ${floor_default} ms"
echo "tsmn drain, one move at a time: whole run ${whole1} ms (probe, settings, restarts, moves, removal), moves ${span1} ms"
# Where a move's time went: each part summed over the moves (their outcomes say it).
jq -r 'select(.event == "step_finished" and ((.step // "") | test("/cluster/move-"))) | .outcome.detail' "$work/drain-1.jsonl" \
  | grep -oE '(heal|copy|compare|drop) [0-9]+ ms' \
  | awk '{ t[$1] += $2 } END { printf "tsmn moves, summed: heal %d ms, copy %d ms, compare %d ms, drop %d ms\n", t["heal"], t["copy"], t["compare"], t["drop"] }' 
figure "tsmn moves / floor" "$(awk -v t="$span1" -v f="$floor_same" 'BEGIN { printf "%.2f", t / f }')" x 1.2
figure "tsmn whole drain / floor" "$(awk -v t="$whole1" -v f="$floor_same" 'BEGIN { printf "%.2f", t / f }')" x 1.2
for n in $parallel; do
  drain "$n"
  read -r whole span <"$work/result"
  echo "tsmn drain, $n moves at once: whole run ${whole} ms, moves ${span} ms ($(awk -v t="$span" -v f="$floor_same" 'BEGIN { printf "%.2f", t / f }') x the floor)"
done
