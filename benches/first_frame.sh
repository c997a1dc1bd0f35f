#!/usr/bin/env bash
# Benchmark: time from starting `tsmn wizard` (release build) in a real
# pseudo-terminal (tmux, 120x40) until its first frame is on the screen.
# Includes process start, plan loading and terminal setup; the polling of
# tmux adds a few milliseconds. Target: <= 100 ms.
# Usage: benches/first_frame.sh [RUNS]
set -euo pipefail
. "$(dirname "$0")/verdict.sh"
cd "$(dirname "$0")/.."
runs=${1:-10}
cargo build --release -q
bin=$PWD/target/release/tsmn
plan=$PWD/assets/plan-trust.toml
times=()
for i in $(seq "$runs"); do
  sock=tsmn-bench-$$-$i
  s=$(date +%s%N)
  TERM=xterm-256color tmux -L "$sock" new-session -d -s b -x 120 -y 40 "$bin wizard --plan $plan"
  while :; do
    screen=$(tmux -L "$sock" capture-pane -p -t b 2>/dev/null || true)
    case $screen in *'What do you want'*) break ;; esac
  done
  e=$(date +%s%N)
  tmux -L "$sock" kill-server 2>/dev/null || true
  times+=($(( (e - s) / 1000000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "runs: $runs [${times[*]}] ms"
figure "first frame in a pseudo-terminal (median)" "$median" ms 100
