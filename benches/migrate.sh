#!/usr/bin/env bash
# Benchmark: `tsmn migrate` of a 4-data-node sandbox (N rows in a
# distributed hypertable, one compressed range, one continuous aggregate)
# into a new database, beside
#  (a) the documented procedure: `\copy (SELECT * FROM t) TO csv` through the
#      access node, then `\copy t FROM csv` into a second target (rows only:
#      it verifies nothing and loses the aggregate's dropped buckets);
#  (b) the floor: every data node at once, psql `COPY (SELECT ...) TO STDOUT
#      (FORMAT binary)` piped into `COPY ... FROM STDIN (FORMAT binary)` on a
#      third target.
# Targets: tsmn's copy <= 1.25 x (b); tsmn's whole run with verification
# <= 0.9 x (a); tsmn's peak memory <= 100 MB. Verification's share printed.
# Then, last (its freeze makes the source read-only), an online run
# (`--online --yes`) into a fourth database while a writer inserts into the
# newest day through the access node until the freeze stops it: the
# freeze's length and the chunks copied inside it (and of them the ones
# that changed after their first copy) printed.
# The targets are new databases on the access node's server (the
# schema of (a) and (b) is made before their clocks start).
# Usage: benches/migrate.sh [--rows N] [--rounds N] [--no-online]
#   (rows: default 2000000, 10000000 as in issue 26; rounds: default 3)
set -euo pipefail
. "$(dirname "$0")/verdict.sh"
cd "$(dirname "$0")/.."
rows=2000000
rounds=3
online=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-online) online=0; shift ;;
    *) rows=$1; shift ;;
  esac
done
cargo build --release -q
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/tsmn
dir=$(mktemp -d /tmp/tsmn-bench-XXXXXX)
rmdir "$dir"
work=$(mktemp -d /tmp/tsmn-bench-work-XXXXXX)
trap '"$bin" sandbox down --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$bin" sandbox up --data-nodes 4 --dir "$dir" >/dev/null 2>&1
plan=$dir/plan.toml
"$bin" apply --yes --plan "$plan" >/dev/null 2>&1
# host port of every node, the access node first (as the plan lists them).
mapfile -t nodes < <(awk -F' = ' '/^port/ {gsub(/"/,"",$2); port=$2} /^connect_host/ {gsub(/"/,"",$2); print $2 " " port}' "$plan")
read -r an_host an_port <<<"${nodes[0]}"
an() { psql -X -q -v ON_ERROR_STOP=1 -h "$an_host" -p "$an_port" -U postgres "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The source: N rows over 4 data nodes, 30 days, the oldest week compressed,
# a daily aggregate refreshed.
an -d tsdb >/dev/null <<SQL
CREATE TABLE t (time timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_distributed_hypertable('t', 'time', 'device', chunk_time_interval => INTERVAL '1 day');
INSERT INTO t SELECT '2024-01-01'::timestamptz + (i * (30 * 86400.0 / $rows)) * INTERVAL '1 second', i % 64, i * 0.5
  FROM generate_series(1, $rows) i;
ALTER TABLE t SET (timescaledb.compress, timescaledb.compress_segmentby = 'device', timescaledb.compress_orderby = 'time DESC');
SELECT count(compress_chunk(c)) FROM show_chunks('t', older_than => '2024-01-08'::timestamptz) c;
CREATE MATERIALIZED VIEW t_daily WITH (timescaledb.continuous) AS
  SELECT time_bucket('1 day', time) AS bucket, device, count(*) AS n, avg(value) AS v FROM t GROUP BY 1, 2 WITH NO DATA;
CALL refresh_continuous_aggregate('t_daily', NULL, NULL);
ANALYZE;
SQL
# One round: tsmn, then (a), then (b), each into its own new database (the
# schema of (a) and (b) made before their clocks start); --rounds N
# alternates them N times and the figures are the medians (the machine may
# be shared).
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$work/rounds"
for round in $(seq 1 "$rounds"); do
  for db in doc floor; do
    an -d postgres -c "CREATE DATABASE ${db}_$round" >/dev/null
    an -d "${db}_$round" >/dev/null <<'SQL'
CREATE EXTENSION timescaledb;
CREATE TABLE t (time timestamptz NOT NULL, device int NOT NULL, value float8);
SELECT create_hypertable('t', 'time', chunk_time_interval => INTERVAL '1 day');
SQL
  done

  # tsmn.
  /usr/bin/time -v "$bin" migrate --plan "$plan" --to "host=$an_host port=$an_port dbname=single_$round" --yes --json \
    >"$work/tsmn.json" 2>"$work/tsmn.err" || { cat "$work/tsmn.err"; exit 1; }
  copy_s=$(jq -r .copy_seconds "$work/tsmn.json")
  verify_s=$(jq -r .verify_seconds "$work/tsmn.json")
  total_s=$(jq -r .total_seconds "$work/tsmn.json")
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/tsmn.err")
  # The whole command as the operator waits for it (preflight included).
  wall_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/tsmn.err")
  echo "round $round: tsmn's phases: $(jq -r '[.phases[] | "\(.[0]) \(.[1] * 100 | round / 100) s"] | join(", ")' "$work/tsmn.json")"

  # (a) the documented procedure.
  s=$(now_ms)
  an -d tsdb -c "\\copy (SELECT * FROM t) TO '$work/t.csv' WITH (FORMAT csv)"
  m=$(now_ms)
  an -d "doc_$round" -c "\\copy t FROM '$work/t.csv' WITH (FORMAT csv)"
  e=$(now_ms)
  doc_out=$((m - s)) doc_in=$((e - m)) doc=$((e - s))

  # (b) the floor: every data node at once, binary COPY piped into the target.
  s=$(now_ms)
  pids=()
  for n in "${nodes[@]:1}"; do
    read -r h p <<<"$n"
    ( psql -X -q -h "$h" -p "$p" -U postgres -d tsdb -c "COPY (SELECT time, device, value FROM t) TO STDOUT (FORMAT binary)" \
      | an -d "floor_$round" -c "COPY t (time, device, value) FROM STDIN (FORMAT binary)" ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  e=$(now_ms)
  floor=$((e - s))
  echo "round $round: tsmn copy ${copy_s} s, verification ${verify_s} s, whole run ${total_s} s (the command with its preflight ${wall_s} s); (a) ${doc} ms (out ${doc_out} ms, in ${doc_in} ms); (b) ${floor} ms"
  echo "$copy_s $verify_s $total_s $wall_s $rss_kb $doc $floor" >>"$work/rounds"
done
col() { awk -v c="$1" '{ print $c }' "$work/rounds" | median; }
copy_s=$(col 1) verify_s=$(col 2) total_s=$(col 3) wall_s=$(col 4) rss_kb=$(col 5) doc=$(col 6) floor=$(col 7)

count() { an -d "$1" -At -c "SELECT count(*) FROM t"; }
echo "rows: $rows over 4 data nodes; source $(count tsdb), tsmn $(count single_1), documented $(count doc_1), floor $(count floor_1)"
echo "aggregate rows: source $(an -d tsdb -At -c 'SELECT count(*) FROM t_daily'), tsmn $(an -d single_1 -At -c 'SELECT count(*) FROM t_daily')"
echo "medians of $rounds round(s):"
echo "(a) documented procedure: ${doc} ms"
echo "(b) floor, 4 binary COPY pipes at once: ${floor} ms"
echo "tsmn: copy ${copy_s} s, verification ${verify_s} s, whole run ${total_s} s (the command with its preflight: ${wall_s} s)"
figure "tsmn copy / floor (b)" "$(awk -v c="$copy_s" -v f="$floor" 'BEGIN { printf "%.2f", c * 1000 / f }')" x 1.25
figure "tsmn whole run / documented (a)" "$(awk -v t="$total_s" -v d="$doc" 'BEGIN { printf "%.2f", t * 1000 / d }')" x 0.9
echo "tsmn's command with its preflight / documented (a): $(awk -v t="$wall_s" -v d="$doc" 'BEGIN { printf "%.2f", t * 1000 / d }') x"
echo "verification's share of tsmn's run: $(awk -v v="$verify_s" -v t="$total_s" 'BEGIN { printf "%.0f", 100 * v / t }') %"
figure "tsmn peak RSS" "$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')" MB 100
[ "$online" = 1 ] || exit 0

# Online: a writer on the newest day until the freeze refuses it.
( i=0; while an -d tsdb -c "INSERT INTO t VALUES ('2024-01-30 12:00'::timestamptz + $i * INTERVAL '1 second', $i % 64, $i)" >/dev/null 2>&1; do
    i=$((i + 1)); sleep 0.05; done; echo "$i" >"$work/writes" ) &
writer=$!
"$bin" migrate --plan "$plan" --to "host=$an_host port=$an_port dbname=online" --online --yes --json \
  >"$work/online.json" 2>"$work/online.err" || { cat "$work/online.err"; kill "$writer" 2>/dev/null; exit 1; }
wait "$writer" || true
freeze_s=$(jq -r .freeze_seconds "$work/online.json")
in_freeze=$(jq -r .parts_in_freeze "$work/online.json")
changed=$(jq -r .changed_in_freeze "$work/online.json")
chunks=$(an -d tsdb -At -c "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 't'")
echo "online: $(cat "$work/writes" 2>/dev/null || echo 0) row(s) written during the run; source $(count tsdb), tsmn --online $(count online)"
echo "online: whole run $(jq -r .total_seconds "$work/online.json") s; freeze ${freeze_s} s, ${in_freeze} part(s) copied in it (of ${chunks} chunk(s); ${changed} changed after their first copy)"
"$bin" migrate --plan "$plan" --to "host=$an_host port=$an_port dbname=online" --abandon --yes >/dev/null 2>&1 || true
