#!/usr/bin/env bash
# Starts the nodes of a cluster file (default cluster/local.yaml) that are not running, in
# the background. Each node writes its log to data/<node>/node.log and its pid to
# data/<node>/node.pid. Makes the nodes' CurveZMQ keys where missing (ticketflow cluster
# keys), starts the file's etcd when it is local (data/etcd, its pid in data/etcd.pid), and waits until each of its nodes — started now, or found running (a
# supervisor may have just started it again) — is ready: /readyz, it has heard every peer that
# is up (at most 60 s). Each node runs under a small supervisor loop that starts it again
# when it exits with 75 (it gave up a partition it leads no more: docs/replication.md).
#
#   cluster/start-local.sh [CLUSTER_FILE] [NODE ...]
#
# TICKETFLOW_BIN picks the executable (default .build/release/ticketflow, built if missing;
# see cluster/members.sh). TICKETFLOW_ADMIN_TOKEN must be set: it is the first admin's token
# on every node (docs/security.md); the nodes' logs are files, where no token may be printed.
set -euo pipefail
if [ -z "${TICKETFLOW_ADMIN_TOKEN:-}" ]; then
  echo "start-local.sh: set TICKETFLOW_ADMIN_TOKEN (16 to 200 characters): the first admin's token on every node" >&2
  exit 1
fi
# Close descriptors inherited from the caller (a test runner's pipes, say) so the nodes,
# which outlive this script, do not hold them open. 255 is bash's own handle on this script.
for fd in /proc/$$/fd/*; do
  n=${fd##*/}
  if [ "$n" -gt 2 ] && [ "$n" -ne 255 ]; then eval "exec $n>&-" 2>/dev/null || true; fi
done
cd "$(dirname "$0")/.."
file=${1:-cluster/local.yaml}
shift || true
source cluster/members.sh
members=$(cluster_members "$file" "$@") || exit 1
# Every node's CurveZMQ key pair, made where missing (each node needs all its peers' public keys).
"$bin" cluster keys "$file" >/dev/null
# The cluster's etcd first, when it is on this machine (the nodes keep their membership there).
start_local_etcd
started=()
while IFS=$'\t' read -r name http _ data _; do
  mkdir -p "$data"
  pidfile="$data/node.pid"
  if [ -f "$pidfile" ] && is_node "$(cat "$pidfile")" "$name"; then
    echo "$name already running (pid $(cat "$pidfile"))"
    # Waited for too: it may have been started again by its supervisor a moment ago.
    started+=("$name $http - $data")
    continue
  fi
  rm -f "$pidfile"
  # A node that gives up a partition it leads no more exits with 75 (docs/replication.md) and
  # comes back as a follower: this small supervisor starts it again; any other exit ends it.
  # The pid file holds the node's pid (what stop-local.sh signals), rewritten at each start.
  nohup bash -c '
    while :; do
      "$0" serve --cluster "$1" --node "$2" &
      echo $! >"$3"
      wait $!
      code=$?
      [ "$code" -eq 75 ] || exit "$code"
      echo "start-local.sh: $2 exited with 75 (it leads its partition no more); starting it again" >&2
    done' "$bin" "$file" "$name" "$pidfile" >>"$data/node.log" 2>&1 &
  supervisor=$!
  for _ in $(seq 1 50); do [ -s "$pidfile" ] && break; sleep 0.02; done
  echo "$name starting (pid $(cat "$pidfile" 2>/dev/null || echo "?"), http://$http, log $data/node.log)"
  started+=("$name $http $supervisor $data")
done <<<"$members"
for entry in "${started[@]}"; do
  read -r name http pid data <<<"$entry"
  for _ in $(seq 1 600); do
    # Ready, not only alive: the node has heard every peer that is up (GET /readyz).
    if curl -fs --max-time 1 "http://$http/readyz" >/dev/null 2>&1; then echo "$name ready"; continue 2; fi
    if [ "$pid" = - ]; then
      # Already running before this script: its supervisor is not ours to watch; the node is
      # waited for while its pid file names a live process (a restart rewrites it).
      kill -0 "$(cat "$data/node.pid" 2>/dev/null || echo 0)" 2>/dev/null || sleep 0.2
    elif ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited during start; the end of $data/node.log:" >&2
      tail -n 5 "$data/node.log" >&2
      rm -f "$data/node.pid"
      exit 1
    fi
    sleep 0.1
  done
  echo "$name did not become ready in 60 s; see $data/node.log" >&2
  exit 1
done
