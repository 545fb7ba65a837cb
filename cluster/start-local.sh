#!/usr/bin/env bash
# Starts the nodes of a cluster file (default cluster/local.yaml) that are not running, in
# the background. Each node writes its log to data/<node>/node.log and its pid to
# data/<node>/node.pid. Waits until each started node answers /healthz (at most 60 s).
#
#   cluster/start-local.sh [CLUSTER_FILE] [NODE ...]
#
# TICKETFLOW_BIN picks the executable (default .build/release/ticketflow, built if missing).
set -euo pipefail
# Close descriptors inherited from the caller (a test runner's pipes, say) so the nodes,
# which outlive this script, do not hold them open. 255 is bash's own handle on this script.
for fd in /proc/$$/fd/*; do
  n=${fd##*/}
  if [ "$n" -gt 2 ] && [ "$n" -ne 255 ]; then eval "exec $n>&-" 2>/dev/null || true; fi
done
cd "$(dirname "$0")/.."
file=${1:-cluster/local.yaml}
shift || true
bin=${TICKETFLOW_BIN:-.build/release/ticketflow}
if [ ! -x "$bin" ]; then
  echo "building $bin"
  make -s build >/dev/null
fi
# name http data, one line per node, read from the cluster file.
members=$(awk '/name:/ {
    n=$0; sub(/.*name: */, "", n); sub(/[,}].*/, "", n);
    h=$0; sub(/.*http: *"?/, "", h); sub(/["},].*/, "", h);
    d=$0; sub(/.*data: */, "", d); sub(/[,} ].*/, "", d);
    print n, h, d }' "$file")
[ -n "$members" ] || { echo "no nodes found in $file" >&2; exit 1; }
wanted=("$@")
started=()
while read -r name http data; do
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " =~ " $name " ]]; then continue; fi
  mkdir -p "$data"
  pidfile="$data/node.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "$name already running (pid $(cat "$pidfile"))"
    continue
  fi
  nohup "$bin" serve --cluster "$file" --node "$name" >>"$data/node.log" 2>&1 &
  echo $! >"$pidfile"
  echo "$name starting (pid $!, http://$http, log $data/node.log)"
  started+=("$name $http")
done <<<"$members"
for entry in "${started[@]}"; do
  read -r name http <<<"$entry"
  for _ in $(seq 1 600); do
    if curl -fs "http://$http/healthz" >/dev/null 2>&1; then echo "$name ready"; continue 2; fi
    sleep 0.1
  done
  echo "$name did not become ready in 60 s; see its log" >&2
  exit 1
done
