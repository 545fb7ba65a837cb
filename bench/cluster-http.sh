#!/usr/bin/env bash
# Forwarded HTTP requests per second: a two-node release cluster on loopback, wrk (64
# connections, 2 threads) reading one ticket through n1 — first a ticket n1 owns (handled
# locally), then one n2 owns (forwarded over ZeroMQ to n2's NodeService and back); then
# creates without a key through n1, which go to n1 and n2 in turn (half forwarded).
# Usage: bench/cluster-http.sh [seconds]. Prints one Markdown table row per figure.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
source bench/cluster-env.sh
auth="Authorization: Bearer $TICKETFLOW_TOKEN"
dir=$(mktemp -d /tmp/tf-bench-cluster.XXXXXX)
base=$((23000 + RANDOM % 2000))
cat > "$dir/cluster.yaml" <<YAML
partitions: 64
nodes:
  - {name: n1, http: "127.0.0.1:$((base + 1))", zmq: "tcp://127.0.0.1:$((base + 11))", data: $dir/n1, public_key_file: $dir/n1/curve.pub}
  - {name: n2, http: "127.0.0.1:$((base + 2))", zmq: "tcp://127.0.0.1:$((base + 12))", data: $dir/n2, public_key_file: $dir/n2/curve.pub}
YAML
trap 'cluster/stop-local.sh "$dir/cluster.yaml" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
cluster/start-local.sh "$dir/cluster.yaml" >&2
n1="http://127.0.0.1:$((base + 1))"
sleep 2   # first heartbeats
local_id="" remote_id=""
for i in $(seq 1 40); do
  id=$(curl -fs -X POST "$n1/api/v1/tickets" -H "$auth" -H 'content-type: application/json' \
       -d '{"subject":"bench '"$i"'","requester":{"name":"B","email":"b@example.com"}}' | grep -o '"id":"[0-9]*"' | grep -o '[0-9]*')
  owner=$(curl -fs -D - -o /dev/null -H "$auth" "$n1/api/v1/tickets/$id" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-ticketflow-node" {print $2}')
  if [ -z "$owner" ]; then local_id=$id; else remote_id=$id; fi
  [ -n "$local_id" ] && [ -n "$remote_id" ] && break
done
rate() { wrk -t2 -c64 -d"${seconds}s" --latency "$@" | tee /dev/stderr | awk '/Requests\/sec/ {print $2}'; }
local_rate=$(rate -H "$auth" "$n1/api/v1/tickets/$local_id")
remote_rate=$(rate -H "$auth" "$n1/api/v1/tickets/$remote_id")
ratio=$(awk -v a="$remote_rate" -v b="$local_rate" 'BEGIN { printf "%.0f %%", a / b * 100 }')
echo "| HTTP ticket reads/s, owner is the node asked (wrk -t2 -c64, 2-node cluster) | $local_rate | | | |"
echo "| HTTP ticket reads/s forwarded to the owner over ZeroMQ (wrk -t2 -c64, 2-node cluster) | $remote_rate | local reads above: $local_rate/s | $ratio | raw libzmq rate: the zmq rows of this run |"
creates=$(rate -s bench/create-ticket.lua "$n1/api/v1/tickets")
echo "| HTTP ticket creates/s through one node of a 2-node cluster, half forwarded (wrk -t2 -c64, full) | $creates | single node: the HTTP creates row of this run | | both nodes and wrk share the 2 cores |"
