#!/usr/bin/env bash
# Stops the nodes of a cluster file (default cluster/local.yaml) by the pids in
# data/<node>/node.pid: SIGTERM (graceful: in-flight commits finish), then SIGKILL after 10 s.
# Without node names it stops the local etcd as well.
#
#   cluster/stop-local.sh [CLUSTER_FILE] [NODE ...]
#
# TICKETFLOW_BIN picks the executable (default .build/release/ticketflow, built if missing;
# see cluster/members.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-cluster/local.yaml}
shift || true
all=$(( $# == 0 ))
source cluster/members.sh
members=$(cluster_members "$file" "$@") || exit 1
while IFS=$'\t' read -r name _ _ data _; do
  pidfile="$data/node.pid"
  [ -f "$pidfile" ] || { echo "$name: not started here"; continue; }
  pid=$(cat "$pidfile")
  if ! is_node "$pid" "$name"; then echo "$name: not running"; rm -f "$pidfile"; continue; fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; echo "$name: killed after 10 s"; else echo "$name: stopped"; fi
  rm -f "$pidfile"
done <<<"$members"
# Stopping every node stops the local etcd too (started by start-local.sh).
if [ "$all" = 1 ]; then stop_local_etcd; fi
