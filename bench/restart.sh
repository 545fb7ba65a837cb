#!/usr/bin/env bash
# Restart time: fills a data directory with N tickets over HTTP (wrk), SIGKILLs the node, then
# times three restarts until the node prints "listening". Usage: bench/restart.sh [tickets]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-100000}
bin=.build/release/ticketflow
dir=$(mktemp -d /tmp/tf-bench-restart.XXXXXX)
trap 'pkill -9 -f "ticketflow serve --data $dir" 2>/dev/null || true; rm -rf "$dir"' EXIT
start_node() {
  : > "$dir/serve.log"
  "$bin" serve --data "$dir/data" --port 0 --log-level info --durability normal --metrics-open > "$dir/serve.log" 2>&1 &
  for _ in $(seq 1 3000); do grep -q "listening on" "$dir/serve.log" && break; sleep 0.01; done
  grep -o 'http://127.0.0.1:[0-9]*' "$dir/serve.log" | head -1
}
url=$(start_node)
count=0
while [ "$count" -lt "$target" ]; do
  wrk -t2 -c64 -d5s -s bench/create-ticket.lua "$url/api/v1/tickets" > /dev/null
  count=$(curl -s "$url/metrics" | awk -F' ' '/^ticketflow_tickets\{/ {s += $2} END {printf "%d", s}')
  echo "  $count tickets"
done
pkill -9 -f "ticketflow serve --data $dir"
sleep 1
echo "data: $(du -sh "$dir/data" | cut -f1) for $count tickets"
for i in 1 2 3; do
  t0=$(date +%s.%N)
  url=$(start_node)
  t1=$(date +%s.%N)
  echo "restart $i: $(echo "$t1 - $t0" | bc) s to listening ($(grep -o 'recovered [0-9]* tickets' "$dir/serve.log"))"
  pkill -9 -f "ticketflow serve --data $dir"
  sleep 1
done
