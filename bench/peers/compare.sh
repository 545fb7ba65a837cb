#!/usr/bin/env bash
# Peer comparison: the same ticket escalation process (create → L1 → L2 → solve, persisted
# after every step with synchronous=FULL) in SpiffWorkflow (a BPMN engine, from PyPI) and in
# Ticketflow, measured in the same run. SpiffWorkflow is installed into a throw-away venv
# under /tmp; none of its code is committed. Usage: bench/peers/compare.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=2000
[ "${1:-}" = "--quick" ] && n=500
venv=/tmp/ticketflow-peers-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q SpiffWorkflow >&2
fi
db=$(mktemp /tmp/spiff-XXXXXX.sqlite)
trap 'rm -f "$db" "$db-wal" "$db-shm"' EXIT
spiff=$("$venv/bin/python" bench/peers/spiff_escalation.py "$n" "$db")
read -r ours ours64 < <(.build/release/ticketflow-bench peer-process "$n")
version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("SpiffWorkflow"))')
ratio=$(echo "scale=1; $ours / $spiff" | bc)
ratio64=$(echo "scale=1; $ours64 / $spiff" | bc)
echo "| escalation processes/s, one client ($n processes, 5 persisted steps each) | Ticketflow $ours | SpiffWorkflow $version: $spiff | ${ratio}× | same machine, same run |"
echo "| escalation processes/s, 64 clients | Ticketflow $ours64 | SpiffWorkflow (single-threaded): $spiff | ${ratio64}× | group commit shares fsyncs |"
