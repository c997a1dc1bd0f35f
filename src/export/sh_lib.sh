# --- helpers (written by tsmn; POSIX sh) ---
here=$(cd "$(dirname "$0")" && pwd)
phases=${TSMN_PHASES:-settings,auth,cluster,verify}
current_node=''
current_step=''

fail() {
  printf 'setup.sh: FAILED on node %s at step %s\n' "$current_node" "$current_step" >&2
  if [ -n "${1:-}" ]; then printf '  %s\n' "$1" >&2; fi
  exit 1
}

# step PHASE NODE ID TITLE: announce a step; returns 1 when its phase is not selected.
step() {
  case ",$phases," in
    *,"$1",*) ;;
    *) return 1 ;;
  esac
  current_node=$2
  current_step=$3
  printf '[%s] %s: %s\n' "$1" "$2" "$4"
  return 0
}

# psql_node NODE DB [psql args...]: psql as the superuser, stopping at the first error.
psql_node() {
  node=$1
  db=$2
  shift 2
  psql -X -q -v ON_ERROR_STOP=1 -d "$(conninfo "$node") dbname=$db" "$@"
}

# sees_server NODE DATADIR PORT: NODE sees that data directory with the live
# postmaster.pid of the server on PORT (the same host and file system): the
# access node's own files are at its paths there, not to be written over.
sees_server() {
  seen=$(psql_node "$1" postgres -At -v dir="$2" -v port="$3" <<'SQL'
SELECT split_part(f, E'\n', 2) = :'dir' AND split_part(f, E'\n', 4) = :'port' FROM pg_read_file(:'dir' || '/postmaster.pid', 0, 4096, true) AS f;
SQL
) || fail "cannot tell whether $1 shares the access node's files: nothing written"
  [ "$seen" = t ]
}

run_sql() {
  psql_node "$1" "$2" -At -f "$3" || fail "SQL in $3 failed (the error is above)"
}

# read_secret VAR PROMPT: the value of environment variable VAR, else asked
# for at the terminal without echo. Never on a command line.
read_secret() {
  eval "secret_value=\${$1:-}"
  if [ -z "$secret_value" ]; then
    if [ ! -r /dev/tty ]; then
      fail "set $1 (no terminal to ask for: $2)"
    fi
    printf '%s: ' "$2" >/dev/tty
    stty -echo </dev/tty
    IFS= read -r secret_value </dev/tty || true
    stty echo </dev/tty
    printf '\n' >/dev/tty
  fi
}

# check_password VALUE pbkdf2-sha256:ITERATIONS:SALT:KEY ROLE: VALUE is the
# password the SCRAM verifiers of this export were made from (a PBKDF2-HMAC-SHA256
# fingerprint of it, kept with the verifiers); else stop before anything changes.
# openssl enc -P prints the PBKDF2 output as key (32 bytes) and iv; the password
# reaches it on stdin (printf is the shell's own), never as an argument.
check_password() {
  fp_rest=${2#pbkdf2-sha256:}
  fp_iter=${fp_rest%%:*}
  fp_rest=${fp_rest#*:}
  fp_salt=${fp_rest%%:*}
  want=${fp_rest#*:}
  current_step='(before any step)'
  got=$(printf '%s\n' "$1" | openssl enc -aes-256-cbc -pbkdf2 -md sha256 -iter "$fp_iter" -S "$fp_salt" -pass stdin -P 2>/dev/null | sed -n 's/^key=//p' | tr 'ABCDEF' 'abcdef')
  if [ -z "$got" ]; then
    fail "cannot check the password of role $3: openssl (1.1.1 or later, with enc -pbkdf2) is needed; install it, or export again with --include-secrets"
  fi
  if [ "$got" != "$want" ]; then
    fail "the password given for role $3 is not the one this export was made with (its SCRAM verifiers would not match); give that password, or export again with the new one"
  fi
  current_step=''
}

# copy_in TABLE FILE: psql input that makes temp table TABLE hold FILE,
# base64-encoded on one line, sent as COPY data (not as statement text).
copy_in() {
  printf '%s\n' "CREATE TEMP TABLE $1 (b64 text);" "COPY $1 FROM STDIN;"
  base64 <"$2" | tr -d '\n'
  printf '\n%s\n' '\.'
}

pgpass_escape() {
  printf '%s' "$1" | sed 's/[\\:]/\\&/g'
}

# deliver NODE PATH_SQL MODE LOCALFILE: write LOCALFILE on NODE's server at
# the path PATH_SQL evaluates to there, as the server's OS user, with MODE;
# a file that differs is backed up first, an identical one left alone. The
# content travels base64-encoded through COPY FROM STDIN: never in argv, never
# in a statement's text.
deliver() {
  node=$1
  path_sql=$2
  mode=$3
  file=$4
  sum=$(sha256sum <"$file" | cut -c1-64)
  {
    copy_in tsmn_file "$file"
    printf "SELECT %s AS path \\\\gset\n" "$path_sql"
    printf "SELECT coalesce(encode(sha256(pg_read_binary_file(:'path', 0, 100000000, true)), 'hex'), '') = '%s' AS same \\\\gset\n" "$sum"
    cat <<'SQL'
\if :same
\else
SELECT format('COPY (SELECT b64 FROM tsmn_file) TO PROGRAM %L',
  format('umask 077 && p=%s && mkdir -p "$(dirname "$p")" && { [ ! -e "$p" ] || cp -p "$p" "$p.tsmn-%s.bak"; } && base64 -d > "$p.tsmn-new" && chmod %s "$p.tsmn-new" && mv -f "$p.tsmn-new" "$p"',
         '''' || replace(:'path', '''', '''"''"''') || '''', to_char(now(), 'YYYYMMDDHH24MISS'), :'mode')) \gexec
\endif
SQL
    printf "SELECT encode(sha256(pg_read_binary_file(:'path')), 'hex') = '%s' AS written \\\\gset\n" "$sum"
    printf '%s\n' '\if :written' '\else' "\\echo 'the file read back differs from what was written'" 'SELECT 1/0;' '\endif'
  } | psql_node "$node" postgres -v mode="$mode" || fail "writing $path_sql failed"
}

# hba_block NODE BLOCKFILE: put tsmn's block at the top of pg_hba.conf
# (replacing an older one), check the file with pg_hba_file_rules, restore the
# backup on any error, then reload.
hba_block() {
  node=$1
  block=$2
  {
    copy_in tsmn_block "$block"
    cat <<'SQL'
SELECT count(*) = 0 AS clean FROM pg_hba_file_rules WHERE (error IS NOT NULL OR type IS NULL) AND coalesce(error, '') NOT LIKE '%cannot match because SSL is disabled%' \gset
\if :clean
\else
\echo 'pg_hba.conf already has an error (see pg_hba_file_rules); nothing was changed'
SELECT 1/0;
\endif
SELECT current_setting('hba_file') AS hba, to_char(now(), 'YYYYMMDDHH24MISS') AS ts \gset
SELECT '''' || replace(:'hba', '''', '''"''"''') || '''' AS qhba \gset
WITH old AS (SELECT pg_read_file(:'hba') AS t),
     block AS (SELECT convert_from(decode(b64, 'base64'), 'UTF8') AS b FROM tsmn_block),
     stripped AS (SELECT regexp_replace(t, '# BEGIN tsmn[^\n]*\n(.*?\n)?# END tsmn[^\n]*\n', '', 'g') AS t FROM old),
     parts AS (SELECT substring(t from '^((?:[ \t]*(?:#[^\n]*)?\n)*)') AS head, t FROM stripped)
SELECT (SELECT t FROM old) = (head || (SELECT b FROM block) || substr(t, length(head) + 1)) AS same,
       translate(encode(convert_to(head || (SELECT b FROM block) || substr(t, length(head) + 1), 'UTF8'), 'base64'), E'\n', '') AS new_b64
  FROM parts \gset
\if :same
\echo 'pg_hba.conf already holds this block'
\else
SELECT format('COPY (SELECT %L) TO PROGRAM %L', :'new_b64',
  format('p=%s && cp -p "$p" "$p.tsmn-%s.bak" && base64 -d > "$p.tsmn-new" && cat "$p.tsmn-new" > "$p" && rm -f "$p.tsmn-new"',
         :'qhba', :'ts')) \gexec
SELECT count(*) = 0 AS clean FROM pg_hba_file_rules WHERE (error IS NOT NULL OR type IS NULL) AND coalesce(error, '') NOT LIKE '%cannot match because SSL is disabled%' \gset
\if :clean
SELECT pg_reload_conf();
\else
SELECT format('COPY (SELECT 1) TO PROGRAM %L',
  format('cat >/dev/null; p=%s && cat "$p.tsmn-%s.bak" > "$p"', :'qhba', :'ts')) \gexec
\echo 'the new pg_hba.conf had an error; the original was restored'
SELECT 1/0;
\endif
\endif
SQL
  } | psql_node "$node" postgres || fail "updating pg_hba.conf failed"
}

# restart_gate NODE...: stop when a node still waits for a restart.
restart_gate() {
  for n in "$@"; do
    pending=$(psql_node "$n" postgres -At -c "SELECT string_agg(name, ', ') FROM pg_settings WHERE pending_restart") || fail "cannot reach $n"
    if [ -n "$pending" ]; then
      fail "restart $n now (pending: $pending), e.g. pg_ctlcluster <version> <cluster> restart; then run setup.sh again"
    fi
  done
}
# --- end of helpers ---
