#!/usr/bin/env bash
# Ticket creates per second over HTTP: wrk (64 connections, 2 threads) POSTing the documented
# create body to a fresh release node on loopback. Usage: bench/http-create.sh [seconds] [durability]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
durability=${2:-full}
bin=${TICKETFLOW_BIN:-.build/release/ticketflow}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
dir=$(mktemp -d /tmp/tf-bench-http.XXXXXX)
# The node's first admin; wrk's script sends it (bench/create-ticket.lua).
export TICKETFLOW_ADMIN_TOKEN=bench-admin-token-0123456789 TICKETFLOW_TOKEN=bench-admin-token-0123456789
log=$dir/serve.log
"$bin" serve --data "$dir/data" --port 0 --log-level warning --durability "$durability" --api-rate-limit 10000000 > "$log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 500); do grep -q "listening on" "$log" && break; sleep 0.02; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)
echo "node: $url (durability $durability), $(nproc) cores"
wrk -t2 -c64 -d"${seconds}s" --latency -s bench/create-ticket.lua "$url/api/v1/tickets" | grep -E "Requests/sec|requests in|Latency|99%|50%"
