#!/usr/bin/env bash
# Benchmark: `tsmn check` on a sandbox with 16 data nodes, against a shell
# loop that runs psql once per node with the same read-only queries.
# Prints both median wall times, their ratio (target <= 0.25) and tsmn's
# peak memory (target <= 30 MB).
# Usage: benches/check_vs_psql.sh [RUNS]
set -euo pipefail
. "$(dirname "$0")/verdict.sh"
cd "$(dirname "$0")/.."
runs=${1:-7}
cargo build --release -q
bin=$PWD/target/release/tsmn
dir=$(mktemp -d /tmp/tsmn-bench-XXXXXX)
rmdir "$dir"
trap '"$bin" sandbox down --dir "$dir" >/dev/null 2>&1 || true' EXIT
"$bin" sandbox up --data-nodes 16 --dir "$dir" >/dev/null 2>&1
plan=$dir/plan.toml

# The queries tsmn runs on each node (src/probe/queries.rs), for psql.
sql=$(mktemp /tmp/tsmn-bench-sql-XXXXXX)
cat >"$sql" <<'SQL'
SELECT current_setting('server_version_num')::int4, current_setting('server_version'), current_user::text,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false),
       coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false);
SELECT name, setting, source, pending_restart FROM pg_settings
 WHERE name = ANY('{shared_preload_libraries,max_prepared_transactions,max_connections,ssl,ssl_ca_file,ssl_cert_file,ssl_key_file,password_encryption,listen_addresses,wal_level,port,jit,enable_partitionwise_aggregate,data_directory,hba_file,config_file,timescaledb.passfile,timescaledb.ssl_dir,timescaledb.license}') OR pending_restart;
SELECT n, current_setting(n, true) FROM unnest('{timescaledb.passfile,timescaledb.ssl_dir,timescaledb.license}'::text[]) AS n;
SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error FROM pg_hba_file_rules ORDER BY line_number;
SELECT pg_read_file(current_setting('hba_file'));
SELECT f FROM pg_ls_dir((SELECT setting FROM pg_config WHERE name = 'SHAREDIR') || '/extension') AS f
 WHERE f LIKE 'timescaledb--%.sql' OR f IN ('timescaledb.control', 'dblink.control');
SELECT datname, pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = 'tsdb';
SELECT w.name, p.rolname IS NOT NULL, coalesce(p.rolcanlogin, false) FROM unnest('{postgres}'::text[]) WITH ORDINALITY AS w(name, i) LEFT JOIN pg_roles p ON p.rolname = w.name ORDER BY w.i;
SQL
# host:port of every node, through its socket as tsmn connects.
mapfile -t targets < <(awk -F' = ' '/^port/ {gsub(/"/,"",$2); port=$2} /^connect_host/ {gsub(/"/,"",$2); print $2 " " port}' "$plan")

psql_loop() {
  for t in "${targets[@]}"; do
    read -r host port <<<"$t"
    psql -X -q -h "$host" -p "$port" -U postgres -d postgres -f "$sql" >/dev/null
  done
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

tsmn_times=() psql_times=()
for _ in $(seq "$runs"); do
  s=$(now_ms); "$bin" check --plan "$plan" >/dev/null || true; e=$(now_ms); tsmn_times+=($((e - s)))
  s=$(now_ms); psql_loop; e=$(now_ms); psql_times+=($((e - s)))
done
t=$(printf '%s\n' "${tsmn_times[@]}" | median)
p=$(printf '%s\n' "${psql_times[@]}" | median)
echo "nodes: 17 (1 access + 16 data), runs: $runs"
echo "tsmn check (median):  ${t} ms   [${tsmn_times[*]}]"
echo "psql loop (median):   ${p} ms   [${psql_times[*]}]"
figure "ratio tsmn/psql" "$(awk -v t="$t" -v p="$p" 'BEGIN { printf "%.3f", t / p }')" x 0.25
rss=$( { /usr/bin/time -f '%M' "$bin" check --plan "$plan" >/dev/null || true; } 2>&1 | tail -1)
figure "tsmn peak RSS" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" MB 30
rm -f "$sql"
