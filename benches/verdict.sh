# Sourced by the benchmark scripts: one line per figure, with its target and
# whether it is met, so that no figure is printed without its goal.
# figure NAME VALUE UNIT MAX  ->  "NAME: VALUE UNIT (target <= MAX UNIT): met"
figure() {
  awk -v n="$1" -v v="$2" -v u="$3" -v m="$4" 'BEGIN {
    printf "%s: %s %s (target <= %s %s): %s\n", n, v, u, m, u, (v + 0 <= m + 0) ? "met" : "NOT MET"
  }'
}
