# Sourced by the cluster benchmarks (bench/cluster-http.sh, bench/replication.sh): wrk must be
# there, the release executable starts the nodes (cluster/start-local.sh reads TICKETFLOW_BIN).
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
export TICKETFLOW_BIN=.build/release/ticketflow
# Every node's first admin; curl, wrk and its script send it.
export TICKETFLOW_ADMIN_TOKEN=bench-admin-token-0123456789 TICKETFLOW_TOKEN=bench-admin-token-0123456789
# One token drives the whole load: the per-account rate limit is set far above it.
export TICKETFLOW_API_RATE_LIMIT=10000000
