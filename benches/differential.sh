#!/usr/bin/env bash
# The differential generator at full size: STATES seeded states of one data
# node (pg_hba.conf rules in PostgreSQL 15's forms, roles, passwords and
# passfile layouts, TLS on or off), each compared between `tsmn check` and
# the access node's own connection (tests/differential.rs). Prints every
# disagreement with the seed that reproduces it, then the count beside its
# target (0).
# With TimescaleDB installed it also runs MEMBER_STATES states of a running
# password-mode cluster (each role's link: ping_data_node as that role).
# Usage: benches/differential.sh [STATES] [FIRST_SEED] [MEMBER_STATES]
# Reproduce one: TSMN_DIFF_SEED=N TSMN_DIFF_STATES=1 cargo test --test differential
set -euo pipefail
. "$(dirname "$0")/verdict.sh"
cd "$(dirname "$0")/.."
states=${1:-300}
seed=${2:-1}
members=${3:-100}
log=$(mktemp /tmp/tsmn-differential-XXXXXX)
trap 'rm -f "$log"' EXIT
TSMN_DIFF_STATES=$states TSMN_DIFF_SEED=$seed TSMN_DIFF_MEMBER_STATES=$members \
  cargo test -q --test differential check_agrees -- --nocapture >"$log" 2>&1 || true
grep -A40 '^DISAGREEMENT' "$log" || true
line=$(grep '^differential:' "$log") || { cat "$log"; exit 1; }
echo "$line"
count=$(sed -E 's/.*, ([0-9]+) disagreement.*/\1/' <<<"$line")
figure "disagreements over $states states" "$count" found 0
if line=$(grep '^differential (running cluster):' "$log"); then
  echo "$line"
  count=$(sed -E 's/.*, ([0-9]+) disagreement.*/\1/' <<<"$line")
  figure "disagreements over $members states of a running cluster" "$count" found 0
else
  grep '^SKIPPED' "$log" || true
fi
