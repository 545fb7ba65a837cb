#!/usr/bin/env bash
# Replicated durable throughput: HTTP creates (wrk -t2 -c64, no key: the node asked sends
# them to the three nodes in turn) through n1 of a three-node release cluster with a local
# etcd — replication factor 1, then 3, same machine, same run. Then the replicated cluster
# held near half the rate it reached (16 connections, each pausing between requests), for
# the acknowledgement latency at half load (p99). Everything shares the 2 cores.
# Usage: bench/replication.sh [seconds]. Prints Markdown table rows.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
source bench/cluster-env.sh
dirs=()
cleanup() { for d in "${dirs[@]}"; do cluster/stop-local.sh "$d/cluster.yaml" >/dev/null 2>&1 || true; rm -rf "$d"; done; }
trap cleanup EXIT

# start_cluster FACTOR: a fresh three-node cluster; sets $dir and $n1.
start_cluster() {
  dir=$(mktemp -d /tmp/tf-bench-replication.XXXXXX)
  dirs+=("$dir")
  local base=$((24000 + RANDOM % 2000))
  {
    echo "partitions: 64"
    echo "etcd: [\"http://127.0.0.1:$((base + 50))\"]"
    echo "replication_factor: $1"
    echo "nodes:"
    for i in 1 2 3; do
      echo "  - {name: n$i, http: \"127.0.0.1:$((base + i))\", zmq: \"tcp://127.0.0.1:$((base + 10 + i))\", data: $dir/n$i, public_key_file: $dir/n$i/curve.pub}"
    done
  } > "$dir/cluster.yaml"
  cluster/start-local.sh "$dir/cluster.yaml" >&2
  n1="http://127.0.0.1:$((base + 1))"
}

measure() { wrk -t2 -c64 -d"${seconds}s" --latency -s bench/create-ticket.lua "$n1/api/v1/tickets" | tee /dev/stderr; }

start_cluster 1
single=$(measure)
cluster/stop-local.sh "$dir/cluster.yaml" >&2
start_cluster 3
replicated=$(measure)
rate1=$(echo "$single" | awk '/Requests\/sec/ {print $2}')
rate3=$(echo "$replicated" | awk '/Requests\/sec/ {print $2}')
p99full=$(echo "$replicated" | awk '/ 99%/ {print $2}')
ratio=$(awk -v a="$rate3" -v b="$rate1" 'BEGIN { printf "%.0f %%", a / b * 100 }')
echo "| HTTP creates/s, 3-node cluster, replication factor 3 (wrk -t2 -c64, full durability) | $rate3 | replication factor 1, same cluster shape: $rate1 | $ratio | p99 $p99full at full load; target ≥ 50 % |"
# Half load: 16 connections, each pausing so that together they send about half of $rate3/s.
pace=$(awk -v r="$rate3" 'BEGIN { p = 16000 / (r / 2); printf "%d", (p < 1 ? 1 : p) }')
half=$(TICKETFLOW_PACE_MS=$pace wrk -t2 -c16 -d"${seconds}s" --latency -s bench/create-ticket-paced.lua "$n1/api/v1/tickets" | tee /dev/stderr)
rate_half=$(echo "$half" | awk '/Requests\/sec/ {print $2}')
p99=$(echo "$half" | awk '/ 99%/ {print $2}')
echo "| Acknowledgement p99 at half load, replication factor 3 (16 connections pausing $pace ms) | $p99 | | | $rate_half creates/s offered (half of $rate3); target ≤ 10 ms |"
