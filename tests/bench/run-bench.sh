#!/bin/sh
# run-bench.sh BUILD_DIR: Pretext's SimCLR step against its PyTorch twin.
#
# For widths 16 and 32 (batch 256, 2 threads, 28x28x1 by default) runs
# `pretext-cli bench` and the twin in one go, each RUNS times (default 2),
# keeps the better images/s of each side, and prints the ratio and both
# peak RSS figures (measured the same way for both: GNU time's maximum RSS).
#
# Environment:
#   TWIN     path of torch_simclr_ref.py (default: ../shared/bench/ from the repo root)
#   PYTHON   interpreter with torch (default /usr/bin/python3)
#   WIDTHS   default "16 32";  BATCH  default 256;  THREADS  default 2
#   STEPS    timed steps (default 10);  RUNS  runs per side (default 2)
set -eu

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD_DIR=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI="$BUILD_DIR/app/pretext-cli"
TWIN=${TWIN:-"$ROOT/../shared/bench/torch_simclr_ref.py"}
PYTHON=${PYTHON:-/usr/bin/python3}
WIDTHS=${WIDTHS:-"16 32"}
BATCH=${BATCH:-256}
THREADS=${THREADS:-2}
STEPS=${STEPS:-10}
RUNS=${RUNS:-2}
TIME=/usr/bin/time

[ -x "$CLI" ] || { echo "run-bench: $CLI not found; build first" >&2; exit 1; }
[ -f "$TWIN" ] || { echo "run-bench: PyTorch twin $TWIN not found (set TWIN=...)" >&2; exit 1; }
[ -x "$TIME" ] || { echo "run-bench: $TIME (GNU time) is needed for peak RSS" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# best_of FILE: largest number in FILE (one per line)
best_of () { sort -g "$1" | tail -n 1; }
min_of () { sort -g "$1" | head -n 1; }

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)   threads=$THREADS batch=$BATCH steps=$STEPS runs=$RUNS"
for w in $WIDTHS; do
  : > "$tmp/ours.ips"; : > "$tmp/twin.ips"; : > "$tmp/ours.rss"; : > "$tmp/twin.rss"
  for r in $(seq "$RUNS"); do
    $TIME -f "%M" -o "$tmp/rss" "$CLI" bench --method simclr --encoder cnn --width "$w" \
      --batch "$BATCH" --steps "$STEPS" --threads "$THREADS" --json > "$tmp/out"
    ips=$(sed -n 's/.*"images_per_s" *: *\([0-9.e+-]*\).*/\1/p' "$tmp/out" | tail -n 1)
    echo "$ips" >> "$tmp/ours.ips"; tail -n 1 "$tmp/rss" >> "$tmp/ours.rss"
    echo "  pretext w=$w run $r: $ips images/s, peak RSS $(($(tail -n 1 "$tmp/rss") / 1024)) MB"

    $TIME -f "%M" -o "$tmp/rss" "$PYTHON" "$TWIN" --width "$w" --batch "$BATCH" \
      --steps "$STEPS" --threads "$THREADS" > "$tmp/out"
    ips=$(sed -n 's/.*: \([0-9.]*\) images\/s.*/\1/p' "$tmp/out" | tail -n 1)
    echo "$ips" >> "$tmp/twin.ips"; tail -n 1 "$tmp/rss" >> "$tmp/twin.rss"
    echo "  torch   w=$w run $r: $ips images/s, peak RSS $(($(tail -n 1 "$tmp/rss") / 1024)) MB"
  done
  ours=$(best_of "$tmp/ours.ips"); twin=$(best_of "$tmp/twin.ips")
  ours_rss=$(($(min_of "$tmp/ours.rss") / 1024)); twin_rss=$(($(min_of "$tmp/twin.rss") / 1024))
  ratio=$(awk -v a="$ours" -v b="$twin" 'BEGIN { printf "%.2f", a / b }')
  echo "width $w: pretext $ours images/s, torch $twin images/s, ratio ${ratio}x; peak RSS pretext $ours_rss MB, torch $twin_rss MB"
done
